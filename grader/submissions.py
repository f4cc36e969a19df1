"""Build submissions the way students would: blank, completed from the source, or with a known mistake."""
import copy

import nbformat

from grader.cells import answers as answer_cells, grade_id, questions as test_cells  # noqa: F401 (names tests use)

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def read(path):
    return nbformat.read(str(path), as_version=4)


def strip_markers(source):
    """A solution cell's source as a student would type it: without the BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


def with_answers(released, answers):
    """A copy of the released notebook with answer cells replaced: ``answers`` maps grade_id to code."""
    nb = copy.deepcopy(released)
    cells = answer_cells(nb)
    unknown = set(answers) - set(cells)
    if unknown:
        raise KeyError(f"no answer cell with grade_id {sorted(unknown)}; answer cells are {sorted(cells)}")
    for key, code in answers.items():
        cells[key].source = code
    return nb


def solution_answers(source):
    """grade_id -> the instructor's answer, as a student would type it."""
    return {key: strip_markers(cell.source) for key, cell in answer_cells(source).items()}


def completed(released, source):
    """The released notebook with every answer cell filled in from the instructor's source."""
    return with_answers(released, solution_answers(source))
