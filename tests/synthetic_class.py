"""A synthetic class for the instructor's report: every student's answers are known, so every number the
report prints can be checked against the truth.

Each student answers each question right, with one of the lesson's known mistakes (tests/mutants), or not at
all; the data each answer would record are the reference data (the solution's or the mutant's), judged by
the real judge and written by the real ``autograde.record``. Some students are flagged for review (one with a
flag that tries to run script in the instructor's browser), some submit late, some are not graded yet and
one resubmitted after grading. The roster names every student, and two who never submitted.
"""
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import nbformat
from nbgrader.api import Gradebook

from grader import autograde, judge, probedata, roster, run, verdicts

DUE = datetime(2026, 3, 1, 17, 0, tzinfo=timezone.utc)
HOSTILE_FLAG = "added cell 9: uses ctypes <script>alert('flag')</script>"


@dataclass
class Truth:
    scores: dict = field(default_factory=dict)  # student -> question -> points earned
    mistakes: dict = field(default_factory=dict)  # student -> question -> the known mistake named
    flags: dict = field(default_factory=dict)  # student -> reasons to review
    late_hours: dict = field(default_factory=dict)  # student -> hours late
    ungraded: list = field(default_factory=list)
    people: dict = field(default_factory=dict)  # student -> the roster's row: names, email, Canvas id


def _unanswered(expected):
    """The data of an answer left as ``raise NotImplementedError()``: its first check raised."""
    first = next(iter(expected))
    return probedata.parse(_npz([{"label": first, "kind": "error", "type": "NotImplementedError", "value": ""}]))


def _npz(entries):
    import io
    import json

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, __header__=np.frombuffer(json.dumps({"entries": entries}).encode(), np.uint8))
    return buffer.getvalue()


def named_mistakes(ref, question):
    """The known mistakes of ``question`` the judge can name: no other mistake there has the same data."""
    known = ref.mistakes[question]
    judging = ref.judging[question]
    return [m for m in known if not any(o.id != m.id and judge.same(o.record, m.record, judging) for o in known)]


def generate(course, lesson, ref, mutants, students=200, seed=0):
    """Grade a class of ``students`` into ``course`` (released: its gradebook holds the lesson); the truth."""
    rng = random.Random(seed)
    source = nbformat.read(str(course.source / lesson / f"{lesson}.ipynb"), as_version=4)
    points = {q: top for q, (_, top) in run.zero_scores(source).items()}
    by_id = {m.id: m for m in mutants}
    truth = Truth()
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_assignment(lesson, duedate=DUE.replace(tzinfo=None))
    for n in range(students):
        student = f"s{n:03d}"
        folder = course.grading / "submitted" / student / lesson
        folder.mkdir(parents=True)
        (folder / f"{lesson}.ipynb").write_text("{}")  # its content is never read here
        late = rng.random() < 0.1
        when = DUE + (timedelta(hours=rng.choice([1, 5, 26])) if late else -timedelta(hours=rng.randint(1, 48)))
        (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        if n % 50 == 7:  # submitted, never graded
            truth.ungraded.append(student)
            continue
        outcome = run.Outcome(student, lesson, ran=True)
        truth.scores[student], truth.mistakes[student] = {}, {}
        for q, top in points.items():
            roll, named = rng.random(), named_mistakes(ref, q)
            if roll < 0.5 or not named and roll < 0.8:
                record, earned = ref.expected[q], top
            elif roll < 0.8:
                mistake = rng.choice(named)
                record, earned = mistake.record, by_id[mistake.id].earns(q)
                truth.mistakes[student][q] = mistake.id
            else:
                record, earned = _unanswered(ref.expected[q]), 0
            verdict = judge.verdict(top, record, ref.expected[q], ref.judging[q], ref.mistakes[q])
            outcome.scores[q] = (verdict.points, top)
            if verdict.mistake:
                outcome.mistakes[q] = verdict.mistake
            truth.scores[student][q] = earned
        if n % 25 == 3:
            outcome.flags = [HOSTILE_FLAG if n == 3 else "test_f: the grader had to undo changes the submission made"]
            truth.flags[student] = outcome.flags
        if late:
            truth.late_hours[student] = (when - DUE).total_seconds() / 3600
        autograde.record(course, outcome)
        if n == 11:  # resubmitted after it was graded: not graded yet, though it has a verdict
            later = os.path.getmtime(verdicts.path(course.grading, lesson, student)) + 60
            os.utime(folder / f"{lesson}.ipynb", (later, later))
            truth.ungraded.append(student)
    truth.ungraded.sort()
    truth.people = {f"s{n:03d}": {"id": f"s{n:03d}", "first_name": FIRST[n % len(FIRST)], "last_name": LAST[n % len(LAST)],
                                  "email": f"s{n:03d}@example.edu", "lms_user_id": str(5000 + n)}
                    for n in range(students + 2)}  # two on the roster never submitted
    roster.import_roster(course.db_url, list(truth.people.values()))
    return truth


FIRST = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara"]
LAST = ["Lovelace", 'Hopper, "Amazing"', "Turing", "=Johnson", "Dijkstra", "Liskov"]  # a comma, quotes, a formula
