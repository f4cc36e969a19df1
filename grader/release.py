"""Release lessons without ever losing the current release: ``python -m grader release LESSON ...``.

``nbgrader generate_assignment --force`` deletes the release before it generates the new one, so a failure
(a broken source notebook, nbgrader without its helpers on PATH) left the lesson missing from notebooks/.
Here nbgrader writes into a fresh temporary folder beside the release folder, and only a complete release
replaces the old one, by renames on the same file system: notebooks/<lesson> is always either the old
release or the new one, never half-written.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

BIN = Path(sys.executable).parent


class ReleaseError(Exception):
    """nbgrader could not generate a lesson; its release is as it was."""


def destination(root, assignment, release_directory=None):
    """Where nbgrader releases ``assignment`` under the course's nbgrader_config.py in ``root``."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if "root" not in config.CourseDirectory:  # nbgrader's default: the folder it runs in
        config.CourseDirectory.root = str(Path(root).resolve())
    coursedir = CourseDirectory(config=config)
    if release_directory is not None:
        coursedir.release_directory = str(release_directory)
    return Path(os.path.normpath(coursedir.format_path(coursedir.release_directory, ".", assignment)))


def errors(log):
    """What went wrong, from nbgrader's log: its error messages, each traceback cut to its exception line."""
    records, found = [], []
    for line in log.splitlines():
        if line.startswith("["):
            records.append([line])
        elif records:
            records[-1].append(line)
    for head, *rest in records:
        if "| ERROR]" not in head and "| CRITICAL]" not in head:
            continue
        message = head.split("] ", 1)[-1]
        if message.startswith("Traceback"):
            found.extend([line.strip() for line in rest if line.strip()][-1:])
        elif not message.startswith(("There was an error processing", "Please see the error log")):
            found.append("\n".join([message, *rest]).rstrip())
    return found or log.strip().splitlines()[-15:]  # not nbgrader's log format (it crashed early): its last lines


def release(root, assignment):
    """Generate ``assignment``'s release and swap it in for the current one; returns the release folder.

    Raises ReleaseError, with nbgrader's reasons, when generation fails; the current release is untouched.
    """
    root = Path(root)
    dest = destination(root, assignment)
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".release-", dir=dest.parent.parent))  # same file system as dest
    try:
        # nbgrader runs helpers (alembic) from PATH: this Python's.
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                               f"--CourseDirectory.release_directory={scratch}"],
                              cwd=root, env=env, capture_output=True, text=True)
        fresh = destination(root, assignment, scratch)
        if proc.returncode != 0 or not fresh.is_dir():
            raise ReleaseError("\n".join(errors(proc.stdout + proc.stderr)))
        if dest.exists():
            dest.rename(scratch / "previous")
        fresh.rename(dest)
    finally:
        if not dest.exists() and (scratch / "previous").is_dir():  # interrupted between the two renames
            (scratch / "previous").rename(dest)
        shutil.rmtree(scratch, ignore_errors=True)
    return dest


def main(assignments, root="."):
    """Release each assignment, one line each; a failure keeps that lesson's release and says why. Returns
    the exit status."""
    failed = []
    for assignment in assignments:
        try:
            dest = release(root, assignment)
        except ReleaseError as error:
            dest = destination(root, assignment)
            state = "is unchanged" if dest.exists() else "was not created"
            reasons = str(error).replace("\n", "\n    ")
            print(f"{assignment}: NOT released: nbgrader generate_assignment failed:\n    {reasons}\n"
                  f"{os.path.relpath(dest, Path.cwd())} {state}. Fix the cause above, then run: "
                  f"make release ASSIGNMENT={assignment}", file=sys.stderr)
            failed.append(assignment)
        else:
            print(f"{assignment}: released to {os.path.relpath(dest, Path.cwd())}")
    if failed:
        print(f"{len(failed)} of {len(assignments)} lessons not released: {' '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
