"""A kernel manager for one submission: its own runtime folder, ipc sockets, the sandbox (forked warm or
bubblewrap), message interrupts."""
import asyncio
import os
import subprocess
import sys
from pathlib import Path

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec

from course import progress
from grader import forkserver, messages, sandbox


def kernel_env(workdir, limits, extra, guard_dir):
    """The kernel's whole environment: nothing of the instructor's (tokens, keys, paths) leaks in."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir), "TMPDIR": "/tmp" if sandbox.confined() else str(workdir),
        "LANG": "C.UTF-8", "MPLBACKEND": "agg", "PYTHONNOUSERSITE": "1",
        "PYTHONPATH": sandbox.GUARD_DIR if sandbox.confined() else str(guard_dir),
        "OMP_NUM_THREADS": str(limits.threads), "MKL_NUM_THREADS": str(limits.threads),
        "JUPYTER_RUNTIME_DIR": str(Path(workdir) / ".runtime"), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        progress.ENV_VAR: "off",  # no progress bars in anyone's feedback
    }
    env.update(extra)
    return env


class SandboxedKernelManager(AsyncKernelManager):
    """An ipykernel started through ``grader.sandbox``, reachable only over its own ipc sockets.

    tcp cannot cross the sandbox's network namespace, and a runtime folder per kernel keeps one
    kernel from reaching another's sockets. Interrupts are messages: a signal would reach the
    sandbox launcher, not the kernel.
    """

    def __init__(self, workdir, limits, env, data_dirs=(), **kwargs):
        self.workdir = Path(os.path.abspath(workdir))
        runtime = self.workdir / ".runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        super().__init__(transport="ipc", connection_file=str(runtime / "kernel.json"),
                         client_factory=messages.MeteredClient, **kwargs)
        self.meter = messages.Meter(limits.output, limits.output_limit, self.kill)
        self.limits, self.sandbox_env, self.data_dirs = limits, env, tuple(data_dirs)
        self.cgroup = sandbox.new_cgroup_name()
        self.log_path = self.workdir.parent / "kernel.log"
        self._spec = KernelSpec(
            argv=[os.path.abspath(sys.executable), "-m", "ipykernel_launcher", "-f", "{connection_file}",
                  "--IPKernelApp.exec_lines=['import grader_guard', 'del grader_guard']",
                  "--IPKernelApp.outstream_class=grader_streams.BoundedOutStream",  # floods sent in small messages
                  # the guard runs before any student code; history off: nothing of a run outlives it
                  "--HistoryManager.enabled=False"],
            display_name="Python 3 (sandboxed grader)", language="python", interrupt_mode="message")

    def client(self, **kwargs):
        """A client reading iopub through this kernel's meter."""
        kc = super().client(**kwargs)
        kc.meter = self.meter
        return kc

    def kill(self):
        """Kill the sandbox now, from any state: its processes go with it (--die-with-parent)."""
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()

    @property
    def kernel_spec(self):
        return self._spec

    def format_kernel_cmd(self, extra_arguments=None):
        argv = super().format_kernel_cmd(extra_arguments)
        where = (argv, self.workdir, self.sandbox_env, self.limits, self.data_dirs, self.cgroup)
        warm = forkserver.command(*where)
        if warm is None and sandbox.warm() and not sandbox.bwrap():  # never unsandboxed where a sandbox was promised
            raise RuntimeError("the fork server did not start (see the grading log) and bubblewrap is not installed, "
                               "so this kernel has no sandbox")
        return warm or sandbox.command(*where)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = dict(self.sandbox_env)  # the launcher's own environment; the sandbox clears it again
        kw["cwd"] = str(self.workdir)
        kw["stdout"] = subprocess.DEVNULL
        kw["stderr"] = open(self.log_path, "ab")  # read back only when the kernel fails to start
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_wait(self, pollinterval=0.1):
        """Wait for the killed kernel to go, looking every 5 ms rather than jupyter_client's 0.1 s: it goes at
        once, and each submission would wait the rest."""
        await super()._async_wait(pollinterval=0.005)

    async def _async_cleanup_resources(self, restart=False):
        """The control socket goes without lingering: jupyter_client queues an interrupt on it before killing the
        kernel, and its context's 0.1 s linger would wait for a kernel that is gone."""
        if self._control_socket is not None:
            self._control_socket.close(linger=0)
            self._control_socket = None
        await super()._async_cleanup_resources(restart=restart)

    async def shutdown_kernel(self, now=False, restart=False):
        try:
            await super().shutdown_kernel(now=now, restart=restart)
        finally:
            for _ in range(20):  # the sandbox's processes take a moment to go
                if sandbox.remove_cgroup(self.cgroup):
                    break
                await asyncio.sleep(0.05)
