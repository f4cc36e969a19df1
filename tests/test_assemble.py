"""Reading a submission and rebuilding the notebook that runs, on tiny notebooks, with no kernel."""
import ast
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader import assemble as asm
from grader import cells, scan


def meta(grade_id, solution=False, grade=False, points=0):
    return {"nbgrader": {"grade_id": grade_id, "solution": solution, "grade": grade, "points": points,
                         "locked": not solution, "schema_version": 3, "task": False}}


def lesson(answer="raise NotImplementedError()", test="assert f(2) == 4"):
    cells = [new_code_cell("import torch", metadata=meta("setup")),
             new_code_cell(answer, metadata=meta("f", solution=True)),
             new_code_cell(test, metadata=meta("test_f", grade=True, points=2))]
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


SOURCE = lesson("def f(x):\n    return x * x", "assert f(2) == 4\n### BEGIN HIDDEN TESTS\nassert f(3) == 9\n### END HIDDEN TESTS")
RELEASED = lesson()


def test_the_students_answer_runs_in_the_instructors_notebook():
    submitted = lesson("def f(x):\n    return x ** 2", "pass  # edited")
    nb, notes, flags = asm.assemble(SOURCE, RELEASED, submitted)
    assert [c.source for c in nb.cells] == ["import torch", "def f(x):\n    return x ** 2", SOURCE.cells[2].source]
    assert notes == [] and flags == ["the test cell 'test_f' was edited; the instructor's version ran instead"]


def test_a_reference_run_ends_with_the_last_graded_cell():
    bonus = lesson()
    bonus.cells += [new_markdown_cell("## Bonus"), new_code_cell("train_a_cnn()")]
    assert [c.source for c in cells.through_last_graded(bonus).cells] == [c.source for c in RELEASED.cells]
    assert len(bonus.cells) == 5, "the lesson itself keeps its bonus"
    assert cells.through_last_graded(new_notebook(cells=[new_code_cell("x = 1")])).cells == []


def test_added_cells_keep_their_place_and_lose_grading_metadata():
    submitted = lesson("def f(x):\n    return x * x")
    mine, forged = new_code_cell("print('mine')"), new_code_cell("x = 1", metadata=meta("test_g", grade=True, points=99))
    mine.id, forged.id = "mine", "forged"
    submitted.cells[2:2] = [mine, forged]
    nb, notes, flags = asm.assemble(SOURCE, RELEASED, submitted)
    assert [c.source for c in nb.cells][2:4] == ["print('mine')", "x = 1"]
    assert all(cells.student_added(c) and not cells.is_test(c) for c in nb.cells[2:4]) and not flags
    assert notes == ["a cell with the unknown grade id 'test_g' was run as an ordinary cell"]


@pytest.mark.parametrize("edit, flag", [
    (lambda nb: nb.cells.pop(2), "was deleted"),
    (lambda nb: nb.cells.append(nb.cells[2]), "appears more than once"),
    (lambda nb: nb.cells[2].metadata.nbgrader.update(points=100), "grading metadata of 'test_f' was edited"),
    (lambda nb: nb.metadata.kernelspec.update(name="evil"), "kernel was changed"),
])
def test_structural_edits_are_put_right_and_flagged(edit, flag):
    submitted = lesson("def f(x):\n    return x * x")
    edit(submitted)
    nb, _, flags = asm.assemble(SOURCE, RELEASED, submitted)
    assert [cells.grade_id(c) for c in nb.cells] == ["setup", "f", "test_f"]
    assert nb.cells[2].metadata.nbgrader["points"] == 2
    assert any(flag in f for f in flags), flags


def test_a_deleted_or_markdown_answer_is_noted():
    deleted = lesson()
    deleted.cells.pop(1)
    nb, notes, _ = asm.assemble(SOURCE, RELEASED, deleted)
    assert nb.cells[1].source == "raise NotImplementedError()" and "counts as not answered" in notes[0]
    markdown = lesson("def f(x):\n    return x * x")
    markdown.cells[1] = new_markdown_cell(markdown.cells[1].source, metadata=markdown.cells[1].metadata)
    nb, notes, _ = asm.assemble(SOURCE, RELEASED, markdown)
    assert nb.cells[1].cell_type == "code" and "turned into markdown" in notes[0]


def test_damaged_files_are_unreadable_with_what_to_do(tmp_path):
    bad = tmp_path / "x.ipynb"
    bad.write_text('{"cells": [')
    with pytest.raises(asm.Unreadable, match="not valid JSON"):
        asm.read_notebook(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(asm.Unreadable, match="not a Jupyter notebook"):
        asm.read_notebook(bad)
    good = tmp_path / "y.ipynb"
    good.write_bytes(nbformat.writes(RELEASED).replace("NotImplementedError", "NotImplementedError\u00e9").encode("latin-1"))
    nb, notes = asm.read_notebook(good)
    assert "not valid UTF-8" in notes[0] and len(nb.cells) == 3


def test_the_notebook_is_found_by_name_or_alone(tmp_path):
    with pytest.raises(asm.Unreadable, match="nothing was submitted"):
        asm.find_notebook(tmp_path / "absent", "lesson.ipynb")
    (tmp_path / "mine.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("hi")
    path, notes = asm.find_notebook(tmp_path, "lesson.ipynb")
    assert path.name == "mine.ipynb" and "renamed" in notes[0] and "extra files were ignored" in notes[1]
    (tmp_path / "other.ipynb").write_text("{}")
    with pytest.raises(asm.Unreadable, match="is missing"):
        asm.find_notebook(tmp_path, "lesson.ipynb")


def test_only_files_the_student_added_are_noted_as_extra(tmp_path):
    (tmp_path / "assets").mkdir()
    for name in ["lesson.ipynb", "assets/figure.png", "assets/mine.png", "notes.txt", "timestamp.txt"]:
        (tmp_path / name).write_text("x")
    released = {"lesson.ipynb", "assets/figure.png"}  # what the lesson was released with
    _, notes = asm.find_notebook(tmp_path, "lesson.ipynb", released)
    assert notes == ["extra files were ignored (only the notebook is graded): assets/mine.png, notes.txt"]
    for name in ["assets/mine.png", "notes.txt"]:
        (tmp_path / name).unlink()
    assert asm.find_notebook(tmp_path, "lesson.ipynb", released)[1] == [], "the lesson's own figures are no news"


@pytest.mark.parametrize("code, finding", [
    ("get_ipython().ast_transformers.append(x)", "uses get_ipython"),
    ("import ctypes", "uses ctypes"),
    ("torch.allclose = lambda *a: True", "assigns to torch.allclose"),
    ("setattr(math, 'isclose', f)", "calls setattr(math"),
    ("class A:\n    def __eq__(self, other):\n        return True", "always returns a constant"),
])
def test_the_scan_flags_what_answers_never_need(code, finding):
    assert any(finding in f for f in scan.findings(code)), scan.findings(code)


def test_the_scan_leaves_ordinary_answers_and_settings_alone():
    assert scan.findings("def f(x):\n    return torch.relu(x @ w + b)") == []
    assert scan.findings("torch.backends.cudnn.benchmark = True\n%timeit f(x)") == []


def test_a_magic_hides_nothing_from_the_scan():
    assert scan.findings("%time f(x)\nimport ctypes") == ["uses ctypes (touches memory directly)"]
    assert scan.findings("%%timeit\nsys.settrace(None)") == ["uses settrace (traces (and can skip) the tests' lines)"]
    assert scan.findings("%matplotlib inline\n!pip list") == [], "IPython syntax alone is not the student's get_ipython"
    assert "uses get_ipython" in scan.findings("get_ipython().run_line_magic('time', '1')")[0]


@pytest.mark.parametrize("code, found", [
    ("scores = evaluate(model, test_x, test_y)", ["test_x", "test_y"]),
    ("images = data['test_images'][:5]", ["test_images"]),
    ("%time evaluate(model, test_x, val_y)", ["test_x"]),
    ("%%timeit\nmodel(test_x)", ["test_x"]),
    ("def f(:\n    test_y", ["test_y"]),  # broken code is read as text
    ("print(val_x.shape)  # not test_x: the validation split", []),
    ("print('test_x stays untouched')", []),
    ("my_test_x = val_x", []),
])
def test_mentions_finds_names_and_keys_used_as_code(code, found):
    assert scan.mentions(code, ("test_x", "test_y"), ("test_images", "test_labels")) == found


def test_student_code_is_the_answers_and_the_added_cells():
    nb = lesson("def f(x):\n    return x * x")
    added = new_code_cell("print(f(3))", metadata={"student_added": True})
    nb.cells += [added, new_markdown_cell("notes, not code")]
    assert cells.student_code(nb) == [("f", "def f(x):\n    return x * x"), ("added cell 4", "print(f(3))")]


def test_a_parse_spoiled_by_another_threads_is_tried_again(monkeypatch):
    real, failures = ast.parse, []

    def racing(code):
        if not failures:  # the first try meets another thread's parse
            failures.append(code)
            raise SystemError("AST constructor recursion depth mismatch (before=33, after=161)")
        return real(code)

    monkeypatch.setattr(ast, "parse", racing)
    assert scan.findings("import ctypes") == ["uses ctypes (touches memory directly)"] and failures
