"""A copy of the course for the instructor's make targets: its own solutions/ and grading/, the shared .venv."""
import os
import shutil
import subprocess

import nbformat

from lessons import REPO


def copy_course(course):
    course.mkdir()
    for name in ["Makefile", "pyproject.toml", "nbgrader_config.py"]:
        shutil.copy2(REPO / name, course / name)
    shutil.copytree(REPO / "solutions", course / "solutions")
    (course / ".venv").symlink_to(REPO / ".venv")
    return course


def make(course, *args, assignment, **env):
    """Run ``make args ASSIGNMENT=assignment`` in ``course``; returns its output, fails the test on an error."""
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", *args, f"ASSIGNMENT={assignment}"]
    # -o .venv/.installed: never reinstall the shared .venv from this copy
    proc = subprocess.run(command, cwd=course, env={**os.environ, **env}, capture_output=True, text=True)
    assert proc.returncode == 0, f"make {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def submit(course, assignment, notebooks):
    """Put each student's notebook where nbgrader's collect would: grading/submitted/<student>/<assignment>/."""
    for student, nb in notebooks.items():
        folder = course / "grading" / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
