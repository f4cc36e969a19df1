"""The lab's CNN stretch model: seconds of training to reach a test accuracy, the lab's recipe vs a one-cycle one.

    python bench/cnn.py [--target 98] [--repeats 3] [--device cpu|cuda] [--write]

The target is 99 % on full MNIST (60,000 training images) and 98 % on the CI split (8,000). Data stays on
the device as one tensor. Timed: training only; the test accuracy is checked after every epoch, off the clock.
"""
import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from course import mnist  # noqa: E402
from course.progress import progress  # noqa: E402
from report import machine, spread, table, write  # noqa: E402


class SmallCNN(nn.Module):
    """The lab's stretch model: two 3x3 conv + max-pool blocks, then one linear layer."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x.view(-1, 1, 28, 28))), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


RECIPES = {  # name -> batch size, optimizer, schedule
    "lab: Adam 2e-3, batch 100 (up to 20 epochs)": {"batch": 100, "lr": 2e-3, "epochs": 20, "one_cycle": False},
    "one-cycle: Adam up to 1e-2, batch 256, 8 epochs": {"batch": 256, "lr": 1e-2, "epochs": 8, "one_cycle": True},
}


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).double().mean().item() * 100


def time_to(target, recipe, data, seed, device):
    """(seconds of training until the test accuracy first reaches ``target``, or None; epochs; final accuracy)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = SmallCNN().to(device)
    x, y = (data["train_images"].float() / 255).unsqueeze(1).to(device), data["train_labels"].long().to(device)
    test_x, test_y = (data["test_images"].float() / 255).unsqueeze(1).to(device), data["test_labels"].long().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe["lr"])
    steps = -(-len(x) // recipe["batch"])
    schedule = (torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe["lr"], epochs=recipe["epochs"],
                                                    steps_per_epoch=steps) if recipe["one_cycle"] else None)
    clock, reached, acc = 0.0, None, 0.0
    for epoch in range(1, recipe["epochs"] + 1):
        synchronize(device)
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), generator=generator).to(device)
        for i in range(0, len(x), recipe["batch"]):
            batch = order[i:i + recipe["batch"]]
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
            if schedule:
                schedule.step()
        synchronize(device)
        clock += time.perf_counter() - start
        acc = accuracy(model, test_x, test_y)
        if acc >= target:
            reached = reached or (clock, epoch)
            if not recipe["one_cycle"]:
                break
    return (reached or (None, None)) + (acc,)


def synchronize(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, help="test accuracy %% (default: 99 on full MNIST, else 98)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    data = mnist.load()
    n = len(data["train_images"])
    target = args.target or (99.0 if n == 60_000 else 98.0)
    runs = {name: [] for name in RECIPES}
    with progress(total=args.repeats * len(RECIPES), desc="training runs", unit="run") as bar:  # between timed runs
        for seed in range(args.repeats):
            for name, recipe in RECIPES.items():
                runs[name].append(time_to(target, recipe, data, seed, args.device))
                seconds, epochs, final = runs[name][-1]
                bar.write(f"seed {seed}  {name}: {target} % " + (f"after {seconds:.2f} s ({epochs} epochs)" if seconds
                          else "not reached") + f", final {final:.2f} %")
                bar.update()
    rows = []
    for name, results in runs.items():
        hit = [r for r in results if r[0] is not None]
        rows.append([name, f"{len(hit)}/{len(results)}", spread([r[0] for r in hit]) if hit else "-",
                     spread([r[1] for r in hit], "{:.0f}") if hit else "-", spread([r[2] for r in results])])
    device = torch.cuda.get_device_name() if str(args.device).startswith("cuda") else machine()
    lines = [f"Target {target} % on {len(data['test_images']):,} test images after training on {n:,}; {device}; "
             f"median (min-max) over {args.repeats} seeds.", ""] + table(
        ["recipe", "reached", "seconds to target", "epochs", "final test accuracy %"], rows)
    print("\n".join(lines))
    if args.write:
        write(f"cnn-{'gpu' if str(args.device).startswith('cuda') else 'cpu'}", lines)


if __name__ == "__main__":
    main()
