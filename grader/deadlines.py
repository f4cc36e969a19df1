"""Due dates, extensions and the late penalty, from ``deadlines.toml`` in the course folder.

Grading reads the file each time it records a submission: it sets the lesson's due date and the student's
extension in the gradebook (nbgrader's own fields, so the Formgrader shows them too), and the late
penalty is computed by ``PercentPerDay``, an nbgrader late-submission plugin, and stored where nbgrader
keeps it (the notebook's ``late_submission_penalty``): the Formgrader, `make grades` and the class report
all subtract the same number. Without the file, nothing is late.
"""
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

FILE = "deadlines.toml"


class DeadlinesError(ValueError):
    """deadlines.toml can't be used; the message says what to fix."""


class PercentPerDay(LateSubmissionPlugin):
    """A share of the score per started day late, capped; a short grace period first."""

    percent_per_day = Float(10.0, help="percent of the score taken per started day late").tag(config=True)
    max_percent = Float(50.0, help="never take more than this percent of the score").tag(config=True)
    grace_minutes = Float(15.0, help="submissions at most this late are on time").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if total_seconds_late <= self.grace_minutes * 60:
            return None
        days = math.ceil(total_seconds_late / 86400)
        return score * min(self.max_percent, self.percent_per_day * days) / 100


@dataclass(frozen=True)
class Deadlines:
    due: dict = field(default_factory=dict)  # lesson -> due date, naive UTC (as nbgrader stores it)
    extensions: dict = field(default_factory=dict)  # (student, lesson) -> timedelta
    policy: dict = field(default_factory=dict)  # PercentPerDay's settings

    def penalty(self, student, score, seconds_late):
        """Points taken off ``score`` for a submission ``seconds_late`` late (0 when on time)."""
        taken = PercentPerDay(**self.policy).late_submission_penalty(student, score, seconds_late)
        return min(max(taken or 0.0, 0.0), score)


def load(root):
    """The course's Deadlines; empty when it has no deadlines.toml. Raises DeadlinesError."""
    path = root / FILE
    if not path.is_file():
        return Deadlines()
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise DeadlinesError(f"{path} is not valid TOML: {error}") from None
    try:
        zone = ZoneInfo(data.get("timezone", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise DeadlinesError(f"{path}: timezone {data.get('timezone')!r} is not an IANA time zone name, such as "
                             "'Europe/Berlin' or 'UTC'") from None
    due = {}
    for lesson, when in (data.get("due") or {}).items():
        if not isinstance(when, datetime):
            raise DeadlinesError(f"{path}: the due date of {lesson} must be a date and time, such as "
                                 f"2026-03-01T23:59:00, not {when!r}")
        aware = when if when.tzinfo else when.replace(tzinfo=zone)
        due[lesson] = aware.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    extensions = {}
    for student, lessons in (data.get("extensions") or {}).items():
        for lesson, days in (lessons or {}).items():
            if not isinstance(days, (int, float)) or isinstance(days, bool) or days < 0:
                raise DeadlinesError(f"{path}: the extension of {student} for {lesson} must be a number of days, "
                                     f"not {days!r}")
            extensions[student, lesson] = timedelta(days=days)
    policy = data.get("penalty") or {}
    unknown = sorted(set(policy) - {"percent_per_day", "max_percent", "grace_minutes"})
    if unknown:
        raise DeadlinesError(f"{path}: unknown penalty setting {', '.join(unknown)}; the settings are "
                             "percent_per_day, max_percent and grace_minutes")
    return Deadlines(due, extensions, {k: float(v) for k, v in policy.items()})
