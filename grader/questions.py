"""A lesson's graded questions, from ``solutions/<lesson>/grading.py``: a probe and a judging per test cell.

The file is instructor code, run only in the grading process. Each probe's source (and nothing else
of the file) is sent into the student's kernel; the judging options stay here.
"""
import importlib.util
import inspect
import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from grader import cells, probedata
from grader.judge import Judging
from grader.recorder import Recorder

FILE = "grading.py"  # in the lesson's folder under solutions/; never released (nbgrader_config ignores it)


@dataclass(frozen=True)
class Question:
    """One graded test cell: ``probe(rec)`` records data in the kernel; the rest says how to judge it."""

    grade_id: str
    probe: object  # a function of one argument, the kernel's ``grader_recorder.Recorder``
    shape_hints: dict = field(default_factory=dict)
    error_hints: dict = field(default_factory=dict)
    label_hints: dict = field(default_factory=dict)
    check_dtype: bool = False
    rtol: float = None
    atol: float = None
    credit_each: str = None  # see judge.Judging
    # ``reads_code(rec, code)``, run here and never in the kernel, records entries about the student's own code
    # (``cells.student_code``: where -> source) beside the probe's: how they worked, not what their code returns.
    reads_code: object = None

    def judging(self):
        return Judging(self.grade_id, dict(self.shape_hints), dict(self.error_hints), dict(self.label_hints),
                       self.check_dtype, self.rtol, self.atol, self.credit_each)

    def code_record(self, nb):
        """label -> Entry: what ``reads_code`` records about the student's cells of the assembled ``nb``."""
        if self.reads_code is None:
            return {}
        rec, data = Recorder({}), io.BytesIO()
        self.reads_code(rec, cells.student_code(nb))
        rec.write(data)
        return probedata.parse(data.getvalue())

    def probe_source(self):
        """The probe as code for the kernel: the function alone, self-contained (torch, np, math are given)."""
        return textwrap.dedent(inspect.getsource(self.probe))


def path(source_folder, lesson):
    return Path(source_folder) / lesson / FILE


def load(source_folder, lesson):
    """grade_id -> Question for a lesson graded from data, or None for a lesson still graded in its kernel."""
    file = path(source_folder, lesson)
    if not file.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"lesson_grading_{lesson}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    questions = {q.grade_id: q for q in module.QUESTIONS}
    if len(questions) != len(module.QUESTIONS):
        raise ValueError(f"{file}: two questions share a grade_id")
    return questions
