"""Grading throughput: stock `nbgrader autograde` (serial) vs the course's grader, same submissions, one run.

    python bench/grading.py [--lessons 01_tensors ...] [--submissions 40] [--workers N] [--write]

For each lesson, both sides grade the same notebooks (the solution, the blank notebook and the lesson's
mutants, cycled to the count) in fresh scratch courses, one side right after the other; the course's grader
runs each kernel in its sandbox (forked warm from the fork server as root, else bubblewrap). The fixed cost
per submission is measured the same way on a one-cell notebook that only imports torch, one submission at a
time, for stock nbgrader and the course's grader with warm and with cold kernels, after one untimed
submission on each side (so the fork server's start, a cost per grading run, is timed apart). Prints
seconds, seconds per submission and the ratio; fails unless the course's grader gave every submission its right
score (what the solution, the blank notebook and each mutant should get), and counts where stock nbgrader did not.
"""
import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from grader import autograde, forkserver, questions, reference, sandbox, submissions, testing  # noqa: E402
from lessons import LESSONS, lesson_mutants, released, source  # noqa: E402
from report import machine, table, write  # noqa: E402

FIXED = "00_import_torch"


def class_of(lesson, count):
    """``count`` submissions (solution, blank and mutants, cycled) and each one's right score: full marks, 0, or
    full marks less the points of the checks the mutant is known to fail."""
    rel, src = released(lesson), source(lesson)
    answers, points = submissions.solution_answers(src), submissions.test_cells(src)
    full = sum(points.values())
    kinds = [(submissions.completed(rel, src), full), (rel, 0)] + [
        (submissions.with_answers(rel, {**answers, m.cell: m.code}), full - sum(points[c] for c in m.fails))
        for m in lesson_mutants(lesson)]
    chosen = {f"student{i:03d}": kinds[i % len(kinds)] for i in range(count)}
    return {s: nb for s, (nb, _) in chosen.items()}, {s: right for s, (_, right) in chosen.items()}


def import_only(solutions):
    """A one-cell assignment that only imports torch, in ``solutions``: what every submission pays."""
    folder = solutions / FIXED
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(folder / f"{FIXED}.ipynb"))


def released_import_only(solutions):
    return nbformat.read(str(solutions / FIXED / f"{FIXED}.ipynb"), as_version=4)


def submit(root, lesson, students):
    for student, nb in students.items():
        folder = root / "grading" / "submitted" / student / lesson
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{lesson}.ipynb"))


def scores(db_url, lesson, students):
    with Gradebook(db_url) as gb:
        return {s: gb.find_submission(lesson, s).score for s in students}


def stock(work, solutions, lesson, students):
    """nbgrader's own autograde, one process, one submission after another, default settings."""
    root = work / "stock"
    (root / "grading").mkdir(parents=True)
    db = f"sqlite:///{root / 'grading' / 'gradebook.db'}"
    (root / "nbgrader_config.py").write_text("\n".join([
        "c = get_config()", f"c.CourseDirectory.root = {str(root)!r}",
        f"c.CourseDirectory.source_directory = {str(solutions)!r}",
        "c.CourseDirectory.release_directory = 'release'", "c.CourseDirectory.submitted_directory = 'grading/submitted'",
        "c.CourseDirectory.autograded_directory = 'grading/autograded'", f"c.CourseDirectory.db_url = {db!r}",
        "c.ExecutePreprocessor.timeout = 300", ""]))
    testing.nbgrader(root, "generate_assignment", lesson, "--force")
    submit(root, lesson, students)
    start = time.perf_counter()
    testing.nbgrader(root, "autograde", lesson)
    return time.perf_counter() - start, scores(db, lesson, students)


def course(work, solutions, lesson, students, workers):
    """(seconds grading the class, seconds computing the lesson's reference data first, scores)."""
    root = testing.scratch_course(work / "course", config=[f"c.CourseDirectory.source_directory = {str(solutions)!r}"])
    testing.nbgrader(root, "generate_assignment", lesson, "--force")
    submit(root, lesson, students)
    where = replace(autograde.Course.at(root, release="release"), source=solutions)
    start = time.perf_counter()
    if questions.path(solutions, lesson).is_file():  # once per lesson, then cached: not a per-submission cost
        reference.build(where, lesson, autograde.reference_runner(where, lesson, sandbox.Limits(), workers, None),
                        log=lambda *_: None)
    once = time.perf_counter() - start
    start = time.perf_counter()
    autograde.autograde(where, lesson, workers, log=lambda *_: None)
    return time.perf_counter() - start, once, scores(where.db_url, lesson, students)


@contextlib.contextmanager
def kernels(start):
    """Kernels started "warm" (the fork server, where it can run) or "cold" (bubblewrap per kernel)."""
    before = os.environ.get("GRADER_KERNELS")
    os.environ["GRADER_KERNELS"] = start
    try:
        yield
    finally:
        os.environ.pop("GRADER_KERNELS") if before is None else os.environ.__setitem__("GRADER_KERNELS", before)


def fixed_costs(count):
    """Seconds to grade ``count`` import-only submissions with one worker: stock, course cold, course warm (each
    after one untimed submission), and the seconds one fork server takes to start."""
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as tmp:
        solutions, work = Path(tmp) / "solutions", Path(tmp) / "work"
        import_only(solutions)
        students = {f"student{i:03d}": released_import_only(solutions) for i in range(count)}
        first = dict(list(students.items())[:1])
        stock(work / "stock-first", solutions, FIXED, first)
        seconds["stock"] = stock(work / "stock", solutions, FIXED, students)[0]
        for start in ("cold", "warm"):
            with kernels(start):
                course(work / f"{start}-first", solutions, FIXED, first, 1)
                seconds[start] = course(work / start, solutions, FIXED, students, 1)[0]
    if forkserver.supported():
        began = time.perf_counter()
        forkserver.Server({"PATH": os.environ["PATH"], "OMP_NUM_THREADS": "1"}).stop()
        seconds["server start"] = time.perf_counter() - began
    return seconds


def both(solutions, lesson, students, workers):
    """(stock seconds, course seconds, reference seconds, stock scores, course scores), in a scratch folder."""
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        stock_s, stock_scores = stock(work, solutions, lesson, students)
        ours_s, once, ours_scores = course(work, solutions, lesson, students, workers)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return stock_s, ours_s, once, stock_scores, ours_scores


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", nargs="*", default=LESSONS, choices=LESSONS, metavar="LESSON",
                        help="none: the fixed cost alone (about a minute)")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--fixed", type=int, default=10, help="submissions of the import-only notebook")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--write", action="store_true",
                        help="write the tables into docs/benchmarks.md (the lessons' only when all were run)")
    args = parser.parse_args()
    isolation = ("sandboxed, kernels forked warm" if sandbox.warm() else "sandboxed (bubblewrap)" if sandbox.bwrap()
                 else "NOT sandboxed (no bubblewrap)")
    fixed = fixed_costs(args.fixed)
    rows = [[label, f"{fixed[side]:.1f}", f"{fixed[side] / args.fixed:.2f}", f"{fixed['stock'] / fixed[side]:.2f}x"]
            for side, label in (("stock", "stock `nbgrader autograde`, no sandbox"),
                                ("cold", "course, cold kernels (bubblewrap each)"),
                                ("warm", "course, warm kernels (forked from the fork server)"))]
    started = (f" A fork server starts in {fixed['server start']:.1f} s, once per grading run (not in the rows)."
               if "server start" in fixed else "")
    who = "as root" if os.geteuid() == 0 else "as an ordinary user (warm kernels in user namespaces)"
    fixed_lines = [f"{machine()}; grading {who}; {args.fixed} submissions of a one-cell notebook (`import torch`), "
                   f"one worker, each side after one untimed submission.{started}", ""] + table(
        ["grader", "s", "s/submission", "stock / this"], rows)
    print("\n".join(fixed_lines), flush=True)
    if args.write:
        write("grading-fixed", fixed_lines)
    rows, ratios, wrong = [], [], {}
    totals = [0.0, 0.0]
    for lesson in args.lessons:
        students, right = class_of(lesson, args.submissions)
        stock_s, ours_s, once, stock_scores, ours_scores = both(REPO / "solutions", lesson, students, args.workers)
        totals = [totals[0] + stock_s, totals[1] + ours_s]
        ratios.append(stock_s / ours_s)
        n = len(students)
        # Stock nbgrader runs only a lesson's public checks (the hidden ones judge data in the course's grader):
        # it may pass a wrong answer, or dock one mistake again in a later check that uses the student's function.
        over = sum(stock_scores[s] > right[s] for s in students)
        under = sum(stock_scores[s] < right[s] for s in students)
        rows.append([f"{lesson} ({n})", f"{stock_s:.1f}", f"{ours_s:.1f}", f"{stock_s / n:.2f}", f"{ours_s / n:.2f}",
                     f"{stock_s / ours_s:.2f}x", f"{once:.1f}", str(over), str(under)])
        print(rows[-1], flush=True)
        wrong.update({f"{lesson} {s}": (ours_scores[s], right[s]) for s in students if ours_scores[s] != right[s]})
    if wrong:
        print(f"the course's grader gave {len(wrong)} wrong scores (given, right): {dict(list(wrong.items())[:5])}")
    n = args.submissions * len(args.lessons)
    if not n:
        return 0
    rows.append([f"all lessons ({n})", f"{totals[0]:.1f}", f"{totals[1]:.1f}", f"{totals[0] / n:.2f}",
                     f"{totals[1] / n:.2f}", f"{totals[0] / totals[1]:.2f}x", "", "", ""])
    lines = [f"{machine()}; course grader {isolation}, {args.workers} workers; stock: `nbgrader autograde`, serial."
             + f" Per-lesson ratio: median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}x, max "
               f"{max(ratios):.2f}x)."
             + (" The course's grader gave every submission its right score (full marks, 0, or full marks less "
                "the points of the checks a mutant is known to fail)." if not wrong
                else " The course's grader gave WRONG scores: see the output."), ""] + table(
        ["submissions", "stock s", "course s", "stock s/submission", "course s/submission", "ratio",
         "course reference s (once per lesson)", "stock above the right score", "stock below it"],
        rows)
    print("\n".join(lines))
    if args.write and not wrong and set(args.lessons) == set(LESSONS):  # the table holds every lesson
        write("grading", lines)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
