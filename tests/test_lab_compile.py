"""The lab's optional torch.compile cell, switched on as a student would: every other run leaves it off (it
compiles for about 10 s), so this is the one place its code runs."""
import subprocess
import sys

from lessons import REPO, source

PROGRAM = """
import time
import torch
from torch import nn
from torch.utils import benchmark

model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)).eval()
batch = torch.rand(50, 784)
"""


def test_the_compile_cell_compiles_when_a_student_turns_it_on(tmp_path):
    cell, = [c for c in source("08_mnist_lab").cells if c.get("id") == "compile"]
    assert cell.source.startswith("COMPILE = False"), "the cell must stay off in graded runs"
    code = PROGRAM + cell.source.replace("COMPILE = False", "COMPILE = True", 1)
    # A fresh cache, as a student's first try has; a timeout against a hang, not a speed check.
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"),
                              "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0].startswith("the first call compiled for "), run.stdout
    assert [line.split()[0] for line in lines[1:]] == ["eager", "compiled"], run.stdout
