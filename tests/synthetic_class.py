"""A synthetic class for the instructor's report: every student's answers are known, so every number the
report prints can be checked against the truth.

Each student answers each question right, with one of the lesson's known mistakes (tests/mutants), or not at
all; the data each answer would record are the reference data (the solution's or the mutant's), judged by
the real judge and written by the real ``autograde.record``. Some students are flagged for review (one with a
flag that tries to run script in the instructor's browser), some submit late (against a deadlines.toml with a
time zone, an extension and the default penalty), some are not graded yet and one resubmitted after grading.
Every student's notebook holds the code of their answers (the instructor's, a mutant's, or the template) and
a few exploring cells of their own; one in twenty copies the student before them, renaming and reordering. The roster names every student, and two who never submitted.
"""
import math
import os
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import nbformat

from grader import assemble as asm
from grader import autograde, judge, probedata, roster, run, submissions, verdicts

DUE = datetime(2026, 3, 1, 17, 0, tzinfo=timezone.utc)
HOSTILE_FLAG = "added cell 9: uses ctypes <script>alert('flag')</script>"


@dataclass
class Truth:
    scores: dict = field(default_factory=dict)  # student -> question -> points earned
    mistakes: dict = field(default_factory=dict)  # student -> question -> the known mistake named
    flags: dict = field(default_factory=dict)  # student -> reasons to review
    late_hours: dict = field(default_factory=dict)  # student -> hours late, past the due date and any extension
    penalty: dict = field(default_factory=dict)  # student -> points the late penalty takes
    ungraded: list = field(default_factory=list)
    people: dict = field(default_factory=dict)  # student -> the roster's row: names, email, Canvas id
    copies: list = field(default_factory=list)  # (original, copier): the same work, renamed and reordered


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


# Each student also explores in cells of their own: a few of these, with their own numbers and names.
SNIPPETS = [
    "for {v} in range({a}, {b}):\n    print({v}, {v} ** {c})",
    "{v} = torch.linspace({a}, {b}, {c})\nprint({v}.mean().item(), {v}.std().item())",
    "{v} = [x * {a} + {b} for x in range({c})]\nassert len({v}) == {c}, {v}",
    "{v} = torch.randn({a}, {b})\n{w} = ({v} > {c} / 10).float().mean()\nprint('share above', {w})",
    "{v} = {{'lr': {a} / 1000, 'epochs': {b}, 'batch': {c}}}\nfor {w}, value in {v}.items():\n    print({w}, value)",
    "{v} = torch.arange({a}).reshape(1, {a})\n{w} = {v}.T @ {v}\nprint({w}.shape, {w}.sum().item() - {b})",
    "import math\n{v} = math.sqrt({a}) + math.log({b} + 1)\nprint(round({v}, {c} % 4))",
    "{v} = torch.zeros({a})\n{v}[::{c}] = 1\nprint(int({v}.sum()), {v}.nonzero().flatten()[:{b} % 7])",
    "def {v}(n):\n    return 1 if n < 2 else n * {v}(n - 1)\nprint([{v}(k) for k in range({c} % 9)])",
    "{v} = np.random.default_rng({b}).normal(size={a})\nprint({v}.min(), {v}.max(), np.median({v}))",
    "while {a} > {c}:\n    {a} //= 2\n    print('halved')",
    "{w} = 0\nfor i, {v} in enumerate(range({a}, {b}, {c})):\n    {w} += i * {v}\nprint({w})",
    "try:\n    {v} = torch.ones({a}) @ torch.ones({b})\nexcept RuntimeError as error:\n    print(str(error)[:{c}])",
]
NAMES = ["x", "t", "val", "tmp", "grid", "row", "acc", "total", "vec", "mat", "data", "out"]


def _explore(rng):
    """A student's own exploration: three snippets with their own numbers and names."""
    return [SNIPPETS[i].format(v=rng.choice(NAMES), w=rng.choice(NAMES) + "2", a=rng.randint(2, 99),
                               b=rng.randint(100, 999), c=rng.randint(3, 60))
            for i in rng.sample(range(len(SNIPPETS)), 3)]


def _copied(rng, snippets):
    """What a copier hands in: the same code with other names, its snippets in another order."""
    renamed = [re.sub(r"\b(" + "|".join(NAMES) + r")\b", lambda m: "my_" + m.group(1), code) for code in snippets]
    rng.shuffle(renamed)
    return renamed


def _code(released, answers, cell_code, snippets):
    """The student's notebook: the released one with their answers and their own cells at the end."""
    nb = submissions.with_answers(released, {**answers, **cell_code})
    nb.cells += [nbformat.v4.new_code_cell(code) for code in snippets]
    return nb


def generate(course, lesson, ref, mutants, students=200, seed=0):
    """Grade a class of ``students`` into ``course`` (released: its gradebook holds the lesson); the truth."""
    rng = random.Random(seed)
    source = nbformat.read(str(course.source / lesson / f"{lesson}.ipynb"), as_version=4)
    released = nbformat.read(str(course.release / lesson / f"{lesson}.ipynb"), as_version=4)
    answers, templates = submissions.solution_answers(source), {
        key: cell.source for key, cell in submissions.answer_cells(released).items()}
    points = {q: top for q, (_, top) in run.zero_scores(source).items()}
    by_id = {m.id: m for m in mutants}
    home = {}  # question -> the answer cell its first known mistake is in: where its answer is written
    for m in mutants:
        for q in m.fails:
            home.setdefault(q, m.cell)
    truth = Truth()
    # 18:00 in Berlin in March is 17:00 UTC; s004's 26 hours late fall inside a two-day extension
    (course.root / "deadlines.toml").write_text(
        f'timezone = "Europe/Berlin"\n[due]\n"{lesson}" = 2026-03-01T18:00:00\n'
        f'[extensions]\ns004 = {{ "{lesson}" = 2 }}\n')
    previous = None  # the last graded student's (choices, snippets): what a copier copies
    for n in range(students):
        student = f"s{n:03d}"
        folder = course.grading / "submitted" / student / lesson
        folder.mkdir(parents=True)
        (folder / f"{lesson}.ipynb").write_text("{}")  # what grading read: its notebook is built below
        late = n in (4, 6) or rng.random() < 0.1
        hours = 26 if n == 4 else 1 / 6 if n == 6 else rng.choice([1, 5, 26, 100])  # s006: inside the grace period
        when = DUE + (timedelta(hours=hours) if late else -timedelta(hours=rng.randint(1, 48)))
        (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        if n % 50 == 7:  # submitted, never graded
            truth.ungraded.append(student)
            continue
        copier = n % 20 == 10 and previous is not None  # ten in two hundred copy the student before them
        if copier:
            choices, snippets = previous[0], _copied(rng, previous[2])
            truth.copies.append((previous[1], student))
        else:
            choices, snippets = {}, _explore(rng)
            for q in points:
                roll, named = rng.random(), named_mistakes(ref, q)
                choices[q] = ("right" if roll < 0.5 or not named and roll < 0.8 else
                              rng.choice(named).id if roll < 0.8 else "unanswered")
        outcome = run.Outcome(student, lesson, ran=True)
        truth.scores[student], truth.mistakes[student], cell_code = {}, {}, {}
        for q, top in points.items():
            choice = choices[q]
            if choice == "right":
                record, earned = ref.expected[q], top
            elif choice == "unanswered":
                record, earned = _unanswered(ref.expected[q]), 0
                if q in home:
                    cell_code[home[q]] = templates[home[q]]
            else:
                mistake = next(m for m in ref.mistakes[q] if m.id == choice)
                record, earned = mistake.record, by_id[choice].earns(q)
                truth.mistakes[student][q] = choice
                cell_code[by_id[choice].cell] = by_id[choice].code
            verdict = judge.verdict(top, record, ref.expected[q], ref.judging[q], ref.mistakes[q])
            outcome.scores[q] = (verdict.points, top)
            if verdict.mistake:
                outcome.mistakes[q] = verdict.mistake
            truth.scores[student][q] = earned
        outcome.notebook = asm.assemble(source, released, _code(released, answers, cell_code, snippets))[0]
        previous = (choices, student, snippets)
        if n % 25 == 3:
            outcome.flags = [HOSTILE_FLAG if n == 3 else "test_f: the grader had to undo changes the submission made"]
            truth.flags[student] = outcome.flags
        if late and n != 4:
            truth.late_hours[student] = hours
            share = 0 if hours <= 0.25 else min(50, 10 * math.ceil(hours / 24))  # the documented default policy
            truth.penalty[student] = sum(truth.scores[student].values()) * share / 100
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
