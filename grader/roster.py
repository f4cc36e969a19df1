"""``make roster FILE=students.csv``: the class list into the gradebook, so that the Formgrader, the class
report and the grade exports show names, and the Canvas export can match each student.

The file is CSV with a header row: ``id`` (the student's course id: their JupyterHub user name, the name of
their folder in grading/submitted/), and optionally ``first_name``, ``last_name``, ``email`` and
``lms_user_id`` (the student's numeric user id in Canvas). Importing again updates the students it names and
leaves the others as they are; a blank field leaves what the gradebook holds.
"""
import argparse
import csv
import sys

from nbgrader.api import Gradebook

from grader.autograde import Course

FIELDS = ("id", "first_name", "last_name", "email", "lms_user_id")


class RosterError(ValueError):
    """The file can't be imported; the message says where and what to fix."""


def read(path):
    """The file's rows as dicts of FIELDS (blank values dropped). Raises RosterError before anything is written."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # a spreadsheet's byte-order mark is fine
            reader = csv.DictReader(f)
            header = [name.strip().lower() for name in reader.fieldnames or []]
            rows = list(reader)
    except UnicodeDecodeError:
        raise RosterError(f"{path} is not UTF-8 text: save it from your spreadsheet as CSV UTF-8") from None
    except OSError as error:
        raise RosterError(f"cannot read {path}: {error.strerror}") from None
    if "id" not in header:
        raise RosterError(f"{path} has no `id` column: its first row must name the columns, "
                          f"from {', '.join(FIELDS)} (found: {', '.join(header) or 'nothing'})")
    unknown = [name for name in header if name not in FIELDS]
    if unknown:
        raise RosterError(f"{path}: unknown column {', '.join(map(repr, unknown))}; the columns are {', '.join(FIELDS)}")
    out, seen = [], {}
    for line, raw in enumerate(rows, start=2):
        row = {name.strip().lower(): (value or "").strip() for name, value in raw.items() if name is not None}
        if not any(row.values()):
            continue  # a blank line
        student = row.get("id", "")
        if not student or "/" in student or student.startswith("."):
            raise RosterError(f"{path}, line {line}: {student!r} is not a student id (the name of the student's "
                              "folder in grading/submitted/)")
        if student in seen:
            raise RosterError(f"{path}, line {line}: student {student!r} is already on line {seen[student]}")
        seen[student] = line
        out.append({name: value for name, value in row.items() if value})
    return out


def import_roster(db_url, rows):
    """Create or update each student; returns (created, updated) counts."""
    created = updated = 0
    with Gradebook(db_url) as gb:
        known = {s.id for s in gb.students}
        for row in rows:
            fields = {name: value for name, value in row.items() if name != "id"}
            gb.update_or_create_student(row["id"], **fields)
            created, updated = (created, updated + 1) if row["id"] in known else (created + 1, updated)
    return created, updated


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.roster", description=__doc__.splitlines()[0])
    parser.add_argument("file", help="the class list, CSV: id, first_name, last_name, email, lms_user_id")
    parser.add_argument("--root", default=".", help="the course folder (holds grading/)")
    parser.add_argument("--db", default=None, help="gradebook URL (default: sqlite:///grading/gradebook.db)")
    args = parser.parse_args(argv)
    course = Course.at(args.root, args.db)
    try:
        rows = read(args.file)
    except RosterError as error:
        parser.exit(2, f"python -m grader.roster: {error}\n")
    course.grading.mkdir(parents=True, exist_ok=True)
    created, updated = import_roster(course.db_url, rows)
    print(f"{created} students added to the gradebook, {updated} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
