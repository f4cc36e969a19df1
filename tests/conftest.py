"""Shared fixtures: every lesson graded once through real nbgrader (blank, solution, each mutant)."""
import functools
import os

import pytest

from dataclasses import replace

from course import mnist
from grader import autograde, reference, submissions, testing
from lessons import REPO, canaries, released, source

BROKEN = "{ this is not a notebook"
SHARED_MNIST = REPO.parent / "shared" / "datasets" / "mnist" / "small"

# The MNIST lab's kernels inherit this: on developer machines and in CI, real MNIST beside the project, never a download.
if SHARED_MNIST.is_dir():
    os.environ.setdefault("COURSE_DATA_DIR", str(SHARED_MNIST))
# Every scratch course of a test session shares one reference cache (keyed by what the data depend on).
os.environ.setdefault("GRADER_REFERENCE_CACHE", str(REPO / "build" / "reference-cache"))


def lesson_submissions(lesson):
    """Student id -> submission: blank, the full solution, a corrupt file and the lesson's canary mutants
    (the other mutants are judged from their reference data)."""
    rel, src = released(lesson), source(lesson)
    answers = submissions.solution_answers(src)
    subs = {"blank": rel, "solution": submissions.completed(rel, src), "broken": BROKEN}
    for mutant in canaries(lesson):
        subs[f"mutant-{mutant.id}"] = submissions.with_answers(rel, {**answers, mutant.cell: mutant.code})
    return subs


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """lesson -> (student id -> Result, the scratch course): each lesson autograded once per session, on demand."""
    cache = {}

    def get(lesson):
        if lesson not in cache:
            root = tmp_path_factory.mktemp(lesson)
            results, _ = testing.grade(lesson, lesson_submissions(lesson), root)
            cache[lesson] = results, root
        return cache[lesson]

    return get


@pytest.fixture(scope="session")
def graded(graded_class):
    """lesson -> (student id -> Result)."""
    return lambda lesson: graded_class(lesson)[0]


@pytest.fixture(scope="session")
def references(graded_class):
    """lesson -> the Reference its grading run computed (the solution's and every mutant's data)."""
    def get(lesson):
        root = graded_class(lesson)[1]
        course = replace(autograde.Course.at(root, release="release"), source=REPO / "solutions")

        def not_cached(_):
            raise AssertionError("the grading run should have cached the reference data")
        return reference.build(course, lesson, not_cached, log=lambda *_: None)

    return get


MNIST_LESSON = "07_mnist_lab"
# What runs the MNIST lab's notebook, and so reads MNIST, besides its nbval items: the fixtures that grade a
# lesson, and the tests that run one themselves (Validate, the browser).
GRADING_FIXTURES = {"graded", "graded_class", "references"}
RUNS_THE_LESSON = {"test_validate_reports_blank_and_completed_notebooks", "test_student_works_through_a_lesson"}


def needs_mnist(item):
    if item.path.suffix == ".ipynb":  # nbval's cells of a solution notebook
        return item.path.stem == MNIST_LESSON
    params = getattr(item, "callspec", None)
    return params is not None and MNIST_LESSON in params.params.values() and bool(
        GRADING_FIXTURES & set(item.fixturenames) or item.originalname in RUNS_THE_LESSON)


def pytest_collection_modifyitems(config, items):
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
