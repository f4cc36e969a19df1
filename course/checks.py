"""Checks used by the notebooks' tests; every failure says what was expected and the likely mistake."""
import sysconfig
import textwrap
import traceback
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

WIDTH = 80  # nbgrader's Validate cuts lines at 83 characters after its indent
HEADER = "Check failed:"
SHOWN_FRAMES = 4  # innermost frames of notebook code shown under a failure
_NOT_NOTEBOOK = (Path(__file__).resolve().parent,
                 *{Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib")})


class CheckFailed(AssertionError):
    """A check's verdict. In a notebook it shows as its hint, not as a traceback through this package.

    IPython shows what ``_render_traceback_`` returns instead of the traceback, and Validate shows the
    same lines; errors that are not a check's keep IPython's full traceback. Raised ``from`` an error of
    the student's code, it adds where that error happened: the frames in notebook cells, not the course's,
    torch's or Python's.
    """

    def _render_traceback_(self):
        lines = textwrap.wrap(f"{HEADER} {self}", WIDTH, break_long_words=False, break_on_hyphens=False)
        lines[0] = f"\x1b[1;31m{HEADER}\x1b[0m{lines[0][len(HEADER):]}"  # red, as IPython colors errors
        cause = self.__cause__
        frames = [f for f in traceback.extract_tb(cause.__traceback__) if _in_notebook(f)] if cause else []
        if frames:
            lines.append("Where it happened in the notebook:")
            if len(frames) > SHOWN_FRAMES:
                lines.append(f"  ... {len(frames) - SHOWN_FRAMES} earlier calls not shown")
            for frame in frames[-SHOWN_FRAMES:]:
                lines.append(f"  {_cell_name(frame.filename)}, line {frame.lineno}, in {frame.name}")
                lines.extend([f"    {frame.line}"] if frame.line else [])
        return lines


def _in_notebook(frame):
    """Whether ``frame`` ran code of the notebook (a cell), not of the course, a library or Python."""
    path = Path(frame.filename).resolve()
    return not (frame.filename.startswith("<frozen ") or {"site-packages", "dist-packages"} & set(path.parts)
                or any(path.is_relative_to(folder) for folder in _NOT_NOTEBOOK))


def _cell_name(filename):
    """IPython's name for the cell that ``filename`` compiled ("Cell In[7]"), as its own tracebacks say."""
    from IPython import get_ipython

    shell = get_ipython()
    name = shell.compile.format_code_name(filename) if shell else None
    return " ".join(name) if name else filename


def check(condition, hint):
    """Fail with ``hint`` unless ``condition``: a test cell's ``assert``, shown as a check's hint when it fails."""
    if not condition:
        raise CheckFailed(hint)


def seeded_randn(*shape, seed, device="cpu", dtype=torch.float32):
    """Standard-normal tensor drawn on the CPU from ``seed``, then moved: identical on every device."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device)


def check_tensor(actual, name):
    """Fail unless ``actual`` is a tensor."""
    if not isinstance(actual, torch.Tensor):
        raise CheckFailed(f"{name} should be a torch.Tensor but is {type(actual).__name__}: "
                          "did you forget a `return`, or return a Python number?")


def check_shape(actual, expected, name, hints=None):
    """Fail unless ``actual`` has shape ``expected``; ``hints`` maps a wrong shape to what probably caused it."""
    check_tensor(actual, name)
    got, want = tuple(actual.shape), tuple(expected)
    if got != want:
        hint = (hints or {}).get(got)
        raise CheckFailed(f"{name}: expected shape {want} but got {got}" + (f": {hint}" if hint else ""))


def check_device(actual, device, name):
    """Fail unless ``actual`` lives on ``device``."""
    check_tensor(actual, name)
    if torch.device(actual.device) != torch.device(device):
        raise CheckFailed(
            f"{name} is on {actual.device} but the inputs were on {device}: create new tensors with "
            "`device=x.device` (or `torch.zeros_like(x)` and friends) so the code runs on any device"
        )


def tolerance(device):
    """(rtol, atol) that float32 results meet on ``device``: CUDA may use TF32 for matmuls and convolutions."""
    return (2e-3, 2e-3) if torch.device(device).type == "cuda" else (1e-4, 1e-5)


def _close(a, b, rtol, atol):
    return a.shape == b.shape and torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def _short(t):
    flat = t.flatten()
    text = ", ".join(f"{v:.4f}" for v in flat[:6].tolist())
    return f"[{text}{', ...' if flat.numel() > 6 else ''}]"


def check_close(actual, expected, name, mistakes=None, shape_hints=None, nan_hint=None, rtol=None, atol=None):
    """Fail unless ``actual`` matches ``expected`` in shape and value (compared in float64 on the CPU).

    ``mistakes`` maps a hint to the value a known mistake produces: when ``actual`` equals one
    of them, that hint is the message. ``shape_hints`` does the same for wrong shapes, and
    ``nan_hint`` replaces the message for an unexpected nan.
    """
    expected = torch.as_tensor(expected)
    check_shape(actual, expected.shape, name, shape_hints)
    default_rtol, default_atol = tolerance(actual.device)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    got = actual.detach().to("cpu", torch.float64)
    want = expected.detach().to("cpu", torch.float64)
    if _close(got, want, rtol, atol):
        return
    if torch.isnan(got).any() and not torch.isnan(want).any():
        raise CheckFailed(f"{name} contains nan: " + (nan_hint or "a value overflowed to inf "
                          "(exp of a large number?) or you divided 0 by 0"))
    for hint, wrong in (mistakes or {}).items():
        wrong = torch.as_tensor(wrong).detach().to("cpu", torch.float64)
        if _close(got, wrong, rtol, atol):
            raise CheckFailed(f"{name} is wrong: {hint}")
    raise CheckFailed(f"{name}: expected {_short(want)} but got {_short(got)}")


def call(function, *args, name, hints=None):
    """Return ``function(*args)``; an exception becomes a failure naming the call and, where known, the cause.

    ``hints`` maps a piece of the error message to the likely mistake behind it. The failure is raised
    from the student's error, so that it can show where in their code that error happened.
    """
    try:
        return function(*args)
    except NotImplementedError:
        raise CheckFailed(f"{name}: not implemented yet. Replace `raise NotImplementedError()` "
                          "with your code") from None
    except Exception as error:  # the student's code may raise anything
        hint = next((h for key, h in (hints or {}).items() if key in str(error)), None)
        raise CheckFailed(f"{name} raised {type(error).__name__} ({error})" + (f": {hint}" if hint else "")) from error


class _OperationCounter(TorchFunctionMode):
    """Counts the torch functions and tensor methods called while it is active."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def call_vectorized(function, *args, name, limit, hints=None):
    """Like ``call``, and fail when ``function`` runs more than ``limit`` torch operations.

    Vectorized code runs a handful of operations whatever the input size; a Python loop over
    elements runs some for every element, so the count gives it away without timing anything.
    """
    counter = _OperationCounter()
    with counter:
        result = call(function, *args, name=name, hints=hints)
    if counter.count > limit:
        raise CheckFailed(f"{name} ran {counter.count} tensor operations where {limit} are plenty: "
                          "did you loop over elements in Python? Let whole-tensor "
                          "operations and broadcasting do the work")
    return result


def check_unchanged(tensor, before, name):
    """Fail unless ``tensor`` still equals ``before`` (a clone taken before the student's code ran)."""
    if tensor.shape != before.shape or not torch.equal(tensor, before):
        raise CheckFailed(f"{name} changed the tensor it was given: work on a copy (`x.clone()`) or build "
                          "a new tensor (`torch.where`), and leave the input as it was")


class SimulatedGPUTensor(torch.Tensor):
    """A CPU tensor that refuses NumPy conversion as a CUDA tensor does, until ``.cpu()`` or ``.to("cpu")``.

    Lets a CPU-only grader check that code moves tensors to the CPU before ``.numpy()``;
    graders with a GPU also check on a real one.
    """

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.numpy, torch.Tensor.__array__) and not kwargs.get("force"):
            raise TypeError("can't convert cuda:0 device type tensor to numpy. "
                            "Use Tensor.cpu() to copy the tensor to host memory first.")
        result = super().__torch_function__(func, types, args, kwargs)
        moved = func is torch.Tensor.cpu or (func is torch.Tensor.to and _targets_cpu(args[1:], kwargs))
        return result.as_subclass(torch.Tensor) if moved else result


def _targets_cpu(args, kwargs):
    target = kwargs.get("device", args[0] if args else None)
    try:
        return target is not None and torch.device(target).type == "cpu"
    except (RuntimeError, TypeError):  # a dtype or a tensor, not a device
        return False


def simulated_gpu(tensor):
    """``tensor`` as a SimulatedGPUTensor (sharing its memory)."""
    return tensor.as_subclass(SimulatedGPUTensor)
