"""Choosing the device lessons run on."""
import os

import torch

ENV_VAR = "COURSE_DEVICE"


def _forced():
    """The device named by $COURSE_DEVICE, or None when it is unset."""
    name = os.environ.get(ENV_VAR, "").strip()
    if not name:
        return None
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"{ENV_VAR}={name!r} is not a device: use 'cpu' or 'cuda' (or unset it).") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"{ENV_VAR}={name!r} but torch.cuda.is_available() is False: "
            "unset it, or install the CUDA build of PyTorch (see the README)."
        )
    return device


def default_device():
    """The device lessons compute on: $COURSE_DEVICE if set, else CUDA when available, else CPU."""
    forced = _forced()
    if forced is not None:
        return forced
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
