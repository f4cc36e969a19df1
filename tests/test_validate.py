"""nbgrader's Validate (the button students press) on a blank notebook. That the button passes a completed one
is proven where students press it, in their own JupyterLab (tests/test_browser.py, on the first lesson); that
every completed lesson passes its checks, by nbval and by grading the solution (tests/test_grading.py)."""
import nbformat
import pytest

from grader import submissions, testing
from lessons import LESSONS, released, source


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """lesson -> what `nbgrader validate` printed for its blank notebook: every lesson in one nbgrader run,
    as `nbgrader validate a.ipynb b.ipynb` validates each file in turn (one start-up, not seven), its log
    naming each before its report."""
    folder = tmp_path_factory.mktemp("validate")
    for lesson in LESSONS:
        nbformat.write(released(lesson), str(folder / f"{lesson}.ipynb"))
    out = testing.nbgrader(folder, "validate", *(f"{lesson}.ipynb" for lesson in LESSONS), check=False,
                           merged=True).stdout
    parts = out.split("[ValidateApp | INFO] Validating '")[1:]
    return {part.split("'", 1)[0].rsplit("/", 1)[-1].removesuffix(".ipynb"): part for part in parts}


@pytest.mark.parametrize("lesson", LESSONS)
def test_validate_reports_every_check_a_blank_notebook_fails(lesson, validated):
    cells = len(submissions.test_cells(source(lesson)))
    out = validated[lesson]
    assert f"VALIDATION FAILED ON {cells} CELL(S)" in out, out[-2000:]
    errors = [block.split("\n\n")[0] for block in out.split("The error was:\n\n")[1:]]
    failed_checks = [error for error in errors if error.lstrip().startswith("Check failed:")]
    # Every test cell of a blank notebook fails as a check, with its hint in a few lines: never a raw traceback.
    assert len(failed_checks) == len(errors) == cells, errors
    assert all(len(error.splitlines()) <= 8 for error in failed_checks), errors
    assert "course/checks.py" not in out  # a check's failure is its hint, not a traceback through it
