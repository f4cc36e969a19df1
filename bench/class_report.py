"""The class report for a large class: `make report` over 200 students in every lesson, on 2 cores.

    python bench/class_report.py [--students 200] [--repeats 3] [--write]

A synthetic class (tests/synthetic_class.py: right answers, known mistakes, unanswered questions, flags, late
and ungraded submissions) is recorded into one course for every lesson, once; then `python -m grader.report`,
start-up included, builds every page and CSV ``--repeats`` times. The goal: under 60 s for 200 students
in each of the course's lessons.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from grader import autograde, reference, release, sandbox, testing  # noqa: E402
from lessons import LESSONS, lesson_mutants  # noqa: E402
from report import machine, spread, table, write  # noqa: E402
from synthetic_class import generate  # noqa: E402

GOAL = 60.0  # seconds, for 200 students in every lesson


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lessons", nargs="*", default=LESSONS)
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    os.environ.setdefault("GRADER_REFERENCE_CACHE", str(REPO / "build" / "reference-cache"))
    shared = REPO.parent / "shared" / "datasets" / "mnist" / "small"  # the lab's data, as the tests have it
    if shared.is_dir():
        os.environ.setdefault("COURSE_DATA_DIR", str(shared))
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    seconds = []
    try:
        root = testing.scratch_course(work / "course")
        for name in ("solutions", "tests"):  # the lessons, and their known mistakes' hints, as a course has them
            (root / name).symlink_to(REPO / name)
        (root / "notebooks").symlink_to(root / "release")  # where a course keeps its release
        course = replace(autograde.Course.at(root, release="release"), source=REPO / "solutions")
        repo_course = autograde.Course(REPO / "solutions", REPO / "notebooks", REPO / "grading", None)
        start = time.perf_counter()
        for lesson in args.lessons:
            ref = reference.build(repo_course, lesson, autograde.reference_runner(
                repo_course, lesson, sandbox.Limits(), 2, None), log=lambda *_: None)
            release.release(root, lesson)
            generate(course, lesson, ref, lesson_mutants(lesson), students=args.students)
        print(f"class recorded in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        for _ in range(args.repeats):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "grader.report", "--root", str(root), *args.lessons],
                                  cwd=REPO, capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            seconds.append(time.perf_counter() - start)
        pages = sorted(p.name for p in (root / "grading" / "report").glob("*.html"))
        assert len(pages) == len(args.lessons) + 1, pages
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = statistics.median(seconds)
    lines = [f"{machine()}; `python -m grader.report` (start-up included) over {args.students} students in each of "
             f"{len(args.lessons)} lessons, {args.repeats} runs; median (min-max).", ""] + table(
        ["report", "seconds", f"goal {GOAL:g} s"], [["every page and CSV", spread(seconds, "{:.1f}"),
                                                     f"{GOAL / median:.1f}x under" if median < GOAL else "MISSED"]])
    print("\n".join(lines))
    if args.write:
        write("class-report", lines)
    return 0 if median < GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
