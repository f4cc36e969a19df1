"""Known wrong answers ("mutants") per lesson, read from tests/mutants/<assignment>.yml."""
from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Mutant:
    """One known mistake: the answer cell it replaces, the test cells it must fail, the feedback it must get,
    and the points it keeps on a failed cell that gives credit per item (a quiz)."""

    id: str
    cell: str
    code: str
    fails: tuple
    feedback: str
    why: str = ""
    keeps: dict = None  # failed test cell -> points still earned there (none: 0)

    def earns(self, cell):
        """The points this mistake earns on a test cell it fails."""
        return (self.keeps or {}).get(cell, 0)


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
        keeps = entry.get("keeps") or {}
        wrong = {cell: points for cell, points in keeps.items() if cell not in entry["fails"]
                 or not isinstance(points, (int, float)) or not 0 < points < test_ids[cell]}
        if wrong:
            raise ValueError(f"{where}: keeps maps a test cell it fails to the points it still earns there, "
                             f"more than 0 and less than the cell's points; got {wrong}")
        mutants.append(Mutant(entry["id"], entry["cell"], entry["code"], tuple(entry["fails"]),
                              entry["feedback"], entry.get("why", ""), keeps))
    return mutants
