"""A malformed mutants file fails with a message that names the mutant and what to fix."""
import pytest

from grader import mutants

GOOD = """- id: no_bias
  cell: neuron_sum
  code: "x"
  fails: [test_neuron_sum]
  feedback: forget the bias
"""


def load(tmp_path, text):
    path = tmp_path / "m.yml"
    path.write_text(text)
    return mutants.load(path, {"neuron_sum"}, {"test_neuron_sum": 2, "test_softmax": 3})


def test_a_valid_file_loads(tmp_path):
    [m] = load(tmp_path, GOOD)
    assert (m.id, m.cell, m.fails) == ("no_bias", "neuron_sum", ("test_neuron_sum",))
    assert m.earns("test_neuron_sum") == 0


def test_a_mistake_can_keep_part_of_a_quiz(tmp_path):
    [m] = load(tmp_path, GOOD + "  keeps: {test_neuron_sum: 1.5}\n")
    assert m.earns("test_neuron_sum") == 1.5


@pytest.mark.parametrize("text,message", [
    (GOOD.replace("  feedback: forget the bias\n", ""), r"lacks \['feedback'\]"),
    (GOOD + GOOD, "the id is used twice"),
    (GOOD.replace("cell: neuron_sum", "cell: softmax"), "'softmax' is not an answer cell; choose from"),
    (GOOD.replace("[test_neuron_sum]", "[test_nope]"), "fails must list test cells from"),
    (GOOD.replace("[test_neuron_sum]", "[]"), "fails must list test cells from"),
    (GOOD + "  keeps: {test_softmax: 1}\n", "keeps maps a test cell it fails"),
    (GOOD + "  keeps: {test_neuron_sum: 2}\n", "less than the cell's points"),
])
def test_errors_name_the_mutant_and_the_fix(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load(tmp_path, text)
