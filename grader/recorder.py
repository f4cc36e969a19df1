"""Runs inside a student's kernel (as ``grader_recorder``): calls the student's code on a probe's inputs and
writes down what came back, as plain data. It decides nothing.

A probe is instructor code, not secret: a function ``probe(rec)`` whose source the grader sends in a
cell. It builds inputs, calls the student's functions through ``rec.call`` and records observations.
What it records is written to ``<out>/<question>.npz`` (NumPy arrays and one JSON header, no pickles),
which the grader reads and judges outside the kernel. A student can make this data say anything; it
earns points only by matching the instructor's data, which never enters the kernel.
"""
import json
import math
import os

import numpy as np
import torch
import torch.overrides

MAX_ELEMENTS = 1 << 22  # per recorded tensor; more is recorded as an error
MAX_TEXT = 400  # characters kept of an error message


def _text(value):
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."


def _error(error):
    return {"kind": "error", "type": type(error).__name__, "message": _text(error)}


def _jsonable(value, depth=0):
    """Numbers, strings, None and (nested) sequences of them, as JSON; None if ``value`` is anything else."""
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else _text(value)
    if isinstance(value, int):
        return value if abs(value) < 1 << 62 else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (tuple, list, torch.Size)) and depth < 4 and len(value) <= 64:
        items = [_jsonable(v, depth + 1) for v in value]
        return None if any(i is None and v is not None for i, v in zip(items, value)) else items
    if isinstance(value, dict) and depth < 4 and len(value) <= 64 and all(isinstance(k, str) for k in value):
        items = {_text(k): _jsonable(v, depth + 1) for k, v in value.items()}
        return None if any(items[_text(k)] is None and v is not None for k, v in value.items()) else items
    if isinstance(value, (torch.dtype, torch.device)):
        return str(value)
    return None


class Recorder:
    """What a probe works with: the student's namespace, seeded inputs, calls that never raise."""

    def __init__(self, namespace):
        self.ns = namespace
        self.entries, self.arrays = [], {}

    # -- inputs --------------------------------------------------------------------------------------
    @staticmethod
    def randn(*shape, seed, device="cpu", dtype=torch.float32):
        """Standard-normal values drawn on the CPU from ``seed``, then moved: the same on every device."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(*shape, generator=generator, dtype=dtype).to(device)

    @staticmethod
    def devices():
        """The devices a probe runs on: the CPU, and CUDA when there is one; $COURSE_DEVICE picks one alone."""
        forced = os.environ.get("COURSE_DEVICE", "").strip()
        return [forced] if forced else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

    # -- observations --------------------------------------------------------------------------------
    def get(self, name):
        """The student's object called ``name``, or None (recorded as missing) when it is not defined."""
        if name not in self.ns:
            self._add(f"{name} is defined", {"kind": "error", "type": "NameError",
                                             "message": f"name '{name}' is not defined"})
            return None
        return self.ns[name]

    def call(self, label, function, *args, limit_ops=None, forbid=(), **kwargs):
        """``function(*args, **kwargs)`` (a name in the student's namespace, or a callable), recorded as ``label``.

        Also records whether the tensors it was given came back unchanged; with ``limit_ops``, whether it
        ran at most that many torch operations (a Python loop over elements runs thousands); with
        ``forbid``, whether it avoided the torch functions so named (the ones an exercise rebuilds by hand).
        Returns the result, or None when the call raised (the exception is what gets recorded).
        """
        if isinstance(function, str):
            if function not in self.ns:
                self._add(label, {"kind": "error", "type": "NameError", "message": f"name '{function}' is not defined"})
                return None
            function = self.ns[function]
        inputs = [a for a in [*args, *kwargs.values()] if isinstance(a, torch.Tensor)]
        before = [_snapshot(a) for a in inputs]
        counter = _OperationCounter()
        try:
            with counter:
                result = function(*args, **kwargs)
        except BaseException as error:  # SystemExit too: the probe goes on
            if isinstance(error, KeyboardInterrupt):
                raise
            self._add(label, _error(error))
            return None
        self.record(label, result)
        if forbid:
            self.claim(f"{label} works it out itself, without calling PyTorch's {' or '.join(forbid)}",
                       not counter.names & set(forbid))
        if limit_ops is not None:
            self.claim(f"{label} runs at most {limit_ops} tensor operations (whole-tensor operations, "
                       "not a Python loop over elements)", counter.count <= limit_ops)
        if inputs:
            self.record(f"{label} leaves its inputs unchanged",
                        all(_snapshot(a) == b for a, b in zip(inputs, before)), kind="unchanged")
        return result

    def build(self, label, constructor, *args, seed=0):
        """The student's module from ``constructor(*args)``, built under a fixed seed (so a model with random
        weights gives the same data every run), recorded with its parameters' names and shapes."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.call(label, constructor, *args)
        if model is not None:
            self.call(f"the parameters of {label} (name: shape)",
                      lambda: {key: tuple(p.shape) for key, p in model.named_parameters()})
        return model

    def known_weights(self, label, model, seed, device="cpu", scale=0.3):
        """Move ``model`` to ``device`` and give every parameter seeded values, by sorted name (so the order
        layers were created in does not matter); recorded as ``label`` (an error if it cannot be done)."""
        def load():
            model.to(device)
            with torch.no_grad():
                for i, (_, p) in enumerate(sorted(model.named_parameters(), key=lambda item: item[0])):
                    p.copy_(scale * self.randn(*p.shape, seed=seed + i, device=device))
        return self.call(label, load)

    def claim(self, label, holds):
        """Record whether a statement about the student's code holds; ``label`` is the statement."""
        self._add(label, {"kind": "claim", "type": "bool", "value": bool(holds)})

    def record(self, label, value, kind="result"):
        """Record ``value`` under ``label``: tensors and arrays as data, plain values as JSON."""
        try:
            entry = self._plain(value)
        except Exception as error:  # a value that cannot even be read: that is what gets recorded
            entry = _error(error)
        entry["kind"] = entry.get("kind") if entry.get("kind") == "error" else kind
        self._add(label, entry)

    def _plain(self, value):
        if isinstance(value, (torch.Tensor, np.ndarray)):
            return self._array(value)
        plain = _jsonable(value)
        if plain is None and value is not None:
            return {"type": type(value).__name__}
        return {"type": type(value).__name__, "value": plain}

    def _array(self, value):
        entry = {"type": "ndarray" if isinstance(value, np.ndarray) else "Tensor"}
        if isinstance(value, torch.Tensor):
            with torch._C.DisableTorchFunctionSubclass():
                tensor = value.detach()
                entry.update(dtype=str(tensor.dtype), device=str(tensor.device), shape=list(tensor.shape),
                             requires_grad=bool(value.requires_grad))
                if tensor.numel() > MAX_ELEMENTS:
                    raise ValueError(f"a tensor of {tensor.numel()} elements is too large to check")
                if tensor.device.type == "meta":
                    return entry
                tensor = tensor.to("cpu")
                if tensor.is_complex():
                    array = tensor.to(torch.complex128).numpy()
                elif tensor.is_floating_point():
                    array = tensor.to(torch.float64).numpy()
                elif tensor.dtype == torch.bool:
                    array = tensor.numpy()
                else:
                    array = tensor.to(torch.int64).numpy()
        else:
            entry.update(dtype=str(value.dtype), device="numpy", shape=list(value.shape))
            if value.size > MAX_ELEMENTS or value.dtype.kind not in "biufc":
                raise ValueError(f"an array of {value.size} elements of {value.dtype} cannot be checked")
            array = np.asarray(value, dtype={"b": bool, "c": np.complex128, "f": np.float64}.get(value.dtype.kind,
                                                                                                   np.int64))
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.array(array, order="C")  # ascontiguousarray would make 0-d arrays 1-d
        entry["array"] = key
        return entry

    def _add(self, label, entry):
        self.entries.append({"label": _text(label), **entry})

    def save(self, path):
        tmp = f"{path}.tmp"
        with open(tmp, "wb") as f:
            self.write(f)
        os.replace(tmp, path)

    def write(self, file):
        """The record as .npz into an open binary file: a JSON header of entries, and the arrays."""
        header = np.frombuffer(json.dumps({"entries": self.entries}).encode(), dtype=np.uint8)
        np.savez(file, __header__=header, **self.arrays)


class _OperationCounter(torch.overrides.TorchFunctionMode):
    """Counts the torch functions and tensor methods called while it is active."""

    def __init__(self):
        super().__init__()
        self.count, self.names = 0, set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += 1
        self.names.add(getattr(func, "__name__", ""))
        return func(*args, **(kwargs or {}))


def _snapshot(tensor):
    """What a tensor holds, for telling whether a call changed it in place."""
    with torch._C.DisableTorchFunctionSubclass():
        t = tensor.detach()
        if t.device.type == "meta":
            return (tuple(t.shape), str(t.dtype))
        return (tuple(t.shape), str(t.dtype), t.to("cpu").clone().numpy().tobytes())


def probe(question, out, source, namespace=None):
    """Run the probe in ``source`` (one function taking the recorder) and save what it recorded."""
    if namespace is None:
        namespace = __import__("IPython").get_ipython().user_ns
    rec = Recorder(namespace)
    scope = {"torch": torch, "np": np, "math": math}
    try:
        exec(compile(source, f"<probe {question}>", "exec"), scope)
        function = next(v for k, v in scope.items() if k.startswith("probe") and callable(v))
        function(rec)
    except BaseException as error:  # the probe stops; what it recorded so far still counts
        if isinstance(error, KeyboardInterrupt):
            raise
        rec._add("the checks", _error(error))
    os.makedirs(out, exist_ok=True)
    rec.save(os.path.join(out, f"{question}.npz"))
