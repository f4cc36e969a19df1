"""The instructor's make targets on a copy of the course: release, autograde, feedback, grades.

Releasing feedback through the exchange is covered by test_exchange.py.
"""
import csv
import os
import shutil
import subprocess

import nbformat

from grader import submissions
from lessons import REPO, released, source

LESSON = "02_forward_pass"


def make(course, *args, **env):
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", *args, f"ASSIGNMENT={LESSON}"]
    # -o .venv/.installed: never reinstall the shared .venv from this copy
    proc = subprocess.run(command, cwd=course, env={**os.environ, **env}, capture_output=True, text=True)
    assert proc.returncode == 0, f"make {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_release_autograde_feedback_grades(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    for name in ["Makefile", "pyproject.toml", "nbgrader_config.py"]:
        shutil.copy2(REPO / name, course / name)
    shutil.copytree(REPO / "solutions", course / "solutions")
    (course / ".venv").symlink_to(REPO / ".venv")

    make(course, "release")
    assert submissions.read(course / "notebooks" / LESSON / f"{LESSON}.ipynb") == released(LESSON)

    for student, nb in {"alice": submissions.completed(released(LESSON), source(LESSON)),
                        "bob": released(LESSON)}.items():
        folder = course / "grading" / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{LESSON}.ipynb"))
    make(course, "autograde")

    out = make(course, "feedback", NBGRADER_EXCHANGE=str(tmp_path / "no-exchange"))
    assert "No exchange at" in out
    for student in ["alice", "bob"]:
        assert (course / "grading" / "feedback" / student / LESSON / f"{LESSON}.html").exists()

    make(course, "grades")
    rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(course / "grading" / "grades.csv"))}
    assert rows == {"alice": sum(submissions.test_cells(source(LESSON)).values()), "bob": 0.0}
