"""`make roster`: a class list into the gradebook, with errors that say which line to fix."""
import pytest
from nbgrader.api import Gradebook

from grader import roster


def write(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "students.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_the_roster_round_trips_through_the_gradebook(tmp_path):
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    path = write(tmp_path, "\ufeffid,first_name,last_name,email,lms_user_id\n"
                           "ada,Ada,Lovelace,ada@example.edu,101\n\n"
                           'grace,Grace,"Hopper, Jr.",grace@example.edu,102\n')
    assert roster.import_roster(db, roster.read(path)) == (2, 0)
    assert roster.import_roster(db, roster.read(write(tmp_path, "id,email\nada,\nalan,alan@example.edu\n"))) == (1, 1)
    with Gradebook(db) as gb:
        got = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}
    assert got == {"ada": ("Ada", "Lovelace", "ada@example.edu", "101"),  # a blank email keeps the one it had
                   "grace": ("Grace", "Hopper, Jr.", "grace@example.edu", "102"),
                   "alan": (None, None, "alan@example.edu", None)}


@pytest.mark.parametrize("text, words", [
    ("name,email\nada,a@x\n", "has no `id` column"),
    ("id,phone\nada,123\n", "unknown column 'phone'"),
    ("id\nada\nbob\nada\n", "line 4: student 'ada' is already on line 2"),
    ("id\n../etc\n", "line 2: '../etc' is not a student id"),
])
def test_a_bad_roster_says_which_line_to_fix(tmp_path, text, words):
    with pytest.raises(roster.RosterError, match=words.replace("(", r"\(").replace(")", r"\)")):
        roster.read(write(tmp_path, text))


def test_a_roster_that_is_not_utf8_asks_for_csv_utf8(tmp_path):
    with pytest.raises(roster.RosterError, match="save it from your spreadsheet as CSV UTF-8"):
        roster.read(write(tmp_path, "id,last_name\nzoe,Müller\n", encoding="utf-16"))
