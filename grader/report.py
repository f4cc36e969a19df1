"""``make report``: what an instructor needs after grading, per lesson and for the course.

HTML pages that open offline (their figures are inline), and the same numbers as CSV for spreadsheets:
each question's score distribution, mean and share of full marks; the known mistakes students made, with
their counts and the hint each student saw; the submissions to review and why; late submissions;
submissions not graded yet; and pairs of submissions whose code is alike (grader.similarity). Everything
comes from the grading folders (grading/verdicts/, the autograded notebooks) and the gradebook's roster;
student ids, names, flags and code are untrusted text, escaped on every page.
"""
import argparse
import base64
import csv
import io
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2
import matplotlib
import nbformat

from grader import reference, run, similarity, verdicts
from grader.autograde import Course

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates" / "report"),
                               autoescape=True, undefined=jinja2.StrictUndefined)


@dataclass
class Lesson:
    name: str
    questions: dict  # grade_id -> max points, in the notebook's order
    hints: dict  # known mistake id -> the hint a student with that mistake read
    verdicts: dict  # student -> verdicts.Verdict
    ungraded: list  # students whose newest submission has no verdict yet

    @property
    def max_total(self):
        return sum(self.questions.values())


def _submitted(course, name):
    """student -> when their newest submission arrived (the newest file's mtime)."""
    out = {}
    for folder in sorted((course.grading / "submitted").glob(f"*/{name}")):
        files = [p.stat().st_mtime for p in folder.rglob("*") if p.is_file()]
        out[folder.parent.name] = max(files, default=folder.stat().st_mtime)
    return out


def load(course, name):
    source = nbformat.read(str(course.source / name / f"{name}.ipynb"), as_version=4)
    found = verdicts.load(course.grading, name)
    submitted = _submitted(course, name)
    ungraded = sorted(s for s, when in submitted.items() if s not in found or found[s].mtime < when)
    return Lesson(name, {q: top for q, (_, top) in run.zero_scores(source).items()},
                  {m.id: m.feedback for m in reference.lesson_mutants(course, name, source)}, found, ungraded)


def question_rows(lesson):
    """One row per question: its points, how many were graded, the mean score, the share with full marks."""
    rows = []
    for q, top in lesson.questions.items():
        scores = [v.scores[q][0] or 0 for v in lesson.verdicts.values() if q in v.scores]
        rows.append({"question": q, "max_points": top, "graded": len(scores),
                     "mean": round(sum(scores) / len(scores), 3) if scores else "",
                     "full_marks": round(sum(s >= top for s in scores) / len(scores), 3) if scores else ""})
    return rows


def mistake_rows(lesson):
    """The known mistakes made, per question in the notebook's order, the most common first."""
    counts = Counter((q, m) for v in lesson.verdicts.values() for q, m in v.mistakes.items())
    order = list(lesson.questions)
    return [{"question": q, "mistake": m, "students": n, "hint": lesson.hints.get(m, "")}
            for (q, m), n in sorted(counts.items(), key=lambda item: (order.index(item[0][0])
                                                                      if item[0][0] in order else len(order), -item[1], item[0][1]))]


def review_rows(course, lesson):
    return [{"student": s, "reasons": " | ".join(v.flags),
             "notebook": str(course.grading / "autograded" / s / lesson.name / f"{lesson.name}.ipynb")}
            for s, v in sorted(lesson.verdicts.items()) if v.flags]


def late_rows(lesson):
    """Submissions past their due date (and the student's extension), with the points the penalty took."""
    return [{"student": s, "hours_late": round(v.seconds_late / 3600, 2), "penalty": round(v.late_penalty, 3)}
            for s, v in sorted(lesson.verdicts.items()) if v.seconds_late > 0]


def _figure(lesson):
    """The score distributions, the lesson's total first, as an inline PNG (a data: URL)."""
    panels = [("total", lesson.max_total, [v.total for v in lesson.verdicts.values()])] + [
        (q, top, [v.scores[q][0] or 0 for v in lesson.verdicts.values() if q in v.scores])
        for q, top in lesson.questions.items()]
    columns = 3
    fig, axes = plt.subplots((len(panels) + columns - 1) // columns, columns,
                             figsize=(10, 2.4 * ((len(panels) + columns - 1) // columns)), squeeze=False)
    for ax, (title, top, scores) in zip(axes.flat, panels):
        counts = Counter(round(s, 2) for s in scores)
        ax.bar(list(counts), list(counts.values()), width=max(top, 1) / 25, color="C0" if title == "total" else "C2")
        ax.set(title=f"{title} (of {top:g})", xlim=(-top / 20 - 0.1, top * 1.05 + 0.1), ylabel="students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _cell(value):
    """A value as a spreadsheet reads it, never as a formula: text starting with = + - @ gets a leading '."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def _csv(path, rows, fields):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)


def roster(course):
    """student id -> {first_name, last_name, email, lms_user_id} from the gradebook (``make roster``)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return {s.id: {"first_name": s.first_name or "", "last_name": s.last_name or "", "email": s.email or "",
                       "lms_user_id": s.lms_user_id or ""} for s in gb.students}


def course_rows(lessons, people):
    """One row per student: their names, each lesson's total (empty when not graded) and the course total."""
    students = sorted({s for lesson in lessons for s in lesson.verdicts} | set(people))
    rows = []
    for s in students:
        row = {"student": s, **{k: people.get(s, {}).get(k, "") for k in ("first_name", "last_name", "email")}}
        for lesson in lessons:
            row[lesson.name] = lesson.verdicts[s].total if s in lesson.verdicts else ""
        row["total"] = sum(row[lesson.name] for lesson in lessons if row[lesson.name] != "")
        rows.append(row)
    return rows


CANVAS_FIELDS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def canvas_rows(lessons, people):
    """Canvas's gradebook import: its five student columns, a column per lesson (a new assignment in Canvas,
    named after the lesson), and the Points Possible row Canvas's own export starts with. Canvas matches a row
    by its ID (the roster's lms_user_id) or its SIS Login ID (the course's student id); a blank score changes
    nothing there."""
    rows = [{"Student": "Points Possible", **{lesson.name: f"{lesson.max_total:g}" for lesson in lessons}}]
    for row in course_rows(lessons, people):
        person = people.get(row["student"], {})
        name = ", ".join(n for n in (person.get("last_name"), person.get("first_name")) if n) or row["student"]
        rows.append({"Student": name, "ID": person.get("lms_user_id", ""), "SIS Login ID": row["student"],
                     **{lesson.name: row[lesson.name] for lesson in lessons}})
    return rows


def write(course, out, names):
    """The report for the lessons ``names`` (those with submissions) into folder ``out``; returns its index."""
    out.mkdir(parents=True, exist_ok=True)
    lessons = [load(course, name) for name in names]
    lessons = [lesson for lesson in lessons if lesson.verdicts or lesson.ungraded]
    for lesson in lessons:
        similar = similarity.lesson_pairs(course, lesson.name, sorted(lesson.verdicts))
        tables = {"questions": question_rows(lesson), "mistakes": mistake_rows(lesson),
                  "review": review_rows(course, lesson), "late": late_rows(lesson),
                  "similar": [{"student_a": p.students[0], "student_b": p.students[1],
                               "similarity": round(p.similarity, 3), "shared": p.shared} for p in similar]}
        for kind, rows in tables.items():
            fields = {"questions": ["question", "max_points", "graded", "mean", "full_marks"],
                      "mistakes": ["question", "mistake", "students", "hint"],
                      "review": ["student", "reasons", "notebook"], "late": ["student", "hours_late", "penalty"],
                      "similar": ["student_a", "student_b", "similarity", "shared"]}[kind]
            _csv(out / f"{lesson.name}-{kind}.csv", rows, fields)
        page = TEMPLATES.get_template("lesson.html.j2").render(
            lesson=lesson, figure=_figure(lesson) if lesson.verdicts else None, pairs=similar,
            threshold=similarity.THRESHOLD, **tables)
        (out / f"{lesson.name}.html").write_text(page)
    people = roster(course)
    rows = course_rows(lessons, people)
    names = [lesson.name for lesson in lessons]
    _csv(out / "course.csv", rows, ["student", "first_name", "last_name", "email", *names, "total"])
    _csv(out / "canvas.csv", canvas_rows(lessons, people), CANVAS_FIELDS + names)
    index = out / "index.html"
    index.write_text(TEMPLATES.get_template("course.html.j2").render(
        lessons=lessons, rows=rows, summaries={lesson.name: question_rows(lesson) for lesson in lessons}))
    return index


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.report", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="lessons to report on (default: every lesson in solutions/)")
    parser.add_argument("--root", default=".", help="the course folder (holds solutions/, notebooks/, grading/)")
    parser.add_argument("--db", default=None, help="gradebook URL (default: sqlite:///grading/gradebook.db)")
    args = parser.parse_args(argv)
    course = Course.at(args.root, args.db)
    names = args.assignments or sorted(p.name for p in course.source.iterdir() if (p / f"{p.name}.ipynb").is_file())
    index = write(course, course.grading / "report", names)
    print(f"report written: {index} (open it in a browser; CSV files beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
