"""One source of truth: solutions/ is the source, notebooks/ its exact nbgrader release, nothing leaks."""
import ast
import filecmp

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from grader import cells, questions, submissions
from lessons import (ASSIGNMENT_IDS, LESSONS, REPO, image_refs, png_size, release_path, released, secret_lines,
                     source, source_path)


def test_lessons_use_the_course_ids():
    assert LESSONS, "no lessons found in solutions/"
    assert set(LESSONS) <= set(ASSIGNMENT_IDS), f"unknown assignment ids: {set(LESSONS) - set(ASSIGNMENT_IDS)}"
    for lesson in LESSONS:
        assert source_path(lesson).exists(), f"solutions/{lesson}/ must hold {lesson}.ipynb"
        assert release_path(lesson).exists(), f"notebooks/{lesson}/{lesson}.ipynb is missing: run `make release`"


@pytest.mark.parametrize("lesson", LESSONS)
def test_sources_are_committed_without_outputs(lesson):
    dirty = [i for i, cell in enumerate(source(lesson).cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"solutions/{lesson}: cells {dirty} have outputs: clear them "
                       "(JupyterLab: Edit > Clear Outputs of All Cells) and save")


@pytest.mark.parametrize("lesson", LESSONS)
def test_source_cells_are_well_formed(lesson):
    nb = source(lesson)
    nbformat.validate(nb)
    for key, cell in submissions.answer_cells(nb).items():
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, key
    tests = submissions.test_cells(nb)
    assert len(tests) >= 5, f"{lesson} has {len(tests)} graded test cells: at least five exercises are expected"
    judged = questions.load(REPO / "solutions", lesson) or {}
    assert set(judged) == set(tests), (f"solutions/{lesson}/grading.py needs exactly one question per graded test "
                                       f"cell: missing {set(tests) - set(judged)}, unknown {set(judged) - set(tests)}")
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            assert meta["points"] > 0 and meta.get("locked"), meta["grade_id"]
            # Graded checks are the probe and judging in grading.py, outside the notebook and the kernel.
            assert "### BEGIN HIDDEN TESTS" not in cell.source, f"{meta['grade_id']}: move hidden tests to grading.py"
            assert cell.source.strip(), f"{meta['grade_id']} has no public checks for students to run"


@pytest.mark.parametrize("lesson", LESSONS)
def test_release_is_regenerated_from_the_source(lesson, released_course):
    """`released_course` runs `release.release` on a scratch course, once: the grading tests then copy it."""
    fresh, committed = released_course(lesson) / "release" / lesson, REPO / "notebooks" / lesson
    stale = "notebooks/{} is out of date with solutions/{}: run `make release` and commit the result"
    assert submissions.read(fresh / f"{lesson}.ipynb") == released(lesson), stale.format(lesson, lesson)
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh_files == committed_files, stale.format(lesson, lesson)
    assert not (committed / questions.FILE).exists(), f"notebooks/{lesson}/{questions.FILE} must never be released"
    for rel in fresh_files:
        assert filecmp.cmp(fresh / rel, committed / rel, shallow=False), stale.format(lesson, lesson)


@pytest.mark.parametrize("lesson", LESSONS)
def test_release_has_no_solutions_or_hidden_tests(lesson):
    text = release_path(lesson).read_text()
    for marker in ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"]:
        assert marker not in text
    all_source = "\n".join(cell.source for cell in released(lesson).cells)
    leaked = sorted(line for line in secret_lines(lesson) if line in all_source)
    assert not leaked, f"notebooks/{lesson} contains solution or hidden-test code: {leaked[:3]}"


@pytest.mark.parametrize("lesson", LESSONS)
@pytest.mark.parametrize("tree", ["solutions", "notebooks"])
def test_images_resolve_next_to_the_notebook(lesson, tree):
    folder = REPO / tree / lesson
    nb = submissions.read(folder / f"{lesson}.ipynb")
    for ref in image_refs(nb):
        assert not ref.startswith(("/", "..", "http")), f"{ref}: images must live in the lesson folder to reach students"
        width, height = png_size(folder / ref)
        assert width > 0 and height > 0, ref
    if tree == "solutions" and (folder / "assets").is_dir():  # links to the figures the script draws; no copies
        for path in (folder / "assets").iterdir():
            assert path.is_symlink() and path.resolve().parent == REPO / "assets", (
                f"{path} should be a relative symlink to ../../../assets/{path.name}")


def test_figure_script_draws_every_figure_the_lessons_show(tmp_path):
    import runpy

    figures = runpy.run_path(str(REPO / "assets" / "figures.py"))
    drawn = {p.name for p in figures["draw_all"](tmp_path)}
    shown = {ref.split("/")[-1] for lesson in LESSONS for ref in image_refs(source(lesson))}
    assert shown <= drawn, f"no drawing code for {shown - drawn}: add it to assets/figures.py"
    committed = {p.name for p in (REPO / "assets").glob("*.png")}
    assert drawn == committed, "assets/ is out of date: run `make figures`"
    for name in drawn:
        assert png_size(tmp_path / name)[0] > 100


def module_names(tree):
    """(names a cell binds at module level, names it reads that it never binds itself, in any scope)."""
    bound = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in statement.names)
        elif not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.update(n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    local = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} | {
        a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - local - bound
    return bound, read


@pytest.mark.parametrize("lesson", LESSONS)
def test_later_cells_need_nothing_a_test_cell_made(lesson):
    """Graded, a test cell runs its question's probe instead of its own code: a name only a test cell
    binds would be missing from every later cell of a graded run."""
    transform = TransformerManager().transform_cell
    from_tests, elsewhere, missing = {}, set(), []
    for cell in source(lesson).cells:
        if cell.cell_type != "code":
            continue
        bound, used = module_names(ast.parse(transform(cell.source)))
        if cells.is_test(cell):
            from_tests.update({name: cells.grade_id(cell) for name in bound - elsewhere})
            continue
        missing += [f"{name} (bound in {from_tests[name]})" for name in sorted(used & set(from_tests) - elsewhere - bound)]
        elsewhere |= bound
    assert not missing, f"{lesson}: later cells use names only a test cell binds; bind them in a plain cell: {missing}"
