"""Grading throughput: stock `nbgrader autograde` (serial) vs the course's grader, same submissions, one run.

    python bench/grading.py [--lesson 02_forward_pass] [--submissions 40] [--workers N]

Both sides grade the same notebooks (the solution, the blank notebook and the lesson's mutants, repeated
to the count) in fresh scratch courses; the course's grader runs each kernel in its bubblewrap sandbox.
Prints seconds, seconds per submission and the ratio, and checks both gave every student the same score.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from grader import autograde, sandbox, submissions  # noqa: E402
from lessons import lesson_mutants, released, source  # noqa: E402


def class_of(lesson, count):
    """``count`` submissions: solution, blank and mutants, cycled."""
    rel, src = released(lesson), source(lesson)
    answers = submissions.solution_answers(src)
    kinds = [submissions.completed(rel, src), rel] + [
        submissions.with_answers(rel, {**answers, m.cell: m.code}) for m in lesson_mutants(lesson)]
    return {f"student{i:03d}": kinds[i % len(kinds)] for i in range(count)}


def submit(root, lesson, students):
    for student, nb in students.items():
        folder = root / "grading" / "submitted" / student / lesson
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{lesson}.ipynb"))


def scores(db_url, lesson, students):
    with Gradebook(db_url) as gb:
        return {s: gb.find_submission(lesson, s).score for s in students}


def stock(work, lesson, students):
    """nbgrader's own autograde, one process, one submission after another, default settings."""
    root = work / "stock"
    (root / "grading").mkdir(parents=True)
    db = f"sqlite:///{root / 'grading' / 'gradebook.db'}"
    (root / "nbgrader_config.py").write_text("\n".join([
        "c = get_config()", f"c.CourseDirectory.root = {str(root)!r}",
        f"c.CourseDirectory.source_directory = {str(REPO / 'solutions')!r}",
        "c.CourseDirectory.release_directory = 'release'", "c.CourseDirectory.submitted_directory = 'grading/submitted'",
        "c.CourseDirectory.autograded_directory = 'grading/autograded'", f"c.CourseDirectory.db_url = {db!r}",
        "c.ExecutePreprocessor.timeout = 300", ""]))
    autograde.nbgrader(root, "generate_assignment", lesson, "--force")
    submit(root, lesson, students)
    start = time.perf_counter()
    autograde.nbgrader(root, "autograde", lesson)
    return time.perf_counter() - start, scores(db, lesson, students)


def course(work, lesson, students, workers):
    root = autograde.scratch_course(work / "course")
    autograde.nbgrader(root, "generate_assignment", lesson, "--force")
    submit(root, lesson, students)
    where = replace(autograde.Course.at(root, release="release"), source=REPO / "solutions")
    start = time.perf_counter()
    autograde.autograde(where, lesson, workers, log=lambda *_: None)
    return time.perf_counter() - start, scores(where.db_url, lesson, students)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", default="02_forward_pass")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    students = class_of(args.lesson, args.submissions)
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        stock_s, stock_scores = stock(work, args.lesson, students)
        ours_s, ours_scores = course(work, args.lesson, students, args.workers)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = len(students)
    print(f"{args.lesson}, {n} submissions, {os.cpu_count()} cores, "
          f"{'sandboxed (bubblewrap)' if sandbox.bwrap() else 'NOT sandboxed (no bubblewrap)'}")
    print(f"{'grader':34} {'seconds':>8} {'s/submission':>13}")
    print(f"{'stock nbgrader autograde (serial)':34} {stock_s:8.1f} {stock_s / n:13.2f}")
    print(f"{'course grader, ' + str(args.workers) + ' workers':34} {ours_s:8.1f} {ours_s / n:13.2f}")
    print(f"ratio (stock / course): {stock_s / ours_s:.2f}x")
    differ = {s: (stock_scores[s], ours_scores[s]) for s in students if stock_scores[s] != ours_scores[s]}
    print("scores: identical" if not differ else f"scores DIFFER for {len(differ)}: {dict(list(differ.items())[:5])}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
