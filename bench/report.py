"""Medians with their spread, and the tables the benchmarks write into docs/benchmarks.md."""
import os
import platform
import statistics
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def spread(samples, fmt="{:.2f}"):
    """'median (min-max, n runs)' of ``samples``."""
    low, high = min(samples), max(samples)
    return f"{fmt.format(statistics.median(samples))} ({fmt.format(low)}-{fmt.format(high)}, n={len(samples)})"


def machine():
    cores = len(os.sched_getaffinity(0))
    return f"{platform.processor() or platform.machine()}, {cores} cores, torch {torch.__version__}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def write(name, lines, doc=DOC):
    """Replace the text between ``<!-- name -->`` and ``<!-- /name -->`` in ``doc`` with ``lines``."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = doc.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{doc} has no {start} ... {end} section: add one where the table belongs")
    head, rest = text.split(start, 1)
    doc.write_text(head + start + "\n" + "\n".join(lines) + "\n" + end + rest.split(end, 1)[1])
    print(f"wrote the {name} table to {doc}")
