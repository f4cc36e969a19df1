"""The instructor's make targets on a copy of the course: release, autograde, feedback, grades.

Releasing feedback through the exchange is covered by test_exchange.py.
"""
import csv

from course_copy import copy_course, make, submit
from grader import submissions
from lessons import released, source

LESSON = "02_forward_pass"


def test_release_autograde_feedback_grades(tmp_path):
    course = copy_course(tmp_path / "course")
    make(course, "release", assignment=LESSON)
    assert submissions.read(course / "notebooks" / LESSON / f"{LESSON}.ipynb") == released(LESSON)

    submit(course, LESSON, {"alice": submissions.completed(released(LESSON), source(LESSON)), "bob": released(LESSON)})
    make(course, "autograde", assignment=LESSON)

    out = make(course, "feedback", assignment=LESSON, NBGRADER_EXCHANGE=str(tmp_path / "no-exchange"))
    assert "No exchange at" in out
    for student in ["alice", "bob"]:
        assert (course / "grading" / "feedback" / student / LESSON / f"{LESSON}.html").exists()

    make(course, "grades", assignment=LESSON)
    rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(course / "grading" / "grades.csv"))}
    assert rows == {"alice": sum(submissions.test_cells(source(LESSON)).values()), "bob": 0.0}
