"""Run a student's kernel in a bubblewrap sandbox with resource limits.

Inside: the system and the Python environment read-only, the course package and the data read-only,
one writable folder (the submission's), no network, no other process, an unprivileged uid with every
capability dropped. Limits, each by the strongest mechanism this machine offers (``summary()`` says which):

- memory: a memory cgroup (v2, else v1) when grading as root, which counts the pages of tmpfs files too;
  else the address space (RLIMIT_AS), which cannot be applied when a GPU is visible;
- disk: as root, the scratch folder is a tmpfs of its own size, and the sandbox's /tmp is a folder in it,
  so both share one quota and never touch the host's disk; else /tmp alone is a tmpfs of that size and the
  scratch folder has only the per-file limit (RLIMIT_FSIZE);
- processes and threads: a pids cgroup as root (where RLIMIT_NPROC does not bind), else RLIMIT_NPROC;
- CPU time and the size of one file: rlimits.

Without bubblewrap, kernels run unsandboxed and ``warning()`` says so.
"""
import ctypes
import glob
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
GUARD = HERE / "guard.py"
# What every kernel imports from the grader, by the name it has there: the guard and the probes' recorder.
KERNEL_MODULES = {"grader_guard.py": GUARD, "grader_recorder.py": HERE / "recorder.py",
                  "grader_streams.py": HERE / "streams.py"}
GUARD_DIR = "/opt/grader"  # where they appear inside the sandbox
CGROUP_ROOT = Path("/sys/fs/cgroup")
SCRATCH_TMP = ".tmp"  # in a scratch folder with a quota: the folder the sandbox shows as /tmp
KERNEL_UID = 65534  # nobody: who a kernel runs as inside its sandbox


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Times in seconds, sizes in bytes."""

    cell_timeout: int = 300
    notebook_timeout: int = 900
    memory: int = 6 << 30  # RAM, tmpfs files included (memory cgroup); else address space (RLIMIT_AS), none with a GPU
    disk: int = 512 << 20  # the scratch folder and /tmp together (a tmpfs, as root); else /tmp alone
    file_size: int = 256 << 20  # one file (RLIMIT_FSIZE)
    processes: int = 256  # threads count too: PyTorch and the kernel start a few dozen
    output: int = 2 << 20  # bytes of output kept per notebook; the rest is dropped with a note
    output_limit: int = 64 << 20  # bytes a kernel may send in all (every message counts); then it is stopped
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


def warm():
    """Whether kernels are forked from a fork server that imported PyTorch once (``grader.forkserver``), each
    into namespaces of its own (``forkserver.supported``), unless GRADER_KERNELS=cold. Else bubblewrap."""
    from grader import forkserver
    return os.environ.get("GRADER_KERNELS") != "cold" and forkserver.supported()


def confined():
    """Whether kernels run in a sandbox here (forked warm, or bubblewrap): they then see its paths."""
    return bool(warm() or bwrap())


def warning():
    """A loud line for logs and reports when kernels cannot be sandboxed here, else None."""
    if confined():
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


def mounts(workdir, limits, data_dirs=()):
    """The kernel's filesystem, in order, besides /proc and /dev: (op, source, destination) with op one of
    "tmpfs" (source: its size), "symlink" (source: the target), "ro-bind", "dev-bind", "bind". Bubblewrap
    (``command``) and the fork server (``grader.forkserver``) both build exactly this.

    When ``mount_scratch`` gave ``workdir`` a quota, the sandbox's /tmp is a folder in it; else a tmpfs of
    ``limits.disk`` bytes of its own."""
    workdir = os.path.abspath(workdir)
    scratch_tmp = os.path.join(workdir, SCRATCH_TMP)
    if os.path.ismount(workdir) and os.path.isdir(scratch_tmp):  # before the workdir: it may lie under /tmp
        plan = [("bind", scratch_tmp, "/tmp")]
    else:
        plan = [("tmpfs", limits.disk, "/tmp")]
    plan += [("symlink", os.readlink(link), link) for link in ("/bin", "/lib", "/lib64", "/sbin")
             if os.path.islink(link)]
    plan += [("ro-bind", path, path) for path in _read_only_paths(data_dirs)]
    plan += [("dev-bind", device, device) for device in sorted(glob.glob("/dev/nvidia*"))]
    plan += [("ro-bind", str(module), f"{GUARD_DIR}/{name}") for name, module in KERNEL_MODULES.items()]
    return plan + [("bind", workdir, workdir)]


def limit_numbers(limits):
    """What ``confine`` applies, as the launcher's command line carries it."""
    return limits.memory, limits.cpu_time, limits.file_size, limits.processes


def command(argv, workdir, env, limits, data_dirs=(), cgroup=None):
    """``argv`` wrapped to run confined: in the sandbox when bubblewrap works, with limits either way.

    ``cgroup`` names the cgroups the process tree joins when running as root (see ``Cgroups``)."""
    workdir = os.path.abspath(workdir)
    confine = [sys.executable, "-m", "grader.sandbox", ",".join(map(str, limit_numbers(limits))), cgroup or "", "--"]
    if not bwrap():
        return confine + list(argv)
    box = [bwrap(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--uid", str(KERNEL_UID), "--gid", str(KERNEL_UID), "--proc", "/proc", "--dev", "/dev"]
    for op, source, destination in mounts(workdir, limits, data_dirs):
        box += (["--size", str(source), "--tmpfs", destination] if op == "tmpfs"
                else [f"--{op}", str(source), destination])
    box += ["--chdir", workdir, "--clearenv"]
    for key, value in env.items():
        box += ["--setenv", key, value]
    return confine + box + ["--"] + list(argv)


def human_size(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):g} {unit}"
    return f"{n} bytes"


# --- disk: the scratch folder as a tmpfs of its own ----------------------------------------------------------
_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 2, 4, 2


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    text = ctypes.c_char_p
    libc.mount.argtypes = [text, text, text, ctypes.c_ulong, text]
    libc.umount2.argtypes = [text, ctypes.c_int]
    return libc


def mount_scratch(folder, limits):
    """Make the empty ``folder`` a tmpfs of ``limits.disk`` bytes with the sandbox's /tmp (``SCRATCH_TMP``) in
    it: whatever a kernel writes, wherever, shares one quota in RAM (counted by its memory cgroup), never the
    host's disk, and a full one is the kernel's own ENOSPC. Root only; False when it cannot be mounted."""
    if os.geteuid() != 0:
        return False
    options = f"size={limits.disk},nr_inodes={max(1024, limits.disk >> 12)},mode=0700"
    if _libc().mount(b"tmpfs", os.fsencode(folder), b"tmpfs", _MS_NOSUID | _MS_NODEV, options.encode()) != 0:
        return False
    (Path(folder) / SCRATCH_TMP).mkdir(mode=0o700)
    return True


def unmount_scratch(folder):
    """Undo ``mount_scratch`` (its files go with it); detached if something still holds it. Never raises."""
    if not os.path.ismount(folder):
        return
    libc, path = _libc(), os.fsencode(folder)
    if libc.umount2(path, 0) != 0:
        libc.umount2(path, _MNT_DETACH)


@lru_cache(maxsize=None)
def can_mount():
    """Whether ``mount_scratch`` works here (root, and mounting allowed)."""
    if os.geteuid() != 0:
        return False
    folder = tempfile.mkdtemp(prefix="grader-mount-")
    try:
        mounted = mount_scratch(folder, Limits(disk=1 << 20))
        unmount_scratch(folder)
        return mounted
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- memory and processes: cgroups -------------------------------------------------------------------------
CONTROLLERS = ("memory", "pids")


@dataclass(frozen=True)
class Cgroups:
    """Where kernels' cgroups go: cgroup v2 (one group holds both controllers) or v1 (a group in each controller's
    own hierarchy). ``controllers`` maps each usable controller to the folder its groups are made in; groups are
    made at the top of the hierarchy (as root), one per kernel, named by ``new_cgroup_name()``."""

    version: int
    controllers: tuple  # ((controller, folder), ...)

    def folder(self, controller, name):
        return dict(self.controllers)[controller] / name if controller in dict(self.controllers) else None

    def folders(self, name):
        return list(dict.fromkeys(folder / name for _, folder in self.controllers))

    def join(self, name, memory, processes):
        """Put this process (and so what it execs) in group ``name`` with these caps; returns the controllers that
        now bind. What fails is said on stderr (the kernel log) and left to the rlimits."""
        settings = {"memory": [("memory.max", memory, True), ("memory.swap.max", 0, False)] if self.version == 2
                    else [("memory.limit_in_bytes", memory, True), ("memory.memsw.limit_in_bytes", memory, False)],
                    "pids": [("pids.max", processes, True)]}
        joined = set()
        for controller, folder in self.controllers:
            group = folder / name
            try:
                group.mkdir(exist_ok=True)
                for file, value, needed in settings[controller]:
                    try:
                        (group / file).write_text(str(value))
                    except OSError:  # memsw or swap.max: absent without swap accounting
                        if needed:
                            raise
                (group / "cgroup.procs").write_text(str(os.getpid()))
                joined.add(controller)
            except OSError as error:
                print(f"grader: no {controller} cgroup ({error}); its limit falls back to an rlimit", file=sys.stderr)
        return joined

    def remove(self, name, wait=1.0):
        """Remove group ``name``, killing what is still in it (nothing of a kernel outlives it) and waiting up to
        ``wait`` seconds for that to end; True when it is gone."""
        deadline = time.monotonic() + wait
        while True:
            left = []
            for group in self.folders(name):
                try:
                    group.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(group)
            if not left or time.monotonic() > deadline:
                return not left
            for group in left:
                try:
                    pids = [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
                except (OSError, ValueError):
                    pids = []
                for pid in pids:
                    if pid != os.getpid():
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
            time.sleep(0.005)

    def out_of_memory(self, name):
        """Whether the memory cgroup's OOM killer killed a process of group ``name``."""
        group = self.folder("memory", name)
        try:
            counts = _counters(group / ("memory.events" if self.version == 2 else "memory.oom_control"))
            if "oom_kill" in counts:
                return counts["oom_kill"] > 0 or counts.get("oom_group_kill", 0) > 0
            return self.version == 1 and int((group / "memory.failcnt").read_text()) > 0  # before Linux 4.13
        except (OSError, TypeError, ValueError):
            return False


def _counters(path):
    return {key: int(value) for key, value in (line.split() for line in Path(path).read_text().splitlines()
                                                if len(line.split()) == 2)}


def find_cgroups(root=CGROUP_ROOT, enable=False):
    """The cgroups usable under ``root``: v2 when it holds one unified hierarchy (``cgroup.controllers``), else v1's
    per-controller hierarchies; None when neither offers memory or pids. ``enable`` turns v2's controllers on for
    the groups below the root (its ``cgroup.subtree_control``), which a root cgroup always allows."""
    root = Path(root)
    if (root / "cgroup.controllers").is_file():
        if not os.access(root, os.W_OK):
            return None
        available = (root / "cgroup.controllers").read_text().split()
        subtree = root / "cgroup.subtree_control"
        for controller in CONTROLLERS:
            if enable and controller in available and controller not in subtree.read_text().split():
                try:
                    subtree.write_text(f"+{controller}")
                except OSError:  # a non-root cgroup that holds processes cannot: that controller is not used
                    pass
        enabled = subtree.read_text().split() if subtree.is_file() else []
        found = tuple((c, root) for c in CONTROLLERS if c in available and c in enabled)
        return Cgroups(2, found) if found else None
    found = tuple((c, root / c) for c in CONTROLLERS
                  if (root / c / "cgroup.procs").is_file() and os.access(root / c, os.W_OK))
    return Cgroups(1, found) if found else None


@lru_cache(maxsize=None)
def kernel_cgroups():
    """This machine's usable cgroups when grading as root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        return find_cgroups(enable=True)
    except OSError:
        return None


def new_cgroup_name():
    return f"grader-{uuid.uuid4().hex[:16]}"


def remove_cgroup(name):
    """Remove a kernel's cgroups once its processes have ended; True when they are gone."""
    groups = kernel_cgroups()
    return groups.remove(name) if groups and name else True


def out_of_memory(name):
    """Whether the kernel of cgroup ``name`` was killed for going over its memory limit; ask before removing it."""
    groups = kernel_cgroups()
    return bool(groups and name and groups.folder("memory", name) and groups.out_of_memory(name))


def mechanisms():
    """The limits this machine enforces beyond rlimits, of "memory cgroup", "pids cgroup", "disk quota"."""
    groups = kernel_cgroups()
    found = {f"{controller} cgroup" for controller, _ in (groups.controllers if groups else ())}
    return found | ({"disk quota"} if can_mount() else set())


def summary(limits):
    """One line for the grading log: which mechanism enforces each of a kernel's limits on this machine."""
    groups, found = kernel_cgroups(), mechanisms()
    if "memory cgroup" in found:
        memory = f"memory cgroup v{groups.version} {human_size(limits.memory)} (tmpfs counted)"
    elif gpu_visible():
        memory = "memory UNLIMITED (a GPU is visible, so no address-space limit; a memory cgroup needs root)"
    else:
        memory = f"memory {human_size(limits.memory)} of address space (RLIMIT_AS; tmpfs files not counted)"
    if "disk quota" in found:
        disk = f"disk tmpfs {human_size(limits.disk)} for the scratch folder and " + ("/tmp" if confined() else "TMPDIR")
    elif confined():
        disk = (f"disk tmpfs {human_size(limits.disk)} for /tmp; the scratch folder only has the per-file limit "
                f"({human_size(limits.file_size)}): grade as root to give it a quota")
    else:
        disk = f"disk: no quota, only the per-file limit ({human_size(limits.file_size)})"
    if "pids cgroup" in found:
        processes = f"pids {limits.processes}"
    elif os.geteuid() != 0:
        processes = f"processes {limits.processes} (RLIMIT_NPROC)"
    else:
        processes = "processes UNLIMITED (root without a pids cgroup)"
    start = ("forked warm from a fork server" + (" (user namespaces)" if os.geteuid() != 0 else "") if warm()
             else "bubblewrap" if bwrap() else "UNSANDBOXED")
    return f"kernels: {start}; limits: {memory}, {disk}, {processes}, CPU {limits.cpu_time} s"


def confine(numbers, cgroup):
    """Join the kernel's cgroups and set its rlimits (``numbers``: ``limit_numbers``), for this process and what it
    starts: the launcher before it execs bubblewrap, the fork server's supervisor before it forks the kernel."""
    memory, cpu, fsize, nproc = numbers
    groups = kernel_cgroups()
    joined = groups.join(cgroup, memory, nproc) if groups and cgroup else set()
    # The address space stands in for a memory cgroup; CUDA reserves terabytes of it, so not with a GPU.
    address_space = resource.RLIM_INFINITY if "memory" in joined or gpu_visible() else memory
    limits = [(resource.RLIMIT_AS, address_space), (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_FSIZE, fsize),
              (resource.RLIMIT_CORE, 0)]
    if os.geteuid() != 0:  # counts every process of the uid; for root it does not bind, the cgroup does
        limits.append((resource.RLIMIT_NPROC, nproc))
    for which, value in limits:
        resource.setrlimit(which, (value, value))


def main(args):
    """``python -m grader.sandbox MEMORY,CPU,FSIZE,NPROC CGROUP -- argv...``: join the cgroups, set rlimits, exec."""
    confine([int(x) for x in args[0].split(",")], args[1])
    argv = args[args.index("--") + 1:]
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
