"""``make instant``: each submission graded right after the student submits it, and its feedback released;
off unless an instructor runs this.

Every ``--poll`` seconds it collects what arrived in the exchange (``nbgrader collect --update``), grades
each student whose newest submission is not graded yet (in its sandbox, like ``make autograde``), writes
their feedback and releases it, so the student fetches it from the Assignments tab. A student is graded at
most ``--per-hour`` times in any hour: a submission past that waits, and is graded (the newest one) once the
hour allows. One grading run at a time, even with two copies of this running (a lock file), so no student
is ever graded twice at once. What it did is kept in grading/instant.json.
"""
import argparse
import fcntl
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from grader.autograde import Course, autograde
from grader.commands import nbgrader

HOUR = timedelta(hours=1)


def submitted(course, assignment):
    """student -> the timestamp of their collected submission of ``assignment``."""
    out = {}
    for stamp in sorted((course.grading / "submitted").glob(f"*/{assignment}/timestamp.txt")):
        out[stamp.parent.parent.name] = stamp.read_text().strip()
    return out


def due(state, assignment, arrived, now, per_hour):
    """(students to grade now, student -> when they may be graded next): the students whose newest
    submission is not graded yet, split by the hourly limit. ``state`` is what earlier runs recorded."""
    graded, runs = state.get("graded", {}).get(assignment, {}), state.get("runs", {})
    now_grade, waiting = [], {}
    for student, stamp in sorted(arrived.items()):
        if graded.get(student) == stamp:
            continue
        recent = sorted(t for t in map(datetime.fromisoformat, runs.get(student, [])) if now - t < HOUR)
        if len(recent) >= per_hour:
            waiting[student] = recent[-per_hour] + HOUR
        else:
            now_grade.append(student)
    return now_grade, waiting


def load_state(course):
    path = course.grading / "instant.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def save_state(course, state):
    path = course.grading / "instant.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(path)


def step(course, assignments, per_hour, log=print, now=None):
    """One poll: collect, grade what is due, release its feedback. Returns {assignment: graded students},
    or None when another run holds the lock (two services, or cron starting one while one is running)."""
    course.grading.mkdir(parents=True, exist_ok=True)
    with open(course.grading / "instant.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another `make instant` is grading this course: this one leaves it to that one")
            return None
        return _step(course, assignments, per_hour, log, now)


def _step(course, assignments, per_hour, log, now):
    state, done = load_state(course), {}
    for assignment in assignments:
        nbgrader(course.root, "collect", "--update", assignment)
        arrived = submitted(course, assignment)
        when = now or datetime.now(timezone.utc)
        students, waiting = due(state, assignment, arrived, when, per_hour)
        for student, allowed in waiting.items():
            log(f"{assignment} {student}: graded {per_hour} time{'s' if per_hour > 1 else ''} in the last hour, the "
                f"limit; the newest submission is graded after {allowed:%H:%M} UTC")
        if not students:
            continue
        autograde(course, assignment, students=students, log=log)
        for student in students:
            nbgrader(course.root, "generate_feedback", assignment, f"--student={student}", "--force")
            nbgrader(course.root, "release_feedback", assignment, f"--student={student}")
            state.setdefault("graded", {}).setdefault(assignment, {})[student] = arrived[student]
            state.setdefault("runs", {}).setdefault(student, []).append(when.isoformat())
            log(f"{assignment} {student}: graded, feedback released")
        save_state(course, state)
        done[assignment] = students
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.instant", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="+", help="the lessons to grade as they arrive")
    parser.add_argument("--root", default=".", help="the course folder")
    parser.add_argument("--per-hour", type=int, default=3, help="gradings per student per hour (default 3)")
    parser.add_argument("--poll", type=float, default=30, help="seconds between looks at the exchange")
    parser.add_argument("--once", action="store_true", help="look once, grade what is due, and stop")
    args = parser.parse_args(argv)
    if args.per_hour < 1:
        parser.error("--per-hour must be at least 1")
    course = Course.at(Path(args.root).resolve())
    while True:
        try:
            step(course, args.assignments, args.per_hour)
        except (ValueError, RuntimeError) as error:  # a lesson that can't be graded, nbgrader failing: say so
            if args.once:
                parser.exit(2, f"python -m grader.instant: {error}\n")
            print(f"python -m grader.instant: {error} (trying again in {args.poll:g} s)", file=sys.stderr)
        if args.once:
            return 0
        time.sleep(args.poll)


if __name__ == "__main__":
    sys.exit(main())
