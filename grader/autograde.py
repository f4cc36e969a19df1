"""Autograde notebooks through real nbgrader, in a scratch course that uses the course's own config."""
import html
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Result:
    """One graded submission: points per test cell and the feedback a student receives."""

    scores: dict  # grade_id -> (score, max_score)
    feedback_html: str

    @property
    def total(self):
        return sum(score for score, _ in self.scores.values())

    @property
    def max_total(self):
        return sum(top for _, top in self.scores.values())

    @property
    def feedback_text(self):
        """The feedback as a student reads it: tags removed, entities decoded."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.feedback_html))

    def lost(self):
        """Test cells that scored less than full points."""
        return sorted(key for key, (score, top) in self.scores.items() if score < top)


def nbgrader(root, *args, check=True, threads=None):
    """Run an nbgrader command in ``root``; on failure raise with its output.

    ``threads`` caps the CPU threads each notebook kernel's PyTorch uses (OMP_NUM_THREADS).
    """
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=root, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def scratch_course(root, exchange=None, config=()):
    """Make ``root`` a course folder whose config is the course's, with every path inside ``root``.

    ``config`` adds lines of nbgrader config, such as shorter time limits.
    """
    root = Path(root)
    (root / "grading").mkdir(parents=True, exist_ok=True)
    lines = [
        f"load_subconfig({str(REPO / 'nbgrader_config.py')!r})",
        "c = get_config()",
        f"c.CourseDirectory.root = {str(root)!r}",
        f"c.CourseDirectory.source_directory = {str(REPO / 'solutions')!r}",
        "c.CourseDirectory.release_directory = 'release'",
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'grading' / 'gradebook.db'}'",
        f"c.NbGrader.logfile = {str(root / 'grading' / 'nbgrader.log')!r}",
    ]
    if exchange:
        lines.append(f"c.Exchange.root = {str(exchange)!r}")
    lines.extend(config)
    (root / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    return root


def _grade_shard(root, assignment, submissions, config, threads):
    scratch_course(root, config=config)
    nbgrader(root, "generate_assignment", assignment, "--force")
    for student, nb in submissions.items():
        folder = root / "grading" / "submitted" / student / assignment
        folder.mkdir(parents=True)
        path = folder / f"{assignment}.ipynb"
        if isinstance(nb, str):  # raw text: lets tests submit a broken file
            path.write_text(nb)
        else:
            nbformat.write(nb, str(path))
    autograde = nbgrader(root, "autograde", assignment, check=False, threads=threads)
    nbgrader(root, "generate_feedback", assignment, check=False)
    results, log = {}, autograde.stdout + autograde.stderr
    with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        for student in submissions:
            feedback = root / "grading" / "feedback" / student / assignment / f"{assignment}.html"
            try:
                graded = gb.find_submission_notebook(assignment, assignment, student)
            except Exception:  # nbgrader could not grade it: no record
                results[student] = None
                continue
            scores = {g.name: (g.score, g.max_score) for g in graded.grades}
            results[student] = Result(scores, feedback.read_text() if feedback.exists() else "")
    return results, log


def grade(assignment, submissions, workdir, shards=2, config=()):
    """Autograde ``submissions`` (student id -> notebook) and return student id -> Result.

    A submission nbgrader could not grade maps to None. The work is split into ``shards``
    scratch courses graded in parallel, each kernel limited to its share of the CPU cores (parallel
    kernels that each use every core slow each other down several times); ``config`` adds
    nbgrader config lines to each. Returns (results, nbgrader's autograde logs).
    """
    students = sorted(submissions)
    groups = [students[i::shards] for i in range(shards) if students[i::shards]]
    threads = max(1, (os.cpu_count() or 1) // len(groups))
    with ThreadPoolExecutor(len(groups)) as pool:
        jobs = [pool.submit(_grade_shard, Path(workdir) / f"shard{i}", assignment,
                            {s: submissions[s] for s in group}, config, threads) for i, group in enumerate(groups)]
        done = [job.result() for job in jobs]
    results = {k: v for shard_results, _ in done for k, v in shard_results.items()}
    return results, "\n".join(log for _, log in done)
