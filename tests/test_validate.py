"""nbgrader's Validate (the button students press) on a blank and on a completed notebook."""
import nbformat
import pytest

from grader import submissions, testing
from lessons import LESSONS, released, source


@pytest.mark.parametrize("lesson", LESSONS)
def test_validate_reports_blank_and_completed_notebooks(lesson, tmp_path):
    blank, done = tmp_path / "blank.ipynb", tmp_path / "done.ipynb"
    nbformat.write(released(lesson), str(blank))
    nbformat.write(submissions.completed(released(lesson), source(lesson)), str(done))
    cells = len(submissions.test_cells(source(lesson)))
    out = testing.nbgrader(tmp_path, "validate", blank.name, check=False).stdout
    assert f"VALIDATION FAILED ON {cells} CELL(S)" in out, out[-2000:]
    assert "Success! Your notebook passes all the tests." in testing.nbgrader(tmp_path, "validate", done.name).stdout
