"""The grader as the test suite and the benchmarks drive it: scratch courses, nbgrader commands, whole
classes graded from notebooks in memory. Never imported by the grader itself."""
import html
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from grader import release
from grader.autograde import REPO, Course, autograde
from grader.commands import nbgrader  # noqa: F401 (tests run nbgrader commands through here)


@dataclass
class Result:
    """One graded submission: points per test cell and the feedback a student receives."""

    scores: dict  # grade_id -> (score, max_score)
    feedback_html: str

    @property
    def total(self):
        return sum(score for score, _ in self.scores.values())

    @property
    def max_total(self):
        return sum(top for _, top in self.scores.values())

    @property
    def feedback_text(self):
        """The feedback as a student reads it: tags removed, entities decoded."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.feedback_html))

    def lost(self):
        """Test cells that scored less than full points."""
        return sorted(key for key, (score, top) in self.scores.items() if score < top)


def scratch_course(root, exchange=None, config=()):
    """Make ``root`` a course folder whose config is the course's, with every path inside ``root``.

    ``config`` adds lines of nbgrader config, such as shorter time limits.
    """
    root = Path(root)
    (root / "grading").mkdir(parents=True, exist_ok=True)
    lines = [
        f"load_subconfig({str(REPO / 'nbgrader_config.py')!r})",
        "c = get_config()",
        f"c.CourseDirectory.root = {str(root)!r}",
        f"c.CourseDirectory.source_directory = {str(REPO / 'solutions')!r}",
        "c.CourseDirectory.release_directory = 'release'",
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'grading' / 'gradebook.db'}'",
        f"c.NbGrader.logfile = {str(root / 'grading' / 'nbgrader.log')!r}",
    ]
    if exchange:
        lines.append(f"c.Exchange.root = {str(exchange)!r}")
    lines.extend(config)
    (root / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    return root


def copy_release(released, root, assignment):
    """Give the scratch course ``root`` the release of ``assignment`` that was made in the scratch course
    ``released``: its release folder and its SQLite gradebook (which holds the release's cells)."""
    shutil.copytree(Path(released) / "release" / assignment, Path(root) / "release" / assignment)
    shutil.copy(Path(released) / "grading" / "gradebook.db", Path(root) / "grading" / "gradebook.db")


def grade(assignment, submissions, workdir, workers=2, limits=None, scheduler=None, db_url=None, released=None,
          feedback=True):
    """Test entry point: autograde ``submissions`` in a scratch course.

    A submission is a notebook, raw text for the notebook file, or a folder's contents (file name -> content).
    ``scheduler`` grades on a Dask cluster; ``db_url`` puts the gradebook elsewhere than SQLite. ``released``, a
    scratch course the assignment was released into, saves releasing it again (an nbgrader run); without
    ``feedback``, no feedback is generated (another nbgrader run) and each Result's feedback is empty.

    Returns (student id -> Result with the student's feedback, student id -> Outcome).
    """
    root = scratch_course(workdir, config=[f"c.CourseDirectory.db_url = {db_url!r}"] if db_url else ())
    if released is None:
        release.release(root, assignment)
    else:
        assert db_url is None, "a copied release brings its SQLite gradebook: release into another database"
        copy_release(released, root, assignment)
    for student, nb in submissions.items():
        folder = root / "grading" / "submitted" / student / assignment
        folder.mkdir(parents=True)
        files = nb if isinstance(nb, dict) and "cells" not in nb else {f"{assignment}.ipynb": nb}
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                (folder / name).write_bytes(content)
            elif isinstance(content, str):  # raw text: lets tests submit a broken file
                (folder / name).write_text(content)
            else:
                nbformat.write(content, str(folder / name))
    course = replace(Course.at(root, db_url, release="release"), source=REPO / "solutions")
    outcomes = autograde(course, assignment, workers, scheduler, limits, log=lambda *_: None)
    if feedback:
        nbgrader(root, "generate_feedback", assignment, "--force", check=False)
    results = {}
    with Gradebook(course.db_url) as gb:
        for student in submissions:
            graded = gb.find_submission_notebook(assignment, assignment, student)
            page = root / "grading" / "feedback" / student / assignment / f"{assignment}.html"
            results[student] = Result({g.name: (g.score, g.max_score) for g in graded.grades},
                                      page.read_text() if page.exists() else "")
    return results, outcomes
