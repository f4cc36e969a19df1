"""What the tests know about the lessons: ids, paths, notebooks and mutants."""
import re
import struct
from functools import lru_cache
from pathlib import Path

from markupsafe import escape

from grader import feedback, judge, mutants, questions, submissions

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT_IDS = ["01_tensors", "02_forward_pass", "03_numpy_interop", "04_backprop_vs_autograd",
                  "05_nn_module", "06_optimizers", "07_generalization", "08_mnist_lab"]
LESSONS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())
# Right answers other than the solution's (lesson -> name -> answer cell -> code): each must earn full marks.
# The lab leaves the network to the student; its convolutional candidate is graded like the solution's.
ALTERNATIVES = {"08_mnist_lab": {"convolutional-design": {"design": """\
def build_model():
    return SmallCNN()


def recipe():
    return {"epochs": 3, "batch_size": 100, "lr": 2e-3}
"""}}}


def source_path(lesson):
    return REPO / "solutions" / lesson / f"{lesson}.ipynb"


def release_path(lesson):
    return REPO / "notebooks" / lesson / f"{lesson}.ipynb"


@lru_cache(maxsize=None)
def source(lesson):
    return submissions.read(source_path(lesson))


@lru_cache(maxsize=None)
def released(lesson):
    return submissions.read(release_path(lesson))


@lru_cache(maxsize=None)
def lesson_mutants(lesson):
    nb = source(lesson)
    return mutants.load(REPO / "tests" / "mutants" / f"{lesson}.yml",
                        submissions.answer_cells(nb), submissions.test_cells(nb))


def canaries(lesson):
    """The few mutants of a lesson that still go through the whole grading pipeline."""
    return lesson_mutants(lesson)[::8]


def scores_losing(lesson, lost):
    """grade id -> (score, max score) of a submission to ``lesson`` that loses exactly the test cells ``lost``:
    what test_grading proves a submission earns when graded alone (the solution loses none, a blank notebook
    every one, a mutant those it fails)."""
    return {cell: (0 if cell in lost else top, top) for cell, top in submissions.test_cells(source(lesson)).items()}


def judged_mutant(reference, mutant, points):
    """(questions lost, messages, points earned on each lost one) for a mutant, judged from the data its
    reference run recorded."""
    lost, messages, earned = [], [], {}
    for question, known in reference.mistakes.items():
        mine = next((m for m in known if m.id == mutant.id), None)
        if mine is not None:
            lost.append(question)
            verdict = judge.verdict(points[question], mine.record, reference.expected[question],
                                    reference.judging[question], known)
            messages.append(verdict.message)
            earned[question] = verdict.points
    return sorted(lost), messages, earned


def grading_lines(lesson):
    """Lines of a lesson's grading.py outside its probes (judging options, hints): none may reach a student."""
    text = questions.path(REPO / "solutions", lesson).read_text()
    lines, in_probe = [], False
    for line in text.splitlines():
        if line.startswith("def probe"):
            in_probe = True
        elif line and not line.startswith((" ", "#")):
            in_probe = False
        if not in_probe:
            lines.append(line.strip())
    return lines


def marked_lines(source_text, begin, end):
    """The lines between ``begin`` and ``end`` markers."""
    lines, inside = [], False
    for line in source_text.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def secret_lines(lesson, kinds=("HIDDEN TESTS", "SOLUTION")):
    """Lines of hidden tests (or grading.py's judging) and/or solutions whose text appears nowhere else in the source (not even inside
    a line of prose or public code): none may reach a student."""
    secret, public = set(), []
    for cell in source(lesson).cells:
        marked = [line for kind in kinds for line in marked_lines(cell.source, f"### BEGIN {kind}", f"### END {kind}")]
        secret.update(line.strip() for line in marked)
        public.extend(line for line in cell.source.splitlines() if line not in marked)
    if "HIDDEN TESTS" in kinds:  # the judging half of grading.py holds what hidden tests used to
        secret.update(grading_lines(lesson))
    public_text = "\n".join(public)
    return {line for line in secret if len(line) > 12 and not line.startswith("#") and line not in public_text}


def image_refs(nb):
    """Paths of the images markdown cells show (markdown or <img> syntax), relative to the notebook."""
    pattern = re.compile(r"!\[[^\]]*\]\(([^)\s]+)|<img[^>]*src=[\"']([^\"']+)")
    return [a or b for cell in nb.cells if cell.cell_type == "markdown" for a, b in pattern.findall(cell.source)]


def png_size(path):
    """(width, height) of a PNG file; fails unless it is one."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def check_feedback_page(page, lesson, scores):
    """A feedback page lists each question by name with its score (grade id -> (score, points)), carries the
    lesson's figures as data: URIs (release_feedback sends the page alone) and wraps long verdicts."""
    for key, name in feedback.question_names(source(lesson)).items():
        score, top = scores[key]
        assert f">{escape(name)}</a> (Score: {score:g} / {top:g})" in page, f"{name} with its score"
    assert 'src="assets/' not in page, "a figure is linked, not embedded"
    assert page.count('src="data:image/png;base64,') >= len(image_refs(source(lesson)))
    assert "div.output_area pre { white-space: pre-wrap;" in page, "long verdicts must wrap"
