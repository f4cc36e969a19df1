"""Shared fixtures: every lesson graded once through real nbgrader (blank, solution, each mutant)."""
import os

import pytest

from grader import autograde, submissions
from lessons import REPO, lesson_mutants, released, source

BROKEN = "{ this is not a notebook"
SHARED_MNIST = REPO.parent / "shared" / "datasets" / "mnist" / "small"

# The MNIST lab's kernels inherit this: on developer machines and in CI, real MNIST beside the project, never a download.
if SHARED_MNIST.is_dir():
    os.environ.setdefault("COURSE_DATA_DIR", str(SHARED_MNIST))


def lesson_submissions(lesson):
    """Student id -> submission: blank, the full solution, one per mutant, and a corrupt file."""
    rel, src = released(lesson), source(lesson)
    answers = submissions.solution_answers(src)
    subs = {"blank": rel, "solution": submissions.completed(rel, src), "broken": BROKEN}
    for mutant in lesson_mutants(lesson):
        subs[f"mutant-{mutant.id}"] = submissions.with_answers(rel, {**answers, mutant.cell: mutant.code})
    return subs


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """lesson -> (student id -> Result): each lesson is autograded once per test session, on demand."""
    cache = {}

    def get(lesson):
        if lesson not in cache:
            results, _ = autograde.grade(lesson, lesson_submissions(lesson), tmp_path_factory.mktemp(lesson))
            cache[lesson] = results
        return cache[lesson]

    return get


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
