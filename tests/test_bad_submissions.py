"""A corpus of bad submissions, graded in one run with good ones (tests/bad_submissions/*.yml).

Each bad submission gets the score it deserves and a note or review flag that says why; the grading
run completes; and the good submissions in the same run get exactly the grades they get alone.
"""
import copy
import csv
import socket
import sys

import nbformat
import pytest
import yaml

from dataclasses import replace

from grader import autograde, reference, submissions, testing
from grader.sandbox import Limits, bwrap
from lessons import REPO, lesson_mutants, released, secret_lines, source

LESSON = "02_forward_pass"
CORPUS = yaml.safe_load((REPO / "tests" / "bad_submissions" / f"{LESSON}.yml").read_text())
# Short enough to keep the corpus quick, long enough for a good cell on a busy 2-core machine.
LIMITS = Limits(cell_timeout=20, notebook_timeout=150, memory=4 << 30, output=1 << 20)
pytestmark = pytest.mark.skipif(not bwrap(), reason="needs bubblewrap: apt-get install bubblewrap")


def good_submissions():
    rel, src = released(LESSON), source(LESSON)
    answers = submissions.solution_answers(src)
    wrong = "def softmax(x):\n    return torch.exp(x) / torch.exp(x).sum()"
    return {"good-solution": submissions.completed(rel, src), "good-blank": rel,
            "good-partial": submissions.with_answers(rel, {**answers, "softmax": wrong})}


def apply_edit(nb, edit):
    (op, arg), = edit.items()
    index = {submissions.grade_id(c): i for i, c in enumerate(nb.cells) if submissions.grade_id(c)}
    if op == "delete":
        del nb.cells[index[arg]]
    elif op == "duplicate":
        nb.cells.insert(index[arg], copy.deepcopy(nb.cells[index[arg]]))
    elif op == "markdown":
        cell = nb.cells[index[arg]]
        nb.cells[index[arg]] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    elif op == "source":
        nb.cells[index[arg[0]]].source = arg[1]
    elif op == "points":
        nb.cells[index[arg[0]]].metadata.nbgrader["points"] = arg[1]
    elif op == "kernel":
        nb.metadata.kernelspec["name"] = arg
    elif op != "nbformat":
        raise ValueError(f"unknown edit {op!r}")


def build(entry, values):
    """The folder a bad submission hands in: file name -> str or bytes."""
    rel, src = released(LESSON), source(LESSON)
    answers = {k: fill(v, values) for k, v in entry.get("answers", {}).items()}
    nb = submissions.with_answers(rel, {**submissions.solution_answers(src), **answers})
    for edit in entry.get("edit", []):
        apply_edit(nb, edit)
    if entry.get("append"):
        nb.cells.append(nbformat.v4.new_code_cell(entry["append"]))
    if entry.get("pad_mb"):
        nb.cells.append(nbformat.v4.new_markdown_cell("x" * (entry["pad_mb"] << 20)))
    text = nbformat.writes(nb)
    if {"nbformat": 3} in entry.get("edit", []):
        text = nbformat.writes(nbformat.convert(nb, 3))
    content = entry.get("raw", text)
    if entry.get("bytes") == "latin-1":
        content = content.replace("Forward passes", "Forward passes \xe9t\xe9", 1).encode("latin-1", "replace")
    files = dict(entry.get("files", {}))
    name = entry.get("notebook", f"{LESSON}.ipynb")
    if name != "none":
        files[name] = content
    return files


def fill(code, values):
    for key, value in values.items():
        code = code.replace(f"@{key}@", str(value))
    return code


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    work = tmp_path_factory.mktemp("corpus")
    values = {"SOLUTIONS": REPO / "solutions" / LESSON / f"{LESSON}.ipynb", "VENV": sys.prefix,
              "GRADEBOOK": work / "grading" / "gradebook.db", "OUTSIDE": work / "pwned.txt",
              "PORT": listener.getsockname()[1]}
    subs = {**good_submissions(), **{f"bad-{e['id']}": build(e, values) for e in CORPUS}}
    results, outcomes = testing.grade(LESSON, subs, work, limits=LIMITS)
    try:
        connection = listener.accept()
    except OSError:
        connection = None
    listener.close()
    alone, _ = testing.grade(LESSON, good_submissions(), tmp_path_factory.mktemp("clean"), limits=LIMITS)
    report = {row["student"]: row for row in csv.DictReader(open(work / "grading" / "reports" / f"{LESSON}.csv"))}
    values["WORK"] = work
    return results, outcomes, alone, values, connection, report


def test_corpus_is_large_and_unique():
    ids = [e["id"] for e in CORPUS]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)


def test_good_submissions_are_untouched_by_bad_ones(graded):
    results, outcomes, alone, _, _, _ = graded
    for student, result in alone.items():
        assert results[student].scores == result.scores, student
        assert not outcomes[student].flags, outcomes[student].flags
    assert results["good-solution"].total == 12 and results["good-blank"].total == 0


def test_nothing_escaped_the_sandbox(graded):
    _, _, _, values, connection, _ = graded
    assert connection is None, "a submission reached a socket outside its sandbox"
    assert not values["OUTSIDE"].exists(), "a submission wrote outside its folder"
    assert not (REPO / ".venv" / "pwned.txt").exists() and not (REPO.parent / "pwned.txt").exists()


@pytest.mark.parametrize("entry", CORPUS, ids=[e["id"] for e in CORPUS])
def test_bad_submission_outcome(graded, entry):
    results, outcomes, _, _, _, report = graded
    student = f"bad-{entry['id']}"
    result, outcome, row = results[student], outcomes[student], report[student]
    assert float(row["score"]) == result.total, "the grading report must list every submission's score"
    expect = entry["expect"]
    if "score" in expect:
        assert result.total == expect["score"], (result.scores, outcome.notes, outcome.flags)
    if "lost" in expect:
        assert result.lost() == sorted(expect["lost"]), (result.scores, outcome.notes, outcome.flags)
    if "note" in expect:
        assert any(expect["note"] in n for n in outcome.notes), outcome.notes
        assert expect["note"] in result.feedback_text, "the student's feedback must carry the note"
    if "review" in expect:
        assert any(expect["review"] in f for f in outcome.flags), outcome.flags
        assert row["status"] == "review" and expect["review"] in row["review"]
    if expect.get("clean"):
        assert not outcome.flags, outcome.flags


def test_nothing_the_kernel_can_reach_holds_a_judge_or_an_expected_value(graded):
    """A submission dumps what it can reach in its kernel (history, code objects, linecache, the grader's
    objects, every file it can read near it) into its outputs: no judging line, no solution or mutant
    line and no expected value reaches its autograded notebook or its feedback."""
    results, _, _, values, _, _ = graded
    student = "bad-dumps-everything-reachable"
    notebook = values["WORK"] / "grading" / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    shown = notebook.read_text() + results[student].feedback_text
    assert "def probe_neuron_sum(rec)" in shown, "the dump should have run and seen the probes"
    # The submission holds the solution's answers (its own code may show); the judging and the mistakes may not.
    public = "\n".join(c.source for c in released(LESSON).cells) + "\n".join(submissions.solution_answers(
        source(LESSON)).values())
    secrets = secret_lines(LESSON, ["HIDDEN TESTS"]) | {
        line.strip() for m in lesson_mutants(LESSON) for line in m.code.splitlines()
        if len(line.strip()) > 12 and line.strip() not in public}
    leaked = sorted(line for line in secrets if line in shown)
    assert not leaked, f"the kernel could reach instructor-only lines: {leaked[:3]}"
    course = replace(autograde.Course.at(values["WORK"], release="release"), source=REPO / "solutions")
    expected = reference.build(course, LESSON, None, log=lambda *_: None).expected
    numbers = {repr(float(v)) for record in expected.values() for entry in record.values() if entry.array is not None
               for v in entry.array.ravel()[:20] if len(repr(float(v)).lstrip("-0.")) >= 8}  # not 0.5 or 1.0
    assert numbers and not sorted(n for n in numbers if n in shown), "an expected value reached the kernel"
