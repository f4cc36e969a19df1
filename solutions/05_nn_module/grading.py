"""Lesson 05's graded questions: what each probe feeds the student's code, and how its data are judged.

Each ``probe_*`` function runs in the student's kernel (its source is sent there; it is not secret): it
builds modules and inputs and records what the student's code returns. The grader compares those data
with the same probe's data on the solution, outside the kernel; known mistakes (tests/mutants/05_nn_module.yml)
are recognised by their data. Nothing else of this file reaches a student.

Modules are built under a fixed seed (so any weights the probe does not set are the same in every run),
then given known weights: every parameter gets seeded values chosen by its name, whatever the order in
which ``__init__`` created the layers. ConvNet's probe replaces its ``features`` and ``classifier`` with
known stand-ins, so its data depend on ConvNet's own code only, not on Exercises 3 and 6.
"""
import math  # noqa: F401 (in the kernel, probes are given torch, np and math)

import torch  # noqa: F401

from grader.questions import Question


def probe_simple_model(rec):
    for n_in, n_out, batch, seed in [(5, 3, 4, 90), (7, 2, 6, 100)]:
        name = f"SimpleModel({n_in}, {n_out})"
        model = rec.build(name, "SimpleModel", n_in, n_out)
        if model is None:
            return
        for device in rec.devices():
            rec.known_weights(f"moving {name} to {device} and setting known weights", model, seed, device)
            rec.call(f"{name} with known weights on a batch of {batch} ({device})", model,
                     rec.randn(batch, n_in, seed=seed + 10, device=device))


def probe_simple_sequential(rec):
    for n_in, n_out, seed in [(5, 3, 120), (9, 4, 130)]:
        name = f"simple_sequential({n_in}, {n_out})"
        model = rec.build(name, "simple_sequential", n_in, n_out)
        if model is None:
            return
        for device in rec.devices():
            rec.known_weights(f"moving {name} to {device} and setting known weights", model, seed, device)
            rec.call(f"{name} with known weights on a batch of 5 ({device})", model,
                     rec.randn(5, n_in, seed=seed + 50, device=device))


def probe_mlp(rec):
    model = rec.build("MLP()", "MLP")
    if model is None:
        return
    for device in rec.devices():
        for seed in [140, 150]:
            rec.known_weights(f"moving MLP() to {device} and setting known weights", model, seed, device)
            x = rec.randn(5, 256, seed=seed + 50, device=device)
            name = f"MLP with known weights (set {seed}) on a batch of 5 ({device})"
            rec.call(f"the logits of {name}", model, x)
            rec.call(f"predict_proba of {name}", lambda x: model.predict_proba(x), x)


def probe_count_parameters(rec):
    from torch import nn

    with_norm = nn.Sequential(nn.Conv2d(3, 8, 2), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))
    frozen = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 3), nn.BatchNorm1d(3))
    frozen[0].requires_grad_(False)
    for label, model in [("nn.Linear(3, 2)", nn.Linear(3, 2)), ("a conv net with BatchNorm", with_norm),
                         ("a model whose first layer is frozen", frozen),
                         ("nn.Conv2d(4, 6, 3, bias=False)", nn.Conv2d(4, 6, 3, bias=False))]:
        rec.call(f"count_parameters({label})", "count_parameters", model)


def probe_deep_mlp(rec):
    for sizes, seed in [([4, 8, 8, 2], 160), ([6, 5], 170), ([3, 7, 5, 4, 2], 180)]:
        name = f"DeepMLP({sizes})"
        model = rec.build(name, "DeepMLP", list(sizes))
        if model is None:
            continue
        for device in rec.devices():
            rec.known_weights(f"moving {name} to {device} and setting known weights", model, seed, device)
            rec.call(f"{name} with known weights on a batch of 3 ({device})", model,
                     rec.randn(3, sizes[0], seed=seed + 50, device=device))


def probe_conv_features(rec):
    model = rec.build("ConvFeatures()", "ConvFeatures")
    if model is None:
        return
    for device in rec.devices():
        for seed, n in [(190, 2), (200, 5)]:
            rec.known_weights(f"moving ConvFeatures() to {device} and setting known weights", model, seed, device)
            rec.call(f"ConvFeatures with known weights on a batch of {n} ({device})", model,
                     rec.randn(n, 3, 19, 19, seed=seed + 50, device=device))


def probe_conv_net(rec):
    import torch.nn.functional as F

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = rec.call("ConvNet()", "ConvNet")
    if model is None:
        return
    parts = {}
    for attribute, kind, label in [("features", "ConvFeatures", "ConvNet().features is a ConvFeatures"),
                                   ("classifier", "MLP", "ConvNet().classifier is an MLP")]:
        part, cls = getattr(model, attribute, None), rec.ns.get(kind)
        rec.claim(label, isinstance(cls, type) and isinstance(part, cls))
        if isinstance(part, torch.nn.Module):
            parts[attribute] = part

    if "features" in parts:
        def features_shape(x):
            with torch.no_grad():
                return tuple(parts["features"](x).shape)

        rec.call("the shape of ConvNet's features for a batch of 3 images (fix ConvFeatures, Exercise 6, first)",
                 features_shape, rec.randn(3, 3, 19, 19, seed=250))

    # Known stand-ins for the two parts: what ConvNet returns then depends on its own forward only.
    for device in rec.devices():
        w_features = rec.randn(16, 3, 1, 1, seed=260, device=device)
        w_classifier, b_classifier = 0.1 * rec.randn(4, 256, seed=261, device=device), rec.randn(4, seed=262, device=device)
        if "features" in parts:
            parts["features"].forward = lambda x: F.conv2d(F.adaptive_avg_pool2d(x, 4), w_features)
        if "classifier" in parts:
            parts["classifier"].forward = lambda h: F.linear(h, w_classifier, b_classifier)
        rec.call(f"moving ConvNet() to {device}", model.to, device)  # recorded as its result's type, ConvNet
        x = rec.randn(3, 3, 19, 19, seed=270, device=device)
        name = f"ConvNet with stand-ins for self.features and self.classifier, on a batch of 3 ({device})"
        rec.call(name, model, x)
        rec.call(f"{name}, its first image alone", model, x[:1])

    # "meta" tensors carry shapes and a device but no data: a tensor made on the CPU inside forward fails on them.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        meta = rec.call("ConvNet() moved to another device (meta)", lambda: rec.ns["ConvNet"]().to("meta"))
    if meta is not None:
        rec.call("ConvNet on another device (meta)", meta, rec.randn(2, 3, 19, 19, seed=280).to("meta"))


MODULE_HINTS = {
    "before Module.__init__() call": "call super().__init__() first thing in __init__",
    "object has no attribute": "the module has no attribute of that name: use in forward the same layer names that "
                               "__init__ sets (fc1, not fci), and define every method the exercise asks for",
}
FLATTEN = "flatten each image, not the whole batch: x.flatten(1) turns (N, 16, 4, 4) into (N, 256)"
CONV_SHAPES = {(n, 16, 8, 8): "pool after the second convolution too: 16×8×8 → 16×4×4" for n in (2, 3, 5)}
CONV_SHAPES.update({(n, 16, 9, 9): "pool after the second convolution too" for n in (2, 3, 5)})
CONV_SHAPES.update({(n, 8, 9, 9): "add the second convolution block: conv2, ReLU, pool" for n in (2, 3, 5)})

def probe_init_kaiming(rec):
    from torch import nn

    def scale(weight):  # which usual standard deviation the weights have, told apart on these layers' sizes
        fan_out, fan_in = weight.shape
        usual = {"√(2 / fan_in), Kaiming's": 2 / fan_in, "√(1 / fan_in)": 1 / fan_in, "√(2 / fan_out)": 2 / fan_out,
                 "√(2 / (fan_in + fan_out)), Xavier's": 2 / (fan_in + fan_out),
                 "1 / √(3 fan_in), PyTorch's default": 1 / (3 * fan_in)}
        std = weight.std().item()
        name = min(usual, key=lambda k: abs(math.log(std / usual[k] ** 0.5)))
        return name if abs(std / usual[name] ** 0.5 - 1) < 0.05 else "none of the usual ones"

    init = rec.get("init_kaiming")
    if init is None:
        return
    single = nn.Linear(100, 300)
    nested = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(64, 512), nn.BatchNorm1d(512), nn.ReLU(),
                           nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 64, bias=False)))
    for name, model, layers, others in [
            ("a single nn.Linear(100, 300)", single, {"the layer": single}, {}),
            ("a Sequential with a conv, BatchNorm and a nested Sequential", nested,
             {"model[1]": nested[1], "model[4][0] (nested)": nested[4][0], "model[4][2] (nested, no bias)": nested[4][2]},
             {"the Conv2d": nested[0], "the BatchNorm1d": nested[2]})]:
        params = list(model.parameters())
        before = {k: [t.clone() for t in m.state_dict().values()] for k, m in others.items()}
        returned = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(750)  # the same weights on every run
            rec.call(f"init_kaiming({name})", lambda: returned.append(init(model)))  # records whether it raised
        if not returned:
            continue
        rec.claim(f"init_kaiming({name}) returns the model it was given", returned[0] is model)
        rec.claim(f"init_kaiming({name}) keeps the parameter tensors (initializes them in place)",
                  all(a is b for a, b in zip(params, model.parameters())))
        for label, layer in layers.items():
            w = layer.weight.detach()
            rec.record(f"in {name}, {label}: the standard deviation of the weights", scale(w), kind="value")
            rec.claim(f"in {name}, {label}: the weights are normal (about 4.6 % beyond two standard deviations)",
                      0.03 < ((w - w.mean()).abs() > 2 * w.std()).float().mean().item() < 0.065)
            if layer.bias is not None:
                rec.claim(f"in {name}, {label}: the bias is all zeros", not layer.bias.detach().any().item())
        for label, module in others.items():
            rec.claim(f"in {name}, {label} is left as it was", all(
                torch.equal(a, b) for a, b in zip(before[label], module.state_dict().values())))


QUESTIONS = [
    Question("test_simple_model", probe_simple_model, error_hints=MODULE_HINTS),
    Question("test_simple_sequential", probe_simple_sequential),
    Question("test_mlp", probe_mlp, error_hints=MODULE_HINTS),
    Question("test_count_parameters", probe_count_parameters),
    Question("test_deep_mlp", probe_deep_mlp, error_hints={
        **MODULE_HINTS, "cannot be multiplied": "layer i maps sizes[i] features to sizes[i + 1]"}),
    Question("test_conv_features", probe_conv_features, shape_hints=CONV_SHAPES, error_hints=MODULE_HINTS),
    Question("test_conv_net", probe_conv_net, shape_hints={(4,): FLATTEN}, error_hints={
        "shapes cannot be multiplied": FLATTEN,
        "Tensor on device cpu is not on the expected device": "forward creates a tensor on the CPU: create it on x.device",
        "Expected all tensors to be on the same device": "forward creates a tensor on the CPU: create it on x.device",
        "Cannot copy out of meta tensor": "forward copies into a tensor made on the CPU: create it on x.device",
        **MODULE_HINTS}),
    Question("test_init_kaiming", probe_init_kaiming, error_hints={
        "'NoneType' object has no attribute": "a layer built with bias=False has no bias (None): check "
                                              "`if module.bias is not None` before zeroing it"}),
]
