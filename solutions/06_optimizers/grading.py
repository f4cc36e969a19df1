"""Lesson 06's graded questions: what each probe feeds the student's code, and how its data are judged.

Each ``probe_*`` function runs in the student's kernel (its source is sent there; it is not secret): it
builds inputs, parameters, optimizers' problems and training setups, and records what the student's code
returns or leaves behind (parameters after each step, each epoch's loss, the global random state, the
devices batches reach the model on). The grader compares those data with the same probe's data on the
solution, outside the kernel; known mistakes (tests/mutants/06_optimizers.yml) are recognised by their
data. Nothing else of this file reaches a student.

Models are built under a fixed seed inside ``torch.random.fork_rng``, so they are the same in every run
and the student's global random state is left as it was. ``train`` is also given a model whose first
parameter lives on the ``meta`` device: a CPU-only grader still sees whether each batch is moved to the
model's device.
"""
import torch  # noqa: F401 (in the kernel, probes are given torch, np and math)

from grader.questions import Question


def probe_mse_gradients(rec):
    generator = torch.Generator().manual_seed(0)  # the notebook's data: torch.manual_seed(0), then rand and randn
    x0 = torch.rand(200, generator=generator) * 4 - 2
    y0 = 4 * torch.sin(2 * x0) + 0.3 * torch.randn(200, generator=generator)
    for device in rec.devices():
        xs = rec.randn(57, seed=300, device=device)
        for what, x, y in [("the notebook's sine data", x0.to(device), y0.to(device)),
                           ("57 points", xs, 4 * torch.sin(2 * xs) + 0.3 * rec.randn(57, seed=301, device=device))]:
            label = f"mse_gradients_at_zero on {what} ({device})"
            result = rec.call(label, "mse_gradients_at_zero", x, y)
            pair = isinstance(result, tuple) and len(result) == 2
            rec.claim(f"{label} returns a pair (dL/dw, dL/db)", pair)
            if pair:
                rec.record(f"dL/dw from {label}", result[0])
                rec.record(f"dL/db from {label}", result[1])


def probe_cross_entropy(rec):
    for device in rec.devices():
        generator = torch.Generator().manual_seed(302)
        cases = [("two examples", torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), torch.tensor([0, 1])),
                 ("large logits", torch.tensor([[1000.0, 0.0, -5.0], [0.0, 800.0, 1.0]]), torch.tensor([1, 1])),
                 ("9 examples, 5 classes", 3 * rec.randn(9, 5, seed=303), torch.randint(0, 5, (9,), generator=generator))]
        for i, (what, logits, targets) in enumerate(cases):
            rec.call(f"cross_entropy on {what} ({device})", "cross_entropy", logits.to(device), targets.to(device),
                     forbid=("cross_entropy", "nll_loss") if i == 0 else ())


def probe_sgd_step(rec):
    def sgd_step(params, lr):  # the student's sgd_step; what it returns does not matter, the parameters do
        if "sgd_step" not in rec.ns:
            raise NameError("name 'sgd_step' is not defined")
        rec.ns["sgd_step"](params, lr)

    for device in rec.devices():
        for shapes, lr, seed in [([(3, 2), (2,)], 0.1, 310), ([(4, 5), (5,), (1,)], 0.03, 320)]:
            params = [rec.randn(*s, seed=seed + i, device=device).requires_grad_() for i, s in enumerate(shapes)]
            for i, p in enumerate(params):
                p.grad = rec.randn(*p.shape, seed=seed + 50 + i, device=device)
            label = f"sgd_step(params, lr={lr}) on {len(shapes)} parameters ({device})"
            rec.call(label, sgd_step, params, lr)
            for i, p in enumerate(params):
                rec.record(f"parameter {i} after {label}", p)


def probe_momentum_sgd(rec):
    def path(make_optimizer, shapes, seed, device, steps=20):
        """The parameters, one row per step (the start first), as the optimizer minimizes a quadratic."""
        params = [rec.randn(*s, seed=seed + i, device=device).requires_grad_() for i, s in enumerate(shapes)]
        targets = [p.detach() + rec.randn(*p.shape, seed=seed + 50 + i, device=device) for i, p in enumerate(params)]
        optimizer, rows = make_optimizer(params), [torch.cat([p.detach().flatten() for p in params])]
        for _ in range(steps):
            optimizer.zero_grad()
            sum(((k + 1) * (p - t) ** 2).sum() for k, (p, t) in enumerate(zip(params, targets))).backward()
            optimizer.step()
            rows.append(torch.cat([p.detach().flatten() for p in params]))
        return torch.stack(rows)

    def momentum_sgd(params, lr, momentum):
        if "MomentumSGD" not in rec.ns:
            raise NameError("name 'MomentumSGD' is not defined")
        return rec.ns["MomentumSGD"](params, lr, momentum)

    # the last problem's parameters share one shape: one buffer for all of them gives wrong values, not an error
    for lr, momentum, shapes, seed in [(0.05, 0.9, [(3,), (2, 2)], 330), (0.02, 0.8, [(4, 3), (3,), (1,)], 340),
                                       (0.05, 0.5, [(2, 3), (2, 3)], 345)]:
        for device in rec.devices():
            rec.call(f"MomentumSGD(params, {lr}, {momentum}) on {len(shapes)} parameters: row k holds them after "
                     f"step k of 20 ({device})", path, lambda ps: momentum_sgd(ps, lr, momentum), shapes, seed, device)


def probe_adam(rec):
    def path(make_optimizer, shapes, seed, device, spread, steps=20):
        """The parameters, one row per step (the start first), as the optimizer minimizes a quadratic."""
        params = [rec.randn(*s, seed=seed + i, device=device).requires_grad_() for i, s in enumerate(shapes)]
        targets = [p.detach() + spread * rec.randn(*p.shape, seed=seed + 50 + i, device=device)
                   for i, p in enumerate(params)]
        optimizer, rows = make_optimizer(params), [torch.cat([p.detach().flatten() for p in params])]
        for _ in range(steps):
            optimizer.zero_grad()
            sum(((k + 1) * (p - t) ** 2).sum() for k, (p, t) in enumerate(zip(params, targets))).backward()
            optimizer.step()
            rows.append(torch.cat([p.detach().flatten() for p in params]))
        return torch.stack(rows)

    def adam(params, lr, betas):
        if "Adam" not in rec.ns:
            raise NameError("name 'Adam' is not defined")
        return rec.ns["Adam"](params, lr=lr, betas=betas)

    # gradients of about 1e-6 in the last problem: eps = 1e-8 then matters, and only outside the square root
    # does it give torch.optim.Adam's steps
    for lr, betas, shapes, seed, spread in [(0.01, (0.9, 0.999), [(3,), (2, 2)], 350, 1.0),
                                            (0.003, (0.8, 0.99), [(4, 3), (2,)], 360, 1.0),
                                            (0.001, (0.9, 0.999), [(5,)], 370, 1e-6)]:
        scale = f" with gradients of about {spread:g}" if spread != 1 else ""
        count = f"{len(shapes)} parameters" if len(shapes) > 1 else "1 parameter"
        for device in rec.devices():
            rec.call(f"Adam(params, lr={lr}, betas={betas}) on {count}{scale}: row k holds them "
                     f"after step k of 20 ({device})", path, lambda ps: adam(ps, lr, betas), shapes, seed, device, spread)


def probe_noisy_sine(rec):
    from torch.utils.data import DataLoader

    def noisy_sine(*args, **kwargs):
        if "NoisySine" not in rec.ns:
            raise NameError("name 'NoisySine' is not defined")
        return rec.ns["NoisySine"](*args, **kwargs)

    def example(data, i):
        x, y = data[i]
        return x, y

    def same(a, b):
        return all(isinstance(u, torch.Tensor) and isinstance(v, torch.Tensor) and u.shape == v.shape
                   and torch.equal(u, v) for u, v in zip(a, b))

    def holds(test):  # whether test() is true; an exception means it is not
        try:
            return bool(test())
        except Exception:
            return False

    def without_values(value):  # a tensor's type, shape and dtype, not its values (the draws may come in any order)
        return value.detach().to("meta") if isinstance(value, torch.Tensor) else value

    def all_of(data, n, part):
        return torch.cat([example(data, i)[part].reshape(-1) for i in range(n)]).double()

    def noise_is_normal(data, n):
        xs, ys = all_of(data, n, 0), all_of(data, n, 1)
        noise = (ys - 4 * torch.sin(2 * xs)) / 0.3
        return 0.6 < noise.std() < 1.4 and noise.abs().max() < 6

    for n, seed, batch_size in [(130, 0, 16), (77, 5, 10)]:
        name = f"NoisySine({n}, seed={seed})"
        state = torch.get_rng_state()
        data = rec.call(name, noisy_sine, n, seed)
        if data is None:
            continue
        rec.call(f"len({name})", len, data)
        later = rec.call(f"{name}[{n - 1}]", example, data, n - 1)
        first = rec.call(f"{name}[0]", example, data, 0)
        if first is None or later is None:
            continue
        rec.claim(f"{name}[0] and {name}[{n - 1}] are the same every time they are read",
                  holds(lambda: same(example(data, 0), first) and same(example(data, n - 1), later)))
        rec.claim(f"{name}[0] and {name}[1] differ", holds(lambda: not torch.equal(example(data, 0)[0],
                                                                                   example(data, 1)[0])))
        for part, value in zip("xy", first):
            rec.record(f"{part} of {name}[0]", without_values(value))
        rec.claim(f"every x of {name} lies in [-2, 2)", holds(lambda: bool(((all_of(data, n, 0) >= -2)
                                                                             & (all_of(data, n, 0) < 2)).all())))
        rec.claim(f"y - 4 sin(2x) of {name} looks like 0.3 times standard-normal noise",
                  holds(lambda: noise_is_normal(data, n)))
        rec.claim(f"reading the examples of {name} leaves torch's global random state as it was "
                  "(each example draws from its own torch.Generator)", torch.equal(state, torch.get_rng_state()))
        with torch.random.fork_rng(devices=[]):  # a DataLoader draws a seed from the global generator
            rec.call(f"the batch sizes of DataLoader({name}, batch_size={batch_size})",
                     lambda: [len(inputs) for inputs, _ in DataLoader(data, batch_size=batch_size)])
        rec.call(f"len(DataLoader({name}, batch_size={batch_size}, drop_last=True))",
                 lambda: len(DataLoader(data, batch_size=batch_size, drop_last=True)))
    rec.claim("NoisySine(5, seed=1)[2] and NoisySine(5, seed=2)[2] differ",
              holds(lambda: not torch.equal(example(noisy_sine(5, seed=1), 2)[0], example(noisy_sine(5, seed=2), 2)[0])))


def probe_train(rec):
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    returned = []

    def train(*args):  # the student's train; what it returns is recorded separately, as numbers
        if "train" not in rec.ns:
            raise NameError("name 'train' is not defined")
        returned.append(rec.ns["train"](*args))

    def seeded(seed, build):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build()

    def check(label, model, loader, optimizer, loss_fn, epochs):
        returned.clear()
        rec.call(label, train, model, loader, optimizer, loss_fn, epochs)
        if not returned:
            return
        history = returned[0]
        rec.claim(f"{label} returns a list of {epochs} Python floats",
                  isinstance(history, list) and len(history) == epochs and all(isinstance(v, float) for v in history))
        try:
            losses = torch.tensor([float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for v in history],
                                  dtype=torch.float64)
        except Exception:
            losses = history
        rec.record(f"the mean batch loss of each epoch from {label}", losses)

    class Elsewhere(nn.Module):
        """A model whose first parameter lives on the meta device: that is the device batches must reach it on."""

        def __init__(self):
            super().__init__()
            self.marker = nn.Parameter(torch.empty(0, device="meta"))
            self.inner = seeded(390, lambda: nn.Linear(1, 1))
            self.seen = []  # (whether the inputs were on meta, whether the model was in training mode)

        def forward(self, inputs):
            self.seen.append((inputs.device.type == "meta", self.training))
            return self.inner(torch.zeros(inputs.shape))  # meta tensors hold no values: the output is computed on zeros

    targets_seen = []

    def loss_on_zeros(prediction, target):  # records where the targets arrived; the loss is computed where it can be
        targets_seen.extend(t.device.type == "meta" for t in (prediction, target) if not t.requires_grad)
        return sum((t.float() ** 2).mean() for t in (prediction, target) if t.device.type != "meta")

    with torch.random.fork_rng(devices=[]):  # loaders draw seeds from the global generator
        for device in rec.devices():
            generator = torch.Generator().manual_seed(7)
            xs = torch.rand(100, 1, generator=generator) * 4 - 2
            ys = 4 * torch.sin(2 * xs) + 0.3 * torch.randn(100, 1, generator=generator)
            model = seeded(7, lambda: nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                                                    nn.Linear(32, 1))).to(device)
            loader = DataLoader(TensorDataset(xs, ys), batch_size=20, shuffle=True,
                                generator=torch.Generator().manual_seed(7))
            check(f"train on 100 sine points for 15 epochs with Adam and MSELoss ({device})", model, loader,
                  torch.optim.Adam(model.parameters(), lr=0.01), nn.MSELoss(), 15)
            classifier = seeded(380, lambda: nn.Linear(2, 3)).to(device)
            points = TensorDataset(rec.randn(12, 2, seed=380), torch.arange(12) % 3)
            check(f"train on a 3-class problem for 2 epochs with SGD and CrossEntropyLoss ({device})", classifier,
                  DataLoader(points, batch_size=4), torch.optim.SGD(classifier.parameters(), lr=0.1),
                  nn.CrossEntropyLoss(), 2)
        model = Elsewhere().eval()
        loader = DataLoader(TensorDataset(rec.randn(8, 1, seed=391), rec.randn(8, 1, seed=392)), batch_size=4)
        rec.call("train for 2 epochs on a model in eval mode whose parameters live on another device (meta)", train,
                 model, loader, torch.optim.SGD(model.inner.parameters(), lr=0.1), loss_on_zeros, 2)
    rec.claim("train moves each batch's inputs to the model's device, next(model.parameters()).device",
              bool(model.seen) and all(moved for moved, _ in model.seen))
    rec.claim("train moves each batch's targets to the model's device too", bool(targets_seen) and all(targets_seen))
    rec.claim("train puts the model in training mode (model.train()) before its first batch",
              bool(model.seen) and all(training for _, training in model.seen))


STATE_HINTS = {"doesn't match the broadcast shape": "keep one state tensor per parameter, shaped like it",
               "must match the size of tensor": "keep one state tensor per parameter, shaped like it"}

QUESTIONS = [
    Question("test_mse_gradients", probe_mse_gradients, shape_hints={
        (200,): "each derivative is one number: take the mean over the points (a 0-d tensor)",
        (57,): "each derivative is one number: take the mean over the points (a 0-d tensor)",
        (1,): "return 0-d tensors, like (x * y).mean(), not tensors of shape (1,)"}),
    Question("test_cross_entropy", probe_cross_entropy, shape_hints={
        (2, 2): "index the target column of each row: log_probs[torch.arange(N), targets]",
        (9, 9): "index the target column of each row: log_probs[torch.arange(N), targets]",
        (2,): "the loss is one number: the mean over the batch",
        (9,): "the loss is one number: the mean over the batch"}),
    Question("test_sgd_step", probe_sgd_step, rtol=1e-6, atol=1e-7, error_hints={
        "leaf Variable that requires grad": "update the parameters inside `with torch.no_grad():`"}),
    Question("test_momentum_sgd", probe_momentum_sgd, rtol=1e-5, atol=1e-6, error_hints={
        "leaf Variable that requires grad": "update the parameters inside `with torch.no_grad():`", **STATE_HINTS}),
    Question("test_adam", probe_adam, rtol=1e-5, atol=1e-6, error_hints={
        "leaf Variable that requires grad": "update the parameters inside `with torch.no_grad():`", **STATE_HINTS}),
    Question("test_noisy_sine", probe_noisy_sine, check_dtype=True, shape_hints={
        (): "return tensors of shape (1,), like torch.rand(1), not 0-d tensors"}),
    Question("test_train", probe_train, rtol=1e-3, atol=1e-4, error_hints={
        "not implemented for 'Long'": "call loss_fn(prediction, target): the model's output comes first",
        "Expected all tensors to be on the same device": "move each batch to the model's device, "
                                                          "next(model.parameters()).device"}),
]
