"""deadlines.toml: due dates in the course's time zone, extensions, and the documented default penalty."""
from datetime import datetime, timedelta

import pytest

from grader import deadlines
from lessons import LESSONS, REPO

DAY = 86400


def load(tmp_path, text):
    (tmp_path / "deadlines.toml").write_text(text)
    return deadlines.load(tmp_path)


def test_without_the_file_no_lesson_has_a_due_date(tmp_path):
    assert deadlines.load(tmp_path) == deadlines.Deadlines()


def test_due_dates_are_read_in_the_course_time_zone_and_stored_in_utc(tmp_path):
    got = load(tmp_path, 'timezone = "America/New_York"\n[due]\n"01_tensors" = 2026-07-01T23:59:00\n'
                         '"02_forward_pass" = 2026-07-02T12:00:00Z\n[extensions]\nada = { "01_tensors" = 1.5 }\n')
    assert got.due == {"01_tensors": datetime(2026, 7, 2, 3, 59), "02_forward_pass": datetime(2026, 7, 2, 12, 0)}
    assert got.extensions == {("ada", "01_tensors"): timedelta(days=1.5)}


@pytest.mark.parametrize("seconds_late, taken", [
    (0, 0), (15 * 60, 0),  # on time, and inside the 15-minute grace period
    (16 * 60, 1.0), (DAY, 1.0), (DAY + 1, 2.0), (4.5 * DAY, 5.0), (30 * DAY, 5.0),  # 10 % a started day, at most 50 %
])
def test_the_default_penalty_takes_a_tenth_per_started_day_at_most_half(tmp_path, seconds_late, taken):
    assert load(tmp_path, "").penalty("ada", 10.0, seconds_late) == pytest.approx(taken)


def test_the_policy_can_be_changed(tmp_path):
    strict = load(tmp_path, "[penalty]\npercent_per_day = 25\nmax_percent = 100\ngrace_minutes = 0\n")
    assert strict.penalty("ada", 8.0, 60) == 2.0 and strict.penalty("ada", 8.0, 10 * DAY) == 8.0


@pytest.mark.parametrize("text, words", [
    ("[due\n", "is not valid TOML"),
    ('timezone = "Mars/Olympus"\n', "is not an IANA time zone name"),
    ('[due]\n"01_tensors" = "next Friday"\n', "must be a date and time"),
    ('[extensions]\nada = { "01_tensors" = "a week" }\n', "must be a number of days"),
    ("[penalty]\nper_day = 5\n", "unknown penalty setting per_day"),
])
def test_a_broken_file_says_what_to_fix(tmp_path, text, words):
    with pytest.raises(deadlines.DeadlinesError, match=words):
        load(tmp_path, text)


def test_the_example_file_is_valid_and_names_real_lessons(tmp_path):
    (tmp_path / "deadlines.toml").write_text((REPO / "deadlines.example.toml").read_text())
    example = deadlines.load(tmp_path)
    assert example.due and set(example.due) <= set(LESSONS)
    assert example.policy == {"percent_per_day": 10.0, "max_percent": 50.0, "grace_minutes": 15.0}
    assert deadlines.PercentPerDay(**example.policy).late_submission_penalty("ada", 10.0, 2 * DAY) == pytest.approx(
        deadlines.load(tmp_path / "nowhere").penalty("ada", 10.0, 2 * DAY)), "the example states the defaults"
