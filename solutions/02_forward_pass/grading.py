"""Lesson 02's graded questions: what each probe feeds the student's code, and how its data are judged.

Each ``probe_*`` function runs in the student's kernel (its source is sent there; it is not secret): it
builds inputs and records what the student's code returns. The grader compares those data with the
same probe's data on the solution, outside the kernel; known mistakes (tests/mutants/02_forward_pass.yml)
are recognised by their data. Nothing else of this file reaches a student.
"""
import torch  # noqa: F401 (in the kernel, probes are given torch, np and math)

from grader.questions import Question


def probe_neuron_sum(rec):
    for device in rec.devices():
        for n, seed in [(5, 100), (8, 200)]:
            f, w, b = (rec.randn(*shape, seed=seed + i, device=device) for i, shape in enumerate([(1, n), (1, n), (1, 1)]))
            rec.call(f"neuron_sum on {n} features ({device})", "neuron_sum", f, w, b)


def probe_neuron_matmul(rec):
    weights = rec.get("weights")
    if weights is not None:
        rec.record("the shape of the notebook's `weights` after your answer cell", tuple(weights.shape), kind="value")
    for device in rec.devices():
        for n, seed in [(5, 300), (9, 310)]:
            f, w, b = (rec.randn(*shape, seed=seed + i, device=device) for i, shape in enumerate([(1, n), (1, n), (1, 1)]))
            rec.call(f"neuron_matmul on {n} features ({device})", "neuron_matmul", f, w, b)


def probe_two_layer(rec):
    for device in rec.devices():
        for seed, shapes in [(400, [(4, 6), (6, 5), (1, 5), (5, 3), (1, 3)]), (410, [(1, 3), (3, 2), (1, 2), (2, 1), (1, 1)])]:
            args = [rec.randn(*s, seed=seed + i, device=device) for i, s in enumerate(shapes)]
            sizes = "-".join(str(s[1]) for s in shapes[1::2])
            rec.call(f"two_layer on a batch of {shapes[0][0]}, sizes {shapes[0][1]}-{sizes} ({device})", "two_layer", *args)


def probe_softmax(rec):
    for device in rec.devices():
        rec.call(f"softmax of a (2, 3) input ({device})", "softmax",
                 torch.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]], device=device), forbid=("softmax", "log_softmax"))
        for i, shape in enumerate([(5, 7), (6, 6), (2, 3, 4), (1, 10)]):
            rec.call(f"softmax of a {shape} input ({device})", "softmax", 3 * rec.randn(*shape, seed=500 + i, device=device))


def probe_softmax_stable(rec):
    for device in rec.devices():
        rec.call(f"softmax([[1000., 1000.]]) ({device})", "softmax", torch.tensor([[1000.0, 1000.0]], device=device),
                 forbid=("softmax", "log_softmax"))
        rec.call(f"softmax of rows on very different scales ({device})", "softmax",
                 torch.tensor([[0.0, -1000.0], [1000.0, 999.0]], device=device))
        x = rec.randn(6, 5, seed=600, device=device) * 10 + 5000 * rec.randn(6, 1, seed=601, device=device)
        rec.call(f"softmax of rows with scores in the thousands ({device})", "softmax", x)


def probe_forward(rec):
    shapes = [(784, 256), (256,), (256, 10), (10,)]
    for device in rec.devices():
        for batch, seed in [(64, 700), (5, 710)]:
            args = [rec.randn(*s, seed=seed + i, device=device) for i, s in enumerate([(batch, 1, 28, 28), *shapes])]
            rec.call(f"forward on a batch of {batch} images ({device})", "forward", *args)
    # "meta" tensors have a device and a shape but no data: code that makes a CPU tensor fails on them.
    meta = [rec.randn(*s, seed=720 + i).to("meta") for i, s in enumerate([(3, 1, 28, 28), *shapes])]
    rec.call("forward on tensors of another device (meta)", "forward", *meta)


def probe_mlp(rec):
    for device in rec.devices():
        for sizes, rows, seed in [([6, 5, 4, 3], 7, 800), ([3, 8, 8, 8, 2], 4, 820), ([5, 2], 3, 840), ([4, 6, 1], 9, 860)]:
            layers = [(rec.randn(a, b, seed=seed + 2 * i, device=device), rec.randn(b, seed=seed + 2 * i + 1, device=device))
                      for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
            x = rec.randn(rows, sizes[0], seed=seed + 19, device=device)
            rec.call(f"mlp on {rows} rows through layers of sizes {'-'.join(map(str, sizes))} ({device})", "mlp", x, layers)


QUESTIONS = [
    Question("test_neuron_sum", probe_neuron_sum, shape_hints={
        (1, 5): "did you forget to sum the products?", (1, 8): "did you forget to sum the products?",
        (): "a 0-d tensor: torch.sum returns one, and adding the (1, 1) bias after the sum makes it (1, 1)"}),
    Question("test_neuron_matmul", probe_neuron_matmul, error_hints={
        "invalid for input of size": "don't hard-code the number of features: use weights.view(-1, 1)"}),
    Question("test_two_layer", probe_two_layer),
    Question("test_softmax", probe_softmax, error_hints={
        "must match the size": "sum with keepdim=True so the row sums have shape (N, 1) and broadcast across each row"}),
    Question("test_softmax_stable", probe_softmax_stable),
    Question("test_forward", probe_forward, shape_hints={
        (64, 256): "return the output layer's scores, not the hidden layer",
        (5, 256): "return the output layer's scores, not the hidden layer"}, error_hints={
        "invalid for input of size": "don't hard-code the batch size 64: use images.shape[0] or -1",
        "device": "forward creates a tensor on the CPU: build new tensors with device=images.device"}),
    Question("test_mlp", probe_mlp, error_hints={
        "cannot unpack": "layers is a list of (W, b) pairs: for W, b in layers",
        "shapes cannot be multiplied": "take every pair of the list in order: each layer's output feeds the next W"}),
]
