"""The course's nbgrader plugins: hidden tests redacted from feedback, stock autograde refused."""
import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.api import Gradebook

from grader import submissions, testing
from grader.redact import RedactHiddenTests, redact_source
from lessons import released, source

LESSON = "02_forward_pass"

TEST_CELL = """check(answer)
### BEGIN HIDDEN TESTS
def secret_check(device):
    assert answer(7) == 49, "answer(7) should be 49: did you add instead of multiply?"
### END HIDDEN TESTS
print("done")"""


def graded_cell(source, outputs=()):
    cell = new_code_cell(source, outputs=list(outputs))
    cell.metadata.nbgrader = {"grade": True, "solution": False, "grade_id": "t", "points": 1, "locked": True,
                              "schema_version": 3, "task": False}
    return cell


def test_redact_source_keeps_public_lines_and_indentation():
    source, found = redact_source(TEST_CELL, "# hidden")
    assert found
    assert source == 'check(answer)\n# hidden\nprint("done")'
    assert redact_source("x = 1", "# hidden") == ("x = 1", False)
    indented, _ = redact_source("if True:\n    ### BEGIN HIDDEN TESTS\n    secret()\n    ### END HIDDEN TESTS", "# hidden")
    assert indented == "if True:\n    # hidden"


def test_feedback_keeps_the_message_but_not_the_traceback():
    error = new_output("error", ename="AssertionError", evalue="answer(7) should be 49: did you add instead of multiply?",
                       traceback=["Traceback ...", "----> 3     assert answer(7) == 49, ...", "AssertionError: ..."])
    nb = new_notebook(cells=[graded_cell(TEST_CELL, [error])])
    nb, _ = RedactHiddenTests().preprocess(nb, {})
    cell = nb.cells[0]
    assert "secret_check" not in cell.source and "(hidden tests: not shown)" in cell.source
    assert cell.outputs[0].traceback == ["AssertionError: answer(7) should be 49: did you add instead of multiply?"]


def test_blank_answers_get_a_readable_message():
    error = new_output("error", ename="NotImplementedError", evalue="", traceback=["..."])
    nb, _ = RedactHiddenTests().preprocess(new_notebook(cells=[graded_cell(TEST_CELL, [error])]), {})
    assert "not written yet" in nb.cells[0].outputs[0].traceback[0]


def test_timeouts_get_a_readable_message():
    error = new_output("error", ename="CellTimeoutError", evalue="", traceback=["..."])
    nb, _ = RedactHiddenTests().preprocess(new_notebook(cells=[graded_cell(TEST_CELL, [error])]), {})
    assert "ran past its time limit" in nb.cells[0].outputs[0].traceback[0]


def test_cells_without_hidden_tests_keep_their_traceback():
    error = new_output("error", ename="AssertionError", evalue="", traceback=["line 1", "line 2"])
    nb, _ = RedactHiddenTests().preprocess(new_notebook(cells=[graded_cell("assert False", [error])]), {})
    assert nb.cells[0].outputs[0].traceback == ["line 1", "line 2"]


def test_stock_nbgrader_autograde_refuses_and_says_what_to_use(tmp_path):
    """`nbgrader autograde` (the Formgrader's button too) would grade on the public checks alone."""
    root = testing.scratch_course(tmp_path)
    testing.nbgrader(root, "generate_assignment", LESSON, "--force")
    folder = root / "grading" / "submitted" / "alice" / LESSON
    folder.mkdir(parents=True)
    nbformat.write(submissions.completed(released(LESSON), source(LESSON)), str(folder / f"{LESSON}.ipynb"))
    proc = testing.nbgrader(root, "autograde", LESSON, check=False)
    assert proc.returncode != 0 and "make autograde" in proc.stdout + proc.stderr
    with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        scores = [g.score for g in gb.find_submission_notebook(LESSON, LESSON, "alice").grades]
    assert not any(scores), f"nothing may be scored by stock nbgrader: {scores}"
