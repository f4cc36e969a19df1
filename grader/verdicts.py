"""What grading found in each submission, kept for the instructor's report: scores, the known mistake each
question matched, the reasons to review it. One JSON file per student and lesson under grading/verdicts/,
beside (never inside) the autograded folder, whose files can travel to students with their feedback."""
import json
from dataclasses import dataclass
from pathlib import Path


def path(grading, assignment, student):
    return Path(grading) / "verdicts" / assignment / f"{student}.json"


def save(grading, outcome, status, seconds_late=0.0, late_penalty=0.0):
    file = path(grading, outcome.assignment, outcome.student)
    file.parent.mkdir(parents=True, exist_ok=True)
    data = {"student": outcome.student, "assignment": outcome.assignment, "status": status,
            "scores": {q: list(s) for q, s in outcome.scores.items()}, "mistakes": dict(outcome.mistakes),
            "flags": list(outcome.flags), "notes": list(outcome.notes),
            "seconds_late": float(seconds_late or 0), "late_penalty": float(late_penalty or 0)}
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(file)


@dataclass(frozen=True)
class Verdict:
    student: str
    status: str  # ok, review, unreadable
    scores: dict  # question -> (score or None, max)
    mistakes: dict  # question -> known mistake id
    flags: tuple
    mtime: float  # when it was written: a submission newer than this is not graded yet
    seconds_late: float = 0.0  # past the due date and the student's extension (deadlines.toml)
    late_penalty: float = 0.0  # points taken off for it

    @property
    def total(self):
        """The lesson's score after the late penalty."""
        return sum(score or 0 for score, _ in self.scores.values()) - self.late_penalty


def load(grading, assignment):
    """student -> Verdict, for every submission of ``assignment`` graded so far."""
    out = {}
    for file in sorted((Path(grading) / "verdicts" / assignment).glob("*.json")):
        data = json.loads(file.read_text())
        out[data["student"]] = Verdict(data["student"], data["status"],
                                       {q: (s, top) for q, (s, top) in data["scores"].items()}, data["mistakes"],
                                       tuple(data["flags"]), file.stat().st_mtime, data.get("seconds_late", 0.0),
                                       data.get("late_penalty", 0.0))
    return out
