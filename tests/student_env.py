"""A fresh virtual environment with the student route installed, as `pip install <pack>` would leave it.

The pack is built into a wheel and installed with its own files only; its dependencies (torch,
JupyterLab, nbgrader) are not downloaded again but taken from the test environment: its site-packages
through a .pth line (so its editable `grader` and `course` stay out of reach) and the Jupyter data
and config files those packages installed, linked into the new prefix where pip would have put them.
"""
import subprocess
import sys
import sysconfig
from pathlib import Path

TEST_PREFIX = Path(sys.prefix)
JUPYTER = ("share/jupyter", "etc/jupyter")  # what Jupyter packages install outside site-packages


def site_packages(prefix):
    return Path(sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)}))


def install(pack, prefix):
    """Install the student pack at ``pack`` into a new venv at ``prefix``; returns its python."""
    wheels = prefix.parent / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(pack),
                    "-w", str(wheels)], check=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    python = prefix / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
                    *map(str, wheels.glob("*.whl"))], check=True)
    (site_packages(prefix) / "course-dependencies.pth").write_text(f"{site_packages(TEST_PREFIX)}\n")
    for folder in JUPYTER:
        merge(TEST_PREFIX / folder, prefix / folder)
    return python


def merge(source, target):
    """Link into ``target`` whatever of ``source`` it lacks, whole folders where it can (the pack's own files win)."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source)
    elif source.is_dir() and target.is_dir() and not target.is_symlink():
        for entry in source.iterdir():
            merge(entry, target / entry.name)
