"""Shared fixtures, made once per session (each lesson's release, its class graded through real nbgrader, its
reference data; the instructor's course), the xdist groups that share them, and the tests that need MNIST."""
import functools
import os

# Two xdist workers share the cores: the notebook kernels the tests start (nbval, Validate, the browser's
# JupyterLab) use one thread each, as graded kernels do, rather than a thread per core each, which spin against
# each other on a busy machine. Set before anything imports PyTorch.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import nbformat  # noqa: E402
import pytest  # noqa: E402

from course import mnist  # noqa: E402
from course_copy import copy_course, make, submit  # noqa: E402
from grader import autograde, reference, release, sandbox, submissions, testing  # noqa: E402
from lessons import ALTERNATIVES, LESSONS, REPO, canaries, released, source  # noqa: E402

BROKEN = "{ this is not a notebook"
SHARED_MNIST = REPO.parent / "shared" / "datasets" / "mnist" / "small"

# The MNIST lab's kernels inherit this: on developer machines and in CI, real MNIST beside the project, never a download.
if SHARED_MNIST.is_dir():
    os.environ.setdefault("COURSE_DATA_DIR", str(SHARED_MNIST))
# Every scratch course of a test session shares one reference cache (keyed by what the data depend on).
os.environ.setdefault("GRADER_REFERENCE_CACHE", str(REPO / "build" / "reference-cache"))


def lesson_submissions(lesson):
    """Student id -> submission: blank, the full solution, a corrupt file, the lesson's canary mutants (the
    other mutants are judged from their reference data) and its other right answers."""
    rel, src = released(lesson), source(lesson)
    answers = submissions.solution_answers(src)
    subs = {"blank": rel, "solution": submissions.completed(rel, src), "broken": BROKEN}
    for mutant in canaries(lesson):
        subs[f"mutant-{mutant.id}"] = submissions.with_answers(rel, {**answers, mutant.cell: mutant.code})
    for name, cells in ALTERNATIVES.get(lesson, {}).items():
        subs[f"alternative-{name}"] = submissions.with_answers(rel, {**answers, **cells})
    return subs


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """lesson -> a scratch course it was released into, once per session: grading runs copy that release."""
    cache = {}

    def get(lesson):
        if lesson not in cache:
            root = testing.scratch_course(tmp_path_factory.mktemp(f"release-{lesson}"))
            release.release(root, lesson)
            cache[lesson] = root
        return cache[lesson]

    return get


@pytest.fixture(scope="session")
def references():
    """lesson -> its Reference (the solution's and every mutant's data), as grading computes and caches it from
    the release (the committed one: test_layout proves it is nbgrader's); no class needs grading for it."""
    cache = {}

    def get(lesson):
        if lesson not in cache:
            course = autograde.Course(REPO / "solutions", REPO / "notebooks", REPO / "grading", None)
            runner = autograde.reference_runner(course, lesson, sandbox.Limits(), 2, None)
            cache[lesson] = reference.build(course, lesson, runner, log=lambda *_: None)
        return cache[lesson]

    return get


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory, released_course):
    """lesson -> (student id -> Result, the scratch course): each lesson autograded once per session, on demand."""
    cache = {}

    def get(lesson):
        if lesson not in cache:
            root = tmp_path_factory.mktemp(lesson)
            results, _ = testing.grade(lesson, lesson_submissions(lesson), root, released=released_course(lesson))
            cache[lesson] = results, root
        return cache[lesson]

    return get


@pytest.fixture(scope="session")
def graded(graded_class):
    """lesson -> (student id -> Result)."""
    return lambda lesson: graded_class(lesson)[0]


INSTRUCTOR_LESSON = "02_forward_pass"
HOSTILE = "outputs-run-script"  # in tests/bad_submissions/02_forward_pass.yml: outputs that try to run script


@pytest.fixture(scope="session")
def instructor_course(tmp_path_factory):
    """(a copy of the course, the output of its `make feedback`, the empty exchange it was given): released,
    its class list imported (`make roster`), three submissions collected (timestamps and secrets as `nbgrader collect` leaves them), graded by `make
    autograde` and their feedback written, with the make targets; mallory's outputs try to run script in the
    instructor's browser. test_instructor and the browser's instructor tests share it."""
    from test_bad_submissions import CORPUS, build

    home = tmp_path_factory.mktemp("instructor")
    course, exchange, lesson = copy_course(home / "course"), home / "exchange", INSTRUCTOR_LESSON
    exchange.mkdir()
    make(course, "release", assignment=lesson)
    hostile, = [build(e, {}) for e in CORPUS if e["id"] == HOSTILE]
    submit(course, lesson, {"alice": submissions.completed(released(lesson), source(lesson)), "bob": released(lesson),
                            "mallory": nbformat.reads(hostile[f"{lesson}.ipynb"], as_version=4)})
    roster = home / "students.csv"  # the class list, so the Formgrader and the report show names
    roster.write_text("id,first_name,last_name,email\nalice,Alice,Liddell,alice@example.edu\n"
                      "bob,Bob,Kahn,bob@example.edu\nmallory,Mallory,Evans,mallory@example.edu\n")
    make(course, "roster", assignment=lesson, FILE=str(roster))
    for student in ["alice", "bob", "mallory"]:  # beside a collected submission: releasing feedback needs them
        folder = course / "grading" / "submitted" / student / lesson
        (folder / "timestamp.txt").write_text("2024-01-15 10:00:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(f"secret of {student}")
    make(course, "autograde", assignment=lesson)
    out = make(course, "feedback", assignment=lesson, NBGRADER_EXCHANGE=str(exchange))
    return course, out, exchange


MNIST_LESSON = "08_mnist_lab"
# What runs the MNIST lab's notebook, and so reads MNIST, besides its nbval items: the fixtures that grade a
# lesson, and the tests that run one themselves (Validate).
GRADING_FIXTURES = {"graded", "graded_class", "references"}
RUNS_THE_LESSON = {"test_validate_reports_every_check_a_blank_notebook_fails"}


def needs_mnist(item):
    if item.path.suffix == ".ipynb":  # nbval's cells of a solution notebook
        return item.path.stem == MNIST_LESSON
    params = getattr(item, "callspec", None)
    return params is not None and MNIST_LESSON in params.params.values() and bool(
        GRADING_FIXTURES & set(item.fixturenames) or item.originalname in RUNS_THE_LESSON)


# `make test` runs xdist with --dist loadscope, and the scope is a group of tests that share a costly fixture:
# each group runs whole on one worker. (xdist's own --dist loadgroup cannot be used: with this pytest it
# groups nothing, as it renames node ids through an attribute pytest no longer reads.) The scheduler sees node
# ids only, so the groups are named from them; check_groups compares them with the fixtures the tests use.
BY_LESSON = {"tests/test_grading.py", "tests/test_giveaways.py", "tests/test_cuda.py", "tests/test_layout.py",
             "tests/test_report.py"}
INSTRUCTOR = ("tests/test_instructor.py::", "tests/test_browser.py::test_instructor_",
              "tests/test_browser.py::test_student_outputs_cannot_run_script")
SHARED_BY_LESSON = {"graded", "graded_class", "references", "released_course"}
# The longest groups go first, so that the two workers finish together (--no-loadscope-reorder keeps this
# order; by default xdist puts the groups with the most tests first); the others keep their order.
LONGEST = ["tests/test_bad_submissions.py", "tests/test_browser.py", "tests/test_grading_at_scale.py",
           "tests/test_validate.py", "lesson-08_mnist_lab", "instructor-course", "lesson-07_generalization",
           "lesson-06_optimizers", "tests/test_setup.py", "tests/test_instant.py", "lesson-01_tensors",
           "lesson-04_backprop_vs_autograd", "lesson-05_nn_module", "lesson-03_numpy_interop", "lesson-02_forward_pass",
           "tests/test_flood_memory.py"]


def xdist_group(nodeid):
    """The group of a test: a lesson's tests that share its graded class, reference data and release; the
    tests of the instructor's course; else its file (a notebook's nbval cells: one kernel, in order; a test
    file's module-scoped fixtures)."""
    path, _, rest = nodeid.partition("::")
    if nodeid.startswith(INSTRUCTOR):
        return "instructor-course"
    lesson = next((lesson for lesson in LESSONS if rest.partition("[")[2].startswith(lesson)), None)
    return f"lesson-{lesson}" if path in BY_LESSON and lesson else path


@pytest.hookimpl(tryfirst=True)  # before xdist's own choice
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadscope":
        from xdist.scheduler import LoadScopeScheduling

        class ByGroup(LoadScopeScheduling):
            def _split_scope(self, nodeid):
                return xdist_group(nodeid)

        return ByGroup(config, log)
    return None


GROUPS_WRONG = pytest.StashKey[list]()


def check_groups(config, items):
    """Note each test whose group is not the one its shared fixtures need (test_project asserts none)."""
    wrong = []
    for item in items:
        lesson = item.callspec.params.get("lesson") if hasattr(item, "callspec") else None
        need = (item.nodeid.partition("::")[0] if item.path.suffix == ".ipynb"
                else f"lesson-{lesson}" if lesson and SHARED_BY_LESSON & set(item.fixturenames)
                else "instructor-course" if "instructor_course" in item.fixturenames else None)
        if need and xdist_group(item.nodeid) != need:
            wrong.append(f"{item.nodeid} is in {xdist_group(item.nodeid)}, not {need}")
    config.stash[GROUPS_WRONG] = wrong


def pytest_collection_modifyitems(config, items):
    """Put the longest xdist groups first; note tests in the wrong group; then say what needs MNIST."""
    first = {name: rank for rank, name in enumerate(LONGEST)}
    items.sort(key=lambda item: first.get(xdist_group(item.nodeid), len(first)))
    check_groups(config, items)
    skip_or_fail_without_mnist(items)


def skip_or_fail_without_mnist(items):
    """Without the MNIST files, the tests that need them skip and say where to put them (tests never download);
    under COURSE_REQUIRE_DATA=1 (CI) each of them fails at setup instead, before its fixtures or its cell run:
    nothing may be skipped there for want of data. (Per test: xdist's workers collect, and an exception raised
    here would only crash them.)"""
    root = mnist.data_dir()
    missing = [name for name in mnist.SPLITS.values() if not (root / name).exists()]
    if not missing:
        return
    partial = f" (missing {', '.join(missing)})" if len(missing) < len(mnist.SPLITS) else ""
    reason = f"MNIST not found in {root}{partial}: copy the four .gz files there, or set COURSE_DATA_DIR"
    required = os.environ.get("COURSE_REQUIRE_DATA") == "1"
    for item in filter(needs_mnist, items):
        if required:
            item.setup = functools.partial(pytest.fail, f"{reason} (COURSE_REQUIRE_DATA=1: an error, not a skip)",
                                           pytrace=False)
        else:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter):
    """Print the mutation report that test_mutation_report attached to its results."""
    lines = [value for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
             for key, value in getattr(report, "user_properties", []) if key == "mutation report"]
    if lines:
        terminalreporter.write_sep("=", "mutation report")
        for line in sorted(lines):
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Tell fixtures whether their test failed (the browser tests then keep a screenshot of the failure)."""
    report = (yield).get_result()
    if report.when == "call":
        item.call_failed = report.failed
