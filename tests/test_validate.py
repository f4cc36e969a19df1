"""nbgrader's Validate (the button students press) on a blank notebook. That the button passes a completed one
is proven where students press it, in their own JupyterLab (tests/test_browser.py, on the first lesson); that
every completed lesson passes its checks, by nbval and by grading the solution (tests/test_grading.py)."""
import nbformat
import pytest

from grader import submissions, testing
from lessons import LESSONS, released, source


@pytest.mark.parametrize("lesson", LESSONS)
def test_validate_reports_every_check_a_blank_notebook_fails(lesson, tmp_path):
    blank = tmp_path / "blank.ipynb"
    nbformat.write(released(lesson), str(blank))
    cells = len(submissions.test_cells(source(lesson)))
    out = testing.nbgrader(tmp_path, "validate", blank.name, check=False).stdout
    assert f"VALIDATION FAILED ON {cells} CELL(S)" in out, out[-2000:]
    errors = [block.split("\n\n")[0] for block in out.split("The error was:\n\n")[1:]]
    failed_checks = [error for error in errors if error.lstrip().startswith("Check failed:")]
    # Every test cell of a blank notebook fails as a check, with its hint in a few lines: never a raw traceback.
    assert len(failed_checks) == len(errors) == cells, errors
    assert all(len(error.splitlines()) <= 8 for error in failed_checks), errors
    assert "course/checks.py" not in out  # a check's failure is its hint, not a traceback through it
