"""Feedback pages: stock `nbgrader generate_feedback` vs the course's, on one graded class, one run.

    python bench/feedback.py [--lesson 08_mnist_lab] [--submissions 12] [--repeats 3] [--write]

The class (the solution, the blank notebook and the lesson's mutants, cycled to the count) is graded once;
then each side writes every student's feedback page from the same autograded notebooks and gradebook, in
turn, ``--repeats`` times: stock nbgrader (its exporter and template), the course's page as it was rendered
until 2026-12-03 (nbconvert's HTMLExporter, which ends by parsing the whole page with BeautifulSoup), and the
course's page now (grader.feedback.FeedbackExporter, which skips that parse). Prints the median seconds per
page with their spread and the ratios.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nbconvert.exporters import HTMLExporter

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from grader import testing  # noqa: E402
from grader.feedback import FeedbackExporter  # noqa: E402
from grading import class_of  # noqa: E402
from report import machine, spread, table, write  # noqa: E402


class WithPageParse(FeedbackExporter):
    """The course's feedback page rendered as HTMLExporter renders it, page-wide parse included."""

    from_notebook_node = HTMLExporter.from_notebook_node


SIDES = {
    "stock `nbgrader generate_feedback`": [
        "c.GenerateFeedback.exporter_class = 'nbconvert.exporters.HTMLExporter'",
        "from nbgrader.preprocessors import GetGrades",
        "from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor",
        "c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor]"],
    "course, HTMLExporter's page-wide parse": ["c.GenerateFeedback.exporter_class = 'feedback.WithPageParse'"],
    "course (FeedbackExporter)": [],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", default="08_mnist_lab")
    parser.add_argument("--submissions", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "bench"), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("GRADER_REFERENCE_CACHE", str(REPO / "build" / "reference-cache"))
    students, _ = class_of(args.lesson, args.submissions)
    work = Path(tempfile.mkdtemp(prefix="bench-feedback-"))
    seconds = {side: [] for side in SIDES}
    try:
        graded = work / "graded"
        testing.grade(args.lesson, students, graded, feedback=False)
        for side, config in SIDES.items():
            root = work / f"side{list(SIDES).index(side)}"
            shutil.copytree(graded, root)
            testing.scratch_course(root, config=config)
        for _ in range(args.repeats):
            for side in SIDES:
                root = work / f"side{list(SIDES).index(side)}"
                start = time.perf_counter()
                testing.nbgrader(root, "generate_feedback", args.lesson, "--force")
                seconds[side].append((time.perf_counter() - start) / len(students))
                pages = list((root / "grading" / "feedback").glob(f"*/{args.lesson}/{args.lesson}.html"))
                assert len(pages) == len(students), f"{side}: {len(pages)} pages for {len(students)} students"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stock = statistics.median(seconds[next(iter(SIDES))])
    rows = [[side, spread(s), f"{stock / statistics.median(s):.2f}x"] for side, s in seconds.items()]
    lines = [f"{machine()}; {args.lesson}, {len(students)} graded submissions, each side writing all their pages "
             f"(one `generate_feedback` run, nbgrader's start-up included) {args.repeats} times in turn; median "
             f"(min-max) over the runs.", ""] + table(["feedback page", "s per page", "stock / this"], rows)
    print("\n".join(lines))
    if args.write:
        write("feedback", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
