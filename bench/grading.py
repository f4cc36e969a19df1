"""Grading throughput: stock `nbgrader autograde` (serial) vs the course's grader, same submissions, one run.

    python bench/grading.py [--lessons 01_tensors ...] [--submissions 40] [--workers N] [--write]

For each lesson, both sides grade the same notebooks (the solution, the blank notebook and the lesson's
mutants, cycled to the count) in fresh scratch courses, one side right after the other; the course's grader
runs each kernel in its bubblewrap sandbox. The fixed cost per submission is measured the same way on a
one-cell notebook that only imports torch, one submission at a time on both sides. Prints seconds, seconds
per submission and the ratio, and checks that both sides gave every student the same score.
"""
import argparse
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

from grader import autograde, questions, reference, sandbox, submissions, testing  # noqa: E402
from lessons import LESSONS, lesson_mutants, released, source  # noqa: E402
from report import machine, table, write  # noqa: E402

FIXED = "00_import_torch"


def class_of(lesson, count):
    """``count`` submissions: solution, blank and mutants, cycled."""
    rel, src = released(lesson), source(lesson)
    answers = submissions.solution_answers(src)
    kinds = [submissions.completed(rel, src), rel] + [
        submissions.with_answers(rel, {**answers, m.cell: m.code}) for m in lesson_mutants(lesson)]
    return {f"student{i:03d}": kinds[i % len(kinds)] for i in range(count)}


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


def both(solutions, lesson, students, workers):
    """(stock seconds, course seconds, reference seconds, students whose scores differ), in a scratch folder."""
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        stock_s, stock_scores = stock(work, solutions, lesson, students)
        ours_s, once, ours_scores = course(work, solutions, lesson, students, workers)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    differ = {s: (stock_scores[s], ours_scores[s]) for s in students if stock_scores[s] != ours_scores[s]}
    return stock_s, ours_s, once, differ


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", nargs="+", default=LESSONS, choices=LESSONS, metavar="LESSON")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--fixed", type=int, default=10, help="submissions of the import-only notebook")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    isolation = "sandboxed (bubblewrap)" if sandbox.bwrap() else "NOT sandboxed (no bubblewrap)"
    rows, ratios, failed = [], [], False
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as tmp:
        import_only(Path(tmp))
        fixed = {f"student{i:03d}": released_import_only(Path(tmp)) for i in range(args.fixed)}
        stock_s, ours_s, _, _ = both(Path(tmp), FIXED, fixed, 1)
    rows.append([f"fixed cost: `import torch` only, 1 worker ({args.fixed})", f"{stock_s:.1f}", f"{ours_s:.1f}",
                 f"{stock_s / args.fixed:.2f}", f"{ours_s / args.fixed:.2f}", f"{stock_s / ours_s:.2f}x", "", ""])
    print(rows[-1], flush=True)
    totals = [0.0, 0.0]
    for lesson in args.lessons:
        students = class_of(lesson, args.submissions)
        stock_s, ours_s, once, differ = both(REPO / "solutions", lesson, students, args.workers)
        totals = [totals[0] + stock_s, totals[1] + ours_s]
        ratios.append(stock_s / ours_s)
        n = len(students)
        # Judged from data, a lesson's hidden checks exist only for the course's grader: stock nbgrader runs the
        # public checks alone, so it may only ever give more points, never fewer.
        judged = questions.path(REPO / "solutions", lesson).is_file()
        missed = sum(1 for stock_score, ours in differ.values() if stock_score > ours) if judged else 0
        rows.append([f"{lesson} ({n})", f"{stock_s:.1f}", f"{ours_s:.1f}", f"{stock_s / n:.2f}", f"{ours_s / n:.2f}",
                     f"{stock_s / ours_s:.2f}x", f"{once:.1f}" if judged else "", str(missed) if judged else ""])
        print(rows[-1], flush=True)
        if len(differ) > missed:
            failed = True
            print(f"{lesson}: scores DIFFER for {len(differ)}: {dict(list(differ.items())[:5])}")
    n = args.submissions * len(args.lessons)
    rows.append([f"all lessons ({n})", f"{totals[0]:.1f}", f"{totals[1]:.1f}", f"{totals[0] / n:.2f}",
                 f"{totals[1] / n:.2f}", f"{totals[0] / totals[1]:.2f}x", "", ""])
    lines = [f"{machine()}; course grader {isolation}, {args.workers} workers; stock: `nbgrader autograde`, serial. "
             f"Per-lesson ratio: median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}x, max {max(ratios):.2f}x)."
             + (" Scores: identical on both sides, except where stock nbgrader, which sees only the public checks of a "
                "lesson judged from data, gives points for a wrong answer." if not failed
                else " Scores DIFFER: see the output."), ""] + table(
        ["submissions", "stock s", "course s", "stock s/submission", "course s/submission", "ratio",
         "course reference s (once per lesson)", "wrong answers stock passed"], rows)
    print("\n".join(lines))
    if args.write and not failed:
        write("grading", lines)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
