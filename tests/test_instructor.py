"""The instructor's make targets on a copy of the course: release, autograde, feedback, release-feedback, grades.

The copy is the session's `instructor_course` (tests/conftest.py: released, three submissions graded and their
feedback written by the make targets), which the browser's Formgrader tests serve too. A student fetching
released feedback, through the exchange, is covered by test_browser.py.
"""
import csv

from course_copy import make
from grader import submissions
from lessons import check_feedback_page, released, source

LESSON = "02_forward_pass"  # conftest.INSTRUCTOR_LESSON
STUDENTS = {"alice": True, "bob": False, "mallory": True}  # full marks? (mallory: the corpus's outputs-run-script)


def test_release_autograde_feedback_grades(instructor_course):
    course, feedback_output, exchange = instructor_course
    assert submissions.read(course / "notebooks" / LESSON / f"{LESSON}.ipynb") == released(LESSON)

    assert "make release-feedback" in feedback_output and not any(exchange.rglob("*.html")), (
        "make feedback releases nothing")
    points = submissions.test_cells(source(LESSON))
    for student, full in STUDENTS.items():
        page = (course / "grading" / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        check_feedback_page(page, LESSON, {q: (p if full else 0, p) for q, p in points.items()})
    out = make(course, "release-feedback", assignment=LESSON, NBGRADER_EXCHANGE=str(course.parent / "no-exchange"))
    assert "No exchange at" in out
    make(course, "release-feedback", assignment=LESSON, NBGRADER_EXCHANGE=str(exchange))
    assert len(list((exchange / "pytorch-course" / "feedback").glob("*.html"))) == len(STUDENTS), "one page per student"

    make(course, "grades", assignment=LESSON)
    exported = list(csv.DictReader(open(course / "grading" / "grades.csv")))
    rows = {r["student_id"]: float(r["score"]) for r in exported}
    assert rows == {student: sum(points.values()) if full else 0.0 for student, full in STUDENTS.items()}
    assert {r["student_id"]: r["last_name"] for r in exported}["alice"] == "Liddell", "`make roster` names them"
