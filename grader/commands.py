"""Running nbgrader's own commands from the grader, with this environment's helpers on PATH."""
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def nbgrader(root, *args, check=True, threads=None, merged=False):
    """Run an nbgrader command in ``root``; on failure raise with its output.

    ``threads`` caps the CPU threads each notebook kernel's PyTorch uses (OMP_NUM_THREADS). ``merged`` puts
    its log (stderr) into its stdout, in the order they were written.
    """
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1")
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=root, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merged else subprocess.PIPE, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc
