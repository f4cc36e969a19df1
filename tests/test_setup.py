"""Setup that fails safe: a damaged .venv is rebuilt, a failed release keeps the last one, missing MNIST is
named. All cheap: make's dry run, one lesson released in a copy, pytest collecting a handful of tests."""
import os
import shutil
import subprocess
import sys

from course_copy import copy_course
from grader import submissions
from lessons import REPO

LESSON = "02_forward_pass"
MNIST_LESSON = "08_mnist_lab"


def dry_run(folder, *args):
    """What ``make args`` would run in ``folder``, without running it."""
    proc = subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=folder, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_a_damaged_venv_is_rebuilt_and_a_healthy_one_trusted(tmp_path):
    for name in ["Makefile", "pyproject.toml"]:
        shutil.copy2(REPO / name, tmp_path / name)  # copy2: the stamps stay newer than pyproject.toml
    (tmp_path / ".venv" / "lib").mkdir(parents=True)  # packages left behind, bin/ gone: pip alone would trust them
    (tmp_path / ".venv" / ".installed").touch()
    plan = dry_run(tmp_path, "lab")
    assert "the virtual environment in .venv is broken (.venv/bin/python does not run); rebuilding it" in plan
    assert plan.index("rm -rf .venv") < plan.index("-m venv .venv") < plan.index("jupyter lab"), plan
    assert "[test]" not in plan, "make lab installs the course, not the test tools"
    assert 'pip install -e ".[test]"' in dry_run(tmp_path, "test")

    healthy = dry_run(tmp_path, "lab", f"VENV={sys.prefix}")  # the venv running these tests
    assert "broken" not in healthy and "-m venv" not in healthy, healthy


def release(course, **env):
    return subprocess.run([sys.executable, "-m", "grader", "release", LESSON], cwd=course, capture_output=True,
                          text=True, env=dict(os.environ, **env))


def files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failed_release_keeps_the_current_one_and_says_why(tmp_path):
    course = copy_course(tmp_path / "course")
    # Without the venv on PATH, on a new gradebook: stock nbgrader failed there (it runs alembic from PATH).
    done = release(course, PATH="/usr/bin:/bin")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"{LESSON}: released to notebooks/{LESSON}\n" and "WARNING" not in done.stderr, done.stderr
    released = files(course / "notebooks" / LESSON)
    assert submissions.read(course / "notebooks" / LESSON / f"{LESSON}.ipynb") == submissions.read(
        REPO / "notebooks" / LESSON / f"{LESSON}.ipynb") and "assets/neuron.png" in released

    (course / "solutions" / LESSON / f"{LESSON}.ipynb").write_text("{ not a notebook")
    failed = release(course)
    assert failed.returncode == 1 and not failed.stdout
    assert f"{LESSON}: NOT released" in failed.stderr and "Notebook does not appear to be JSON" in failed.stderr
    assert (f"notebooks/{LESSON} is unchanged. Fix the cause above, then run: make release ASSIGNMENT={LESSON}"
            in failed.stderr), failed.stderr
    assert files(course / "notebooks" / LESSON) == released
    assert not list(course.glob(".release-*")), "the scratch folder is removed"


def pytest_run(tmp_path, **env):
    """pytest, in a fresh process, on the MNIST lab's nbval cells, one graded test of it and one that reads no
    data, with an empty COURSE_DATA_DIR and HOME."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    env = {**{k: v for k, v in os.environ.items() if k != "COURSE_REQUIRE_DATA"},
           "COURSE_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path / "home"), **env}
    selection = [f"tests/test_grading.py::test_solution_scores_full_marks[{MNIST_LESSON}]",
                 f"tests/test_grading.py::test_mutants_cover_every_test_cell[{MNIST_LESSON}]",
                 "--nbval-lax", f"solutions/{MNIST_LESSON}"]
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rsE", *selection],
                          cwd=REPO, env=env, capture_output=True, text=True)


def test_without_mnist_its_tests_skip_and_say_why_and_fail_in_ci(tmp_path):
    why = f"MNIST not found in {tmp_path / 'data'}: copy the four .gz files there, or set COURSE_DATA_DIR"
    offline = pytest_run(tmp_path)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    skipped = [line for line in offline.stdout.splitlines() if line.startswith("SKIPPED") and line.endswith(why)]
    assert len(skipped) == 2 and "test_grading.py" in skipped[0] and "ipynb" in skipped[1], offline.stdout
    assert "1 passed" in offline.stdout, "a test of the lab that reads no data still runs"

    ci = pytest_run(tmp_path, COURSE_REQUIRE_DATA="1")
    assert ci.returncode == 1 and "skipped" not in ci.stdout and "1 passed" in ci.stdout, ci.stdout
    assert f"{why} (COURSE_REQUIRE_DATA=1: an error, not a skip)" in ci.stdout, ci.stdout
