"""A submission that hangs or kills its kernel costs its own points only, never another student's grade."""
from grader import submissions, testing
from grader.sandbox import Limits
from lessons import released, source

LESSON = "02_forward_pass"



def test_hanging_and_crashing_submissions_are_contained(tmp_path, released_course):
    rel, src = released(LESSON), source(LESSON)
    answers = submissions.solution_answers(src)
    hang = "def neuron_sum(features, weights, bias):\n    while True:\n        pass"
    subs = {"hangs": submissions.with_answers(rel, {**answers, "neuron_sum": hang}),
            "crashes": submissions.with_answers(rel, {**answers, "softmax": "import os\nos._exit(1)"}),
            "fine": submissions.completed(rel, src)}
    results, _ = testing.grade(LESSON, subs, tmp_path, limits=Limits(cell_timeout=20, notebook_timeout=120),
                               released=released_course(LESSON))
    full = sum(submissions.test_cells(src).values())
    assert results["fine"].total == full
    # The endless loop times out in its own test cell; the kernel is interrupted and grading goes on.
    assert results["hangs"].lost() == ["test_neuron_sum"]
    assert "CellTimeoutError: this test ran past its time limit" in results["hangs"].feedback_text
    # A dead kernel costs the tests from the crash on; the ones that passed before it keep their points.
    assert results["crashes"].lost() == ["test_forward", "test_softmax", "test_softmax_stable"]
    assert "the kernel crashed while running this cell" in results["crashes"].feedback_text
