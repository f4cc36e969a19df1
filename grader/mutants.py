"""Known wrong answers ("mutants") per lesson, read from tests/mutants/<assignment>.yml."""
from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Mutant:
    """One known mistake: the answer cell it replaces, the test cells it must fail, the feedback it must get."""

    id: str
    cell: str
    code: str
    fails: tuple
    feedback: str
    why: str = ""


def load(path, answer_ids, test_ids):
    """Read and validate a mutants file; every error names the mutant and what to fix."""
    with open(path) as f:
        entries = yaml.safe_load(f) or []
    mutants, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{path}: mutant #{i + 1} ({entry.get('id', 'no id')})"
        missing = {"id", "cell", "code", "fails", "feedback"} - set(entry)
        if missing:
            raise ValueError(f"{where} lacks {sorted(missing)}")
        if entry["id"] in seen:
            raise ValueError(f"{where}: the id is used twice")
        seen.add(entry["id"])
        if entry["cell"] not in answer_ids:
            raise ValueError(f"{where}: cell {entry['cell']!r} is not an answer cell; choose from {sorted(answer_ids)}")
        bad = set(entry["fails"]) - set(test_ids)
        if bad or not entry["fails"]:
            raise ValueError(f"{where}: fails must list test cells from {sorted(test_ids)}, got {entry['fails']}")
        mutants.append(Mutant(entry["id"], entry["cell"], entry["code"], tuple(entry["fails"]),
                              entry["feedback"], entry.get("why", "")))
    return mutants
