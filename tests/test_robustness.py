"""A submission that hangs or kills its kernel costs its own points only, never another student's grade."""
from grader import autograde, submissions
from lessons import released, source

LESSON = "02_forward_pass"
SHORT_LIMITS = ["c.BudgetedExecute.timeout = 5", "c.BudgetedExecute.notebook_timeout = 40"]


def test_hanging_and_crashing_submissions_are_contained(tmp_path):
    rel, src = released(LESSON), source(LESSON)
    answers = submissions.solution_answers(src)
    hang = "def neuron_sum(features, weights, bias):\n    while True:\n        pass"
    subs = {"hangs": submissions.with_answers(rel, {**answers, "neuron_sum": hang}),
            "crashes": submissions.with_answers(rel, {**answers, "softmax": "import os\nos._exit(1)"}),
            "fine": submissions.completed(rel, src)}
    results, _ = autograde.grade(LESSON, subs, tmp_path, config=SHORT_LIMITS)
    full = sum(submissions.test_cells(src).values())
    assert results["fine"].total == full
    # The endless loop times out in its own test cell; the kernel is interrupted and grading goes on.
    assert results["hangs"].lost() == ["test_neuron_sum"]
    assert "CellTimeoutError: this test ran past its time limit" in results["hangs"].feedback_text
    # A dead kernel fails the notebook, which nbgrader records as 0, without stopping the run.
    assert results["crashes"] is None or results["crashes"].total == 0
