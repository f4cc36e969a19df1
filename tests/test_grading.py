"""Tests that test the tests: every lesson graded through the course's grader.

A blank notebook scores 0, the solution full marks, and each known mistake (mutant) loses
exactly the points of the test cells it should fail (less what it keeps of a quiz), with feedback that
names the mistake. A mutant's
data come from the reference run (a trusted kernel) and are judged directly; a few canary mutants still
go through the whole pipeline and must agree.
"""
import re
from collections import Counter

import pytest

from grader import submissions
from lessons import ALTERNATIVES, LESSONS, canaries, judged_mutant, lesson_mutants, secret_lines, source

MUTANTS = [(lesson, m) for lesson in LESSONS for m in lesson_mutants(lesson)]


def max_points(lesson):
    return sum(submissions.test_cells(source(lesson)).values())


@pytest.mark.parametrize("lesson", LESSONS)
def test_blank_notebook_scores_zero(graded, lesson):
    result = graded(lesson)["blank"]
    assert result is not None, "the blank notebook was not graded"
    assert (result.total, result.max_total) == (0, max_points(lesson)), result.scores


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_scores_full_marks(graded, lesson):
    result = graded(lesson)["solution"]
    assert result.lost() == [], f"the reference solution loses points in {result.lost()}"
    assert result.total == max_points(lesson) > 0


@pytest.mark.parametrize("lesson,name", [(lesson, name) for lesson, named in ALTERNATIVES.items() for name in named])
def test_other_right_answers_score_full_marks(graded, lesson, name):
    result = graded(lesson)[f"alternative-{name}"]
    assert result.lost() == [], f"{name} loses points in {result.lost()}"
    assert result.total == max_points(lesson)
    # The lesson's own cells must work with this answer too: a student who chose it sees no error anywhere.
    assert "output_error" not in result.feedback_html, f"with {name}, a cell of the lesson raised an error"


@pytest.mark.parametrize("lesson", LESSONS)
def test_corrupt_submission_scores_zero_and_spares_the_others(graded, lesson):
    results = graded(lesson)
    assert results["broken"] is None or results["broken"].total == 0
    assert results["solution"].total == max_points(lesson), "one broken file must not cost another student"


def mutant_outcome(references, lesson, mutant):
    """(test cells lost, the text the student reads, points earned on those cells) for a mutant, its
    reference data judged."""
    lost, messages, earned = judged_mutant(references(lesson), mutant, submissions.test_cells(source(lesson)))
    return lost, "\n".join(messages), earned


def caught_exactly(mutant, outcome):
    lost, text, earned = outcome
    return (lost == sorted(mutant.fails) and mutant.feedback in text
            and earned == {cell: mutant.earns(cell) for cell in mutant.fails})


@pytest.mark.parametrize("lesson,mutant", MUTANTS, ids=[f"{lesson}-{m.id}" for lesson, m in MUTANTS])
def test_mutant_loses_exactly_its_points(references, lesson, mutant):
    lost, text, earned = mutant_outcome(references, lesson, mutant)
    assert lost == sorted(mutant.fails), (
        f"{mutant.id} ({mutant.why}) should fail {sorted(mutant.fails)} but failed {lost}")
    assert earned == {cell: mutant.earns(cell) for cell in mutant.fails}, f"{mutant.id} earns {earned} on those"
    assert mutant.feedback in text, f"the feedback for {mutant.id} should say {mutant.feedback!r}, not {text!r}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_canary_mutants_agree_with_their_judged_data(graded, references, lesson):
    """Through the whole pipeline (sandboxed kernel, probes, files, judge, gradebook, feedback) a mutant
    scores and reads exactly as its reference data judged directly."""
    results, points = graded(lesson), submissions.test_cells(source(lesson))
    for mutant in canaries(lesson):
        result = results[f"mutant-{mutant.id}"]
        lost, messages, earned = judged_mutant(references(lesson), mutant, points)
        assert result.lost() == lost == sorted(mutant.fails), mutant.id
        assert result.total == max_points(lesson) - sum(points[c] - earned[c] for c in lost)
        for message in messages:
            assert message in result.feedback_text, f"{mutant.id}: the feedback should say {message!r}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_feedback_shows_no_hidden_tests(graded, lesson):
    hidden, solution = secret_lines(lesson, ["HIDDEN TESTS"]), secret_lines(lesson, ["SOLUTION"])
    assert hidden and solution, "expected hidden tests and solutions in the source"
    for student, result in graded(lesson).items():
        if result is None or student == "broken":
            continue
        text = result.feedback_text
        # A student's own answers appear in their feedback; a blank notebook has none to show.
        secrets = hidden | solution if student == "blank" else hidden
        leaked = sorted(line for line in secrets if line in text)
        assert not leaked, f"feedback for {student} shows hidden-test or solution code: {leaked[:3]}"
        assert "BEGIN HIDDEN TESTS" not in text


@pytest.mark.parametrize("lesson", ["08_mnist_lab"])
def test_graded_runs_draw_no_progress_bars(graded, lesson):
    """The lab trains under progress bars; a graded run switches them off, so no feedback shows one."""
    text = graded(lesson)["solution"].feedback_text
    assert "epoch 10  loss" in text, "the training cell's own lines should be in the feedback"
    bars = re.findall(r".{0,30}\d+%\|.{0,40}|.{0,30}(?:epoch|batch|it)/s.{0,10}", text)
    assert not bars, f"the feedback shows progress bars: {bars[:3]}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_mutants_cover_every_test_cell(lesson, record_property):
    mutants = lesson_mutants(lesson)
    cells = submissions.test_cells(source(lesson))
    failed_by = Counter(cell for m in mutants for cell in m.fails)
    weak = {cell: failed_by[cell] for cell in cells if failed_by[cell] < 2}
    record_property("mutation report", f"{lesson}: {len(mutants)} mutants over {len(cells)} graded test cells; "
                                       f"fewest mutants per cell: {min(failed_by[c] for c in cells)}")
    assert not weak, f"test cells failed by fewer than two mutants: {weak}"
    assert len(mutants) >= 12, f"{lesson} has {len(mutants)} mutants: list at least 12 known mistakes"


@pytest.mark.parametrize("lesson", LESSONS)
def test_mutation_score(references, lesson, record_property):
    mutants = lesson_mutants(lesson)
    outcomes = {m.id: mutant_outcome(references, lesson, m) for m in mutants}
    exact = [m for m in mutants if caught_exactly(m, outcomes[m.id])]
    record_property("mutation report", f"{lesson}: mutation score {len(exact)}/{len(mutants)} "
                                       f"({100 * len(exact) // max(1, len(mutants))}%) caught exactly, with their hint")
    assert len(exact) == len(mutants)
