"""What kind of cell this is, read from its nbgrader metadata: the one place the grader asks."""
import copy


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell):
    return nbgrader_meta(cell).get("grade_id")


def is_answer(cell):
    """A cell students write in (nbgrader's "solution")."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell):
    """A read-only graded cell: a question."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_graded(cell):
    """Any cell that carries points (a test cell, or a manually graded answer)."""
    return bool(nbgrader_meta(cell).get("grade"))


def student_added(cell):
    """A cell the student added (the grader marks it when it rebuilds the notebook)."""
    return bool(cell.get("metadata", {}).get("student_added"))


def student_code(nb):
    """(where, source) of each code cell the student wrote: the answers, and the cells they added."""
    return [(grade_id(cell) or f"added cell {index + 1}", cell.source) for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and (is_answer(cell) or student_added(cell))]


def through_last_graded(nb):
    """A copy of ``nb`` that ends with its last graded cell. What follows can change no score, so a run that only
    records the data of the questions (the reference's) stops there; students' runs go to the end."""
    last = max((i for i, c in enumerate(nb.cells) if is_graded(c)), default=-1)
    out = copy.deepcopy(nb)
    out.cells = out.cells[:last + 1]
    return out


def answers(nb):
    """grade_id -> cell, for the cells students write in."""
    return {grade_id(c): c for c in nb.cells if is_answer(c)}


def questions(nb):
    """grade_id -> points, for the graded test cells."""
    return {grade_id(c): nbgrader_meta(c)["points"] for c in nb.cells if is_test(c)}
