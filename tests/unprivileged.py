"""Run a command as an ordinary user, for tests of what the grader does without root, when the suite runs as
root (CI does): in a mount namespace of its own, where the folders it needs are reachable by that user.

    unshare --mount --propagation private python tests/unprivileged.py UID PATH... -- COMMAND...

A root-only folder on the way to one of the PATHs (``/root`` holding pyenv's Python, a 0700 temporary folder
holding a clone) is covered, in this namespace only, by a 0755 tmpfs holding what it held, bound back in:
nothing on the disk changes, and the user reaches nothing else it could not before.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def open_up(folder):
    """Cover ``folder`` with a tmpfs that everyone may traverse, holding its entries bound back in."""
    hold = tempfile.mkdtemp(prefix="unprivileged-")
    mount("--bind", str(folder), hold)
    entries = os.listdir(folder)
    mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(folder))
    for name in entries:
        source, target = Path(hold, name), folder / name
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
            continue
        target.mkdir() if source.is_dir() else target.touch()
        mount("--bind", str(source), str(target))
    mount("--make-private", hold)
    subprocess.run(["umount", "--lazy", hold], check=True)
    os.rmdir(hold)


def reach(path):
    """Make every folder on the way to ``path`` traversable by everyone (in this mount namespace)."""
    for folder in [*reversed(Path(path).resolve().parents)][1:]:  # from the top, / excluded
        if not os.stat(folder).st_mode & 0o001:
            open_up(folder)


def main():
    uid, rest = sys.argv[1], sys.argv[2:]
    split = rest.index("--")
    for path in rest[:split]:
        reach(path)
    command = rest[split + 1:]
    os.execvp("setpriv", ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                          "--", *command])


if __name__ == "__main__":
    main()
