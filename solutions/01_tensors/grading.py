"""Lesson 01's graded questions: what each probe feeds the student's code, and how its data are judged.

Each ``probe_*`` function runs in the student's kernel (its source is sent there; it is not secret): it
builds inputs and records what the student's code returns. The grader compares those data with the
same probe's data on the solution, outside the kernel; known mistakes (tests/mutants/01_tensors.yml)
are recognised by their data. Nothing else of this file reaches a student.
"""
import torch  # noqa: F401 (in the kernel, probes are given torch, np and math)

from grader.questions import Question


def probe_describe(rec):
    examples = [("torch.zeros(2, 3, 4)", lambda: torch.zeros(2, 3, 4)), ("a scalar", lambda: torch.tensor(2.5)),
                ("an int64 matrix", lambda: torch.ones(5, 2, dtype=torch.int64)),
                ("a bool vector", lambda: torch.tensor([True, False, True])),
                ("a rank-4 tensor", lambda: torch.ones(2, 1, 3, 2))]
    runs = [(f"{name} ({device})", make().to(device)) for device in rec.devices() for name, make in examples]
    # "meta" tensors have a device and a shape but no data: code that assumes the CPU shows it on them.
    runs.append(("a tensor on another device (meta)", torch.zeros(3, 2, device="meta")))
    for name, t in runs:
        got = rec.call(f"describe {name}", "describe", t)
        rec.claim(f"describe {name} gives 'dtype' as a torch.dtype (t.dtype) and 'device' as a torch.device "
                  "(t.device), not as strings",
                  isinstance(got, dict) and isinstance(got.get("dtype"), torch.dtype)
                  and isinstance(got.get("device"), torch.device))


def probe_percent_correct(rec):
    generator = torch.Generator().manual_seed(11)
    guesses = torch.randint(0, 10, (997,), generator=generator)
    truth = torch.where(torch.rand(997, generator=generator) < 0.7, guesses,
                        torch.randint(0, 10, (997,), generator=generator))
    examples = [("the notebook's 6 predictions", torch.tensor([3, 1, 4, 1, 5, 9]), torch.tensor([3, 1, 4, 1, 5, 2])),
                ("997 predictions", guesses, truth)]
    runs = [(f"{name} ({device})", p.to(device), t.to(device)) for device in rec.devices() for name, p, t in examples]
    runs.append(("997 predictions on another device (meta)", guesses.to("meta"), truth.to("meta")))
    for name, predictions, labels in runs:
        got = rec.call(f"percent_correct on {name}", "percent_correct", predictions, labels)
        rec.claim(f"percent_correct on {name} returns a floating-point tensor",
                  isinstance(got, torch.Tensor) and got.is_floating_point())


def probe_select_between(rec):
    generator = torch.Generator().manual_seed(12)
    integers = torch.randint(-5, 6, (6, 7), generator=generator).float()
    for device in rec.devices():
        rec.call(f"select_between(x, 2, 6) on the notebook's x ({device})", "select_between",
                 torch.tensor([[1, 5, 3], [7, 2, 6]], device=device), 2, 6)
        rec.call(f"select_between on a (6, 7) tensor of whole numbers, from -2 to 3 ({device})", "select_between",
                 integers.to(device), -2, 3)
        rec.call(f"select_between on a (4, 5, 3) tensor, from -1.0 to 0.5 ({device})", "select_between",
                 rec.randn(4, 5, 3, seed=120, device=device), -1.0, 0.5)


def probe_replace_negatives(rec):
    values = rec.randn(5, 8, seed=13)
    values[0, :3] = 0.0  # zeros are not negative
    for device in rec.devices():
        rec.call(f"replace_negatives(x, 0.5) on the notebook's x ({device})", "replace_negatives",
                 torch.tensor([-1.5, 0.0, 2.0, -3.0], device=device), 0.5)
        rec.call(f"replace_negatives on a (5, 8) tensor with zeros, value -9.0 ({device})", "replace_negatives",
                 values.to(device), -9.0)
    rec.call("replace_negatives on a tensor of another device (meta)", "replace_negatives", values.to("meta"), -9.0)


def probe_flatten_columns(rec):
    for device in rec.devices():
        rec.call(f"flatten_columns on the notebook's (2, 3) m ({device})", "flatten_columns",
                 torch.arange(6, device=device).reshape(2, 3))
        for rows, cols in [(4, 5), (1, 3), (6, 2)]:
            rec.call(f"flatten_columns on a ({rows}, {cols}) matrix ({device})", "flatten_columns",
                     rec.randn(rows, cols, seed=14 + rows, device=device))


def probe_summarize(rec):
    def check(where, x, dim):
        label = f"summarize on a {tuple(x.shape)} input, dim={dim} ({where})"
        got = rec.call(label, "summarize", x, dim)
        count = len(got) if isinstance(got, (tuple, list)) else None
        rec.record(f"the number of results of {label}", count, kind="value")
        if count == 3:
            for part, value in zip(["total", "sums", "means"], got):
                rec.record(f"the {part} from {label}", value)

    for device in rec.devices():
        check(device, rec.randn(3, 2, seed=42, device=device), 0)
        cube = rec.randn(3, 4, 5, seed=15, device=device)
        for dim in (1, 2, -1):
            check(device, cube, dim)
        check(device, rec.randn(2, 6, seed=16, device=device), 1)
    check("another device, meta", rec.randn(3, 4, 5, seed=15).to("meta"), 1)


def probe_pairwise(rec):
    for device in rec.devices():
        rec.call(f"pairwise_sq_distances(X, Y) on the notebook's X and Y ({device})", "pairwise_sq_distances",
                 torch.tensor([[0.0, 0.0], [1.0, 1.0]], device=device),
                 torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]], device=device), limit_ops=40)
        for (n, m, d), seeds in [((20, 30, 3), (1, 2)), ((7, 9, 5), (17, 18))]:
            rec.call(f"pairwise_sq_distances on {n} and {m} points in {d} dimensions ({device})",
                     "pairwise_sq_distances", rec.randn(n, d, seed=seeds[0], device=device),
                     rec.randn(m, d, seed=seeds[1], device=device), limit_ops=40)
    rec.call("pairwise_sq_distances on tensors of another device (meta)", "pairwise_sq_distances",
             torch.empty(4, 3, device="meta"), torch.empty(6, 3, device="meta"))


def probe_normalize_pictures(rec):
    picture = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0))
    brighter = torch.stack([picture, picture + 10])  # the second picture is the first made brighter
    scales = torch.tensor([1.0, 3.0, 0.5])[:, None, None]
    shifted = rec.randn(5, 3, 6, 7, seed=19) * scales + torch.arange(5.0)[:, None, None, None]
    two_channels = rec.randn(3, 2, 7, 9, seed=20) * 4 + 1
    for device in rec.devices():
        rec.call(f"normalize_pictures on the notebook's batch of a picture and a brighter copy ({device})",
                 "normalize_pictures", brighter.to(device))
        rec.call(f"normalize_pictures on a (5, 3, 6, 7) batch, channels on different scales ({device})",
                 "normalize_pictures", shifted.to(device))
        rec.call(f"normalize_pictures on a (3, 2, 7, 9) batch with 2 channels ({device})",
                 "normalize_pictures", two_channels.to(device))
    rec.call("normalize_pictures on a batch of another device (meta)", "normalize_pictures", shifted.to("meta"))


LEN_HINT = ("len() fails on a 0-d tensor and only counts the first dimension: use `t.ndim` for the rank and "
            "`t.numel()` for the number of elements")
KEEPDIM = "leave keepdim out here: the reduced dimension should disappear"
GIVEN_DIM = "reduce along the `dim` you were given, not always dim 0"
LAST_DIM = "sum over the coordinates, the last dimension (dim=-1)"
QUESTIONS = [
    Question("test_describe", probe_describe, error_hints={"len() of a 0-d tensor": LEN_HINT}),
    Question("test_percent_correct", probe_percent_correct, error_hints={
        "could not infer output dtype": "`mean` needs floating point numbers: convert the bool comparison with "
                                        "`.float()` first",
        "cannot be called on meta tensors": "you turned a tensor into Python numbers (`.item()`, `.tolist()`): keep "
                                            "the whole computation in tensor operations, so the result stays on "
                                            "the inputs' device"}),
    Question("test_select_between", probe_select_between, shape_hints={
        shape: "multiplying by the mask keeps every position (with zeros): index with the mask instead, x[mask]"
        for shape in [(2, 3), (6, 7), (4, 5, 3)]}, error_hints={
        "ambiguous": "combine the comparisons with & (and `|`, `~`), each in parentheses: Python's `and` and a "
                     "chained `low <= x <= high` don't work element by element"}),
    Question("test_replace_negatives", probe_replace_negatives),
    Question("test_flatten_columns", probe_flatten_columns, shape_hints={
        shape: "flatten the result to one dimension (a 1-D tensor)" for shape in [(3, 2), (5, 4), (3, 1), (2, 6)]},
        error_hints={"view size is not compatible": "`view` can't flatten a transposed tensor (it is not "
                                                    "contiguous): use `reshape`, which copies when it must"}),
    Question("test_summarize", probe_summarize, shape_hints={
        **{shape: KEEPDIM for shape in [(1, 2), (3, 1, 5), (3, 4, 1), (2, 1)]},
        **{shape: GIVEN_DIM for shape in [(4, 5), (6,)]}}),
    Question("test_pairwise", probe_pairwise, shape_hints={
        shape: LAST_DIM for shape in [(3, 2), (2, 2), (30, 3), (20, 3), (9, 5), (7, 5), (6, 3), (4, 3)]},
        error_hints={
        "must match the size": "(N, D) and (M, D) don't broadcast against each other: give them new axes, "
                               "(N, 1, D) and (1, M, D)",
        "Cannot copy out of meta tensor": "you built the result in a tensor made on the CPU: create it with "
                                          "`device=X.device`, or avoid it"}),
    # PyTorch's default std (dividing by n - 1) and the population std (n) are both accepted: on these
    # batches (n >= 128 values per channel) their results differ by under 0.4%.
    Question("test_normalize_pictures", probe_normalize_pictures, rtol=5e-3, error_hints={
        "must match the size": "keep the reduced dimensions (keepdim=True): statistics of shape (1, C, 1, 1) "
                               "broadcast against (B, C, H, W)"}),
]
