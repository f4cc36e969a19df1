"""Training loop: the lab's tensor-in-memory batching vs the per-item Dataset + DataLoader pipeline, one run.

    python bench/training.py [--epochs 10] [--repeats 5] [--write]

The model is the lab's reference MLP (784-128-64-10) and the recipe the lab's (Adam 5e-3, fused, batch 250)
unless a side says otherwise. Each side trains it from the same seed on the MNIST in $COURSE_DATA_DIR; each
repeat uses the next seed. Timed: the training epochs only (evaluation excluded). The floor is the epoch's
FLOPs at this machine's measured matmul speed.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from course import mnist  # noqa: E402
from course.progress import progress  # noqa: E402
from report import machine, spread, table, write  # noqa: E402

LAYERS = (784, 128, 64, 10)
PER_60K = 60_000


def mlp():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


class PILDigits(Dataset):
    """The tutorial pipeline: one image at a time, uint8 array -> PIL image -> float tensor (ToTensor's steps)."""

    def __init__(self, images, labels):
        self.images, self.labels = images.numpy(), labels.numpy()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = Image.fromarray(self.images[i], mode="L")
        x = torch.from_numpy(np.array(image, np.uint8, copy=True)).view(28, 28, 1).permute(2, 0, 1)
        return x.contiguous().float().div(255), int(self.labels[i])  # (1, 28, 28), as ToTensor() returns


def dataloader_epoch(model, loader, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x.view(len(x), -1)), y).backward()
        optimizer.step()


def lab_epoch(model, images, labels, optimizer, batch_size, generator):
    """The lab's train_epoch: a random order of indices, one gathered batch per step, the mean loss kept."""
    model.train()
    order = torch.randperm(len(images), generator=generator)
    losses = []
    for start in range(0, len(images), batch_size):
        batch = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def shuffled_epoch(model, images, labels, optimizer, batch_size, generator):
    """Fewer steps per epoch: shuffle the whole tensor once, then each batch is a contiguous view.
    ``index_select`` gathers rows 2-3x faster than ``images[order]`` on a CPU (same result)."""
    model.train()
    order = torch.randperm(len(images), generator=generator)
    images, labels = images.index_select(0, order), labels.index_select(0, order)
    for start in range(0, len(images), batch_size):
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images[start:start + batch_size]), labels[start:start + batch_size]).backward()
        optimizer.step()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).double().mean().item() * 100


def train(side, data, seed, epochs):
    """Train a fresh MLP with ``side``'s loop; returns (seconds per epoch, test accuracy %)."""
    torch.manual_seed(seed)
    model = mlp()
    generator = torch.Generator().manual_seed(seed)
    train_x, train_y = data["train_images"].reshape(-1, 784).float() / 255, data["train_labels"].long()
    if side["loop"] == "dataloader":
        loader = DataLoader(PILDigits(data["train_images"], data["train_labels"]), batch_size=side["batch"],
                            shuffle=True, generator=generator)
        step = lambda opt: dataloader_epoch(model, loader, opt)  # noqa: E731
    else:
        loop = lab_epoch if side["loop"] == "lab" else shuffled_epoch
        step = lambda opt: loop(model, train_x, train_y, opt, side["batch"], generator)  # noqa: E731
    optimizer = torch.optim.Adam(model.parameters(), lr=side["lr"], **side.get("adam", {}))
    start = time.perf_counter()
    for _ in range(epochs):
        step(optimizer)
    seconds = (time.perf_counter() - start) / epochs
    test_x, test_y = data["test_images"].reshape(-1, 784).float() / 255, data["test_labels"].long()
    return seconds, accuracy(model, test_x, test_y)


def matmul_gflops(n=1024, repeats=20):
    """This machine's float32 matmul speed, best of ``repeats``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def matmuls_seconds(batch, images, repeats=5):
    """An epoch's matrix products alone at ``batch`` (the forward, weight-gradient and input-gradient shapes of
    each step, on random data, no autograd, optimizer or batching), best of ``repeats``: how close to the floor
    these shapes can get, whatever the loop around them does."""
    weights = [torch.randn(o, i) for i, o in zip(LAYERS, LAYERS[1:])]
    biases = [torch.randn(o) for o in LAYERS[1:]]
    inputs = [torch.randn(batch, i) for i in LAYERS[:-1]]
    grads = [torch.randn(batch, o) for o in LAYERS[1:]]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(0, images, batch):
            for layer, (w, b, x, g) in enumerate(zip(weights, biases, inputs, grads)):
                torch.addmm(b, x, w.t())
                g.t() @ x
                if layer:
                    g @ w
        best = min(best, time.perf_counter() - start)
    return best


def epoch_gflop(images):
    """Forward, weight gradients, and input gradients of every layer but the first."""
    forward = sum(2 * i * o for i, o in zip(LAYERS, LAYERS[1:]))
    inputs = sum(2 * i * o for i, o in zip(LAYERS[1:], LAYERS[2:]))
    return images * (2 * forward + inputs) / 1e9


LAB = {"batch": 250, "lr": 5e-3, "adam": {"fused": True}}  # the lab's recipe (lesson 08, "Train the real model")
SIDES = {  # name -> loop, batch size, learning rate, Adam's options
    "per-item Dataset + DataLoader (PIL), the lab's recipe": {"loop": "dataloader", **LAB},
    f"course: the lab's train_epoch (batch {LAB['batch']}, Adam {LAB['lr']:g}, fused)": {"loop": "lab", **LAB},
    "course, tuned: one shuffle per epoch, batch 1000, lr 1.5e-2, fused Adam": {
        "loop": "shuffled", "batch": 1000, "lr": 1.5e-2, "adam": {"fused": True}},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    data = mnist.load()
    n = len(data["train_images"])
    runs = {name: [] for name in SIDES}
    speeds = [matmul_gflops()]  # the machine's best matmul speed, sampled between runs: a slow spell does not lower the floor
    # sides interleaved, so a slow spell hits all of them; the bar moves between timed runs, never inside one
    with progress(total=args.repeats * len(SIDES), desc="training runs", unit="run") as bar:
        for seed in range(args.repeats):
            for name, side in SIDES.items():
                runs[name].append(train(side, data, seed, args.epochs))
                bar.write(f"seed {seed}  {name}: {runs[name][-1][0]:.3f} s/epoch, {runs[name][-1][1]:.2f} %")
                bar.update()
            speeds.append(matmul_gflops())
    floor = epoch_gflop(PER_60K) / max(speeds)
    batches = sorted({side["batch"] for side in SIDES.values()})
    alone = {b: matmuls_seconds(b, n) * PER_60K / n for b in batches}
    base = [s for s, _ in runs[next(iter(SIDES))]]
    rows = []
    for name, results in runs.items():
        seconds = [s for s, _ in results]
        rows.append([name, spread(seconds, "{:.3f}"), spread([s * PER_60K / n for s in seconds]),
                     f"{np.median(base) / np.median(seconds):.1f}x", f"{np.median(seconds) * PER_60K / n / floor:.1f}x",
                     spread([a for _, a in results])])
    lines = [f"{args.epochs} epochs of {n:,} training images, test on {len(data['test_images']):,}; {machine()}; "
             f"median (min-max) of {args.repeats} seeds.", ""] + table(
        ["loop", "s/epoch", "s per 60k images", "speed-up vs DataLoader", "x floor", "test accuracy %"], rows) + [
        "", f"Floor: {epoch_gflop(PER_60K):.1f} GFLOP per 60k-image epoch at {epoch_gflop(PER_60K) / floor:.0f} GFLOP/s "
            f"(1024x1024 float32 matmul, the best of samples taken between the runs) = {floor:.3f} s. The epoch's matrix products "
            "alone, at the same shapes (no autograd, optimizer or batching): " + ", ".join(
                f"batch {b} {s:.3f} s ({s / floor:.1f}x)" for b, s in alone.items()) + " per 60k images."]
    print("\n".join(lines))
    if args.write:
        write("training", lines)


if __name__ == "__main__":
    main()
