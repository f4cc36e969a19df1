"""Suite time: `make test`'s wall time and its ten slowest tests, from one run; with --load N, the same run
with N CPU-bound processes beside it for the whole run (the suite must pass on a busy machine too).

    python bench/suite.py [--load 2] [--write]
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine, table, write  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DURATION = re.compile(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)")
SUMMARY = re.compile(r"^=+ (.*\d+ passed.*) in ([\d.]+)s")


BUSY = "while True: pass"  # one core's worth of load, until it is killed


def run_suite(load=0):
    """(wall seconds, pytest's summary, [(seconds, phase, test)]) of one `make test`, with ``load`` busy processes
    running beside it; its output is echoed."""
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(load)]
    try:
        return _run_suite()
    finally:
        for process in busy:
            process.kill()
            process.wait()


def _run_suite():
    env = {**os.environ, "PYTEST_ADDOPTS": f"{os.environ.get('PYTEST_ADDOPTS', '')} --durations=10".strip()}
    start = time.perf_counter()
    proc = subprocess.Popen(["make", "--no-print-directory", "test"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    if proc.wait():
        raise SystemExit(f"make test failed ({proc.returncode}): fix the suite before timing it")
    seconds = time.perf_counter() - start
    slowest = [(float(m[1]), m[2], m[3]) for m in map(DURATION.match, lines) if m]
    summary = next((m[1] for m in map(SUMMARY.match, lines) if m), "?")
    return seconds, summary, slowest


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", type=int, default=0, help="CPU-bound processes running beside the suite")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    seconds, summary, slowest = run_suite(args.load)
    beside = f", with {args.load} CPU-bound processes running beside it" if args.load else ""
    lines = [f"`make test` on {machine()}{beside}: {seconds / 60:.1f} min wall time ({summary}). The ten slowest:",
             ""] + table(
        ["seconds", "phase", "test"], [[f"{s:.1f}", phase, f"`{test}`"] for s, phase, test in slowest])
    print("\n".join(lines))
    if args.write:
        write("suite-load" if args.load else "suite", lines)


if __name__ == "__main__":
    main()
