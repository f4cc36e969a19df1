"""Lesson 05's toy task for reading a trained convolution: noisy images that each hold one bright bar,
horizontal (class 0) or vertical (class 1), and a figure of a detector's kernels and feature maps. The data
and the drawing live here so that the lesson's cell shows only the model and its training."""
import matplotlib.pyplot as plt
import torch


def bar_images(n, generator, size=12, length=6):
    """``n`` images of shape (1, size, size) with one bar of ``length`` pixels each, clear of the edges, in
    noise of standard deviation 0.1; returns (images, labels), label 0 for a horizontal bar, 1 for a vertical one."""
    labels = torch.randint(0, 2, (n,), generator=generator)
    images = 0.1 * torch.randn(n, 1, size, size, generator=generator)
    lines = torch.randint(1, size - 1, (n,), generator=generator).tolist()
    starts = torch.randint(1, size - length, (n,), generator=generator).tolist()
    for image, label, line, start in zip(images, labels, lines, starts):
        if label == 0:
            image[0, line, start:start + length] += 1
        else:
            image[0, start:start + length, line] += 1
    return images, labels


def draw_kernels(conv, images):
    """The kernels of ``conv``, a Conv2d with one input channel, across the top, then a row per entry of
    ``images`` (name: a (1, H, W) image): the image and each of its feature maps, titled with the map's largest
    value. Kernels share one red-blue scale centred on 0, and feature maps one scale, so they compare at a glance."""
    kernels = conv.weight.detach()[:, 0].cpu().numpy()
    with torch.no_grad():
        maps = {name: conv(image[None].to(conv.weight.device))[0].cpu().numpy() for name, image in images.items()}
    kernel_limit = abs(kernels).max()
    low = min(m.min() for m in maps.values())
    high = max(m.max() for m in maps.values())
    columns = len(kernels) + 1
    fig, axes = plt.subplots(len(images) + 1, columns, figsize=(2.3 * columns, 2.3 * (len(images) + 1)), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].axis("off")
    for c, kernel in enumerate(kernels, start=1):
        axes[0, c].imshow(kernel, cmap="RdBu_r", vmin=-kernel_limit, vmax=kernel_limit)
        axes[0, c].set_title(f"kernel {c - 1}")
    for row, (name, image) in enumerate(images.items(), start=1):
        axes[row, 0].imshow(image[0].cpu().numpy(), cmap="gray")
        axes[row, 0].set_ylabel(name)
        for c, feature_map in enumerate(maps[name], start=1):
            axes[row, c].imshow(feature_map, cmap="viridis", vmin=low, vmax=high)
            axes[row, c].set_title(f"feature map {c - 1}: max {feature_map.max():.1f}", fontsize=10)
    plt.tight_layout()
    plt.show()
