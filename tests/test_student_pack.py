"""`make student-pack`: what students receive holds no solution, no hidden test and no grader code, and
declares every library the lessons and the course package import."""
import ast
import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader import submissions
from lessons import LESSONS, REPO, released, secret_lines, source


def test_student_pack_has_the_course_and_no_answers(tmp_path):
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "student-pack",
                           f"PACK={tmp_path / 'student-pack'}"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archive = tmp_path / "student-pack.zip"
    names = zipfile.ZipFile(archive).namelist()
    assert {f"notebooks/{lesson}/{lesson}.ipynb" for lesson in LESSONS} <= set(names)
    assert "course/checks.py" in names and "pyproject.toml" in names
    assert not [n for n in names if n.startswith(("grader/", "solutions/", "tests/")) or n.endswith(".yml")]
    figures = [n for n in names if n.endswith(".png")]
    assert figures and all(zipfile.ZipFile(archive).read(n)[:4] == b"\x89PNG" for n in figures)
    files = {n: zipfile.ZipFile(archive).read(n).decode("utf-8", "replace") for n in names}
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert not [n for n, text in files.items() if marker in text]
    shared = "\n".join(text for n, text in files.items() if not n.startswith("notebooks/"))
    for lesson in LESSONS:
        # Each lesson's secrets, searched in its own files and in everything shared by all lessons
        # (a line public in another lesson is no secret).
        text = shared + "\n".join(t for n, t in files.items() if n.startswith(f"notebooks/{lesson}/"))
        leaked = sorted(line for line in secret_lines(lesson) if line in text)
        assert not leaked, f"{lesson}: the student pack contains solution or hidden-test lines: {leaked[:3]}"



def test_student_route_installs_the_course_and_nothing_of_the_instructor(tmp_path):
    from grader import pack
    from student_env import install

    pack.build(tmp_path / "pack")
    python = install(tmp_path / "pack", tmp_path / "venv")
    installed = [Path(folder, name) for folder, _, names in os.walk(tmp_path / "venv") for name in names
                 if not Path(folder, name).is_symlink() and "__pycache__" not in folder]  # links: the dependencies
    text = "\n".join(p.read_text(errors="replace") for p in installed)
    for lesson in LESSONS:
        leaked = sorted(line for line in secret_lines(lesson) if line in text)
        assert not leaked, f"{lesson}: the student install holds solution or hidden-test lines: {leaked[:3]}"
    assert not [p for p in installed if "grader" in p.parts or "solutions" in p.parts], installed
    probe = ("import importlib.util as u, course; "
             "print(course.__file__, u.find_spec('grader'), u.find_spec('course.checks') is not None)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(python), "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0].startswith(str(tmp_path / "venv")) and out[1:] == ["None", "True"], out
    metadata = next((tmp_path / "venv").rglob("METADATA")).read_text()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist")]
    assert f"torch=={pack.tested_torch().split('==')[1]}" in requires, requires
    assert not [r for r in requires if r.split("<")[0].split(">")[0].split("=")[0] in
                ("pytest", "playwright", "distributed", "psycopg", "nbval", "pyyaml", "nh3")], requires
    needed = lesson_imports() - set(sys.stdlib_module_names) - {"course"}
    declared = closure(requires)
    providers = importlib.metadata.packages_distributions()
    undeclared = sorted(m for m in needed if not {canonicalize_name(d) for d in providers.get(m, [m])} & declared)
    assert needed >= {"torch", "numpy"} and not undeclared, f"the pack does not declare what provides {undeclared}"
    config = {p.relative_to(tmp_path / "venv").as_posix() for p in installed}
    assert {"etc/jupyter/nbgrader_config.py", "etc/jupyter/labconfig/page_config.json",
            "share/jupyter/lab/settings/overrides.json"} <= config, config


def test_student_make_lab_installs_the_tested_torch_and_hides_the_exchange_tab_without_one(tmp_path):
    from grader import pack

    pack.build(tmp_path / "pack")
    (tmp_path / "pack" / ".venv" / "bin").mkdir(parents=True)  # a venv whose python is gone
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no nvidia-smi: the CPU build
    plan = subprocess.run(["make", "-n", "lab", f"NBGRADER_EXCHANGE={tmp_path / 'none'}"], cwd=tmp_path / "pack",
                          env=env, capture_output=True, text=True, check=True).stdout
    assert "is broken or incomplete; rebuilding it" in plan and "-m venv .venv" in plan, plan
    assert f'--index-url https://download.pytorch.org/whl/cpu "{pack.tested_torch()}"' in plan, plan
    assert "pip install .\n" in plan and "labextension disable" in plan, plan
    (tmp_path / "exchange").mkdir()
    plan = subprocess.run(["make", "-n", "lab", f"NBGRADER_EXCHANGE={tmp_path / 'exchange'}"],
                          cwd=tmp_path / "pack", env=env, capture_output=True, text=True, check=True).stdout
    assert "labextension enable" in plan and "labextension disable" not in plan, plan


def lesson_imports():
    """Top-level modules imported by the completed lessons and by the `course` package."""
    sources = [TransformerManager().transform_cell(c.source) for lesson in LESSONS
               for c in submissions.completed(released(lesson), source(lesson)).cells if c.cell_type == "code"]
    sources += [p.read_text() for p in (REPO / "course").glob("*.py")]
    found = set()
    for node in (n for text in sources for n in ast.walk(ast.parse(text))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module.split(".")[0])
    return found


def closure(requirements):
    """The distributions ``requirements`` install, with theirs (as found in this environment)."""
    seen, todo = set(), list(requirements)
    while todo:
        requirement = Requirement(todo.pop())
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        todo += importlib.metadata.requires(requirement.name) or []
    return seen
