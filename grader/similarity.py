"""Similar submissions: what students wrote in a lesson, compared across the class with copydetect (winnowed
fingerprints of the code, names and strings normalized, so renaming variables hides nothing).

Each student's code is their answer cells and the cells they added, from their autograded notebook. What
every student was given or was expected to write is taken out first (copydetect's boilerplate): the
released notebook's code and the instructor's own answers, so that two right answers written the expected
way, or one of the course's known mistakes, are not a match. A pair is listed when at least ``THRESHOLD`` of
each student's remaining code also appears in the other's. It is a lead for a person to read, side by side, never a penalty.
"""
import html
import io
from dataclasses import dataclass
from itertools import combinations

import nbformat
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import filter_code, get_document_fingerprints

from grader import cells, reference, submissions

K = 25  # characters of normalized code in a fingerprint: shorter ones match by chance (copydetect's default)
WINDOW = 1  # keep every fingerprint: student answers are short
THRESHOLD = 0.85  # of each side's own code found in the other's; on the synthetic class (tests/synthetic_class.py)
# renamed and reordered copies scored 0.93-1.0 and independent students at most 0.80 (README, Similar submissions)
MIN_TOKENS = 60  # and at least this many characters of normalized code in common
MAX_CHARS = 100_000  # of a student's code compared: a huge submission can't stall the report


@dataclass
class Pair:
    students: tuple  # (a, b)
    similarity: float  # the smaller of the two shares: how much of each one's own code the other has
    shared: int  # characters of normalized code in common
    code: tuple  # (a's code, b's code) as HTML, the matching parts in <mark>


def _fingerprint(name, code, boilerplate):
    return CodeFingerprint(f"{name}.py", K, WINDOW, boilerplate=boilerplate, fp=io.StringIO(code), language="python")


def boilerplate(source, released, known=()):
    """The fingerprints of what is no evidence of copying: the released code, the model answers, and the
    known mistakes (``known``: their code), which students make independently of each other."""
    given = [c.source for c in released.cells if c.cell_type == "code"]
    hashes = set()
    for code in given + list(submissions.solution_answers(source).values()) + list(known):
        filtered, _ = filter_code(code, "given.py", "python")
        found, _ = get_document_fingerprints(filtered, K, WINDOW, [])
        hashes |= set(found)
    return np.array(sorted(hashes))


def student_text(nb):
    """A student's own code, cell after cell, each under a comment naming it."""
    return "\n\n".join(f"# {where}\n{code}" for where, code in cells.student_code(nb))[:MAX_CHARS]


def _marked(code, slices):
    """``code`` as HTML, escaped, with the character ranges ``slices`` (starts, ends) in <mark>."""
    out, at = [], 0
    for start, end in sorted(zip(*slices)) if len(slices[0]) else []:
        start, end = max(int(start), at), int(end)
        if end <= start:
            continue
        out += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    return "".join(out + [html.escape(code[at:])])


def pairs(texts, given, threshold=THRESHOLD):
    """The similar pairs among ``texts`` (student -> code), most similar first."""
    prints = {s: _fingerprint(s, code, given) for s, code in texts.items() if code.strip()}
    found = []
    for a, b in combinations(sorted(prints), 2):
        shared, (sim_a, sim_b), slices = compare_files(prints[a], prints[b])
        if min(sim_a, sim_b) >= threshold and shared >= MIN_TOKENS:
            found.append(Pair((a, b), float(min(sim_a, sim_b)), int(shared),
                              (_marked(texts[a], slices[0]), _marked(texts[b], slices[1]))))
    return sorted(found, key=lambda p: (-p.similarity, p.students))


def lesson_pairs(course, name, students):
    """The similar pairs among ``students``' autograded notebooks of lesson ``name``."""
    source = submissions.read(course.source / name / f"{name}.ipynb")
    released = submissions.read(course.release / name / f"{name}.ipynb")
    texts = {}
    for student in students:
        path = course.grading / "autograded" / student / name / f"{name}.ipynb"
        if path.is_file():
            texts[student] = student_text(nbformat.read(str(path), as_version=4))
    known = [m.code for m in reference.lesson_mutants(course, name, source)]
    return pairs(texts, boilerplate(source, released, known))
