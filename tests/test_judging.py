"""Answers as data, on tiny inputs and no kernel: recording, reading untrusted data, judging."""
import ast
import io
import json
import os

import numpy as np
import pytest
import torch

from grader import judge, probedata, run
from grader import reference as reference_mod
from grader.recorder import Recorder, probe

def npz(header, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, __header__=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    return buffer.getvalue()


SPEC = judge.Judging("q", shape_hints={(3,): "did you forget keepdim?"}, error_hints={"size": "use -1"})


def recorded(build):
    """The parsed record of what ``build(rec)`` records, through the real file format."""
    rec = Recorder({"double": lambda t: t * 2, "todo": _todo, "exits": _exits})
    build(rec)
    return probedata.parse(npz({"entries": rec.entries}, **rec.arrays))


def _todo(t):
    raise NotImplementedError()


def _exits(t):
    raise SystemExit(0)


def test_tensors_values_and_errors_survive_the_file_format():
    record = recorded(lambda rec: [rec.call("double", "double", torch.arange(3.0)), rec.record("n", 7, kind="value"),
                                   rec.record("scalar", torch.tensor(2.5)), rec.record("meta", torch.ones(2, device="meta")),
                                   rec.call("todo", "todo", torch.ones(1)), rec.call("exits", "exits", torch.ones(1)),
                                   rec.call("missing", "nowhere")])
    assert record["double"].array.tolist() == [0.0, 2.0, 4.0] and record["double"].shape == (3,)
    assert record["double leaves its inputs unchanged"].value is True
    assert record["n"].value == 7 and record["scalar"].shape == () and record["scalar"].array == 2.5
    assert record["meta"].device == "meta" and record["meta"].array is None
    assert (record["todo"].kind, record["todo"].type) == ("error", "NotImplementedError")
    assert record["exits"].type == "SystemExit", "a student's sys.exit must not stop the probe"
    assert record["missing"].type == "NameError"


def test_data_spoiled_by_another_threads_parse_is_read_again(monkeypatch):
    """NumPy reads each array's header with ast.literal_eval, which another grading thread's parse can spoil
    (grader/parsing.py): the data are read again, not called damaged."""
    real, spoiled = ast.literal_eval, []

    def racing(text):
        if not spoiled:
            spoiled.append(text)
            raise SystemError("AST constructor recursion depth mismatch (before=2, after=40)")
        return real(text)

    monkeypatch.setattr(ast, "literal_eval", racing)
    record = recorded(lambda rec: rec.call("double", "double", torch.arange(3.0)))
    assert spoiled and record["double"].array.tolist() == [0.0, 2.0, 4.0]


def test_a_probe_that_fails_records_what_it_had(tmp_path):
    source = "def probe_q(rec):\n    rec.record('first', 1)\n    raise ValueError('probe bug')\n"
    probe("q", str(tmp_path), source, namespace={})
    record = probedata.parse(probedata.read_file(tmp_path / "q.npz"))
    assert record["first"].value == 1 and record["the checks"].type == "ValueError"


@pytest.mark.parametrize("data, reason", [
    (None, "no data"), (b"not a zip", "damaged"), (b"x" * (probedata.MAX_BYTES + 1), "larger than"),
])
def test_unusable_bytes_are_refused_with_a_reason(data, reason):
    with pytest.raises(probedata.BadData, match=reason):
        probedata.parse(data)


def test_malformed_entries_are_refused():
    entry = {"label": "x", "kind": "result", "shape": [2], "array": "a0"}
    with pytest.raises(probedata.BadData, match="do not match"):
        probedata.parse(npz({"entries": [entry]}, a0=np.zeros(3)))
    for bad in [{"entries": "nope"}, {"entries": [{"label": 1, "kind": "result"}]},
                {"entries": [{"label": "x", "kind": "exec"}]}, {"entries": [{"label": "x", "kind": "result",
                                                                              "shape": [-1]}]},
                {"entries": [{"label": "x", "kind": "value", "value": [[[[[1]]]]]}]},
                {"entries": [{"label": str(i), "kind": "value"} for i in range(probedata.MAX_ENTRIES + 1)]}]:
        with pytest.raises(probedata.BadData):
            probedata.parse(npz(bad))


def test_pickled_arrays_never_load():
    for header in [{"entries": []}, {"entries": [{"label": "x", "kind": "result", "shape": [1], "array": "a0"}]}]:
        with pytest.raises(probedata.BadData, match="damaged"):  # loading an object array would unpickle it
            probedata.parse(npz(header, a0=np.array([object()], dtype=object)))


def test_links_and_fifos_written_by_a_kernel_are_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("instructor only")
    (tmp_path / "q.npz").symlink_to(secret)
    os.mkfifo(tmp_path / "f.npz")
    (tmp_path / "d.npz").mkdir()
    assert probedata.read_file(tmp_path / "d.npz") is None, "a folder in the file's place must not crash the grader"
    assert probedata.read_file(tmp_path / "q.npz") is None
    assert probedata.read_file(tmp_path / "f.npz") is None, "a FIFO must not block the grader"
    assert probedata.read_file(tmp_path / "absent.npz") is None


def reference():
    return recorded(lambda rec: rec.call("f(x)", "double", torch.arange(6.0).reshape(2, 3)))


def record_of(value):
    return recorded(lambda rec: rec.record("f(x)", value))


def test_right_answers_pass_within_tolerance():
    expected = reference()
    got = recorded(lambda rec: rec.call("f(x)", lambda t: t * 2 + 1e-7, torch.arange(6.0).reshape(2, 3)))
    assert judge.verdict(3, got, expected, SPEC).points == 3


@pytest.mark.parametrize("value, words", [
    (None, "should be a torch.Tensor but is None: did you forget a `return`?"),
    (3.0, "a Python number: keep it a tensor"),
    (torch.zeros(3), "expected shape (2, 3) but got (3,): did you forget keepdim?"),
    (torch.zeros(2, 3, device="meta"), "is on meta but the inputs were on cpu"),
    (torch.tensor([[0.0, 2.0, 4.0], [6.0, 8.0, 11.0]]), "1 of 6 elements differ (in row 1 of 2); the largest difference is 1"),
    (torch.tensor([[0.0, 2.0, float("nan")], [6.0, 8.0, 10.0]]), "contains nan"),
])
def test_wrong_answers_say_what_differs(value, words):
    verdict = judge.verdict(3, record_of(value), reference(), SPEC)
    assert verdict.points == 0 and words in verdict.message, verdict.message
    assert verdict.mistake is None


def test_messages_never_show_the_expected_values():
    verdict = judge.verdict(3, record_of(torch.full((2, 3), 0.123)), reference(), SPEC)
    assert "all 6 elements differ" in verdict.message
    for expected in ["2.0", "4.0", "10.0", "[0"]:
        assert expected not in verdict.message


def test_errors_get_the_hint_their_message_points_to():
    not_done = recorded(lambda rec: rec.call("f(x)", "todo", torch.ones(1)))
    assert "not implemented yet" in judge.verdict(3, not_done, reference(), SPEC).message
    raised = recorded(lambda rec: rec.call("f(x)", lambda t: t.view(5), torch.ones(6)))
    message = judge.verdict(3, raised, reference(), SPEC).message
    assert message.startswith("f(x) raised RuntimeError") and message.endswith(": use -1")


def test_changing_an_input_costs_the_question():
    expected = reference()
    got = recorded(lambda rec: rec.call("f(x)", lambda t: t.mul_(2), torch.arange(6.0).reshape(2, 3)))
    assert "changed a tensor it was given" in judge.verdict(3, got, expected, SPEC).message


def test_a_known_mistake_is_named_only_when_all_its_data_match():
    expected = reference()
    halved = recorded(lambda rec: rec.call("f(x)", lambda t: t / 2, torch.arange(6.0).reshape(2, 3)))
    mistake = judge.Mistake("halves", "you halved instead of doubling", halved)
    verdict = judge.verdict(3, halved, expected, SPEC, [mistake])
    assert (verdict.points, verdict.mistake) == (0, "halves")
    assert verdict.message == "f(x): you halved instead of doubling"
    other = record_of(torch.zeros(2, 3))
    assert judge.verdict(3, other, expected, SPEC, [mistake]).mistake is None, "a hint without the evidence is a bug"
    twin = judge.Mistake("also", "a different story", halved)
    ambiguous = judge.verdict(3, halved, expected, SPEC, [mistake, twin])
    assert ambiguous.mistake is None and "elements differ" in ambiguous.message


def test_unreadable_data_cost_the_question_and_ask_a_person_to_look():
    """Data written but unreadable come from tampering or from the grader itself: never a quiet 0."""
    ref = reference_mod.Reference({"q": SPEC}, {"q": reference()}, {"q": []})
    for data, flagged in [(b"not an npz", True), (None, False)]:  # nothing written: the cell's error says why
        outcome = ref.judge(run.Outcome("s", "a", probe_data={"q": data}), {"q": 2})
        assert outcome.scores == {"q": (0, 2)}
        assert outcome.flags == (["q: its recorded data could not be read (the recorded data is damaged "
                                  "(ValueError))"] if flagged else []), outcome.flags


def test_a_question_can_read_how_the_student_worked():
    """Entries about the student's own cells, read in the grading process, are judged with the probe's."""
    from nbformat.v4 import new_code_cell, new_notebook

    from grader.questions import Question
    from grader.scan import mentions

    def uses_test(rec, code):
        rec.record("where your code uses test_x", [where for where, src in code if mentions(src, ("test_x",))],
                   kind="value")

    def notebook(*answers):
        given = new_code_cell("test_x = load()")  # the lesson's own cell: not the student's
        cells = [new_code_cell(src, metadata={"nbgrader": {"grade_id": f"a{i}", "solution": True}} if i == 0
                               else {"student_added": True}) for i, src in enumerate(answers)]
        return new_notebook(cells=[given, *cells])

    question = Question("q", None, reads_code=uses_test, label_hints={"uses test_x": "choose on validation data"})
    probed = recorded(lambda rec: rec.claim("the model reaches the bar", True))
    expected = {**probed, **question.code_record(notebook("x = val_x"))}
    ref = reference_mod.Reference({"q": question.judging()}, {"q": expected}, {"q": []}, {"q": question})
    data = {"q": npz({"entries": [{"label": "the model reaches the bar", "kind": "claim", "type": "bool", "value": True}]})}
    honest = run.Outcome("s", "a", probe_data=dict(data), notebook=notebook("x = val_x", "print(val_x.shape)"))
    assert ref.judge(honest, {"q": 3}).scores == {"q": (3, 3)}
    peeked = run.Outcome("s", "a", probe_data=dict(data), notebook=notebook("x = val_x", "evaluate(model, test_x)"))
    assert ref.judge(peeked, {"q": 3}).scores == {"q": (0, 3)}
    verdict = judge.verdict(3, {**probed, **question.code_record(peeked.notebook)}, expected, question.judging())
    assert verdict.message == "where your code uses test_x: got ['added cell 3'], which is not right: choose on validation data"


def test_claims_and_dicts_say_which_part_is_wrong():
    ops = lambda t: sum(t[i] * 2 for i in range(len(t)))  # noqa: E731 (a Python loop: one op per element)
    fast = recorded(lambda rec: rec.call("total", lambda t: (t * 2).sum(), torch.ones(50), limit_ops=5))
    slow = recorded(lambda rec: rec.call("total", ops, torch.ones(50), limit_ops=5))
    message = judge.verdict(1, slow, fast, SPEC).message
    assert message.startswith("expected: total runs at most 5 tensor operations"), message
    shapes = recorded(lambda rec: rec.record("parameters", {"fc1.weight": (4, 3), "fc1.bias": (4,)}, kind="value"))
    renamed = recorded(lambda rec: rec.record("parameters", {"fci.weight": (4, 3), "fc1.bias": (4,)}, kind="value"))
    resized = recorded(lambda rec: rec.record("parameters", {"fc1.weight": (3, 4), "fc1.bias": (4,)}, kind="value"))
    assert judge.verdict(1, shapes, shapes, SPEC).points == 1
    assert "fc1.weight, fci.weight are missing or not expected" in judge.verdict(1, renamed, shapes, SPEC).message
    assert "fc1.weight is not right" in judge.verdict(1, resized, shapes, SPEC).message


def test_a_forbidden_builtin_is_seen_however_it_is_called():
    by_hand = recorded(lambda rec: rec.call("softmax", lambda t: t.exp() / t.exp().sum(), torch.ones(3), forbid=("softmax",)))
    for builtin in (lambda t: torch.softmax(t, -1), lambda t: t.softmax(-1), lambda t: torch.nn.functional.softmax(t, -1)):
        record = recorded(lambda rec: rec.call("softmax", builtin, torch.ones(3), forbid=("softmax",)))
        message = judge.verdict(1, record, by_hand, SPEC).message
        assert message == "expected: softmax works it out itself, without calling PyTorch's softmax", message


def test_a_check_can_carry_its_own_explanation():
    spec = judge.Judging("q", label_hints={"prediction 2": "a Python float becomes float32 by default"})
    right = recorded(lambda rec: [rec.record("prediction 1", "torch.int64", kind="value"),
                                  rec.record("prediction 2", "torch.float32", kind="value")])
    wrong = recorded(lambda rec: [rec.record("prediction 1", "torch.int64", kind="value"),
                                  rec.record("prediction 2", "torch.float64", kind="value")])
    message = judge.verdict(1, wrong, right, spec).message
    assert message == "prediction 2: got 'torch.float64', which is not right: a Python float becomes float32 by default"


def test_a_known_mistake_that_raises_is_told_by_its_message_too():
    raises = lambda message: recorded(lambda rec: rec.call("f(x)", lambda t: (_ for _ in ()).throw(RuntimeError(message)),  # noqa: E731
                                                           torch.ones(1)))
    mistake = judge.Mistake("no_grad", "wrap the update in torch.no_grad()", raises("a leaf Variable that requires grad"))
    assert judge.verdict(1, raises("a leaf Variable that requires grad"), reference(), SPEC, [mistake]).mistake == "no_grad"
    assert judge.verdict(1, raises("something else entirely"), reference(), SPEC, [mistake]).mistake is None


def test_numbers_inside_values_are_compared_within_the_tolerance():
    want = recorded(lambda rec: rec.record("stats", {"mean": 0.1, "shape": (2, 3)}, kind="value"))
    close = recorded(lambda rec: rec.record("stats", {"mean": 0.1 + 1e-9, "shape": (2, 3)}, kind="value"))
    far = recorded(lambda rec: rec.record("stats", {"mean": 0.2, "shape": (2, 3)}, kind="value"))
    assert judge.verdict(1, close, want, SPEC).points == 1
    assert judge.verdict(1, far, want, SPEC).message == "stats: mean is not right"


def test_a_quiz_earns_its_points_item_by_item():
    spec = judge.Judging("q", label_hints={"prediction 2": "a Python float becomes float32"}, credit_each="prediction ")

    def answers(*dtypes, well_formed=True):
        return recorded(lambda rec: [rec.claim("a list of four predictions", well_formed)]
                        + [rec.record(f"prediction {n}", d, kind="value") for n, d in enumerate(dtypes, start=1)])

    right = answers("int64", "float32", "float32", "float64")
    one_off = answers("int64", "float64", "float32", "float64")
    assert judge.verdict(2, right, right, spec).points == 2
    verdict = judge.verdict(2, one_off, right, spec)
    assert verdict.points == 1.5
    assert verdict.message == ("3 of 4 right; prediction 2: got 'float64', which is not right: "
                               "a Python float becomes float32")
    mistake = judge.Mistake("float64", "PyTorch's default float is float32", one_off.copy())
    assert (judge.verdict(2, one_off, right, spec, [mistake]).points,
            judge.verdict(2, one_off, right, spec, [mistake]).mistake) == (1.5, "float64")
    assert judge.verdict(2, answers("int64", "float32", "float32", "float64", well_formed=False), right, spec).points == 0
