"""Tests that test the tests: every lesson graded through real nbgrader.

A blank notebook scores 0, the solution full marks, and each known mistake (mutant) loses
exactly the points of the test cells it should fail, with feedback that names the mistake.
"""
from collections import Counter

import pytest

from grader import submissions
from grader.redact import BEGIN
from lessons import LESSONS, lesson_mutants, secret_lines, source

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


@pytest.mark.parametrize("lesson", LESSONS)
def test_corrupt_submission_scores_zero_and_spares_the_others(graded, lesson):
    results = graded(lesson)
    assert results["broken"] is None or results["broken"].total == 0
    assert results["solution"].total == max_points(lesson), "one broken file must not cost another student"


@pytest.mark.parametrize("lesson,mutant", MUTANTS, ids=[f"{lesson}-{m.id}" for lesson, m in MUTANTS])
def test_mutant_loses_exactly_its_points(graded, lesson, mutant):
    result = graded(lesson)[f"mutant-{mutant.id}"]
    points = submissions.test_cells(source(lesson))
    assert result.lost() == sorted(mutant.fails), (
        f"{mutant.id} ({mutant.why}) should fail {sorted(mutant.fails)} but failed {result.lost()}")
    assert result.total == max_points(lesson) - sum(points[cell] for cell in mutant.fails)
    assert mutant.feedback in result.feedback_text, (
        f"the feedback for {mutant.id} should say {mutant.feedback!r}")


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
        assert BEGIN not in text and "(hidden tests: not shown)" in text


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
def test_mutation_score(graded, lesson, record_property):
    results = graded(lesson)
    mutants = lesson_mutants(lesson)
    exact = [m for m in mutants if results[f"mutant-{m.id}"].lost() == sorted(m.fails)
             and m.feedback in results[f"mutant-{m.id}"].feedback_text]
    record_property("mutation report", f"{lesson}: mutation score {len(exact)}/{len(mutants)} "
                                       f"({100 * len(exact) // max(1, len(mutants))}%) caught exactly, with their hint")
    assert len(exact) == len(mutants)
