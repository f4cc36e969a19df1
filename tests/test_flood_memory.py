"""The grading process holds at most its output budget of a submission, however much the kernel sends."""
import json
import subprocess
import sys

import pytest

from grader.sandbox import bwrap
from lessons import REPO

pytestmark = pytest.mark.skipif(not bwrap(), reason="needs bubblewrap: apt-get install bubblewrap")

GRADE_A_FLOOD = """
import json, resource, sys
import nbformat
sys.path.insert(0, {tests!r})
from grader import submissions, testing
from grader.sandbox import Limits
from lessons import released, source
lesson = "02_forward_pass"
nb = submissions.completed(released(lesson), source(lesson))
nb.cells.append(nbformat.v4.new_code_cell(
    "import sys\\nfor _ in range(125):\\n    sys.stdout.write('x' * (4 << 20))\\n    sys.stdout.flush()"))
# The kernel may send 1 GiB here, so all 500 MiB go through the meter: only the budget may be kept.
results, outcomes = testing.grade(lesson, {{"flood": nb}}, sys.argv[1], workers=1, released=sys.argv[2],
                                  feedback=False, limits=Limits(cell_timeout=120, output_limit=1 << 30))
print(json.dumps({{"score": results["flood"].total, "notes": outcomes["flood"].notes,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10}}))
"""


def test_grading_a_500_mib_flood_stays_under_1_gib(tmp_path, released_course):
    script = GRADE_A_FLOOD.format(tests=str(REPO / "tests"))
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(released_course("02_forward_pass"))],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["score"] == 15 and any("was dropped" in n for n in result["notes"]), result
    assert result["peak"] < 1 << 30, f"the grading process peaked at {result['peak'] >> 20} MiB"
    notebook = tmp_path / "grading" / "autograded" / "flood" / "02_forward_pass" / "02_forward_pass.ipynb"
    assert notebook.stat().st_size < 4 << 20
