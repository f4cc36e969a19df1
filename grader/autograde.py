"""Grade every submission of an assignment: sandboxed kernels in parallel, one writer to the gradebook.

Workers (threads here, or Dask workers on other machines) each grade one submission from plain data
and return plain data; only this process touches the gradebook and the grading folders, so there is
no database lock to fight over, and a worker that fails costs only its own submission, which is
recorded with the reason.
"""
import csv
import os
import shutil
import sys
import traceback
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from grader import assemble as asm
from grader import cells, deadlines, questions, reference, run, sandbox, sanitize, verdicts

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Course:
    """Where an assignment's source, release and grading folders are, and its gradebook."""

    source: Path  # solutions/
    release: Path  # notebooks/
    grading: Path  # grading/: submitted/, autograded/, verdicts/, reports/
    db_url: str

    @property
    def root(self):
        """The course folder: grading/'s parent, where deadlines.toml lives."""
        return self.grading.parent

    @classmethod
    def at(cls, root, db_url=None, release="notebooks"):
        root = Path(root).resolve()
        return cls(root / "solutions", root / release, root / "grading",
                   db_url or f"sqlite:///{root / 'grading' / 'gradebook.db'}")


def _files(folder, skip_notebooks):
    """relative path -> bytes for the files in ``folder`` (links followed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and not (skip_notebooks and p.suffix == ".ipynb") and ".ipynb_checkpoints" not in p.parts
            and p.name != questions.FILE and "__pycache__" not in p.parts}


def _lesson(course, assignment):
    """(source notebook, released notebook, the lesson's other files, question -> probe source)."""
    name = f"{assignment}.ipynb"
    source = nbformat.read(str(course.source / assignment / name), as_version=4)
    released = nbformat.read(str(course.release / assignment / name), as_version=4)
    lesson = questions.load(course.source, assignment) or {}
    return source, released, _files(course.source / assignment, skip_notebooks=True), {
        q: question.probe_source() for q, question in lesson.items()}


def tasks(course, assignment, limits=sandbox.Limits(), env=None, data_dirs=(), students=None):
    """Yield one ``run.Task`` per student folder in grading/submitted/<student>/<assignment>/, read on demand;
    only ``students``' when given."""
    source, released, assignment_files, probes = _lesson(course, assignment)
    release = course.release / assignment
    released_files = frozenset(str(p.relative_to(release)) for p in release.rglob("*") if p.is_file())
    for folder in sorted((course.grading / "submitted").glob(f"*/{assignment}")):
        if students is not None and folder.parent.name not in students:
            continue
        # Only notebooks are read (at most one byte past the size limit); other files are only listed.
        submission = {str(p.relative_to(folder)): _head(p) if p.suffix == ".ipynb" else b""
                      for p in folder.rglob("*") if p.is_file()}
        yield run.Task(folder.parent.name, assignment, f"{assignment}.ipynb", source, released, submission,
                       assignment_files, limits, dict(env or {}), tuple(data_dirs), probes, released_files)


def reference_runner(course, assignment, limits, workers, scheduler):
    """run id -> notebook  =>  run id -> Outcome: the reference's kernels, through the same pipeline, up to the
    last graded cell (an ungraded bonus after it, such as the lab's CNN, would only cost time)."""
    source, released, assignment_files, probes = _lesson(course, assignment)
    source = cells.through_last_graded(source)
    env, data_dirs = kernel_settings()
    name = f"{assignment}.ipynb"

    def grade_all(notebooks):
        task_list = [run.Task(run_id, assignment, name, source, released, {name: nbformat.writes(nb).encode()},
                              assignment_files, limits, env, data_dirs, probes) for run_id, nb in notebooks.items()]
        return {outcome.student: outcome for outcome in run_all(task_list, workers, scheduler)}

    return grade_all


def _head(path):
    with open(path, "rb") as f:
        return f.read(asm.MAX_BYTES + 1)


def _failed(task, error):
    outcome = run.Outcome(task.student, task.assignment, scores=run.zero_scores(task.source))
    outcome.notes.append("the grader failed on this submission; it needs a manual look")
    outcome.flags.append(f"grader error: {error}")
    return outcome


DATA_SETTINGS = ("COURSE_DATA_DIR", "COURSE_FASHION_MNIST_DIR")


def kernel_settings():
    """(environment, read-only folders) that kernels inherit from the grader's: the datasets and the device."""
    env = {v: os.environ[v] for v in (*DATA_SETTINGS, "COURSE_DEVICE") if os.environ.get(v)}
    return env, tuple(os.environ[v] for v in DATA_SETTINGS if os.environ.get(v))


def _safe_grade(task):
    try:
        return run.grade(task)
    except Exception:  # a bug or a lost worker: record it, never lose the rest of the class
        return _failed(task, traceback.format_exc(limit=3).strip().splitlines()[-1])


def run_all(task_list, workers=None, scheduler=None):
    """Yield an Outcome per task as each finishes: ``workers`` threads here, or a Dask scheduler's workers.

    At most two tasks per worker are in flight, so a class of any size never sits in memory at once.
    """
    workers = max(1, workers or os.cpu_count() or 1)
    if scheduler:
        from distributed import Client, as_completed as dask_completed
        with Client(scheduler) as client:
            window = max(2, 2 * sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()))
            yield from _windowed(lambda t: client.submit(run.grade, t, pure=False), task_list, window,
                                 lambda futures: dask_completed(futures), _failed)
        return
    with ThreadPoolExecutor(workers) as pool:
        yield from _windowed(lambda t: pool.submit(_safe_grade, t), task_list, 2 * workers,
                             lambda futures: as_completed(futures), _failed)


def _windowed(submit, task_list, window, completed, failed):
    pending = {}
    for task in task_list:
        pending[submit(task)] = task
        if len(pending) >= window:
            future = next(iter(completed(list(pending))))
            yield _result(future, pending.pop(future), failed)
    for future in completed(list(pending)):
        yield _result(future, pending[future], failed)


def _result(future, task, failed):
    try:
        return future.result()
    except Exception as error:  # the worker died or raised: the submission is recorded as failed
        return failed(task, f"{type(error).__name__}: {error}")


def record(course, outcome, due=None):
    """Write one Outcome: gradebook scores and late penalty, the autograded notebook, its verdict file.
    ``due``: the course's deadlines.Deadlines (read from deadlines.toml when not given)."""
    due = due if due is not None else deadlines.load(course.root)
    assignment, student = outcome.assignment, outcome.student
    folder = course.grading / "autograded" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    submitted = course.grading / "submitted" / student / assignment
    nb = outcome.notebook or nbformat.read(str(course.release / assignment / f"{assignment}.ipynb"), as_version=4)
    if outcome.notes:
        notes = "\n".join(f"- {n}" for n in outcome.notes)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Notes from the grader**\n\n{notes}"))
    sanitize.notebook(nb, course.source / assignment / f"{assignment}.ipynb")  # nothing in it runs in a browser
    nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
    for rel, data in _files(course.source / assignment, skip_notebooks=True).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    for name in asm.NBGRADER_FILES:  # from `nbgrader collect`; releasing feedback needs them beside the notebook
        if (submitted / name).is_file():
            shutil.copy(submitted / name, folder / name)
    timestamp = submitted / "timestamp.txt"
    extra = {"timestamp": timestamp.read_text().strip()} if timestamp.is_file() else {}
    with Gradebook(course.db_url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own add_submission trips SQLAlchemy's autoflush notice
        if assignment in due.due:
            gb.update_or_create_assignment(assignment, duedate=due.due[assignment])
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student, **extra)
        submission.extension = due.extensions.get((student, assignment))
        for key, (score, _) in outcome.scores.items():
            grade = gb.find_grade(key, assignment, assignment, student)
            grade.auto_score = score
            grade.needs_manual_grade = grade.manual_score is not None or score is None
        for key, text in outcome.comments.items():
            gb.find_comment(key, assignment, assignment, student).auto_comment = text
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        notebook.flagged = bool(outcome.flags)
        gb.db.commit()
        late = submission.total_seconds_late
        penalty = due.penalty(student, notebook.score, late)
        notebook.late_submission_penalty = penalty or None  # where nbgrader keeps it: the Formgrader shows it
        gb.db.commit()
    verdicts.save(course.grading, outcome, status_of(outcome), late, penalty)


def status_of(outcome):
    return "review" if outcome.flags else "unreadable" if not outcome.ran else "ok"


REPORT_FIELDS = ["student", "score", "max_score", "status", "seconds", "notes", "review", "mistakes"]


def autograde(course, assignment, workers=None, scheduler=None, limits=None, log=print, students=None):
    """Grade all of ``assignment``'s submissions (``students``' only, when given); write the gradebook,
    autograded notebooks and a report.

    Returns student -> Outcome (without notebooks). Every submission gets a row in
    grading/reports/<assignment>.csv, with notes for the student and reasons to review.
    """
    cores = os.cpu_count() or 1
    workers = workers or cores
    limits = limits or sandbox.Limits()
    if not scheduler:
        limits = replace(limits, threads=max(1, cores // workers))
    if sandbox.warning():
        log(sandbox.warning())
    log(sandbox.summary(limits))
    if not (course.release / assignment / f"{assignment}.ipynb").is_file():
        raise ValueError(f"{assignment} was never released ({course.release / assignment} has no notebook): "
                         "run `make release` first")
    source = nbformat.read(str(course.source / assignment / f"{assignment}.ipynb"), as_version=4)
    missing = sorted(set(cells.questions(source)) - set(questions.load(course.source, assignment) or {}))
    if missing:
        raise ValueError(f"{questions.path(course.source, assignment)} has no question for {missing}: every graded "
                         "test cell needs a probe there (README, For authors)")
    points = {q: top for q, (_, top) in run.zero_scores(source).items()}
    due = deadlines.load(course.root)  # a broken deadlines.toml stops the run here, saying what to fix
    judged = None  # answers as data: judged here, against the reference (an assignment with no questions has none)
    if cells.questions(source):
        judged = reference.build(course, assignment, reference_runner(course, assignment, limits, workers, scheduler),
                                 log)
    task_list = tasks(course, assignment, limits, *kernel_settings(), students)  # read as workers free up
    results = {}
    report = course.grading / "reports" / f"{assignment}.csv"
    report.parent.mkdir(parents=True, exist_ok=True)
    with open(report, "w", newline="") as f:
        writer = csv.DictWriter(f, REPORT_FIELDS)
        writer.writeheader()
        for outcome in run_all(task_list, workers, scheduler):
            if judged:
                judged.judge(outcome, points)
            try:
                record(course, outcome, due)
            except Exception as error:  # e.g. a student the gradebook cannot take: report it, go on
                outcome.flags.append(f"not recorded in the gradebook: {type(error).__name__}: {error}")
            top = sum(t for _, t in outcome.scores.values())
            status = status_of(outcome)
            writer.writerow({"student": outcome.student, "score": outcome.total, "max_score": top, "status": status,
                             "seconds": f"{outcome.seconds:.1f}", "notes": " | ".join(outcome.notes),
                             "review": " | ".join(outcome.flags),
                             "mistakes": " | ".join(f"{q}: {m}" for q, m in sorted(outcome.mistakes.items()))})
            f.flush()
            log(f"{assignment} {outcome.student}: {outcome.total:g}/{top:g} {status} ({outcome.seconds:.1f} s)"
                + "".join(f"\n    review: {flag}" for flag in outcome.flags))
            outcome.notebook = None
            results[outcome.student] = outcome
    statuses = Counter(status_of(o) for o in results.values())
    log(f"{assignment}: {len(results)} submissions graded ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}); "
        f"report in {report}")
    return results
