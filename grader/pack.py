"""Build what students receive: the released notebooks, their figures and the ``course`` package. Nothing else.

``python -m grader.pack [OUT]`` writes OUT/ (default dist/student-pack) and OUT.zip. No solutions, no
hidden tests, no grader: only files from notebooks/ (which nbgrader generated without them) and course/.
"""
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "pytorch-course-student"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["torch>=2.2", "numpy>=1.24", "matplotlib>=3.7", "jupyterlab>=4.0,<5", "nbgrader>=0.9.3,<0.10"]

[tool.setuptools]
packages = ["course"]
"""

README = """# PyTorch course: student copy

Seven lessons in `notebooks/`, in order. Each explains, then asks you to write small functions;
the test cell under each answer checks it and says what to fix. More tests run when your work is graded.

    python3 -m venv .venv && .venv/bin/pip install -e .
    .venv/bin/jupyter lab notebooks

PyTorch: on a machine without an NVIDIA GPU, `pip install torch --index-url https://download.pytorch.org/whl/cpu`
first saves several GB. Submit each notebook under its original name.
"""


def build(out):
    """Write the pack to ``out`` (replaced if present) and ``out``.zip; returns the zip's path."""
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    for lesson in sorted((REPO / "notebooks").iterdir()):
        if lesson.is_dir():
            shutil.copytree(lesson, out / "notebooks" / lesson.name,  # figures are links: copy the files
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copytree(REPO / "course", out / "course", ignore=shutil.ignore_patterns("__pycache__"))
    (out / "pyproject.toml").write_text(PYPROJECT)
    (out / "README.md").write_text(README)
    return Path(shutil.make_archive(str(out), "zip", out))


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else REPO / "dist" / "student-pack"))
