"""Build what students receive: the released notebooks, their figures, the ``course`` package and ``student/``.

``python -m grader.pack [OUT] [--torch SPEC]`` writes OUT/ (default dist/student-pack) and OUT.zip. No
solutions, no hidden tests, no grader: only files from notebooks/ (which nbgrader generated without
them), course/ and student/ (the student's Makefile, README, pyproject and Jupyter settings). The
student's nbgrader settings are filled in from the instructor's, so both sides name the same course and
exchange.
"""
import argparse
import re
import shutil
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
STUDENT = REPO / "student"
TEMPLATED = {"Makefile", "README.md", "pyproject.toml", "nbgrader_config.py"}


def instructor_settings():
    """(course id, exchange root) from the course's nbgrader_config.py, as nbgrader itself reads them."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    return config.CourseDirectory.course_id, config.Exchange.root


def tested_torch():
    """The PyTorch requirement the course is tested with: the Makefile's TORCH_SPEC, the one place it is set."""
    return re.search(r"^TORCH_SPEC \?= *(\S+)", (REPO / "Makefile").read_text(), re.M).group(1)


def build(out, torch_spec=None):
    """Write the pack to ``out`` (replaced if present) and ``out``.zip; returns the zip's path."""
    out = Path(out)
    torch_spec = torch_spec or tested_torch()
    shutil.rmtree(out, ignore_errors=True)
    for lesson in sorted((REPO / "notebooks").iterdir()):
        if lesson.is_dir():
            shutil.copytree(lesson, out / "notebooks" / lesson.name,  # figures are links: copy the files
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copytree(REPO / "course", out / "course", ignore=shutil.ignore_patterns("__pycache__"))
    course_id, exchange = instructor_settings()
    values = {"@TORCH_SPEC@": torch_spec, "@TORCH_VERSION@": torch_spec.split("=")[-1],
              "@COURSE_ID@": course_id, "@EXCHANGE@": exchange}
    for source in sorted(STUDENT.rglob("*")):
        if source.is_file():
            target = out / source.relative_to(STUDENT)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text()
            if source.name in TEMPLATED:
                for key, value in values.items():
                    text = text.replace(key, value)
            target.write_text(text)
    return Path(shutil.make_archive(str(out), "zip", out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=REPO / "dist" / "student-pack")
    parser.add_argument("--torch", help="the PyTorch requirement students install (default: the Makefile's TORCH_SPEC)")
    args = parser.parse_args()
    print(build(args.out, args.torch))
