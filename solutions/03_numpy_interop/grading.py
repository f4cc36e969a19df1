"""Lesson 03's graded questions: what each probe feeds the student's code, and how its data are judged.

Each ``probe_*`` function runs in the student's kernel (its source is sent there; it is not secret): it
builds inputs and records what the student's code returns. The grader compares those data with the
same probe's data on the solution, outside the kernel; known mistakes (tests/mutants/03_numpy_interop.yml)
are recognised by their data. Nothing else of this file reaches a student.
"""
import torch  # noqa: F401 (in the kernel, probes are given torch, np and math)

from grader.questions import Question


def probe_double_in_place(rec):
    def shares(a, t):  # whether a tensor (or array) uses a's memory
        try:
            if isinstance(t, torch.Tensor):
                t = t.detach().numpy() if t.device.type == "cpu" else None
            return t is not None and bool(np.shares_memory(a, t))
        except Exception:
            return False

    for label, a in [("np.arange(4.0)", np.arange(4.0)), ("an int32 array", np.arange(-3, 3, dtype=np.int32)),
                     ("a float32 matrix", np.random.default_rng(30).standard_normal((3, 4)).astype(np.float32))]:
        t = rec.call(f"double_in_place({label})", "double_in_place", a)
        rec.record(f"`a` after double_in_place({label})", a, kind="value")
        rec.claim(f"the tensor double_in_place({label}) returns shares `a`'s memory", shares(a, t))


def probe_doubled_copy(rec):
    def shares(a, b):  # whether an array (or tensor) uses a's memory
        try:
            if isinstance(b, torch.Tensor):
                b = b.detach().numpy() if b.device.type == "cpu" else None
            return b is not None and bool(np.shares_memory(a, b))
        except Exception:
            return False

    for label, a in [("np.array([1.0, 2.0, 3.0])", np.array([1.0, 2.0, 3.0])),
                     ("an int64 matrix", np.arange(12, dtype=np.int64).reshape(3, 4)),
                     ("a float32 vector", np.random.default_rng(31).standard_normal(7).astype(np.float32))]:
        b = rec.call(f"doubled_copy({label})", "doubled_copy", a)
        rec.record(f"`a` after doubled_copy({label})", a, kind="value")
        rec.claim(f"the result of doubled_copy({label}) shares no memory with `a`", not shares(a, b))


def probe_to_numpy(rec):
    from course.checks import simulated_gpu

    w = torch.ones(2, 3, requires_grad=True)
    rec.call("to_numpy((w * 2).T), with w requiring grad", "to_numpy", (w * 2).T)
    rec.call("to_numpy of a tensor on a GPU (simulated)", "to_numpy", simulated_gpu(torch.arange(3.0)))
    for device in rec.devices():
        leaf = torch.linspace(-1, 1, 6, device=device).reshape(2, 3).requires_grad_()
        rec.call(f"to_numpy of a leaf that requires grad ({device})", "to_numpy", leaf)
        rec.call(f"to_numpy of a float32 matrix ({device})", "to_numpy", rec.randn(3, 4, seed=330, device=device))
        rec.call(f"to_numpy of an int64 transpose ({device})", "to_numpy",
                 torch.arange(6, device=device).reshape(2, 3).T)
        rec.call(f"to_numpy of a 0-d float64 tensor ({device})", "to_numpy",
                 torch.tensor(2.5, dtype=torch.float64, device=device))
    rec.call("to_numpy of a GPU tensor (simulated) that requires grad", "to_numpy",
             simulated_gpu(torch.ones(3, 2, requires_grad=True)) * 3)


def probe_as_model_input(rec):
    def shares(a, x):  # whether a tensor uses a's memory (one on another device cannot)
        try:
            return x.device.type == "cpu" and bool(np.shares_memory(a, x.detach().numpy()))
        except Exception:
            return False

    def check(label, a, device):
        x = rec.call(f"as_model_input({label}, {device})", "as_model_input", a, torch.device(device))
        rec.claim(f"as_model_input({label}, {device}) shares no memory with `a`", not shares(a, x))

    check("uint8 pixels", np.array([[0, 128, 255]], dtype=np.uint8), "cpu")
    check("a float32 array", np.array([1.5, -2.0], dtype=np.float32), "cpu")
    for device in rec.devices():
        rng = np.random.default_rng(32)
        check("a float64 matrix", rng.standard_normal((4, 3)), device)
        check("a float32 matrix", rng.standard_normal((2, 5)).astype(np.float32), device)
        check("an int64 vector", rng.integers(-9, 9, size=6), device)
        check("a reversed view", np.arange(6.0, dtype=np.float32)[::-1], device)
    # "meta" tensors have a device and a shape but no data: code that ignores `device` stays on the CPU.
    rec.call("as_model_input(a float32 array, device='meta')", "as_model_input", np.ones((2, 3), dtype=np.float32),
             torch.device("meta"))


def probe_percentile_clip(rec):
    from course.checks import simulated_gpu

    rec.call("percentile_clip(torch.arange(10.0), 10)", "percentile_clip", torch.arange(10.0), 10)
    rec.call("percentile_clip of a tensor that requires grad, q=10", "percentile_clip",
             torch.arange(10.0, requires_grad=True), 10)
    rec.call("percentile_clip of a tensor on a GPU (simulated), q=10", "percentile_clip",
             simulated_gpu(torch.arange(10.0)), 10)
    values = torch.from_numpy(np.random.default_rng(33).standard_normal((6, 9)))
    for device in rec.devices():
        for dtype, q in [(torch.float64, 5), (torch.float32, 25)]:
            rec.call(f"percentile_clip of a 6×9 {dtype} tensor on {device}, q={q}", "percentile_clip",
                     values.to(device, dtype), q)


def probe_predicted_dtypes(rec):
    expressions = [
        "torch.from_numpy(np.linspace(0, 1, 5))",
        "torch.tensor([[1, 2], [3, 4]])",
        "torch.arange(4) / 4",
        "torch.tensor(np.float32(1.5))",
        "torch.zeros(2, dtype=torch.float16) + np.float64(1.0)",
        "torch.ones(3).sum() + torch.from_numpy(np.ones(3))",
        "torch.ones(3) * torch.from_numpy(np.ones(3)).sum()",
        "torch.tensor([1, 2], dtype=torch.int32) * 2.5",
    ]
    predicted = rec.get("predicted_dtypes")
    if predicted is None:
        return
    answers = []
    rec.call("predicted_dtypes()", lambda: answers.append(predicted()))  # records whether it raised
    if not answers:
        return
    well_formed = isinstance(answers[0], (list, tuple)) and len(answers[0]) == len(expressions)
    rec.claim(f"predicted_dtypes() returns a list of {len(expressions)} predictions", well_formed)
    if well_formed:
        for n, (expression, answer) in enumerate(zip(expressions, answers[0]), start=1):
            rec.record(f"prediction {n}, {expression}", answer, kind="value")


NUMPY_HINTS = {"requires grad": "this tensor requires grad: call .detach() before .numpy()",
               "device type tensor to numpy": "this tensor is on a GPU: call .cpu() before .numpy()"}

QUESTIONS = [
    Question("test_double_in_place", probe_double_in_place, check_dtype=True),
    Question("test_doubled_copy", probe_doubled_copy),
    Question("test_to_numpy", probe_to_numpy, check_dtype=True, error_hints=NUMPY_HINTS),
    Question("test_as_model_input", probe_as_model_input, check_dtype=True, error_hints={
        "negative": "a reversed view has negative strides: make a contiguous copy first (np.ascontiguousarray(a))"}),
    Question("test_percentile_clip", probe_percentile_clip, check_dtype=True, error_hints={
        **NUMPY_HINTS,
        "Quantiles must be in the range": "np.quantile takes fractions from 0 to 1; np.percentile takes "
                                          "percentages from 0 to 100"}),
    Question("test_predicted_dtypes", probe_predicted_dtypes, credit_each="prediction ", label_hints={
        f"prediction {n}, ": why for n, why in enumerate([
            "NumPy's default float is float64, and from_numpy keeps the dtype",
            "Python ints become int64",
            "true division / always gives floating point: the default float, float32",
            "a NumPy scalar is data: torch.tensor keeps its dtype, here float32",
            "a number (here a NumPy float64) doesn't raise a tensor's precision, not even float16's",
            "the float64 tensor has dimensions, so it promotes; the 0-d sum counts as a number",
            "the float64 sum is 0-d: it counts as a number and doesn't raise the precision",
            "integers times a float give the default float, float32"], start=1)}),
]
