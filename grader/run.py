"""Run one submission: rebuild its notebook, run it in a sandboxed kernel with each question's probe in place
of its test cell, and bring back what the probes recorded (judged later, in the grading process)."""
import asyncio
import atexit
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbgrader.utils import compute_checksum, determine_grade

from grader import assemble as asm
from grader.cells import grade_id, is_answer, is_graded, is_test, student_added
from grader import probedata, sandbox, scan
from grader.guard import SECRET_FILE, TOKEN_MIME
from grader.kernel import SandboxedKernelManager, kernel_env


@dataclass
class Outcome:
    """A graded submission, as plain data (it travels back from cluster workers)."""

    student: str
    assignment: str
    scores: dict = field(default_factory=dict)  # grade_id -> (score, max_score)
    comments: dict = field(default_factory=dict)  # answer grade_id -> nbgrader's auto comment
    notes: list = field(default_factory=list)  # what the student should know
    flags: list = field(default_factory=list)  # reasons an instructor should review it
    probe_data: dict = field(default_factory=dict)  # question -> the bytes its probe wrote (untrusted), or None
    mistakes: dict = field(default_factory=dict)  # question -> id of the known mistake its data matched
    notebook: object = None  # the executed notebook, or None if it could not run
    ran: bool = False  # whether the notebook could be read and run
    seconds: float = 0.0

    @property
    def total(self):
        return sum(s for s, _ in self.scores.values() if s is not None)


@dataclass(frozen=True)
class Task:
    """Everything a worker needs to grade one submission: no shared database, no shared folders."""

    student: str
    assignment: str
    notebook_name: str
    source: object  # the instructor's notebook (hidden tests included)
    released: object  # the student version
    submission: dict  # relative path -> bytes, as submitted
    assignment_files: dict  # relative path -> bytes: the assignment's other files (figures, data)
    limits: sandbox.Limits = sandbox.Limits()
    env: dict = field(default_factory=dict)  # extra kernel environment (COURSE_DATA_DIR, COURSE_DEVICE)
    data_dirs: tuple = ()  # read-only inside the sandbox
    probes: dict = field(default_factory=dict)  # test grade_id -> probe source: run instead of the test cell
    released_files: frozenset = frozenset()  # relative paths the lesson was released with: never "extra" files


PROBES = ".probes"  # in the kernel's folder: where probes write their data


def probe_cell(question, folder, source):
    """The code a test cell runs when its question is judged from data: the probe, nothing of the test."""
    return f"__import__('grader_recorder').probe({question!r}, {str(folder)!r}, {source!r})"


KILL_GRACE = 10  # seconds a cell gets after its time limit to answer the interrupt before the kernel is killed


OUTPUT_TYPES = ("display_data", "execute_result", "update_display_data")
SHOWN = 200  # characters of a kernel's error message repeated in a flag


class Client(NotebookClient):
    """nbclient keeping only what the kernel's meter admits, and the grader's token only where it asked for one.

    The meter (``grader.messages``) counts every byte first; here, dropped messages end their cell's output
    with one note, and output carrying the grader's MIME type anywhere but the running probe is forged.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.truncated, self.forged, self.unreadable = set(), set(), 0
        self.errors = {}  # cell index -> (ename, evalue) from the cell's execute_reply
        self.finished = set()  # cells whose end (the kernel's idle status) the grader saw
        self.probe = None  # (cell index, nonce) of the probe running now

    def process_message(self, msg, cell, cell_index):
        content = msg["content"]
        if msg["msg_type"] == "status" and content.get("execution_state") == "idle":
            self.finished.add(cell_index)
        data = content.get("data") if msg["msg_type"] in OUTPUT_TYPES else None
        if isinstance(data, dict) and TOKEN_MIME in data:
            token = data[TOKEN_MIME]
            nonce = token.get("nonce") if isinstance(token, dict) else None
            if msg["msg_type"] == "display_data" and self.probe == (cell_index, nonce):
                cell.outputs.append(nbformat.v4.new_output("display_data", data={TOKEN_MIME: token}))
            else:
                self.forged.add(cell_index)
            return None
        if msg.get("dropped"):
            if cell_index not in self.truncated:
                self.truncated.add(cell_index)
                cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                    "\n[grader: output limit reached; the rest of this cell's output was dropped]\n")))
            return None
        try:
            return super().process_message(msg, cell, cell_index)
        except (KeyError, TypeError, ValueError, AttributeError):  # a message no kernel of ours sends
            self.unreadable += 1
            return None

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        content = (exec_reply or {}).get("content") or {}
        if content.get("status") == "error":
            self.errors[cell_index] = (str(content.get("ename"))[:SHOWN], str(content.get("evalue"))[:SHOWN])
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)


def _error(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


async def execute(nb, workdir, task, secret, guard_dir):
    """Run ``nb`` in place, in a sandboxed kernel.

    Returns (question -> what the guard put back, notes for the student, reasons to review)."""
    limits = task.limits
    env = kernel_env(workdir, limits, task.env, guard_dir)
    km = SandboxedKernelManager(workdir, limits, env, task.data_dirs)
    client = Client(nb, km=km, timeout=limits.cell_timeout, allow_errors=True, interrupt_on_timeout=True,
                    error_on_timeout={"ename": "CellTimeoutError", "evalue": (
                        "this cell ran past its time limit: look for an endless loop or a very slow step"),
                        "traceback": []},
                    startup_timeout=120, iopub_timeout=10, shutdown_kernel="immediate", store_widget_state=False,
                    resources={"metadata": {"path": str(workdir)}})
    deadline = time.monotonic() + limits.notebook_timeout
    client.timeout_func = lambda cell: max(1, min(limits.cell_timeout, int(deadline - time.monotonic())))
    tokens, notes, flags, dead, ran, killed, kinds = {}, [], [], None, [], {}, {}
    (Path(workdir) / SECRET_FILE).write_text(secret)  # read and deleted by the guard when the kernel starts
    try:
        async with client.async_setup_kernel(cleanup_kc=True):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                if dead:
                    cell.outputs = [_error("NotRun", dead)] if is_test(cell) else []
                    continue
                ran.append(index)
                original, nonce = cell.source, secrets.token_hex(16)
                kind = kinds[index] = ("test" if is_test(cell) else None if is_answer(cell) or student_added(cell)
                                       else "setup")
                if kind == "test":  # the question's probe runs in its place: nothing of the test cell's code
                    question = grade_id(cell)
                    cell.source = probe_cell(question, Path(workdir) / PROBES, task.probes.get(question, ""))
                    client.probe = (index, nonce)
                if kind:
                    cell.source = f"#grader {secret} {kind} {nonce}\n{cell.source}"
                budget, started = client.timeout_func(cell) + KILL_GRACE, time.monotonic()
                try:  # nbclient interrupts a cell at its time limit; this stops one that ignores the interrupt
                    try:
                        await asyncio.wait_for(client.async_execute_cell(cell, index), timeout=budget)
                    except DeadKernelError:  # nbclient reports its cancellation by wait_for as a dead kernel
                        if time.monotonic() - started >= budget - 1:
                            raise TimeoutError from None
                        raise
                except DeadKernelError:
                    if km.meter.stopped:
                        sent = km.meter.stopped
                        dead = f"the notebook sent {sent}, so the grader stopped it"
                        cell.outputs.append(_error("OutputLimitError", f"this cell sent {sent} (every print and "
                                                                       "display counts), so the grader stopped the kernel"))
                        notes.append(f"cell {index + 1} sent {sent}, so the grader stopped the kernel; "
                                     "later cells did not run")
                    elif sandbox.out_of_memory(km.cgroup):  # its memory cgroup's OOM killer stopped it
                        memory = sandbox.human_size(limits.memory)
                        dead = f"the kernel ran out of memory ({memory}) before this cell"
                        cell.outputs.append(_error("MemoryError", f"the kernel ran out of memory ({memory}; the files "
                                                   "it wrote count too) while running this cell, so it was stopped"))
                        notes.append(f"the kernel ran out of memory ({memory}) in cell {index + 1}; later cells did "
                                     "not run")
                    else:
                        dead = "the kernel stopped (it crashed or ran out of memory) before this cell"
                        cell.outputs.append(_error("DeadKernelError", "the kernel crashed while running this cell "
                                                                      "(a segfault, os._exit or too much memory)"))
                        notes.append(f"the kernel crashed in cell {index + 1}; later cells did not run")
                except (asyncio.TimeoutError, TimeoutError):
                    dead = "an earlier cell did not stop at its time limit, so this one did not run"
                    killed[index] = _error("CellTimeoutError", "this cell did not stop, even when interrupted")
                    notes.append(f"cell {index + 1} ran past the time limit and could not be interrupted; "
                                 "later cells did not run")
                    await _stop(km)
                finally:
                    cell.source, client.probe = original, None
                if kind == "test":
                    tokens[grade_id(cell)] = _take_token(cell, nonce)
                    if tokens[grade_id(cell)] is None and not dead:
                        tokens[grade_id(cell)] = []
                        flags.append(f"infrastructure: {grade_id(cell)}: the grader's guard sent no token before its probe "
                                     f"(cell {index + 1}): it did not load, so nothing the submission changed was undone")
                    if not dead and index not in client.finished:
                        flags.append(f"{grade_id(cell)}: the grader did not see its probe finish (cell {index + 1}), "
                                     "so its outputs and the guard's findings may be incomplete")
                if time.monotonic() > deadline and not dead:
                    dead = f"the notebook ran past its {limits.notebook_timeout} s time limit"
                    notes.append(dead)
    except Exception as error:  # the kernel never started, or the client failed: nothing more can run
        atexit.unregister(client._cleanup_kernel)  # nbclient leaves it registered when the kernel fails to start
        reason = f"{type(error).__name__}: {str(error)[:SHOWN]}"
        if ran:
            notes.append(f"the grader lost contact with the kernel in cell {ran[-1] + 1}; later cells did not run")
            flags.append(f"infrastructure: the grader lost contact with the kernel in cell {ran[-1] + 1} ({reason})")
        else:
            notes.append("the grader could not start a kernel for this notebook; your instructor will look at it")
            flags.append(f"infrastructure: the kernel did not start ({reason})")
        log = km.log_path.read_text(errors="replace")[-2000:] if km.log_path.exists() else ""
        if log.strip():
            flags.append(f"kernel log: {log.strip()}")
        for index, cell in enumerate(nb.cells):
            if index not in ran[:-1] and is_test(cell):
                cell.outputs = [_error("NotRun", "the notebook could not be run")]
    finally:
        await _stop(km)
    for index, error in killed.items():  # after the loop: the cancelled cell's client may still have written
        nb.cells[index].outputs = [error]
    if client.truncated:
        notes.append(f"output over {limits.output // 1024} KiB was dropped")
    flags += _setup_failures(client.errors, kinds)
    if client.forged:
        flags.append("output carrying the grader's own MIME type came from the submission (cells "
                     f"{', '.join(str(i + 1) for i in sorted(client.forged))}); it was dropped")
    if client.unreadable or km.meter.unreadable:
        flags.append(f"the kernel sent {client.unreadable + km.meter.unreadable} messages no Python kernel sends; "
                     "they were dropped")
    return tokens, notes, flags


ENVIRONMENT_ERRORS = ("ModuleNotFoundError", "ImportError")


def _setup_failures(errors, kinds):
    """A review flag for the first of the lesson's own cells that failed: before any student code ran, whatever the error;
    after, when the error says the environment is broken."""
    student_ran = False
    for index, kind in sorted(kinds.items()):
        student_ran = student_ran or kind is None
        if kind == "setup" and index in errors and (not student_ran or errors[index][0] in ENVIRONMENT_ERRORS):
            ename, evalue = errors[index]  # the first one: later failures usually follow from it
            return [f"infrastructure: the lesson's own cell {index + 1} failed ({ename}: {evalue}); "
                    "check the grading environment"]
    return []


async def _stop(km):
    """Kill the kernel and its sandbox; a kernel that already died can make the cleanup itself fail."""
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:  # nothing left to save: make sure the process is gone, then its cgroup
        km.kill()
        sandbox.remove_cgroup(km.cgroup)


def _take_token(cell, nonce):
    """Remove the guard's token from a probe's outputs: what it had to put back before the probe ran (None when
    the guard sent no token)."""
    findings, kept = None, []
    for output in cell.get("outputs", []):
        token = output.get("data", {}).get(TOKEN_MIME) if output.get("output_type") == "display_data" else None
        if token is None:
            kept.append(output)
        elif token.get("nonce") == nonce:  # anything else is forged: dropped
            findings = (findings or []) + token.get("tampered", [])
    cell.outputs = kept
    return findings


def score(nb, tokens, outcome):
    """Scores as far as the kernel can tell them: none for questions (the judge scores their data later),
    nbgrader's rule for any other graded cell; what the guard had to put back becomes a review flag."""
    for cell in nb.cells:
        if not is_graded(cell):
            continue
        key = grade_id(cell)
        points, top = determine_grade(cell)
        if is_test(cell):
            points = 0
            if tokens.get(key):
                outcome.flags.append(f"{key}: before this question's probe ran, the grader had to undo changes the "
                                     "submission made: " + "; ".join(tokens[key]))
        outcome.scores[key] = (points, top)
    for cell in nb.cells:
        if is_answer(cell):
            unchanged = cell.metadata.nbgrader.get("checksum") == compute_checksum(cell)
            outcome.comments[grade_id(cell)] = "No response." if unchanged else None


def zero_scores(source):
    return {grade_id(c): (0, float(c.metadata.nbgrader["points"])) for c in source.cells if is_graded(c)}


def grade(task, workroot=None):
    """Grade one ``Task``; never raises for anything the submission does. Returns an Outcome."""
    started = time.monotonic()
    outcome = Outcome(task.student, task.assignment)
    workdir = Path(tempfile.mkdtemp(prefix=f"grade-{task.student[:40]}-", dir=workroot))
    try:
        folder = workdir / "submitted"
        for rel, data in task.submission.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        try:
            path, notes = asm.find_notebook(folder, task.notebook_name, task.released_files)
            submitted, more = asm.read_notebook(path)
        except asm.Unreadable as error:
            outcome.notes.append(str(error))
            outcome.scores = zero_scores(task.source)
            return outcome
        outcome.notes += notes + more
        nb, notes, flags = asm.assemble(task.source, task.released, submitted)
        outcome.notes += notes
        outcome.flags += flags + scan.suspicious(nb)
        run_dir = workdir / "run"
        run_dir.mkdir()
        sandbox.mount_scratch(run_dir, task.limits)  # as root: one quota for all the kernel writes, these files too
        for rel, data in task.assignment_files.items():
            (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (run_dir / rel).write_bytes(data)
        guard_dir = workdir / "guard"  # used only without bubblewrap; the sandbox mounts the guard itself
        guard_dir.mkdir()
        for name, module in sandbox.KERNEL_MODULES.items():
            shutil.copy(module, guard_dir / name)
        tokens, notes, flags = asyncio.run(execute(nb, run_dir, task, secrets.token_hex(16), guard_dir))
        outcome.notes += notes
        outcome.flags += flags
        outcome.probe_data = probedata.collect(run_dir / PROBES, task.probes)
        score(nb, tokens, outcome)
        outcome.notebook, outcome.ran = nb, True
        if sandbox.warning():
            outcome.flags.append("graded UNSANDBOXED: bubblewrap is not available on the grading machine")
        return outcome
    finally:
        outcome.seconds = time.monotonic() - started
        sandbox.unmount_scratch(workdir / "run")  # after the probes' data were read
        shutil.rmtree(workdir, ignore_errors=True)
