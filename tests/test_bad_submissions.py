"""A corpus of bad submissions, graded in one run with good ones (tests/bad_submissions/*.yml).

Each bad submission gets the score it deserves and a note or review flag that says why; the grading
run completes; and the good submissions in the same run get exactly the grades they get alone.
"""
import atexit
import contextlib
import copy
import csv
import json
import re
import shutil
import socket
import sys
import tempfile
import threading

import nbformat
import pytest
import yaml

from dataclasses import replace
from pathlib import Path

from grader import autograde, reference, run, submissions, testing
from grader.sandbox import KERNEL_MODULES, Limits, confined, mechanisms
from lessons import REPO, lesson_mutants, released, scores_losing, secret_lines, source
from test_sanitize import Elements

LESSON = "02_forward_pass"
CORPUS = yaml.safe_load((REPO / "tests" / "bad_submissions" / f"{LESSON}.yml").read_text())
# The cell time limit: short, as the endless loops and the fork bomb run until it, and long enough for the
# floods and the memory bomb to reach their limits (16 MiB of output, 4 GiB) on a busy 2-core machine; they did
# not within 12 s with three test workers at once. The disk quota (512 MiB, the default) is larger than a
# kernel's own memory, so a filler's files must count as memory too.
LIMITS = Limits(cell_timeout=20, notebook_timeout=150, memory=4 << 30, disk=512 << 20, output=2 << 20,
                output_limit=16 << 20)
pytestmark = pytest.mark.skipif(not confined(), reason="needs a sandbox: apt-get install bubblewrap (or grade as root)")


PARTIAL = next(m for m in lesson_mutants(LESSON) if m.id == "softmax_without_dim")


def good_submissions():
    """Submissions whose grades alone test_grading proves: the solution (full marks), the blank notebook (none)
    and one with a known mistake (PARTIAL, a mutant: it loses exactly the points of its test cells)."""
    rel, src = released(LESSON), source(LESSON)
    answers = submissions.solution_answers(src)
    return {"good-solution": submissions.completed(rel, src), "good-blank": rel,
            "good-partial": submissions.with_answers(rel, {**answers, PARTIAL.cell: PARTIAL.code})}


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
    if entry.get("append_markdown"):
        nb.cells.append(nbformat.v4.new_markdown_cell(entry["append_markdown"]))
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
def graded(tmp_path_factory, released_course):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    work = tmp_path_factory.mktemp("corpus")
    values = {"SOLUTIONS": REPO / "solutions" / LESSON / f"{LESSON}.ipynb", "VENV": sys.prefix,
              "GRADEBOOK": work / "grading" / "gradebook.db", "OUTSIDE": work / "pwned.txt",
              "PORT": listener.getsockname()[1]}
    subs = {**good_submissions(), **{f"bad-{e['id']}": build(e, values) for e in CORPUS}}
    release = released_course(LESSON)
    with lowest_free_disk(work, tempfile.gettempdir()) as free, broken_machine_for(
            {f"bad-{e['id']}": e["infra"] for e in CORPUS if "infra" in e}):
        results, outcomes = testing.grade(LESSON, subs, work, limits=LIMITS, released=release)
    try:
        connection = listener.accept()
    except OSError:
        connection = None
    listener.close()
    report = {row["student"]: row for row in csv.DictReader(open(work / "grading" / "reports" / f"{LESSON}.csv"))}
    values["WORK"], values["FREE_DISK"] = work, free
    return results, outcomes, values, connection, report


def _broken_setup(task):
    """The lesson's first cell imports a module the grading machine lacks, as on a broken install."""
    nb = copy.deepcopy(task.source)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = "import a_module_this_machine_lacks\n" + first.source
    return replace(task, source=nb)


def _guard_not_loaded(task):
    """The kernel starts (its print streams are there), but the guard and the probes' recorder cannot be
    imported, as on a machine where those files failed to install."""
    folder = Path(tempfile.mkdtemp(prefix="kernel-modules-"))
    atexit.register(shutil.rmtree, folder, True)
    folder.chmod(0o755)  # a warm kernel runs as a user of its own
    shutil.copy(KERNEL_MODULES["grader_streams.py"], folder / "grader_streams.py")
    return replace(task, env={**task.env, "PYTHONPATH": str(folder)}, data_dirs=(*task.data_dirs, str(folder)))


BREAKAGES = {"kernel-cannot-start": lambda task: replace(task, env={**task.env, "PYTHONHOME": "/nonexistent"}),
             "broken-setup-cell": _broken_setup,
             "guard-not-loaded": _guard_not_loaded}


@contextlib.contextmanager
def broken_machine_for(students):
    """Grade ``students`` (id -> breakage) as on a broken grading machine; everyone else as usual."""
    grade = run.grade
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run, "grade", lambda task, *a, **k: grade(
            BREAKAGES[students[task.student]](task) if task.student in students else task, *a, **k))
        yield


@contextlib.contextmanager
def lowest_free_disk(*folders):
    """folder -> [free bytes before, the lowest seen while the block ran (every 0.1 s), after]."""
    seen = {folder: [shutil.disk_usage(folder).free] * 2 for folder in folders}
    done = threading.Event()

    def watch():
        while not done.wait(0.1):
            for folder, free in seen.items():
                free[1] = min(free[1], shutil.disk_usage(folder).free)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join()
        for folder, free in seen.items():
            free.append(shutil.disk_usage(folder).free)


def printed(values, student, pattern):
    """The numbers ``pattern``'s group matched in what ``student``'s cells printed, in order."""
    notebook = values["WORK"] / "grading" / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    text = "".join(o.get("text", "") for c in nbformat.read(str(notebook), as_version=4).cells
                   for o in c.get("outputs", []))
    return [int(n) for n in re.findall(pattern, text)]


def test_corpus_is_large_and_unique():
    ids = [e["id"] for e in CORPUS]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)


def test_good_submissions_are_untouched_by_bad_ones(graded):
    results, outcomes, _, _, _ = graded
    every = submissions.test_cells(source(LESSON))
    for student, lost in {"good-solution": [], "good-blank": every, "good-partial": PARTIAL.fails}.items():
        assert results[student].scores == scores_losing(LESSON, lost), student
        assert not outcomes[student].flags, outcomes[student].flags


def test_nothing_escaped_the_sandbox(graded):
    _, _, values, connection, _ = graded
    assert connection is None, "a submission reached a socket outside its sandbox"
    assert not values["OUTSIDE"].exists(), "a submission wrote outside its folder"
    assert not (REPO / ".venv" / "pwned.txt").exists() and not (REPO.parent / "pwned.txt").exists()


@pytest.mark.parametrize("entry", CORPUS, ids=[e["id"] for e in CORPUS])
def test_bad_submission_outcome(graded, entry):
    results, outcomes, _, _, report = graded
    student = f"bad-{entry['id']}"
    missing = set(entry.get("needs", [])) - mechanisms()
    if missing:
        pytest.skip(f"needs {', '.join(sorted(missing))} (grading as root)")
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
    if "feedback" in expect:
        assert expect["feedback"] in result.feedback_text
    if expect.get("clean"):
        assert not outcome.flags, outcome.flags


def test_a_kernel_writes_no_more_than_its_quota_and_never_on_the_host_disk(graded):
    """Submissions that write 1 GiB, in files under the per-file limit, into their folder or /tmp get no more
    than the quota (a tmpfs shared by both), and the host's free disk does not move while they run."""
    if "disk quota" not in mechanisms():
        pytest.skip("the scratch folder has a quota only when grading as root")
    _, _, values, _, _ = graded
    for student in ("bad-fills-scratch-folder", "bad-fills-tmp"):
        written, = printed(values, student, r"wrote (\d+) bytes")
        assert LIMITS.disk - (16 << 20) <= written <= LIMITS.disk, f"{student} wrote {written >> 20} MiB"
    for folder, (before, lowest, after) in values["FREE_DISK"].items():
        # the corpus's own files (submissions, gradebook, notebooks) are the only writes: a few dozen MiB
        assert before - lowest < 256 << 20 and abs(before - after) < 256 << 20, (
            f"{folder}: {before >> 20} MiB free before, {lowest >> 20} MiB at the lowest, {after >> 20} MiB after")


def test_files_in_tmpfs_count_as_the_kernels_memory(graded):
    """A kernel that fills /tmp, then allocates until it is stopped, gets less memory by what its files hold."""
    if "memory cgroup" not in mechanisms():
        pytest.skip("a memory cgroup needs root")
    _, _, values, _, _ = graded
    files, = printed(values, "bad-tmpfs-holds-memory", r"tmpfs (\d+) bytes")
    held = printed(values, "bad-tmpfs-holds-memory", r"memory (\d+) bytes")
    assert files > LIMITS.disk // 2 and held, (files, held)
    assert files + held[-1] <= LIMITS.memory, f"{files >> 20} MiB in files and {held[-1] >> 20} MiB allocated"


def test_nothing_the_kernel_can_reach_holds_a_judge_or_an_expected_value(graded):
    """A submission dumps what it can reach in its kernel (history, code objects, linecache, the grader's
    objects, every file it can read near it) into its outputs: no judging line, no solution or mutant
    line and no expected value reaches its autograded notebook or its feedback."""
    results, _, values, _, _ = graded
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


def test_outputs_that_could_run_script_are_sanitized(graded):
    """A submission whose outputs try to run script in a browser (tests/test_browser.py opens its pages): of
    its autograded notebook, nothing a page renders as markup (markdown cells, outputs other than text and
    errors) holds a script, a handler, JavaScript or SVG; its code may (it is shown as code), and its
    printed text stays, escaped in its feedback, where no element carries a handler or a script of its."""
    results, _, values, _, _ = graded
    student = "bad-outputs-run-script"
    nb = nbformat.read(str(values["WORK"] / "grading" / "autograded" / student / LESSON / f"{LESSON}.ipynb"),
                       as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    markup = "\n".join([c.source for c in nb.cells if c.cell_type != "code"] + [
        json.dumps(o) for o in outputs if o.output_type not in ("stream", "error")])
    assert "kept: html output" in markup and "kept: markdown cell" in markup
    for unsafe in ("<script", "onerror", "application/javascript", "image/svg+xml"):
        assert unsafe not in markup, f"{unsafe} is in the autograded notebook's outputs or markdown"
    assert any("kept: printed <script>" in o.get("text", "") for o in outputs)
    page = Elements(results[student].feedback_html)
    assert not [(tag, name) for tag, attributes in page.tags for name in attributes if name.startswith("on")]
    assert not [script for script in page.scripts if "__pwned" in script]
    assert "kept: printed &lt;script&gt;window.__pwned" in results[student].feedback_html, "printed text is shown"
