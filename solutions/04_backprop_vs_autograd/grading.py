"""Lesson 04's graded questions: what each probe feeds the student's code, and how its data are judged.

Each ``probe_*`` function runs in the student's kernel (its source is sent there; it is not secret): it
builds inputs and records what the student's code returns. The grader compares those data with the
same probe's data on the solution, outside the kernel; known mistakes (tests/mutants/04_backprop_vs_autograd.yml)
are recognised by their data. Nothing else of this file reaches a student.
"""
import numpy as np  # noqa: F401 (in the kernel, probes are given torch, np and math)
import torch  # noqa: F401

from grader.questions import Question


def probe_scalar_gradients(rec):
    for device in rec.devices():
        for where, x1, x2 in [("x1=1, x2=2", torch.tensor(1.0, device=device), torch.tensor(2.0, device=device)),
                              ("3×4 random points", rec.randn(3, 4, seed=40, device=device),
                               rec.randn(3, 4, seed=41, device=device))]:
            label = f"scalar_gradients at {where} ({device})"
            result = rec.call(label, "scalar_gradients", x1, x2, forbid=("backward", "grad"))
            pair = isinstance(result, (tuple, list)) and len(result) == 2
            rec.claim(f"{label} returns two results, (dy/dx1, dy/dx2)", pair)
            if pair:
                rec.record(f"dy/dx1 from {label}", result[0])
                rec.record(f"dy/dx2 from {label}", result[1])


def probe_compare_gradients(rec):
    compare = rec.get("compare_gradients")
    if compare is None:
        return
    for device in rec.devices():
        def t(values):
            return torch.tensor(values, device=device)

        g = rec.randn(3, 4, seed=42, device=device)
        shifted = g.clone()
        shifted[1, 2] -= 0.25
        cases = [("four examples", {"w": t([[1.0, 2.0]]), "b": t([[0.5]]), "v": t([1.0, 2.0]), "s": t([[3.0, 3.0]])},
                  {"w": t([[1.0, 2.0]]), "b": t([[0.5 + 1e-7]]), "v": t([1.5, 2.0]), "s": t(3.0)}),
                 ("random gradients", {"a": g, "b": g, "c": g[:1]}, {"a": g.clone(), "b": shifted, "c": g[0]})]
        for what, manual, auto in cases:
            reports = []

            def layout(manual, auto):  # the report's names and keys are recorded here, its values one by one below
                report = compare(manual, auto)
                reports.append(report)
                if not isinstance(report, dict):
                    return report
                return {str(k): sorted(map(str, v)) if isinstance(v, dict) else type(v).__name__
                        for k, v in report.items()}

            rec.call(f"compare_gradients on {what} ({device})", layout, manual, auto)
            report = reports[0] if reports else None
            for name in manual:
                entry = report.get(name) if isinstance(report, dict) else None
                for key in ("exact", "close", "max_diff") if isinstance(entry, dict) else ():
                    if key in entry:
                        value = entry[key]
                        if key != "max_diff" and (isinstance(value, np.bool_) or isinstance(value, torch.Tensor)
                                                  and value.dtype == torch.bool and value.numel() == 1):
                            value = bool(value)  # a one-element boolean tensor is as good as a bool for yes/no
                        rec.record(f"report[{name!r}][{key!r}] from compare_gradients on {what} ({device})", value)


def probe_gradient_shapes(rec):
    def network(n, d, h, seed, device):  # (x, y, params) for N examples, D features, H hidden units
        shapes = {"x": (n, d), "y": (n, 1), "w1": (d, h), "b1": (1, h), "w2": (h, 1), "b2": (1, 1)}
        t = {k: rec.randn(*s, seed=seed + i, device=device) for i, (k, s) in enumerate(shapes.items())}
        return t.pop("x"), t.pop("y"), t

    for device in rec.devices():
        for n, d, h in [(4, 3, 2), (6, 5, 4), (1, 2, 3), (8, 4, 1)]:
            x, y, params = network(n, d, h, 43, device)
            label = f"manual_gradients with N={n}, D={d}, H={h} ({device})"
            grads = rec.call(label, "manual_gradients", x, y, params, forbid=("backward", "grad"))
            if not isinstance(grads, dict):
                continue
            for key in params:
                rec.claim(f"{label} returns a gradient for {key!r}", key in grads)
                if key in grads:  # a shape without values: only the shape (and the type) is judged here
                    g = grads[key]
                    rec.record(f"the shape of the {key} gradient, N={n}, D={d}, H={h} ({device})",
                               torch.empty(tuple(g.shape), device="meta") if isinstance(g, torch.Tensor) else g)


def probe_manual_gradients(rec):
    def network(n, d, h, seed, device):  # (x, y, params) for N examples, D features, H hidden units
        shapes = {"x": (n, d), "y": (n, 1), "w1": (d, h), "b1": (1, h), "w2": (h, 1), "b2": (1, 1)}
        t = {k: rec.randn(*s, seed=seed + i, device=device) for i, (k, s) in enumerate(shapes.items())}
        return t.pop("x"), t.pop("y"), t

    generator = torch.Generator().manual_seed(0)  # the notebook's example: torch.manual_seed(0), then randn
    example = [torch.randn(*s, generator=generator) for s in [(4, 3), (4, 1), (3, 2), (1, 2), (2, 1), (1, 1)]]
    for device in rec.devices():
        x, y, *p = (t.to(device) for t in example)
        cases = [("the notebook's example", (x, y, dict(zip(["w1", "b1", "w2", "b2"], p))))]
        cases += [(f"N={n}, D={d}, H={h}", network(n, d, h, seed, device))
                  for n, d, h, seed in [(6, 5, 4, 50), (16, 3, 8, 60)]]
        for what, (x, y, params) in cases:
            label = f"manual_gradients on {what} ({device})"
            grads = rec.call(label, "manual_gradients", x, y, params, forbid=("backward", "grad"))
            if not isinstance(grads, dict):
                continue
            for key in ("b2", "w2", "b1", "w1"):
                rec.claim(f"{label} returns a gradient for {key!r}", key in grads)
                if key in grads:
                    rec.record(f"the {key} gradient from {label}", grads[key])


def probe_numerical_gradient(rec):
    for device in rec.devices():
        f64 = {"dtype": torch.float64, "device": device}
        A = torch.tensor([[1.0, -0.5], [0.25, 0.75]], **f64)
        M = rec.randn(4, 3, seed=70, **f64)
        cases = [("exp(2·A @ w).sum() at 2 values", lambda w: torch.exp(2 * A @ w).sum(),
                  torch.tensor([0.5, -0.25], **f64)),
                 ("exp(M @ w).sum() + (w ** 3).sum() at 3 values", lambda w: torch.exp(M @ w).sum() + (w ** 3).sum(),
                  rec.randn(3, seed=71, **f64)),
                 ("5·tanh(M @ W)².sum() at a 3×2 matrix", lambda W: torch.tanh(M @ W).pow(2).sum() * 5,
                  rec.randn(3, 2, seed=72, **f64))]
        for what, f, x in cases:
            rec.call(f"numerical_gradient of {what} ({device})", "numerical_gradient", f, x,
                     forbid=("backward", "grad"))


def probe_descend(rec):
    descend, loss_fn = rec.get("descend"), rec.get("loss_fn")
    if descend is None or loss_fn is None:
        return

    def gradients(x, y, params):  # autograd's gradients of loss_fn, as the notebook's autograd_gradients
        leaves = {name: p.detach().requires_grad_() for name, p in params.items()}
        loss_fn(x, y, leaves).backward()
        return {name: p.grad for name, p in leaves.items()}

    names = ["w1", "b1", "w2", "b2"]
    generator = torch.Generator().manual_seed(0)  # the notebook's example: torch.manual_seed(0), then randn
    shapes = [(4, 3), (4, 1), (3, 2), (1, 2), (2, 1), (1, 1)]
    example = [torch.randn(*s, generator=generator, dtype=torch.float64) for s in shapes]
    for device in rec.devices():
        drawn = [rec.randn(*s, seed=80 + i, device=device, dtype=torch.float64)
                 for i, s in enumerate([(10, 4), (10, 1), (4, 5), (1, 5), (5, 1), (1, 1)])]
        for what, tensors, lr, steps in [("the notebook's example (float64)", [t.to(device) for t in example], 0.05, 6),
                                         ("a 10×4 batch, H=5 (float64)", drawn, 0.01, 7)]:
            label = f"descend on {what}, lr={lr}, {steps} steps ({device})"
            # the parameters go in as separate tensors so that the recorder sees whether descend changed them
            result = rec.call(label, lambda x, y, *p: descend(x, y, dict(zip(names, p)), lr, steps, gradients),
                              *tensors)
            pair = isinstance(result, tuple) and len(result) == 2
            rec.claim(f"{label} returns (params, losses)", pair)
            if not pair:
                continue
            final, losses = result
            rec.claim(f"{label} returns a list of {steps} losses", isinstance(losses, list) and len(losses) == steps)
            rec.call(f"the losses from {label}", lambda: torch.tensor([float(v) for v in losses], dtype=torch.float64))
            rec.claim(f"{label} returns the final parameters as a dict with w1, b1, w2, b2",
                      isinstance(final, dict) and all(k in final for k in names))
            for key in names if isinstance(final, dict) else ():
                if key in final:
                    rec.record(f"the final {key} from {label}", final[key])


def probe_fit_line(rec):
    fit_line = rec.get("fit_line")
    if fit_line is None:
        return
    # Known errors, told apart by their message (the judge compares an error's type only).
    causes = [("leaf Variable that requires grad", "an in-place update of a leaf that requires grad, while recording"),
              ("NoneType", "a .grad that is None")]
    line_x = torch.linspace(-1, 1, 50)  # the notebook's example: torch.manual_seed(1), then randn
    line_y = 3 * line_x - 1 + 0.1 * rec.randn(50, seed=1)
    xs = rec.randn(40, seed=90, dtype=torch.float64)
    ys = -2 * xs + 0.5 + 0.2 * rec.randn(40, seed=91, dtype=torch.float64)
    for device in rec.devices():
        for what, x, y, lr, steps in [("the notebook's 50 points, lr=0.1, 100 steps", line_x, line_y, 0.1, 100),
                                      ("40 points (float64), lr=0.05, 60 steps", xs, ys, 0.05, 60)]:
            label = f"fit_line on {what} ({device})"
            errors = []

            def fit(x, y):
                try:
                    return fit_line(x, y, lr, steps)
                except Exception as error:
                    errors.append(str(error))
                    raise

            result = rec.call(label, fit, x.to(device), y.to(device))
            if errors:
                rec.record(f"what stopped {label}", next((c for key, c in causes if key in errors[0]), "another error"))
                continue
            pair = isinstance(result, (tuple, list)) and len(result) == 2
            rec.claim(f"{label} returns two values, (w, b)", pair)
            if pair:
                rec.record(f"w from {label}", result[0])
                rec.record(f"b from {label}", result[1])


def probe_cross_entropy_backward(rec):
    for device in rec.devices():
        for n, classes, seed in [(4, 3, 900), (9, 10, 910)]:
            logits = 2 * rec.randn(n, classes, seed=seed, device=device)
            targets = torch.randint(classes, (n,), generator=torch.Generator().manual_seed(seed + 1)).to(device)
            rec.call(f"cross_entropy_backward on {n} examples of {classes} classes ({device})", "cross_entropy_backward",
                     logits, targets, forbid=("backward", "grad"))
        rec.call(f"cross_entropy_backward of large logits ({device})", "cross_entropy_backward",
                 torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 800.0, 1.0]], device=device),
                 torch.tensor([1, 1], device=device))
    # "meta" tensors have a device and a shape but no data: a one-hot built on the CPU fails on them.
    rec.call("cross_entropy_backward on tensors of another device (meta)", "cross_entropy_backward",
             rec.randn(3, 4, seed=920).to("meta"), torch.tensor([0, 3, 1]).to("meta"))


QUESTIONS = [
    Question("test_scalar_gradients", probe_scalar_gradients),
    Question("test_compare_gradients", probe_compare_gradients, rtol=1e-6, atol=1e-12),
    Question("test_gradient_shapes", probe_gradient_shapes, shape_hints={
        (): "a bias gradient sums over the batch only (dim=0, keepdim=True) and keeps the bias's shape"}),
    Question("test_manual_gradients", probe_manual_gradients, shape_hints={
        (): "a bias gradient sums over the batch only (dim=0, keepdim=True) and keeps the bias's shape"}),
    Question("test_numerical_gradient", probe_numerical_gradient, check_dtype=True, rtol=1e-7, atol=1e-6),
    Question("test_descend", probe_descend, rtol=1e-9, atol=1e-9),
    Question("test_fit_line", probe_fit_line, shape_hints={
        (1,): "make w and b 0-d tensors: torch.zeros(())"}, error_hints={
        "leaf Variable that requires grad": "update w and b inside `with torch.no_grad():`",
        "NoneType": "w.grad is None: `w = w - lr * w.grad` replaced your leaf with a new tensor that gets no .grad; "
                    "update in place (w -= lr * w.grad) inside torch.no_grad()"}),
    Question("test_cross_entropy_backward", probe_cross_entropy_backward, error_hints={
        "must match the size": "F.one_hot(targets) makes only as many columns as the largest target + 1: pass the "
                               "number of classes, F.one_hot(targets, logits.shape[1])"}),
]
