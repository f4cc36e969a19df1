"""The benchmarks still run (tiny sizes, no timing asserted) and write their tables where they belong."""
import subprocess
import sys

import pytest

from lessons import REPO

sys.path.insert(0, str(REPO / "bench"))

import report  # noqa: E402
import suite  # noqa: E402


def test_training_benchmark_runs_every_side(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "training.py"), "--epochs", "1", "--repeats", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "s/epoch" not in line]
    assert len(rows) == 3 and "DataLoader" in rows[0], proc.stdout
    assert "Floor:" in proc.stdout


def test_a_table_replaces_only_its_own_section(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("intro\n<!-- a -->\nold\n<!-- /a -->\nmiddle\n<!-- b -->\nkeep\n<!-- /b -->\n")
    report.write("a", report.table(["x", "y"], [[1, 2]]), doc)
    assert doc.read_text() == ("intro\n<!-- a -->\n| x | y |\n|---|---|\n| 1 | 2 |\n<!-- /a -->\nmiddle\n"
                               "<!-- b -->\nkeep\n<!-- /b -->\n")
    with pytest.raises(SystemExit, match="no <!-- c --> ... <!-- /c --> section"):
        report.write("c", ["z"], doc)


def test_median_and_spread():
    assert report.spread([3.0, 1.0, 2.0]) == "2.00 (1.00-3.00, n=3)"


def test_suite_benchmark_reads_pytests_durations_and_summary():
    assert suite.DURATION.match("41.27s call     tests/test_grading.py::test_mutants[08_mnist_lab]").groups() == (
        "41.27", "call", "tests/test_grading.py::test_mutants[08_mnist_lab]")
    assert suite.SUMMARY.match("=== 533 passed, 7 skipped in 1277.12s (0:21:17) ===").groups() == (
        "533 passed, 7 skipped", "1277.12")


def test_class_report_benchmark_builds_every_page(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "class_report.py"), "--students", "3", "--lessons",
                           "02_forward_pass", "--repeats", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| every page and CSV |" in proc.stdout, proc.stdout
