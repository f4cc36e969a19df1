"""Read a submission whatever state it is in, and rebuild the notebook the grader runs.

The notebook that runs is the instructor's: every test and setup cell comes from the source (hidden
tests included), the student's answer cells and any cells they added are put in their places. A
deleted test cell comes back, a duplicated one runs once, an edited one runs as written by the
instructor, an answer cell turned into markdown runs as code; each is noted for the report.
"""
import copy
import json
from pathlib import Path

import nbformat

from grader.cells import grade_id, is_answer, is_test, nbgrader_meta


MAX_BYTES = 50 << 20  # a notebook larger than this is refused (its outputs, not its code, make it so)
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")  # written by `nbgrader submit` and `collect`


class Unreadable(Exception):
    """The submission cannot be graded at all; the message says why and what the student should do."""


def find_notebook(folder, name, released_files=()):
    """The submitted notebook in ``folder``: ``name``, else the only notebook there. Returns (path, notes).

    ``released_files``: relative paths of the files the lesson was released with (its figures). Fetching
    the lesson brings them and submitting takes them back, so they are no news to the student.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise Unreadable("nothing was submitted")
    expected = folder / name
    if expected.is_file():
        path, notes = expected, []
    else:
        found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
        if len(found) != 1:
            listing = ", ".join(p.name for p in found) or "no notebook"
            raise Unreadable(f"{name} is missing (found: {listing}); submit the notebook under its original name")
        path, notes = found[0], [f"the notebook was renamed to {found[0].name}; graded it as {name}"]
    extra = sorted({str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p != path
                    and p.name not in NBGRADER_FILES and ".ipynb_checkpoints" not in p.parts} - set(released_files))
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        notes.append(f"extra files were ignored (only the notebook is graded): {shown}")
    return path, notes


def read_notebook(path):
    """Parse a submitted notebook; (notebook, notes). Raises Unreadable with what to do."""
    data = Path(path).read_bytes()
    if len(data) > MAX_BYTES:
        raise Unreadable(f"the notebook is larger than {MAX_BYTES >> 20} MB; clear its outputs "
                         "(Edit > Clear Outputs of All Cells), save, and submit again")
    notes = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", errors="replace")
        notes.append(f"the file is not valid UTF-8 (byte {error.start}); unreadable bytes were replaced")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise Unreadable(f"the notebook file is damaged (not valid JSON: {error.msg} at line {error.lineno}); "
                         "open it in JupyterLab, or re-download the assignment and copy your answers in") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise Unreadable("the file is not a Jupyter notebook (no cells)")
    version = raw.get("nbformat")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:
        raise Unreadable(f"the notebook cannot be read ({type(error).__name__}: {error})") from None
    if version != 4:
        notes.append(f"the notebook was in format {version}; converted to format 4")
    return nb, notes


def assemble(source, released, submitted):
    """The notebook to run: ``source``'s structure with the student's answers. Returns (nb, notes, flags)."""
    released_by_id = {grade_id(c): c for c in released.cells if grade_id(c)}
    answers, extras, notes, flags = {}, {}, [], []
    known_ids = {c.get("id") for c in released.cells}
    anchor = None  # the last known cell seen: student-added cells go after it
    seen = set()
    for cell in submitted.cells:
        key = grade_id(cell)
        source_cell = released_by_id.get(key)
        if key and source_cell is not None:
            if key in seen:
                flags.append(f"the cell {key!r} appears more than once; it ran once, where the instructor put it")
                continue
            seen.add(key)
            anchor = key
            if is_answer(source_cell):
                answers[key] = cell
            elif is_test(source_cell):
                if cell.get("source", "") != source_cell.source or cell.get("cell_type") != "code":
                    flags.append(f"the test cell {key!r} was edited; the instructor's version ran instead")
                if nbgrader_meta(cell) != nbgrader_meta(source_cell):
                    flags.append(f"the grading metadata of {key!r} was edited; the instructor's was used")
        elif key is None and cell.get("id") not in known_ids:
            extras.setdefault(anchor, []).append(_student_added(cell))
        elif key:
            notes.append(f"a cell with the unknown grade id {key!r} was run as an ordinary cell")
            extras.setdefault(anchor, []).append(_student_added(cell))
    for key in released_by_id:
        if is_test(released_by_id[key]) and key not in seen:
            flags.append(f"the test cell {key!r} was deleted; the instructor's version ran")
    out = copy.deepcopy(source)
    out.cells = []
    source = copy.deepcopy(source)  # cells are run and filled in: never share them with another submission
    for cell in extras.get(None, []):
        out.cells.append(cell)
    for cell in source.cells:
        key = grade_id(cell)
        if key and is_answer(cell):
            if key in answers:
                cell = _student_answer(cell, answers[key], notes)
            else:
                notes.append(f"the answer cell {key!r} was deleted; it counts as not answered")
                cell = copy.deepcopy(released_by_id.get(key, cell))
        out.cells.append(cell)
        for extra in extras.get(key, []) if key else []:
            out.cells.append(extra)
    if submitted.metadata.get("kernelspec", {}).get("name") != source.metadata.get("kernelspec", {}).get("name"):
        flags.append(f"the notebook's kernel was changed to {submitted.metadata.get('kernelspec', {}).get('name')!r}; "
                     "it ran with the course's Python kernel")
    return out, notes, flags


def _student_answer(source_cell, submitted, notes):
    cell = copy.deepcopy(source_cell)
    cell.source = submitted.get("source", "")
    if submitted.get("cell_type") != "code":
        notes.append(f"the answer cell {grade_id(source_cell)!r} had been turned into "
                     f"{submitted.get('cell_type')}; it ran as code")
    return cell


def _student_added(cell):
    cell = copy.deepcopy(cell)
    cell.setdefault("metadata", {}).pop("nbgrader", None)
    cell.metadata["student_added"] = True
    return cell

