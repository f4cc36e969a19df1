"""The instructor's make targets on a copy of the course: release, autograde, feedback, release-feedback, grades.

A student fetching released feedback is covered by test_exchange.py.
"""
import csv

from course_copy import copy_course, make, submit
from grader import submissions
from lessons import check_feedback_page, released, source

LESSON = "02_forward_pass"


def test_release_autograde_feedback_grades(tmp_path):
    course = copy_course(tmp_path / "course")
    make(course, "release", assignment=LESSON)
    assert submissions.read(course / "notebooks" / LESSON / f"{LESSON}.ipynb") == released(LESSON)

    submit(course, LESSON, {"alice": submissions.completed(released(LESSON), source(LESSON)), "bob": released(LESSON)})
    for student in ["alice", "bob"]:  # what `nbgrader collect` puts beside a submission: releasing feedback needs it
        folder = course / "grading" / "submitted" / student / LESSON
        (folder / "timestamp.txt").write_text("2024-01-15 10:00:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(f"secret of {student}")
    make(course, "autograde", assignment=LESSON)

    exchange = tmp_path / "exchange"
    exchange.mkdir()
    out = make(course, "feedback", assignment=LESSON, NBGRADER_EXCHANGE=str(exchange))
    assert "make release-feedback" in out and not any(exchange.rglob("*.html")), "make feedback releases nothing"
    points = submissions.test_cells(source(LESSON))
    for student, full in [("alice", True), ("bob", False)]:
        page = (course / "grading" / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        check_feedback_page(page, LESSON, {q: (p if full else 0, p) for q, p in points.items()})
    out = make(course, "release-feedback", assignment=LESSON, NBGRADER_EXCHANGE=str(tmp_path / "no-exchange"))
    assert "No exchange at" in out
    make(course, "release-feedback", assignment=LESSON, NBGRADER_EXCHANGE=str(exchange))
    assert len(list((exchange / "pytorch-course" / "feedback").glob("*.html"))) == 2, "one page per student"

    make(course, "grades", assignment=LESSON)
    rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(course / "grading" / "grades.csv"))}
    assert rows == {"alice": sum(points.values()), "bob": 0.0}
