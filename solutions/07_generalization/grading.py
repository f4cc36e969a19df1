"""Lesson 07's graded questions: what each probe feeds the student's code, and how its data are judged.

Each ``probe_*`` function runs in the student's kernel (its source is sent there; it is not secret): it
builds datasets, models and training runs, and records what the student's code returns or leaves behind
(the indices of each split, each measured loss, each answer of the early stopper and the weights it kept,
what dropout keeps and how it scales it, the weights of a resumed run). The grader compares those data with
the same probe's data on the solution, outside the kernel; known mistakes (tests/mutants/07_generalization.yml)
are recognised by their data. Nothing else of this file reaches a student.

Dropout's mask is random, and any correct recipe draws a different one: its probe records what every
correct mask shares (the share zeroed, the value kept, identity in evaluation), never the mask itself.
Random draws run under a fixed seed inside ``torch.random.fork_rng``, so a mistake's data are the same in
every run and the student's global random state is left as it was.
"""
import torch  # noqa: F401 (in the kernel, probes are given torch, np and math)

from grader.questions import Question


def probe_split_dataset(rec):
    from torch.utils.data import TensorDataset

    pairs = []

    def split(*args):  # the student's split_dataset; its pair is examined below, not recorded as an object
        if "split_dataset" not in rec.ns:
            raise NameError("name 'split_dataset' is not defined")
        pairs.append(rec.ns["split_dataset"](*args))

    for n, fraction, seed in [(50, 0.2, 3), (48, 0.2, 4), (103, 0.25, 5), (7, 0.5, 6)]:
        dataset = TensorDataset(torch.arange(n, dtype=torch.float32).unsqueeze(1), torch.arange(n) % 2)
        label = f"split_dataset of {n} examples with val_fraction={fraction}, seed={seed}"
        pairs.clear()
        state = torch.get_rng_state()
        rec.call(label, split, dataset, fraction, seed)
        rec.claim(f"{label} leaves torch's global random state as it was (the split draws from its own generator)",
                  torch.equal(state, torch.get_rng_state()))
        if not pairs:
            continue
        pair = pairs[0]
        returned_pair = isinstance(pair, (tuple, list)) and len(pair) == 2
        rec.claim(f"{label} returns a pair (train, val)", returned_pair)
        if returned_pair:
            for name, part in zip(("training", "validation"), pair):
                rec.call(f"the indices of the {name} split from {label}",
                         lambda part=part: torch.tensor([int(i) for i in part.indices], dtype=torch.int64))


def probe_mean_loss(rec):
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    class Watched(nn.Module):
        """A seeded linear model behind a Dropout; notes at each forward pass whether gradients were tracked."""

        def __init__(self, outputs, seed):
            super().__init__()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.linear = nn.Linear(6, outputs)
            self.drop = nn.Dropout(0.5)
            self.tracked = []

        def forward(self, x):
            self.tracked.append(torch.is_grad_enabled())
            return self.linear(self.drop(x))

    for device in rec.devices():
        cases = [("cross_entropy, 23 examples in batches of 10", 3, TensorDataset(rec.randn(23, 6, seed=900),
                                                                                  torch.arange(23) % 3),
                  10, F.cross_entropy),
                 ("MSELoss, 12 examples in batches of 5", 1, TensorDataset(rec.randn(12, 6, seed=901),
                                                                           rec.randn(12, 1, seed=902)),
                  5, nn.MSELoss())]
        for what, outputs, dataset, batch_size, loss_fn in cases:
            model = Watched(outputs, seed=903).to(device)  # in training mode, as a training loop leaves it
            label = f"mean_loss with {what} ({device})"
            with torch.random.fork_rng(devices=[]):  # dropout left on draws from the global generator
                torch.manual_seed(904)
                value = rec.call(label, "mean_loss", model, DataLoader(dataset, batch_size=batch_size), loss_fn)
            rec.claim(f"{label} returns a Python float", isinstance(value, float))
            rec.claim(f"{label} measures in evaluation mode: model.eval() ({device})", not model.training)
            rec.claim(f"{label} measures without tracking gradients: torch.no_grad() ({device})",
                      bool(model.tracked) and not any(model.tracked))


def probe_early_stopping(rec):
    from torch import nn

    def build(patience):
        if "EarlyStopping" not in rec.ns:
            raise NameError("name 'EarlyStopping' is not defined")
        return rec.ns["EarlyStopping"](patience)

    def watch(patience, losses):
        """Each step's answer, best_loss and the epoch whose weights best_state holds (0: none), as rows."""
        stopper = build(patience)
        model, rows = nn.Linear(1, 1, bias=False), []
        for epoch, loss in enumerate(losses, start=1):
            with torch.no_grad():
                model.weight.fill_(epoch)  # in place, as an optimizer step changes weights
            answer = stopper.step(loss, model)
            state = stopper.best_state
            kept = 0.0 if state is None else float(state["weight"].item())
            rows.append([float(bool(answer)), float(stopper.best_loss), kept])
        return torch.tensor(rows, dtype=torch.float64)

    rec.call("EarlyStopping(2) starts with [best_loss == float('inf'), best_state is None]",
             lambda: (lambda stopper: [stopper.best_loss == float("inf"), stopper.best_state is None])(build(2)))
    for patience, losses in [(3, [5.0, 4.0, 4.5, 4.6, 3.5, 3.6, 3.7, 3.8, 3.9]), (2, [2.0, 2.0, 2.0, 1.0]),
                             (2, [5.0, 3.0, 4.0, 3.5, 3.8, 2.0]), (1, [1.0, 2.0, 0.5, 0.7])]:
        rec.call(f"EarlyStopping({patience}) on the losses {', '.join(f'{v:g}' for v in losses)}: row k after "
                 "step k + 1, holding (its answer, best_loss, the epoch whose weights best_state holds)", watch,
                 patience, losses)


def probe_dropout(rec):
    def build(p):
        if "Dropout" not in rec.ns:
            raise NameError("name 'Dropout' is not defined")
        return rec.ns["Dropout"](p)

    outputs = []

    def apply(drop, x):  # the output is examined below: a correct mask is any mask, so it is never recorded
        outputs.append(drop(x))

    for device in rec.devices():
        for p in (0.5, 0.2, 0.7):
            drop = rec.call(f"Dropout({p}) ({device})", build, p)
            if drop is None:
                continue
            ones = torch.ones(400, 500, device=device)
            label = f"Dropout({p}) in training mode on 200,000 ones ({device})"
            outputs.clear()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(910)  # the CPU's generator and every GPU's
                rec.call(label, apply, drop, ones, forbid=("dropout", "dropout_", "native_dropout"))
                rec.call(label + ", a second time", apply, drop, ones)
            if len(outputs) != 2 or not all(isinstance(out, torch.Tensor) for out in outputs):
                continue
            out = outputs[0]
            rec.record(f"the shape, dtype and device of {label}", out.detach().to("meta"))
            if out.shape != ones.shape:
                continue
            rec.record(f"the values that {label} keeps", torch.unique(out[out != 0].detach()).double())
            zeroed = (out == 0).double().mean().item()
            rec.claim(f"{label} zeroes about {p:.0%} of the values (within one percentage point)",
                      abs(zeroed - p) < 0.01)
            rec.claim(f"{label} draws a new mask on every call", not torch.equal(out, outputs[1]))
            x = rec.randn(300, 40, seed=911, device=device).requires_grad_()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(912)
                outputs.clear()
                rec.call(f"Dropout({p}) in training mode on 300 x 40 normal values ({device})", apply, drop, x)
            if outputs and isinstance(outputs[0], torch.Tensor) and outputs[0].requires_grad:
                outputs[0].sum().backward()
                rec.claim(f"the gradient through Dropout({p}) is its mask, divided by 1 - p ({device})",
                          x.grad is not None and torch.allclose(x.grad * x.detach(), outputs[0].detach(), atol=1e-5))
            drop.eval()
            x = rec.randn(5, 7, seed=913, device=device, dtype=torch.float64)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(914)
                rec.call(f"Dropout({p}) in evaluation mode on 5 x 7 values ({device})", drop, x)
        drop = rec.call(f"Dropout(0.0) ({device})", build, 0.0)
        if drop is not None:
            rec.call(f"Dropout(0.0) in training mode on 5 x 7 values ({device})", drop,
                     rec.randn(5, 7, seed=915, device=device))


def probe_checkpoint(rec):
    import io

    import torch.nn.functional as F
    from torch import nn

    def fresh(seed, device):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3)).to(device)
        return model, torch.optim.Adam(model.parameters(), lr=0.01), torch.Generator().manual_seed(seed)

    def train(model, optimizer, generator, epochs, x, y):
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator).to(x.device)
            for start in range(0, len(x), 8):
                batch = order[start:start + 8]
                optimizer.zero_grad()
                F.cross_entropy(model(x[batch]), y[batch]).backward()
                optimizer.step()

    def flat(model):
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    for device in rec.devices():
        x, y = rec.randn(40, 5, seed=920, device=device), (torch.arange(40) % 3).to(device)
        model, optimizer, generator = fresh(921, device)
        train(model, optimizer, generator, 3, x, y)
        file = io.BytesIO()
        rec.call(f"save_checkpoint(file, model, optimizer, generator, 3) after 3 epochs of Adam ({device})",
                 "save_checkpoint", file, model, optimizer, generator, 3)
        train(model, optimizer, generator, 2, x, y)
        resumed, resumed_optimizer, resumed_generator = fresh(922, device)
        label = f"load_checkpoint of that file into a fresh model, Adam and generator ({device})"
        done = rec.call(label, "load_checkpoint", io.BytesIO(file.getvalue()), resumed, resumed_optimizer,
                        resumed_generator)
        if not isinstance(done, int) or not 0 <= done <= 5:
            continue
        train(resumed, resumed_optimizer, resumed_generator, 5 - done, x, y)
        rec.record(f"the parameters after resuming from what {label} returned up to epoch 5", flat(resumed))
        rec.claim(f"the resumed run ends with the weights of 5 epochs without interruption ({device})",
                  torch.equal(flat(resumed), flat(model)))


QUESTIONS = [
    Question("test_split_dataset", probe_split_dataset, check_dtype=True),
    Question("test_mean_loss", probe_mean_loss, rtol=1e-5, atol=1e-6, error_hints={
        "Expected all tensors to be on the same device": "move each batch to the model's device, "
                                                          "next(model.parameters()).device"}),
    Question("test_early_stopping", probe_early_stopping),
    Question("test_dropout", probe_dropout, check_dtype=True, rtol=1e-5, atol=1e-6, error_hints={
        "Expected all tensors to be on the same device": "draw the mask on x's device: torch.rand_like(x)"}),
    Question("test_checkpoint", probe_checkpoint, rtol=1e-5, atol=1e-6, error_hints={
        "Weights only load failed": "save state_dict()s, not the objects: torch.load(..., weights_only=True) "
                                    "reads tensors and plain values only"}),
]
