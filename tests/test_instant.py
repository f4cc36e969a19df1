"""Instant grading (`make instant`): a student submits and fetches feedback with no instructor step, and
the hourly limit per student holds."""
import fcntl
import getpass
from datetime import datetime, timedelta, timezone

import nbformat

from course_copy import copy_course, make
from grader import instant, submissions, testing
from grader.autograde import Course
from lessons import released, source

LESSON = "02_forward_pass"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_the_hourly_limit_lets_a_waiting_submission_through_once_the_hour_allows():
    ago = lambda minutes: (NOW - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    state = {"graded": {LESSON: {"ada": "t1", "bob": "t1"}}, "runs": {"ada": [ago(50), ago(20)], "bob": [ago(70)]}}
    arrived = {"ada": "t2", "bob": "t2", "cy": "t1"}
    grade, waiting = instant.due(state, LESSON, arrived, NOW, per_hour=2)
    assert grade == ["bob", "cy"] and waiting == {"ada": NOW + timedelta(minutes=10)}
    assert instant.due(state, LESSON, {"ada": "t1"}, NOW, 2) == ([], {}), "a graded submission is not graded again"


def test_two_instant_graders_never_grade_at_once(tmp_path):
    course = Course.at(tmp_path)
    (tmp_path / "grading").mkdir()
    said = []
    with open(tmp_path / "grading" / "instant.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another run is grading
        assert instant.step(course, [LESSON], 3, log=said.append) is None
    assert said == ["another `make instant` is grading this course: this one leaves it to that one"]


def test_a_student_submits_and_fetches_feedback_without_the_instructor(tmp_path, monkeypatch):
    exchange, home = tmp_path / "exchange", tmp_path / "student"
    exchange.mkdir()
    home.mkdir()
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(exchange))
    course = copy_course(tmp_path / "course")
    make(course, "release", assignment=LESSON)
    testing.nbgrader(course, "release_assignment", LESSON)
    (home / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.course_id = 'pytorch-course'\n"
                                              f"c.Exchange.root = {str(exchange)!r}\n")
    testing.nbgrader(home, "fetch_assignment", LESSON)
    work = home / LESSON / f"{LESSON}.ipynb"
    nbformat.write(submissions.completed(released(LESSON), source(LESSON)), str(work))
    student = getpass.getuser()  # nbgrader's exchange knows a student by their login

    def submit_and_wait():
        testing.nbgrader(home, "submit", LESSON)
        return make(course, "instant", assignment=LESSON, ONCE="1", PER_HOUR="1")

    out = submit_and_wait()
    assert f"{LESSON} {student}: graded, feedback released" in out, out
    testing.nbgrader(home, "fetch_feedback", LESSON)
    page, = (home / LESSON / "feedback").glob(f"*/{LESSON}.html")
    full = sum(submissions.test_cells(source(LESSON)).values())
    assert f"Score: {full:g} / {full:g}" in page.read_text()

    limited = submit_and_wait()  # the second within the hour, one allowed: it waits
    assert "graded 1 time in the last hour, the limit" in limited and "feedback released" not in limited, limited
