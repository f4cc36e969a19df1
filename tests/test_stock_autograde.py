"""Stock `nbgrader autograde` (and the Formgrader's button) refuses and says what to use."""
import nbformat
from nbgrader.api import Gradebook

from grader import submissions, testing
from lessons import released, source

LESSON = "02_forward_pass"


def test_stock_nbgrader_autograde_refuses_and_says_what_to_use(tmp_path, released_course):
    """`nbgrader autograde` (the Formgrader's button too) would grade on the public checks alone."""
    root = testing.scratch_course(tmp_path)
    testing.copy_release(released_course(LESSON), root, LESSON)
    folder = root / "grading" / "submitted" / "alice" / LESSON
    folder.mkdir(parents=True)
    nbformat.write(submissions.completed(released(LESSON), source(LESSON)), str(folder / f"{LESSON}.ipynb"))
    proc = testing.nbgrader(root, "autograde", LESSON, check=False)
    assert proc.returncode != 0 and "make autograde" in proc.stdout + proc.stderr
    with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        scores = [g.score for g in gb.find_submission_notebook(LESSON, LESSON, "alice").grades]
    assert not any(scores), f"nothing may be scored by stock nbgrader: {scores}"
