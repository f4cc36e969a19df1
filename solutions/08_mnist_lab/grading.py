"""Lesson 08's graded questions: what each probe feeds the student's code, and how its data are judged.

Each ``probe_*`` function runs in the student's kernel (its source is sent there; it is not secret): it
builds inputs and records what the student's code returns. The grader compares those data with the
same probe's data on the solution, outside the kernel; known mistakes (tests/mutants/08_mnist_lab.yml)
are recognised by their data. Nothing else of this file reaches a student.

The probes build their own seeded inputs rather than reading the notebook's `data`, so their data
don't depend on which MNIST files a grader has; only the trained model's accuracy is measured on the
real test split, read afresh from the course's data folder.
"""
import torch  # noqa: F401 (in the kernel, probes are given torch, np and math)

from grader.questions import Question


def probe_prepare(rec):
    for device in rec.devices():
        for n, seed in [(7, 700), (1, 701)]:
            images = torch.randint(0, 256, (n, 28, 28), generator=torch.Generator().manual_seed(seed),
                                   dtype=torch.uint8).to(device)
            rec.call(f"prepare on {n} random image{'s' if n > 1 else ''} ({device})", "prepare", images)
    # "meta" tensors have a device and a shape but no data: code that makes a CPU tensor fails on them.
    rec.call("prepare on images of another device (meta)", "prepare",
             torch.zeros(3, 28, 28, dtype=torch.uint8, device="meta"))


def probe_mnist_net(rec):
    def shapes(h1, h2):
        return {"fc1.weight": (h1, 784), "fc1.bias": (h1,), "fc2.weight": (h2, h1), "fc2.bias": (h2,),
                "fc3.weight": (10, h2), "fc3.bias": (10,)}

    rec.build("MNISTNet() (the defaults are hidden1=128, hidden2=64)", "MNISTNet")
    for h1, h2, seed in [(128, 64, 710), (32, 16, 720)]:
        name = f"MNISTNet({h1}, {h2})"
        model = rec.build(name, "MNISTNet", h1, h2)
        if model is None:
            continue
        for device in rec.devices():
            model = model.to(device)
            # Known weights, seeded by parameter name: the layers' order in __init__ doesn't matter.
            state = {key: 0.1 * rec.randn(*shape, seed=seed + i, device=device)
                     for i, (key, shape) in enumerate(shapes(h1, h2).items())}
            if rec.call(f"loading known weights into {name} ({device})", model.load_state_dict, state) is None:
                continue
            x = rec.randn(6, 784, seed=seed + 50, device=device).abs()
            rec.call(f"{name} with known weights, on 6 inputs ({device})", model, x)


def probe_train_epoch(rec):
    from torch import nn

    for device in rec.devices():
        torch.manual_seed(730)
        model = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10)).to(device)
        initial = [p.detach().clone() for p in model.parameters()]
        draw = torch.Generator().manual_seed(731)
        images = torch.rand(300, 784, generator=draw).to(device)  # like prepared inputs: floats in [0, 1]
        labels = torch.randint(0, 10, (300,), generator=draw).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model.eval()  # train_epoch must switch it to training mode
        name = f"train_epoch on 300 images in batches of 32 ({device})"
        rec.call(name, "train_epoch", model, images, labels, optimizer, 32, torch.Generator().manual_seed(1))
        rec.claim(f"train_epoch puts the model in training mode, model.train() ({device})", model.training)
        rec.claim(f"train_epoch updates the model's parameters ({device})",
                  any(not torch.equal(p.detach(), q) for p, q in zip(model.parameters(), initial)))
        for key, p in model.named_parameters():
            rec.record(f"parameter {key} after {name}", p)


def probe_evaluate(rec):
    from torch import nn

    class Classifier(nn.Module):
        """A classifier with Dropout that notes, at each forward pass, the mode and whether gradients are tracked."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)
            self.drop = nn.Dropout(0.5)
            self.passes = []

        def forward(self, x):
            self.passes.append((self.training, torch.is_grad_enabled()))
            return self.fc(self.drop(x))

    for device in rec.devices():
        torch.manual_seed(750)
        model = Classifier().to(device)
        images = rec.randn(333, 784, seed=751, device=device).abs()
        with torch.no_grad():
            predicted = model.fc(images).argmax(dim=1)
        every_third = torch.arange(len(images), device=device) % 3 == 0
        labels = torch.where(every_third, (predicted + 1) % 10, predicted)  # the model gets 2 in 3 right
        torch.manual_seed(752)  # Dropout's masks, for a model left in training mode
        rec.call(f"evaluate on 333 images ({device})", "evaluate", model, images, labels)
        rec.claim(f"evaluate runs the model in evaluation mode, model.eval() ({device})",
                  bool(model.passes) and not any(training for training, _ in model.passes))
        rec.claim(f"evaluate runs the model without tracking gradients, torch.no_grad() ({device})",
                  not any(tracked for _, tracked in model.passes))


def probe_predict(rec):
    from torch import nn

    class Classifier(nn.Module):
        """A classifier with Dropout that notes, at each forward pass, the mode and whether gradients are tracked."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)
            self.drop = nn.Dropout(0.5)
            self.passes = []

        def forward(self, x):
            self.passes.append((self.training, torch.is_grad_enabled()))
            return self.fc(self.drop(x))

    for device in rec.devices():
        torch.manual_seed(770)
        model = Classifier().to(device)
        images = rec.randn(150, 784, seed=771, device=device).abs()
        torch.manual_seed(772)  # Dropout's masks, for a model left in training mode
        rec.call(f"predict on 150 images ({device})", "predict", model, images)
        torch.manual_seed(773)
        rec.call(f"predict on the same 150 images a second time ({device})", "predict", model, images)
        rec.claim(f"predict runs the model in evaluation mode, model.eval() ({device})",
                  bool(model.passes) and not any(training for training, _ in model.passes))
        rec.claim(f"predict runs the model without tracking gradients, torch.no_grad() ({device})",
                  not any(tracked for _, tracked in model.passes))


def probe_trained_accuracy(rec):
    from course import mnist

    model = rec.get("model")
    if model is None:
        return
    data = mnist.load(download=False)  # afresh: the notebook's `data` could have been changed
    bar = 97.0 if len(data["train_images"]) == 60000 else 93.0
    try:
        device = next(model.parameters()).device
        model.eval()
        with torch.no_grad():
            predicted = model(data["test_images"].reshape(-1, 784).float().to(device) / 255).argmax(dim=1).cpu()
        accuracy = (predicted == data["test_labels"].long()).double().mean().item() * 100
    except Exception:  # a model that can't classify the test split doesn't reach the bar
        accuracy = 0.0
    rec.claim("the trained `model` reaches the bar on the test split (97 % when trained on the full MNIST, 93 % on "
              "the course's 8,000-digit subset): check prepare, MNISTNet, train_epoch and evaluate (which picks the epoch kept), then train again",
              accuracy >= bar)


def read_test_use(rec, code):
    """Where the student's own code (answers, added cells) uses the test split: read here, outside the kernel.
    The graded cell alone scores it, once; a choice made by looking at it makes that score optimistic."""
    from grader.scan import mentions

    places = [f"{where}: {', '.join(found)}" for where, source in code
              if (found := mentions(source, ("test_x", "test_y"), ("test_images", "test_labels")))]
    rec.record("where your own code uses the test split", places, kind="value")


QUESTIONS = [
    Question("test_prepare", probe_prepare, check_dtype=True, shape_hints={
        (7 * 784,): "keep the batch dimension: reshape(len(images), -1)",
        (784,): "keep the batch dimension: reshape(len(images), -1)",
        (3 * 784,): "keep the batch dimension: reshape(len(images), -1)",
        (7, 28, 28): "flatten each image to 784 numbers", (1, 28, 28): "flatten each image to 784 numbers",
        (3, 28, 28): "flatten each image to 784 numbers"}),
    Question("test_mnist_net", probe_mnist_net, error_hints={
        "Missing key": "the model's parameter names differ from the ones asked for: name the layers fc1, fc2 and fc3",
        "Unexpected key": "the model's parameter names differ from the ones asked for: name the layers fc1, fc2 and fc3",
        "size mismatch": "a layer has the wrong size: fc1 is Linear(784, hidden1), fc2 Linear(hidden1, hidden2), "
                         "fc3 Linear(hidden2, 10)"}),
    Question("test_train_epoch", probe_train_epoch, rtol=1e-3, atol=1e-5, error_hints={
        "Expected all tensors to be on the same device": "move the order (and any tensor you create) to the "
                                                         "images' device"}),
    Question("test_evaluate", probe_evaluate),
    Question("test_predict", probe_predict, check_dtype=True, shape_hints={
        (150, 10): "return the class index, the argmax over dim=1, not the scores",
        (10,): "the argmax goes over the classes, dim=1"}),
    Question("test_trained_accuracy", probe_trained_accuracy, reads_code=read_test_use, label_hints={
        "uses the test split": "only the graded cell may use test_x, test_y or the test images and labels, once, "
                               "at the end: make every choice on the validation split (val_x, val_y)"}),
]
