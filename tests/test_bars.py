"""Lesson 05's bar images hold what their labels say, and its figure draws every kernel and feature map."""
import matplotlib
import torch
from torch import nn

from course.bars import bar_images, draw_kernels

matplotlib.use("Agg")


def test_each_image_holds_one_bar_along_its_label():
    images, labels = bar_images(64, torch.Generator().manual_seed(3), size=12, length=6)
    assert images.shape == (64, 1, 12, 12) and set(labels.tolist()) == {0, 1}
    bright = images[:, 0] > 0.6                       # the bar adds 1; the noise has std 0.1
    rows, columns = bright.sum(dim=2).amax(dim=1), bright.sum(dim=1).amax(dim=1)
    horizontal = labels == 0
    assert (rows[horizontal] >= 6).all() and (columns[horizontal] <= 2).all()
    assert (columns[~horizontal] >= 6).all() and (rows[~horizontal] <= 2).all()
    assert not bright[:, [0, -1], :].any() and not bright[:, :, [0, -1]].any()   # clear of the edges


def test_the_figure_has_a_row_of_kernels_and_a_row_per_image(monkeypatch):
    shown = []
    monkeypatch.setattr(matplotlib.pyplot, "show", lambda: shown.append(matplotlib.pyplot.gcf()))
    conv = nn.Conv2d(1, 3, kernel_size=3, padding=1)
    images, _ = bar_images(2, torch.Generator().manual_seed(0))
    draw_kernels(conv, {"first": images[0], "second": images[1]})
    titles = [ax.get_title() for ax in shown[0].axes]
    assert titles[1:4] == ["kernel 0", "kernel 1", "kernel 2"]
    assert sum(t.startswith("feature map 2: max") for t in titles) == 2
    assert [ax.get_ylabel() for ax in shown[0].axes if ax.get_ylabel()] == ["first", "second"]
