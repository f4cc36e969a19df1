"""Warm kernels: a fork server that imports PyTorch, NumPy and the kernel machinery once, and forks each
submission's kernel from it into a sandbox of its own.

Starting Python and importing torch is most of what a cold kernel costs (about 1.5 of its 1.9 s). The server
is started by the grading process (one per process and thread setting), never runs student code, and takes
requests only over a socket in a folder only its own user can enter. Each request forks a supervisor, which

1. joins the kernel's cgroups and sets its rlimits (``sandbox.confine``, as the cold launcher does);
2. enters new mount, pid, network, ipc, uts and cgroup namespaces (without root, a user namespace first, in
   which the grader's uid is the kernel's, 65534, and nothing else is mapped, as unprivileged bubblewrap does)
   and builds the filesystem bubblewrap would build from the same plan (``sandbox.mounts``: the system
   read-only, the scratch folder writable, /tmp, a minimal /dev, a fresh /proc);
3. forks pid 1 of the new pid namespace: it pivots into that root, drops to uid 65534 with no capabilities
   (bounding set included) and no_new_privs, starts a session of its own, then forks the kernel, which runs
   ``ipykernel_launcher`` in place of ``python -m ipykernel_launcher``, and reaps as bubblewrap's init does;
4. waits for the kernel to end, or for its client to go (then kills it: the whole pid namespace goes with it).

The client (``forkclient.py``) is the process jupyter_client starts, polls and kills, as it would a cold
kernel's launcher. So each kernel is a fresh process that no other submission ever touched, with the same
isolation and limits as a cold one. As root, or without root where unprivileged user namespaces are
allowed (``supported``); elsewhere kernels start cold (``sandbox.warm``).
"""
import atexit
import ctypes
import gc
import importlib
import json
import os
import platform
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from functools import lru_cache
from pathlib import Path

from grader import sandbox

CLIENT = Path(__file__).resolve().parent / "forkclient.py"
# Imported once, before any fork: what every kernel needs and takes longest to import.
PRELOAD = ("torch", "numpy", "matplotlib.pyplot", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel",
           "ipykernel.zmqshell", "ipykernel.debugger", "jupyter_client.session", "zmq", "tornado.ioloop",
           "matplotlib_inline.backend_inline")
# Probes call students' code on "meta" tensors (a device and a shape, no data). PyTorch's first meta operation
# with a Python number imports its reference operators and sympy, about 1 s: paid once here, not per kernel.
WARM_UP = "x = torch.zeros(2, 2, device='meta'); (x @ x + 1).sum()"
READY = b"ready\n"
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 18, 1 << 21
# statvfs's flags of a mount -> the MS_ flags a remount must keep (in a user namespace, the kernel refuses to
# clear them: they are locked)
KEPT_FLAGS = {os.ST_RDONLY: MS_RDONLY, os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
              os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 38, 47, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(platform.machine())
CAPABILITY_VERSION_3 = 0x20080522


_servers, _lock = {}, threading.Lock()
PER_KERNEL = ("HOME", "TMPDIR", "JUPYTER_RUNTIME_DIR")  # the rest of a kernel's environment keys its server


def supported():
    """Whether this machine can fork warm kernels: a known pivot_root and capset, and root with mounting
    allowed or, without root, user namespaces that can build a kernel's root (``user_namespaces``)."""
    if SYS_PIVOT_ROOT is None or SYS_CAPSET is None:
        return False
    return sandbox.can_mount() if os.geteuid() == 0 else user_namespaces()


@lru_cache(maxsize=None)
def user_namespaces():
    """Whether this user can do here what a kernel's supervisor and pid 1 do without root (many distributions
    restrict unprivileged user namespaces, or mounting /proc in them): tried once, in a throwaway process."""
    probe = subprocess.run([sys.executable, "-m", "grader.forkserver", "--probe"], capture_output=True, timeout=60)
    return probe.returncode == 0


# --- the grading process's side ------------------------------------------------------------------------------
class Server:
    """A running fork server: its socket, and the pipe whose end tells it to stop."""

    def __init__(self, env):
        self.folder = Path(tempfile.mkdtemp(prefix="grader-forkserver-"))  # 0700, the grader's: kernels never see it
        self.socket = self.folder / "socket"
        (self.folder / "root").mkdir()  # where each kernel's new root is mounted, in its own namespace
        log = open(self.folder / "log", "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "grader.forkserver", str(self.socket)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                        cwd=self.folder, env={**env, "HOME": str(self.folder)})
        log.close()
        ready = self.process.stdout.readline()
        if ready != READY:
            log = self.log()[-1000:]
            self.stop()
            raise RuntimeError(f"the fork server did not start: {log or ready[:200]!r}")

    def log(self):
        return (self.folder / "log").read_text(errors="replace") if (self.folder / "log").exists() else ""

    def stop(self):
        if self.process.stdin:
            self.process.stdin.close()  # the server ends on its stdin's EOF
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def server(env):
    """The fork server for kernels with this base environment (started on first use, again if it died, stopped
    at exit), or None where kernels start cold; a server that fails to start is said on stderr, once, and
    kernels start cold."""
    if not sandbox.warm():
        return None
    key = tuple(sorted(env.items()))
    with _lock:
        if _servers.get(key) and _servers[key].process.poll() is not None:  # it died (killed?): a new one
            _servers.pop(key).stop()
        if key not in _servers:
            try:
                _servers[key] = Server(env)
                atexit.register(_servers[key].stop)
            except (OSError, RuntimeError) as error:
                print(f"grader: kernels start cold: {error}", file=sys.stderr)
                _servers[key] = None
        return _servers[key]


def command(argv, workdir, env, limits, data_dirs=(), cgroup=None):
    """The client command that has the fork server start ``argv`` (``python -m ipykernel_launcher ...``) in a
    sandbox built from ``sandbox.mounts``; None where kernels start cold."""
    base = {k: v for k, v in env.items() if k not in PER_KERNEL}
    found = server(base)
    if found is None:
        return None
    request = {"argv": list(argv[1:]), "env": dict(env), "cwd": os.path.abspath(workdir),
               "limits": list(sandbox.limit_numbers(limits)), "cgroup": cgroup or "", "disk": limits.disk,
               "mounts": sandbox.mounts(workdir, limits, data_dirs), "root": str(found.folder / "root")}
    return [sys.executable, "-I", "-S", str(CLIENT), str(found.socket), json.dumps(request)]


# --- the server ----------------------------------------------------------------------------------------------
def serve(path):
    """Import what kernels need, then fork a supervisor per connection until stdin closes."""
    for name in PRELOAD:
        __import__(name)
    exec(WARM_UP, {"torch": sys.modules["torch"]})
    # What was imported lives as long as the server: out of the collector's sight, a kernel's collections never
    # walk (and copy, page by page) the inherited heap. It cost each kernel 0.24 s once sympy was in it.
    gc.freeze()
    if threading.active_count() != 1:  # native pools may run (NumPy's OpenBLAS): they stop and restart at fork
        raise SystemExit("the fork server has Python threads after its imports; forking it would be unsafe")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel (Linux)
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
            return
        if listener in ready:
            conn, _ = listener.accept()
            if os.fork() == 0:
                code = 70
                try:
                    listener.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    code = supervise(conn)
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(code)
            conn.close()


def _receive(conn):
    """(request, [stdin, stdout, stderr]) from a client: a length, the JSON, the descriptors."""
    head, fds, _, _ = socket.recv_fds(conn, 4, 3)
    size, data = struct.unpack("!I", head)[0], b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("the client went away")
        data += chunk
    return json.loads(data), fds


def supervise(conn):
    """One kernel's supervisor (in the server's namespaces until it builds the kernel's): returns the exit
    status to hand its client."""
    request, fds = _receive(conn)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sandbox.confine(request["limits"], request["cgroup"])
    libc = _libc()
    _enter_namespaces(libc)
    root = request["root"]
    _build_root(libc, root, request["mounts"], request["disk"])
    pid = os.fork()
    if pid == 0:  # pid 1 of the new pid namespace
        code = 71
        try:
            conn.close()
            code = _kernel(libc, root, request)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    conn.sendall(struct.pack("!i", pid))  # started
    watched = os.pidfd_open(pid)
    ready, _, _ = select.select([conn, watched], [], [])
    if watched not in ready:  # the client went away (killed): the kernel goes too, and its namespace with it
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    try:
        conn.sendall(struct.pack("!i", code))
    except OSError:
        pass
    return 0


def _enter_namespaces(libc):
    """New mount, pid, network, ipc, uts and cgroup namespaces; without root, in a new user namespace that maps
    the grader's uid and gid, and only them, to the kernel's (its files are the kernel's, nothing else is)."""
    rootless = os.geteuid() != 0
    uid, gid = os.geteuid(), os.getegid()
    _check(libc.unshare((CLONE_NEWUSER if rootless else 0) | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET
                        | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP), "unshare")
    if rootless:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{sandbox.KERNEL_UID} {uid} 1"),
                           ("gid_map", f"{sandbox.KERNEL_UID} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")


def _build_root(libc, root, mounts, disk):
    """The kernel's filesystem under ``root``, as bubblewrap builds it: a small tmpfs with mount points, /dev,
    then each of ``sandbox.mounts`` in order."""
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    dev = f"{root}/dev"
    os.mkdir(dev)
    _mount(libc, "tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
    for name in DEVICES:
        open(f"{dev}/{name}", "w").close()
        _mount(libc, f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for name, target in DEV_LINKS.items():
        os.symlink(target, f"{dev}/{name}")
    os.mkdir(f"{dev}/shm")
    _mount(libc, "tmpfs", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={disk}")
    os.mkdir(f"{root}/proc")
    for op, source, destination in mounts:
        target = root + destination
        if op == "symlink":
            os.symlink(source, target)
        elif op == "tmpfs":
            os.makedirs(target, exist_ok=True)
            _mount(libc, "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={source}")
        else:
            if os.path.isdir(source):
                os.makedirs(target, exist_ok=True)
            elif not os.path.exists(target):  # it may lie in an earlier read-only bind (/etc/localtime in /usr)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "a").close()
            if op == "bind" and os.geteuid() == 0:  # the kernel's writable folders are its own (a cold kernel
                _give(source)  # is their owner, mapped; without root, the grader's uid already is the kernel's)
            _mount(libc, source, target, None, MS_BIND | MS_REC)
            flags = MS_NOSUID | (0 if op == "dev-bind" else MS_NODEV) | (MS_RDONLY if op == "ro-bind" else 0)
            for point in _mounts_under(target):  # submounts too: a recursive bind keeps theirs writable
                _mount(libc, None, point, None, MS_BIND | MS_REMOUNT | flags | _kept_flags(point))


def _give(folder):
    """Make the folder the grader prepared (the scratch folder, its /tmp) the kernel's uid's, links not followed."""
    for path, dirs, files in os.walk(folder):
        os.lchown(path, sandbox.KERNEL_UID, sandbox.KERNEL_UID)
        for name in dirs + files:
            os.lchown(os.path.join(path, name), sandbox.KERNEL_UID, sandbox.KERNEL_UID)


def _kernel(libc, root, request):
    """In pid 1 of the kernel's namespaces: enter its root, drop every privilege, start the kernel, reap."""
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    _enter_root(libc, root)
    _drop_privileges(libc)
    pid = os.fork()
    if pid == 0:
        return _run_kernel(request)
    while True:  # pid 1 reaps what the kernel leaves, and ends with it (then the kernel stops its namespace)
        child, status = os.wait()
        if child == pid:
            return os.waitstatus_to_exitcode(status)


def _enter_root(libc, root):
    """Mount /proc, pivot into ``root`` (read-only), bring up loopback, start a session of its own."""
    _mount(libc, "proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    _check(libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")  # the old root is stacked on the new one...
    _check(libc.umount2(b".", MNT_DETACH), "umount old root")  # ...and goes
    os.chdir("/")
    _mount(libc, None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _loopback_up()
    os.setsid()


def _drop_privileges(libc):
    """Become the kernel's uid with no capability left (bounding and ambient sets too) and no_new_privs. From
    root, changing uid drops them all; in a user namespace the uid already is the kernel's, so capset does."""
    for cap in range(64):  # the bounding set: nothing can be regained, even by an exec
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    _check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(CAP_AMBIENT_CLEAR_ALL)")
    if os.geteuid() == 0:
        os.setgroups([])  # (a user namespace has none but the mapped gid, and may not set them)
    os.setresgid(sandbox.KERNEL_UID, sandbox.KERNEL_UID, sandbox.KERNEL_UID)
    os.setresuid(sandbox.KERNEL_UID, sandbox.KERNEL_UID, sandbox.KERNEL_UID)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    _check(libc.syscall(SYS_CAPSET, header, (ctypes.c_uint32 * 6)()), "capset")  # effective, permitted, inheritable
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    if _capabilities() != (0, 0):
        raise SystemExit("the kernel kept capabilities after dropping to its uid")


def probe():
    """What ``user_namespaces`` asks: a throwaway kernel root, built and entered as a kernel's is (no kernel
    runs in it); 0 when every step worked."""
    root = tempfile.mkdtemp(prefix="grader-probe-")
    try:
        supervisor = os.fork()
        if supervisor == 0:
            os._exit(_try(_probe_supervisor, root))
        return os.waitstatus_to_exitcode(os.waitpid(supervisor, 0)[1])
    finally:
        os.rmdir(root)  # its mounts were in the supervisor's namespace, gone with it


def _probe_supervisor(root):
    libc = _libc()
    _enter_namespaces(libc)
    _build_root(libc, root, [("tmpfs", 1 << 20, "/tmp"), ("ro-bind", sys.prefix, sys.prefix)], 1 << 20)
    pid = os.fork()
    if pid == 0:
        os._exit(_try(lambda: (_enter_root(libc, root), _drop_privileges(libc))))
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
        raise SystemExit("a kernel's pid 1 could not enter its root or drop its privileges")


def _try(step, *args):
    """0 when ``step`` ran, else 1, with why on stderr (in a forked child that must not unwind)."""
    try:
        step(*args)
        return 0
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stderr.flush()


def _run_kernel(request):
    """The kernel itself (pid 2, as under bubblewrap): its folder, environment and imports as a cold one's."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"], PWD=request["cwd"])
    for name in [m for m in sys.modules if m == "grader" or m.startswith("grader.")]:
        del sys.modules[name]  # a kernel has no grader package, as a cold one
    sys.path[:] = [request["cwd"], *(p for p in sys.path[1:] if p)]  # as `python -m` started in the workdir
    sys.path_importer_cache.clear()  # the server saw no /opt/grader: its finders must look again
    importlib.invalidate_caches()
    if "numpy.random" in sys.modules:  # the server's warm-up imported it: a fresh seed, as a fresh process has
        sys.modules["numpy.random"].seed()  # (Python's own random module reseeds itself at fork)
    argv = request["argv"]
    if argv[:2] != ["-m", "ipykernel_launcher"]:
        raise SystemExit(f"the fork server only starts ipykernel, not {argv[:2]}")
    sys.argv = ["ipykernel_launcher", *argv[2:]]
    import runpy
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    return 0


def _capabilities():
    """(effective, permitted) capability sets."""
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(status["CapEff"], 16), int(status["CapPrm"], 16)


def _kept_flags(point):
    """The flags of the mount at ``point`` a remount must keep (``KEPT_FLAGS``)."""
    have = os.statvfs(point).f_flag
    return sum(flag for st, flag in KEPT_FLAGS.items() if have & st)


def _loopback_up():
    """The new network namespace's loopback, up (as bubblewrap leaves it): nothing else is there."""
    import fcntl
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s, 0x8914, struct.pack("16sh22x", b"lo", 1 | 0x40))  # SIOCSIFFLAGS: IFF_UP | IFF_RUNNING


def _mounts_under(target):
    points = [line.split()[4] for line in open("/proc/self/mountinfo")]
    return [p for p in points if p == target or p.startswith(target.rstrip("/") + "/")]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    text = ctypes.c_char_p
    libc.mount.argtypes = [text, text, text, ctypes.c_ulong, text]
    libc.umount2.argtypes = [text, ctypes.c_int]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return libc


def _mount(libc, source, target, fstype, flags, options=None):
    encode = lambda x: os.fsencode(x) if x is not None else None  # noqa: E731
    _check(libc.mount(encode(source), encode(target), encode(fstype), flags, encode(options)), f"mount {target}")


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


if __name__ == "__main__":
    sys.exit(probe()) if sys.argv[1] == "--probe" else serve(sys.argv[1])
