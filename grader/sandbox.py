"""Run a student's kernel in a bubblewrap sandbox with resource limits.

Inside: the system and the Python environment read-only, the course package and the data read-only,
one writable folder (the submission's), no network, no other process, an unprivileged uid with every
capability dropped. Limits: address space, CPU time, file size and process count (a pids cgroup when
running as root, where RLIMIT_NPROC does not bind). Without bubblewrap, kernels run unsandboxed and
``warning()`` says so.
"""
import glob
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
GUARD = HERE / "guard.py"
# What every kernel imports from the grader, by the name it has there: the guard and the probes' recorder.
KERNEL_MODULES = {"grader_guard.py": GUARD, "grader_recorder.py": HERE / "recorder.py"}
GUARD_DIR = "/opt/grader"  # where they appear inside the sandbox
PIDS_CGROUP = Path("/sys/fs/cgroup/pids")


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Times in seconds, sizes in bytes."""

    cell_timeout: int = 300
    notebook_timeout: int = 900
    memory: int = 6 << 30  # address space per process (RLIMIT_AS); not applied when a GPU is visible
    file_size: int = 256 << 20
    processes: int = 256  # threads count too: PyTorch and the kernel start a few dozen
    output: int = 2 << 20  # bytes of output kept per notebook; the rest is dropped with a note
    threads: int = 1  # OMP_NUM_THREADS for the kernel

    @property
    def cpu_time(self):
        return self.notebook_timeout * max(1, self.threads) + 60


@lru_cache(maxsize=None)
def bwrap():
    """The bubblewrap binary if it can start a sandbox here, else None."""
    path = shutil.which("bwrap")
    if not path:
        return None
    probe = subprocess.run([path, "--unshare-all", "--ro-bind", "/", "/", "--cap-drop", "ALL", "true"],
                           capture_output=True)
    return path if probe.returncode == 0 else None


def warning():
    """A loud line for logs and reports when kernels cannot be sandboxed here, else None."""
    if bwrap():
        return None
    return ("WARNING: bubblewrap (bwrap) is not available here, so student code runs UNSANDBOXED with this "
            "account's rights. Install it (Debian/Ubuntu: apt-get install bubblewrap) before grading real submissions.")


def gpu_visible():
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def _read_only_paths(data_dirs):
    """Everything the kernel reads: system, Python, the course package, datasets. Never the repo as a whole."""
    paths = ["/usr", "/etc/ld.so.cache", "/etc/alternatives", "/etc/fonts", "/etc/localtime", "/sys",
             sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"], str(REPO / "course")]
    for link in ("/bin", "/lib", "/lib64", "/sbin"):
        if not os.path.islink(link):
            paths.append(link)
    both = [q for p in [*paths, *data_dirs] if p for q in (os.path.abspath(p), os.path.realpath(p))]
    return [p for p in dict.fromkeys(both) if os.path.exists(p)]


def command(argv, workdir, env, limits, data_dirs=(), cgroup=None):
    """``argv`` wrapped to run confined: in the sandbox when bubblewrap works, with limits either way.

    ``cgroup`` names the pids cgroup the process tree joins when running as root (see ``remove_cgroup``).
    """
    workdir = os.path.abspath(workdir)
    confine = [sys.executable, "-m", "grader.sandbox", ",".join(map(str, _rlimits(limits))), cgroup or "", "--"]
    if not bwrap():
        return confine + list(argv)
    box = [bwrap(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for link in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(link):
            box += ["--symlink", os.readlink(link), link]
    for path in _read_only_paths(data_dirs):
        box += ["--ro-bind", path, path]
    for device in sorted(glob.glob("/dev/nvidia*")):
        box += ["--dev-bind", device, device]
    for name, module in KERNEL_MODULES.items():
        box += ["--ro-bind", str(module), f"{GUARD_DIR}/{name}"]
    box += ["--bind", workdir, workdir, "--chdir", workdir, "--clearenv"]
    for key, value in env.items():
        box += ["--setenv", key, value]
    return confine + box + ["--"] + list(argv)


def _rlimits(limits):
    memory = resource.RLIM_INFINITY if gpu_visible() else limits.memory  # CUDA reserves terabytes of address space
    return memory, limits.cpu_time, limits.file_size, limits.processes


def new_cgroup_name():
    return f"grader-{uuid.uuid4().hex[:16]}"


def _join_pids_cgroup(name, maximum):
    """Cap this process tree at ``maximum`` processes and threads with a pids cgroup (root only)."""
    if not name or os.geteuid() != 0 or not os.access(PIDS_CGROUP, os.W_OK):
        return
    group = PIDS_CGROUP / name
    try:
        group.mkdir()
        (group / "pids.max").write_text(str(maximum))
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError as error:
        print(f"grader: no pids cgroup ({error}); the process limit is not enforced", file=sys.stderr)


def remove_cgroup(name):
    """Remove a kernel's pids cgroup once its processes have ended; True when it is gone."""
    try:
        (PIDS_CGROUP / name).rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def main(args):
    """``python -m grader.sandbox AS,CPU,FSIZE,NPROC CGROUP -- argv...``: set limits, then exec argv."""
    memory, cpu, fsize, nproc = (int(x) for x in args[0].split(","))
    argv = args[args.index("--") + 1:]
    limits = [(resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_FSIZE, fsize),
              (resource.RLIMIT_CORE, 0)]
    if os.geteuid() != 0:  # counts every process of the uid; for root it does not bind, the cgroup does
        limits.append((resource.RLIMIT_NPROC, nproc))
    for which, value in limits:
        resource.setrlimit(which, (value, value))
    _join_pids_cgroup(args[1], nproc)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
