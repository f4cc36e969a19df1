"""Warm kernels (grader/forkserver.py): a kernel forked from the fork server is as confined as a cold
bubblewrap one, sees nothing of another kernel running beside it, goes with its client, and kernels start
cold where the server cannot run. What submissions try against either is the corpus's job
(test_bad_submissions.py), graded warm wherever the suite runs as root."""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader import forkserver, sandbox
from grader.kernel import SandboxedKernelManager, kernel_env
from lessons import REPO

needs_warm = pytest.mark.skipif(not sandbox.warm(), reason="warm kernels need root and mounting (grader/forkserver.py)")

REPORT = """
import glob, json, os, socket, sys, numpy
def writable(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return True
    except OSError:
        return False
def reaches(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
pids = [p for p in os.listdir("/proc") if p.isdigit()]
print(json.dumps({
    "uid": [os.getuid(), os.geteuid(), os.getgid()],
    "capabilities": [int(status[k], 16) for k in ("CapEff", "CapPrm", "CapBnd")],
    "no_new_privs": int(status["NoNewPrivs"]),
    "others": [open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace") for p in pids
               if int(p) not in (os.getpid(), 1)],
    "writes": {p: writable(p) for p in [os.getcwd() + "/mine", "/tmp/mine", sys.prefix + "/mine", "@COURSE@/mine"]},
    "sees": {p: bool(glob.glob(p)) for p in ["@SOLUTIONS@", "@OTHER@", "/tmp/grader-forkserver-*"]},
    "reaches_the_host": reaches(@PORT@),
    "modules": sorted(m for m in sys.modules if m.startswith("grader")),
    "init": open("/proc/1/cmdline", "rb").read().decode(errors="replace"),
    "random": numpy.random.rand(),
}))
"""


async def report(workdir, other, port):
    """What a kernel started in ``workdir`` says about its sandbox."""
    limits = sandbox.Limits()
    code = (REPORT.replace("@COURSE@", str(REPO / "course")).replace("@SOLUTIONS@", str(REPO / "solutions"))
            .replace("@OTHER@", str(other)).replace("@PORT@", str(port)))
    km = SandboxedKernelManager(workdir, limits, kernel_env(workdir, limits, {}, workdir))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    await NotebookClient(nb, km=km, timeout=120, startup_timeout=120, shutdown_kernel="immediate").async_execute()
    sandbox.remove_cgroup(km.cgroup)
    return json.loads(nb.cells[0].outputs[0]["text"])


@pytest.mark.parametrize("start", ["warm", "cold"])
def test_two_kernels_side_by_side_are_confined_and_blind_to_each_other(start, tmp_path, monkeypatch):
    if start == "warm" and not sandbox.warm():
        pytest.skip("warm kernels need root and mounting (grader/forkserver.py)")
    if start == "cold":
        monkeypatch.setenv("GRADER_KERNELS", "cold")
        if not sandbox.bwrap():
            pytest.skip("needs bubblewrap: apt-get install bubblewrap")
    first, second = tmp_path / "a" / "run", tmp_path / "b" / "run"
    for folder in (first, second):
        folder.mkdir(parents=True)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        async def both():
            return await asyncio.gather(report(first, second, port), report(second, first, port))

        reports = asyncio.run(both())
    for seen in reports:
        assert seen["uid"] == [sandbox.KERNEL_UID] * 3
        assert seen["capabilities"] == [0, 0, 0] and seen["no_new_privs"] == 1
        assert all("ipykernel" not in cmd and "grader" not in cmd for cmd in seen["others"]), seen["others"]
        writes = list(seen["writes"].values())
        assert writes == [True, True, False, False], seen["writes"]
        # the instructor's repository beyond course/, the other kernel's folder, the fork servers' folders
        assert not any(seen["sees"].values()), seen["sees"]
        assert not seen["reaches_the_host"]
        # the guard and the kernel's print streams, and nothing of the grader's own package
        assert seen["modules"] == ["grader_guard", "grader_streams"]
        assert ("grader.forkserver" if start == "warm" else "bwrap") in seen["init"]  # started as asked
    assert reports[0]["random"] != reports[1]["random"]  # NumPy's global generator is not the server's copy


UNPRIVILEGED_UID = 4242  # an ordinary user's uid, not the kernels' (65534)


@pytest.mark.skipif(os.geteuid() != 0, reason="the suite runs without root: the test above forked them warm so")
def test_an_instructor_without_root_forks_kernels_just_as_confined():
    """The isolation test above, run by an ordinary user: kernels are forked warm, in a user namespace where
    only that user's uid is mapped (to the kernels' 65534), and are as confined as a root grader's."""
    home = Path(tempfile.mkdtemp(prefix="unprivileged-"))  # short: a kernel's ipc socket paths must fit
    os.chown(home, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
    try:
        _as_an_ordinary_user(home)
    finally:
        shutil.rmtree(home)


def _as_an_ordinary_user(home):
    check = (f"import grader.forkserver as f, grader.sandbox as s; assert os.geteuid() == {UNPRIVILEGED_UID}; "
             "assert s.warm(), 'no warm kernels without root here'").replace("os.", "__import__('os').")
    pytest_run = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                  f"--basetemp={home / 't'}", f"{__file__}::test_two_kernels_side_by_side_are_confined_and_"
                  "blind_to_each_other[warm]"]
    env = {**os.environ, "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_ADDOPTS": ""}
    run = ["unshare", "--mount", "--propagation", "private", sys.executable, str(REPO / "tests" / "unprivileged.py"),
           str(UNPRIVILEGED_UID), sys.prefix, sys.base_prefix, str(REPO), str(home), "--"]
    checked = subprocess.run([*run, sys.executable, "-c", check], env=env, capture_output=True, text=True,
                             timeout=120)
    assert checked.returncode == 0, checked.stderr[-3000:]
    ran = subprocess.run([*run, *pytest_run], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout[-3000:] + ran.stderr[-3000:]


@needs_warm
def test_killing_the_client_ends_the_kernel_and_everything_it_started(tmp_path):
    limits = sandbox.Limits()
    km = SandboxedKernelManager(tmp_path, limits, kernel_env(tmp_path, limits, {}, tmp_path))
    procs = sandbox.kernel_cgroups().folders(km.cgroup)[0] / "cgroup.procs"

    async def start_then_kill():
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=120)
        await kc.execute_interactive("import subprocess\nchild = subprocess.Popen(['sleep', '600'])", timeout=120)
        running = procs.read_text().split()  # the supervisor, the kernel, its sleep
        kc.stop_channels()
        km.kill()
        return running

    running = asyncio.run(start_then_kill())
    assert len(running) >= 3
    deadline = time.monotonic() + 60  # a guard against a hang, not a speed check
    while procs.read_text().split() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert procs.read_text().split() == []
    assert sandbox.remove_cgroup(km.cgroup)


@needs_warm
def test_a_server_ends_with_its_grader_and_a_dead_one_is_replaced():
    env = {"PATH": os.environ["PATH"], "OMP_NUM_THREADS": "1", "WHO": "test_forkserver"}  # a server of its own
    first = forkserver.server(env)
    assert first.socket.is_socket()
    first.process.stdin.close()  # as when the grading process ends, however it ends
    assert first.process.wait(timeout=60) == 0
    second = forkserver.server(env)
    assert second is not first and second.process.poll() is None and second.socket.is_socket()
    assert not first.folder.exists()


def test_kernels_start_cold_where_the_server_cannot_run(tmp_path, monkeypatch):
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "kernel.json"]
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # not root, where user namespaces are not allowed
    monkeypatch.setattr(forkserver, "user_namespaces", lambda: False)
    assert not sandbox.warm() and forkserver.command(argv, tmp_path, {}, sandbox.Limits()) is None
    monkeypatch.undo()
    monkeypatch.setenv("GRADER_KERNELS", "cold")
    assert not sandbox.warm() and forkserver.command(argv, tmp_path, {}, sandbox.Limits()) is None
    assert "kernels: bubblewrap" in sandbox.summary(sandbox.Limits()) or not sandbox.bwrap()


def test_a_kernel_never_starts_unsandboxed_when_the_server_fails_without_bubblewrap(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "warm", lambda: True)
    monkeypatch.setattr(forkserver, "server", lambda env: None)  # it failed to start
    monkeypatch.setattr(sandbox, "bwrap", lambda: None)
    limits = sandbox.Limits()
    km = SandboxedKernelManager(tmp_path, limits, kernel_env(tmp_path, limits, {}, tmp_path))
    with pytest.raises(RuntimeError, match="has no sandbox"):
        km.format_kernel_cmd()
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/usr/bin/bwrap")  # then bubblewrap takes over
    assert "/usr/bin/bwrap" in km.format_kernel_cmd()
