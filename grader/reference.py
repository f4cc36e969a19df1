"""The instructor's data for each question, and each known mistake's: the lesson's probes run on the
solution and on every mutant of tests/mutants/<lesson>.yml, in kernels with no student code in them.

Computed once per lesson and cached under grading/reference/ (or $GRADER_REFERENCE_CACHE), keyed by the
hash of everything the data depend on (the lesson, its probes, its mutants, the course package, the
recorder, PyTorch, the devices, the data folders).
"""
import fcntl
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import torch

from grader import assemble, judge, mutants, probedata, questions, submissions
from grader.cells import grade_id

HERE = Path(__file__).resolve().parent
SOLUTION = "solution"


@dataclass
class Reference:
    """What the judge needs for one lesson, as plain data."""

    judging: dict  # question -> judge.Judging
    expected: dict  # question -> the solution's record
    mistakes: dict  # question -> [judge.Mistake] (mutants whose data differ from the solution's there)
    reads_code: dict = field(default_factory=dict)  # question -> its Question, for those that read student code

    def judge(self, outcome, points):
        """Score ``outcome``'s questions from its probe data; each verdict goes under its test cell."""
        cells = {grade_id(c): c for c in (outcome.notebook.cells if outcome.notebook else [])}
        for question, judging in self.judging.items():
            top = points[question]
            try:
                record, problem = probedata.parse(outcome.probe_data.get(question)), None
            except probedata.BadData as error:
                record, problem = None, str(error)
            cell = cells.get(question)
            errors = [o for o in cell.outputs if o.get("output_type") == "error"] if cell else []
            if record is None:  # why the probe wrote nothing usable: its cell's error says it best
                why = (_stopped(errors[-1]) if errors and problem == "no data was recorded"
                       else "the kernel stopped before this question's checks" if problem == "no data was recorded"
                       else problem)
                verdict = judge.Verdict(0, f"your code could not be checked: {why}")
                if problem != "no data was recorded":  # written but unreadable: tampering, or the grader's fault
                    outcome.flags.append(f"{question}: its recorded data could not be read ({problem})")
            else:
                if question in self.reads_code:
                    record = {**record, **self.reads_code[question].code_record(outcome.notebook)}
                verdict = judge.verdict(top, record, self.expected[question], judging, self.mistakes[question])
            outcome.scores[question] = (verdict.points, top)
            if verdict.mistake:
                outcome.mistakes[question] = verdict.mistake
            if cell is not None:  # what the student's code printed, then the verdict, and nothing of the probe
                cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"] + [_shown(verdict, top)]
        return outcome


def mutants_path(course, assignment):
    return course.source.parent / "tests" / "mutants" / f"{assignment}.yml"


def lesson_mutants(course, assignment, source):
    file = mutants_path(course, assignment)
    if not file.is_file():
        return []
    return mutants.load(file, submissions.answer_cells(source), submissions.test_cells(source))


def cache_key(course, assignment):
    digest = hashlib.sha256()
    files = [course.source / assignment / f"{assignment}.ipynb", questions.path(course.source, assignment),
             mutants_path(course, assignment), HERE / "recorder.py",
             *sorted((HERE.parent / "course").glob("*.py"))]
    for file in files:
        digest.update(str(file.name).encode() + b"\0" + (file.read_bytes() if file.is_file() else b"") + b"\0")
    digest.update(f"{torch.__version__} cuda={torch.cuda.is_available()}".encode())
    for setting in ("COURSE_DEVICE", "COURSE_DATA_DIR", "COURSE_FASHION_MNIST_DIR"):  # what kernels are handed
        digest.update(f"{setting}={os.environ.get(setting, '')}".encode())
    return digest.hexdigest()[:20]


def runs(source, released, known):
    """run id -> notebook: the completed solution, and the solution with each mutant's answer in its cell."""
    answers = submissions.solution_answers(source)
    out = {SOLUTION: submissions.completed(released, source)}
    for mutant in known:
        out[f"mutant-{mutant.id}"] = submissions.with_answers(released, {**answers, mutant.cell: mutant.code})
    return out


def build(course, assignment, grade_all, log=print):
    """The lesson's Reference, from the cache or computed with ``grade_all`` (run id -> notebook; returns
    run id -> Outcome). Raises RuntimeError, with what to fix, when the solution fails its own probes."""
    source = nbformat.read(str(course.source / assignment / f"{assignment}.ipynb"), as_version=4)
    released = nbformat.read(str(course.release / assignment / f"{assignment}.ipynb"), as_version=4)
    lesson = questions.load(course.source, assignment)
    known = lesson_mutants(course, assignment, source)
    cache = Path(os.environ.get("GRADER_REFERENCE_CACHE") or course.grading / "reference")
    folder = cache / assignment / cache_key(course, assignment)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one grading run computes a lesson's data; the others wait and read them
        if not folder.is_dir():
            log(f"{assignment}: computing the reference data (the solution and {len(known)} known mistakes)")
            fresh = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".computing-"))
            for run_id, outcome in grade_all(runs(source, released, known)).items():
                probedata.save({q: d for q, d in outcome.probe_data.items() if d is not None}, fresh / run_id)
            try:
                fresh.rename(folder)  # whole or not at all; when another run got there first, its copy stays
            except OSError:
                shutil.rmtree(fresh, ignore_errors=True)
    records = {}
    for run_id in [SOLUTION] + [f"mutant-{m.id}" for m in known]:
        stored = probedata.collect(folder / run_id, lesson)
        records[run_id] = {}
        for question, data in stored.items():
            try:
                records[run_id][question] = probedata.parse(data)
            except probedata.BadData as error:
                if run_id == SOLUTION:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise RuntimeError(f"{assignment}: the solution's probe for {question} recorded no usable "
                                       f"data ({error}): run solutions/{assignment} top to bottom and fix it") from None
    reads_code = {q: question for q, question in lesson.items() if question.reads_code}
    if reads_code:  # read from each run's code here, on every build: it needs no kernel
        for run_id, nb in runs(source, released, known).items():
            assembled = assemble.assemble(source, released, nb)[0]
            for q, question in reads_code.items():
                if q in records[run_id]:
                    records[run_id][q] = {**records[run_id][q], **question.code_record(assembled)}
    expected = records[SOLUTION]
    judging = {q: question.judging() for q, question in lesson.items()}
    for question, record in expected.items():
        failing = [label for label, entry in record.items() if entry.kind == "error" and label == "the checks"]
        if failing:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"{assignment}: the probe of {question} fails on the solution: "
                               f"{record[failing[0]].type}: {record[failing[0]].value}")
    mistakes = {q: [judge.Mistake(m.id, m.feedback, records[f"mutant-{m.id}"][q]) for m in known
                    if q in records[f"mutant-{m.id}"]
                    and judge.differences(records[f"mutant-{m.id}"][q], expected[q], judging[q])]
                for q in lesson}
    return Reference(judging, expected, mistakes, reads_code)


def _stopped(error):
    """Why a probe's cell ended without data, in a line: the error the grader or the kernel put there."""
    if error.ename in ("CellTimeoutError", "KeyboardInterrupt"):  # the grader interrupts a cell only on timeout
        return ("CellTimeoutError: this test ran past its time limit: look for an endless loop, "
                "or a very slow step, in the code it calls")
    return f"{error.ename}: {error.evalue}"


def _shown(verdict, top):
    """A verdict as a cell output: a plain line when it passed, an error the eye finds when it did not."""
    if verdict.points >= top:
        return nbformat.v4.new_output("stream", name="stdout", text=f"✓ {verdict.message}\n")
    return nbformat.v4.new_output("error", ename="Not yet", evalue=verdict.message,
                                  traceback=[f"✗ {verdict.message}"])
