"""Choosing devices: the one lessons run on, and the ones tests check on."""
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


def devices_to_check():
    """Devices hidden tests run student code on: CPU, plus CUDA when available.

    Returns ``(devices, skipped)`` where ``skipped`` maps each device left out to the reason.
    Setting $COURSE_DEVICE checks that one device only.
    """
    forced = _forced()
    if forced is not None:
        return [forced], {}
    if torch.cuda.is_available():
        return [torch.device("cpu"), torch.device("cuda")], {}
    return [torch.device("cpu")], {"cuda": "no GPU here (torch.cuda.is_available() is False)"}


def on_each_device(check):
    """Call ``check(device)`` on every device to check, and print which ran and which were skipped."""
    devices, skipped = devices_to_check()
    for device in devices:
        check(device)
    ran = ", ".join(str(d) for d in devices)
    notes = "".join(f"; {name} skipped: {why}" for name, why in skipped.items())
    print(f"checked on {ran}{notes}")
