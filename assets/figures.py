"""Draw every figure the lessons show.  Run: python assets/figures.py [OUTPUT_DIR]"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle  # noqa: E402

INPUT, HIDDEN, OUTPUT, INK = "#cfe3f7", "#fde2c4", "#d5f0d0", "#333333"


def _canvas(width, height):
    fig, ax = plt.subplots(figsize=(width, height), dpi=120)
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _node(ax, x, y, text, color, r=0.32):
    ax.add_patch(Circle((x, y), r, facecolor=color, edgecolor=INK, linewidth=1.5))
    ax.text(x, y, text, ha="center", va="center", fontsize=13)


def _arrow(ax, start, end, label=None, offset=(0, 0.12)):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=INK,
                                 linewidth=1.2, shrinkA=22, shrinkB=22))
    if label:
        x, y = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(x, y, label, ha="center", va="bottom", fontsize=12, color="#1f4e9c")


def neuron():
    """One neuron: inputs times weights, summed with the bias, through an activation."""
    fig, ax = _canvas(8, 4)
    inputs = [(1.0, 3.2, "$x_1$", "$w_1$"), (1.0, 2.0, "$x_2$", "$w_2$"), (1.0, 0.8, "$x_3$", "$w_3$")]
    for x, y, name, weight in inputs:
        _node(ax, x, y, name, INPUT)
        _arrow(ax, (x, y), (4.0, 2.0), weight, offset=(-0.5, 0.12))
    _node(ax, 4.0, 3.6, "$b$", INPUT, r=0.28)
    _arrow(ax, (4.0, 3.6), (4.0, 2.0))
    _node(ax, 4.0, 2.0, r"$\Sigma$", HIDDEN, r=0.42)
    _node(ax, 5.7, 2.0, "$f$", HIDDEN)
    _arrow(ax, (4.0, 2.0), (5.7, 2.0))
    _arrow(ax, (5.7, 2.0), (7.3, 2.0))
    ax.text(7.35, 2.0, "$y$", ha="left", va="center", fontsize=14)
    ax.text(4.0, 0.35, r"$y = f\left(\sum_i w_i x_i + b\right)$", ha="center", fontsize=14)
    return fig


def tensor_ranks():
    """Tensors of rank 0 (scalar), 1 (vector), 2 (matrix) and 3, with their shapes."""
    fig, ax = _canvas(11, 4.8)

    def cells(x0, y0, rows, cols, color, size=0.45):
        for r in range(rows):
            for c in range(cols):
                ax.add_patch(Rectangle((x0 + c * size, y0 - (r + 1) * size), size, size,
                                       facecolor=color, edgecolor=INK, linewidth=1.2))

    cells(0.6, 2.6, 1, 1, INPUT)
    cells(2.0, 3.3, 4, 1, INPUT)
    cells(3.6, 3.3, 4, 3, INPUT)
    for depth in range(3, 0, -1):
        cells(6.3 + depth * 0.3, 3.3 + depth * 0.3, 4, 3, [INPUT, HIDDEN, OUTPUT][depth - 1])
    labels = [(0.83, "rank 0\nscalar\nshape ()"), (2.23, "rank 1\nvector\nshape (4,)"),
              (4.28, "rank 2\nmatrix\nshape (4, 3)"), (7.3, "rank 3\nshape (3, 4, 3)")]
    for x, text in labels:
        ax.text(x, 0.1, text, ha="center", va="bottom", fontsize=11)
    return fig


def two_layer_network():
    """Input, hidden and output layers, with the weight matrices W1 and W2 between them."""
    fig, ax = _canvas(8, 4.4)
    layers = [(1.2, [3.4, 2.2, 1.0], "$x_{}$", INPUT), (4.0, [2.8, 1.6], "$h_{}$", HIDDEN),
              (6.8, [2.2], "$y$", OUTPUT)]
    for (x0, ys0, _, _), (x1, ys1, _, _) in zip(layers, layers[1:]):
        for y0 in ys0:
            for y1 in ys1:
                _arrow(ax, (x0, y0), (x1, y1))
    for x, ys, name, color in layers:
        for i, y in enumerate(ys, start=1):
            _node(ax, x, y, name.format(i), color)
    ax.text(2.6, 3.7, "$W_1$ (3×2), $B_1$", ha="center", fontsize=13, color="#1f4e9c")
    ax.text(5.4, 3.2, "$W_2$ (2×1), $B_2$", ha="center", fontsize=13, color="#1f4e9c")
    for x, text in [(1.2, "input"), (4.0, "hidden"), (6.8, "output")]:
        ax.text(x, 0.15, text, ha="center", fontsize=12)
    return fig


def broadcasting():
    """A (3, 1) column plus a (1, 4) row: both are stretched (faded copies) into a (3, 4) result."""
    fig, ax = _canvas(8.6, 3.6)
    size = 0.55

    def grid(x0, y0, values, color, stretched=()):
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                faded = (r, c) in stretched
                ax.add_patch(Rectangle((x0 + c * size, y0 - (r + 1) * size), size, size, facecolor=color,
                                       edgecolor=INK, linewidth=1.2, alpha=0.35 if faded else 1.0,
                                       linestyle="--" if faded else "-"))
                ax.text(x0 + (c + 0.5) * size, y0 - (r + 0.5) * size, str(value), ha="center", va="center",
                        fontsize=11, color="#888888" if faded else INK)

    column, row = [0, 10, 20], [0, 1, 2, 3]
    everywhere = [(r, c) for r in range(3) for c in range(4)]
    grid(0.3, 2.9, [[v] * 4 for v in column], INPUT, stretched=[p for p in everywhere if p[1] > 0])
    ax.text(2.8, 2.05, "+", ha="center", va="center", fontsize=20)
    grid(3.3, 2.9, [row] * 3, HIDDEN, stretched=[p for p in everywhere if p[0] > 0])
    ax.text(5.8, 2.05, "=", ha="center", va="center", fontsize=20)
    grid(6.3, 2.9, [[a + b for b in row] for a in column], OUTPUT)
    for x, text in [(1.4, "shape (3, 1)\nstretched to (3, 4)"), (4.4, "shape (1, 4)\nstretched to (3, 4)"),
                    (7.4, "shape (3, 4)")]:
        ax.text(x, 0.15, text, ha="center", va="bottom", fontsize=11)
    return fig


def shared_memory():
    """Two names, a NumPy array and a tensor, pointing at one buffer; a copy owns a second buffer."""
    fig, ax = _canvas(9.6, 3.8)
    size = 0.6

    def buffer(x0, y0, values, color):
        for i, value in enumerate(values):
            ax.add_patch(Rectangle((x0 + i * size, y0), size, size, facecolor=color, edgecolor=INK, linewidth=1.2))
            ax.text(x0 + (i + 0.5) * size, y0 + size / 2, value, ha="center", va="center", fontsize=11)

    def name(x, y, text):
        ax.text(x, y, text, ha="center", va="center", fontsize=11, family="monospace",
                bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": INK})

    buffer(0.9, 1.2, ["0.", "2.", "4.", "6."], INPUT)
    name(0.8, 3.2, "a: ndarray")
    name(3.5, 3.2, "t = torch.from_numpy(a)")
    for x in (0.8, 3.5):
        ax.add_patch(FancyArrowPatch((x, 2.95), (2.1, 1.85), arrowstyle="-|>", mutation_scale=14, color=INK))
    ax.text(2.1, 0.55, "one buffer: an in-place change to t changes a", ha="center", fontsize=11)
    buffer(6.3, 1.2, ["0.", "2.", "4.", "6."], OUTPUT)
    name(7.5, 3.2, "c = torch.tensor(a)")
    ax.add_patch(FancyArrowPatch((7.5, 2.95), (7.5, 1.85), arrowstyle="-|>", mutation_scale=14, color=INK))
    ax.text(7.5, 0.55, "a copy: changing c leaves a alone", ha="center", fontsize=11)
    return fig


def computational_graph():
    """y = sin(x2² · (x1 + x2)) as a graph, each edge labelled with its local derivative."""
    fig, ax = _canvas(9, 4.2)
    nodes = {"x1": (0.8, 3.2, "$x_1$", INPUT), "x2": (0.8, 1.0, "$x_2$", INPUT),
             "a": (3.3, 3.2, "$+$", HIDDEN), "b": (3.3, 1.0, "$(\\cdot)^2$", HIDDEN),
             "c": (5.6, 2.1, "$\\times$", HIDDEN), "y": (7.8, 2.1, "sin", OUTPUT)}
    edges = [("x1", "a", "1", (0, 0.12)), ("x2", "a", "1", (-0.35, 0.05)), ("x2", "b", "$2x_2$", (0, 0.12)),
             ("a", "c", "$b$", (0.1, 0.12)), ("b", "c", "$a$", (0.1, 0.05)), ("c", "y", "$\\cos c$", (0, 0.12))]
    for start, end, label, offset in edges:
        _arrow(ax, nodes[start][:2], nodes[end][:2], label, offset=offset)
    for x, y, text, color in nodes.values():
        _node(ax, x, y, text, color, r=0.38)
    for x, y, text in [(3.3, 3.75, "$a = x_1 + x_2$"), (3.3, 0.25, "$b = x_2^2$"), (5.6, 2.75, "$c = a\\,b$"),
                       (7.8, 2.75, "$y = \\sin c$")]:
        ax.text(x, y, text, ha="center", va="center", fontsize=12)
    return fig


def conv_shapes():
    """The lesson 05 network: each stage's tensor as a block sized by its shape, with the layer between."""
    fig, ax = _canvas(13.6, 4.2)
    stages = [("3×19×19", 3, 19, INPUT), ("8×18×18", 8, 18, HIDDEN), ("8×9×9", 8, 9, HIDDEN),
              ("16×8×8", 16, 8, HIDDEN), ("16×4×4", 16, 4, HIDDEN), ("256", 1, 16, OUTPUT), ("4", 1, 2, OUTPUT)]
    layers = ["conv 2×2\n+ ReLU", "max pool\n2×2", "conv 2×2\n+ ReLU", "max pool\n2×2", "flatten", "MLP\n64, 16"]
    x, centre, boxes = 0.3, 2.3, []
    for label, channels, side, color in stages:
        width, height = 0.25 + 0.05 * channels, 0.14 * side
        ax.add_patch(Rectangle((x, centre - height / 2), width, height, facecolor=color, edgecolor=INK, linewidth=1.2))
        ax.text(x + width / 2, centre - height / 2 - 0.25, label, ha="center", va="top", fontsize=10.5)
        boxes.append((x, width))
        x += width + 1.35
    for (x0, w0), (x1, _), text in zip(boxes, boxes[1:], layers):
        ax.add_patch(FancyArrowPatch((x0 + w0 + 0.1, centre), (x1 - 0.1, centre), arrowstyle="-|>",
                                     mutation_scale=14, color=INK, linewidth=1.2))
        ax.text((x0 + w0 + x1) / 2, centre + 0.2, text, ha="center", va="bottom", fontsize=10, color="#1f4e9c")
    return fig


def learning_rates():
    """Gradient descent on f(w) = w² from w = 1 with three learning rates: too small, good, too large."""
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=120)
    for lr, label, color in [(0.02, "lr = 0.02: too small, crawls", "#1f77b4"), (0.3, "lr = 0.3: good", "#2ca02c"),
                             (1.05, "lr = 1.05: too large, diverges", "#d62728")]:
        w, losses = 1.0, []
        for _ in range(30):
            losses.append(w * w)
            w -= lr * 2 * w
        ax.semilogy(losses, label=label, color=color, linewidth=2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)")
    ax.set_title("Gradient descent on $f(w) = w^2$, starting at $w = 1$")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


CONV_IMAGE = [[0, 0, 1, 2, 2], [0, 1, 2, 2, 2], [0, 0, 1, 1, 2], [0, 0, 0, 1, 2], [0, 0, 0, 1, 1]]
CONV_KERNEL = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]


def _grid(ax, x, y, values, title, highlight=None, color="white"):
    """``values`` as a grid of numbered unit squares, top-left at (x, y); ``highlight`` = (row, col, size)."""
    for r, row in enumerate(values):
        for c, v in enumerate(row):
            ax.add_patch(Rectangle((x + c, y - r - 1), 1, 1, facecolor=color, edgecolor=INK, linewidth=1))
            ax.text(x + c + 0.5, y - r - 0.5, f"{v:g}", ha="center", va="center", fontsize=13)
    if highlight:
        r, c, size = highlight
        ax.add_patch(Rectangle((x + c, y - r - size), size, size, fill=False, edgecolor="#d62728", linewidth=3))
    ax.text(x + len(values[0]) / 2, y + 0.35, title, ha="center", va="bottom", fontsize=12)


def conv_sliding():
    """A 3×3 kernel on a 5×5 image: one window, its products summed into one number of the 3×3 feature map."""
    import numpy as np

    image, kernel = np.array(CONV_IMAGE), np.array(CONV_KERNEL)
    k = len(kernel)
    out = np.array([[(image[r:r + k, c:c + k] * kernel).sum() for c in range(len(image) - k + 1)]
                    for r in range(len(image) - k + 1)])
    row, col = 1, 2
    fig, ax = _canvas(14.5, 7.4)
    _grid(ax, 0.3, 6.4, image, "image (5×5)", highlight=(row, col, k), color=INPUT)
    _grid(ax, 6.4, 5.4, kernel, "kernel (3×3)", color=HIDDEN)
    _grid(ax, 11.2, 5.4, out, "feature map (3×3)", highlight=(row, col, 1), color=OUTPUT)
    ax.text(5.85, 4.0, "×", ha="center", va="center", fontsize=22)
    ax.text(5.85, 3.35, "each pair,\nthen sum", ha="center", va="top", fontsize=9.5)
    ax.text(10.35, 4.0, "=", ha="center", va="center", fontsize=22)
    window = image[row:row + k, col:col + k]
    terms = " + ".join(f"({w})({v})" for w, v in zip(window.ravel(), kernel.ravel()) if v)
    ax.text(7.25, 1.0, f"red window · kernel = {terms} = {out[row, col]}", ha="center", va="center", fontsize=12,
            color="#d62728")
    ax.text(7.25, 0.3, "slide the window one pixel at a time: 5 - 3 + 1 = 3 positions per side, "
            "3 × 3 numbers in the feature map", ha="center", va="center", fontsize=11)
    return fig


FIGURES = {"neuron.png": neuron, "tensor_ranks.png": tensor_ranks, "two_layer_network.png": two_layer_network,
           "broadcasting.png": broadcasting, "shared_memory.png": shared_memory,
           "computational_graph.png": computational_graph,
           "conv_shapes.png": conv_shapes, "conv_sliding.png": conv_sliding,
           "learning_rates.png": learning_rates}


def draw_all(out_dir):
    """Write every figure in FIGURES to ``out_dir``; return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in FIGURES.items():
        fig = draw()
        path = out_dir / name
        fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in draw_all(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent):
        print(path)
