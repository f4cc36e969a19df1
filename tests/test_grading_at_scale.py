"""`make autograde` at scale: parallel workers, a Dask cluster and PostgreSQL give each submission exactly the
grades it earns alone (which test_grading proves).

Scores only: each run copies the session's release of the lesson (but PostgreSQL's) and writes no feedback.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from grader import run, sandbox, submissions, testing
from lessons import lesson_mutants, released, scores_losing, source

LESSON = "02_forward_pass"
MUTANTS = lesson_mutants(LESSON)[:3]


def class_of_five():
    rel, src = released(LESSON), source(LESSON)
    answers = submissions.solution_answers(src)
    subs = {"solution": submissions.completed(rel, src), "blank": rel}
    for mutant in MUTANTS:
        subs[mutant.id] = submissions.with_answers(rel, {**answers, mutant.cell: mutant.code})
    return subs


def scores(results):
    return {student: result.scores for student, result in results.items()}


@pytest.fixture(scope="module")
def release(released_course):
    return released_course(LESSON)


@pytest.fixture(scope="module")
def deserved():
    """student -> the scores each of the class earns alone: the solution full marks, the blank notebook none, a
    mutant all but the points of the cells it fails."""
    lost = {"solution": [], "blank": submissions.test_cells(source(LESSON)), **{m.id: m.fails for m in MUTANTS}}
    expected = {student: scores_losing(LESSON, cells) for student, cells in lost.items()}
    totals = {sum(score for score, _ in cells.values()) for cells in expected.values()}
    assert len(totals) > 2, "the class should have varied scores"
    return expected


def test_parallel_workers_give_each_its_grade_and_a_failing_worker_costs_only_its_submission(
        deserved, release, tmp_path, monkeypatch):
    """Three workers grade the class and one more solution, whose worker fails: the class gets the grades it
    deserves, and the lost submission 0 with the reason flagged for review."""
    grade = run.grade

    def flaky(task):
        if task.student == "unlucky":
            raise MemoryError("worker lost")
        return grade(task)

    monkeypatch.setattr(run, "grade", flaky)
    unlucky = submissions.completed(released(LESSON), source(LESSON))
    results, outcomes = testing.grade(LESSON, {**class_of_five(), "unlucky": unlucky}, tmp_path, workers=3,
                                      released=release, feedback=False)
    assert outcomes["unlucky"].flags == ["grader error: MemoryError: worker lost"]
    assert results["unlucky"].total == 0
    assert {k: v for k, v in scores(results).items() if k != "unlucky"} == deserved


def test_a_dask_cluster_into_postgresql_gives_each_its_grade(deserved, tmp_path, postgres):
    """The large class's setup: kernels on a Dask cluster's workers, the gradebook in PostgreSQL."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  local_directory=str(tmp_path / "dask")) as cluster:
        results, _ = testing.grade(LESSON, class_of_five(), tmp_path / "course", db_url=postgres,
                                   scheduler=cluster.scheduler_address, feedback=False)
        workers = len(cluster.workers)
    assert workers == 2
    assert scores(results) == deserved


def _postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server on loopback, from Debian's packages (.ci/run installs them)."""
    bindir = _postgres_bin()
    assert bindir, "PostgreSQL is not installed: apt-get install postgresql (.ci/run does)"
    data = Path(tempfile.mkdtemp(prefix="gradebook-pg-"))  # PostgreSQL refuses to run as root: a folder it can own
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(data, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(as_user + [f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "grader"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(data / "log"), "-o",
                              f"-h 127.0.0.1 -p {port} -k {data}", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://grader@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_without_bubblewrap_grading_still_works_and_says_so(deserved, release, tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap", lambda: None)
    monkeypatch.setenv("GRADER_KERNELS", "cold")  # as where the fork server cannot run (not root)
    assert "UNSANDBOXED" in sandbox.warning()
    results, outcomes = testing.grade(LESSON, class_of_five(), tmp_path, workers=2, released=release, feedback=False)
    assert scores(results) == deserved
    assert all("graded UNSANDBOXED" in " ".join(o.flags) for o in outcomes.values())
