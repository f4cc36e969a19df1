"""``python -m grader autograde [ASSIGNMENT ...]``: grade a course's submissions; ``python -m grader release
[ASSIGNMENT ...]``: regenerate their student notebooks (see README, Instructors)."""
import argparse
import os
import sys

from grader import release, sandbox
from grader.autograde import Course, autograde


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    auto = commands.add_parser("autograde", help="grade grading/submitted/*/ASSIGNMENT in sandboxed kernels")
    auto.add_argument("assignments", nargs="+")
    auto.add_argument("--root", default=".", help="the course folder (holds solutions/, notebooks/, grading/)")
    auto.add_argument("--workers", type=int, default=0, help="kernels at once (default: one per core)")
    auto.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                      help="grade on a Dask cluster: its scheduler address, e.g. tcp://10.0.0.5:8786")
    auto.add_argument("--db", default=os.environ.get("GRADEBOOK_URL"),
                      help="gradebook URL (default: sqlite:///grading/gradebook.db; postgresql://... works)")
    auto.add_argument("--cell-timeout", type=int, default=sandbox.Limits.cell_timeout)
    auto.add_argument("--notebook-timeout", type=int, default=sandbox.Limits.notebook_timeout)
    rel = commands.add_parser("release", help="generate notebooks/ASSIGNMENT from solutions/ASSIGNMENT; a "
                              "failure keeps the current release")
    rel.add_argument("assignments", nargs="+")
    rel.add_argument("--root", default=".", help="the course folder (holds nbgrader_config.py)")
    args = parser.parse_args(argv)
    course = Course.at(args.root, getattr(args, "db", None))
    for assignment in args.assignments:
        if not (course.source / assignment).is_dir():
            parser.error(f"no assignment {assignment!r} in {course.source}; choose from "
                         f"{sorted(p.name for p in course.source.iterdir() if p.is_dir())}")
    if args.command == "release":
        return release.main(args.assignments, args.root)
    limits = sandbox.Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout)
    for assignment in args.assignments:
        try:
            autograde(course, assignment, args.workers or None, args.scheduler, limits)
        except (ValueError, RuntimeError) as error:  # a lesson that cannot be judged: say what to fix
            parser.exit(2, f"python -m grader: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
