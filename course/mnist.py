"""MNIST and Fashion-MNIST: find the four IDX files, download and verify them if missing, read them as tensors.

MNIST's folder is ``$COURSE_DATA_DIR`` when set (Fashion-MNIST's ``$COURSE_FASHION_MNIST_DIR``), else
``~/.cache/pytorch-course/<dataset>``.
"""
import gzip
import hashlib
import http.client
import os
import struct
import sys
import tempfile
import urllib.request
from pathlib import Path

import torch

ENV_VARS = {"mnist": "COURSE_DATA_DIR", "fashion-mnist": "COURSE_FASHION_MNIST_DIR"}
SPLITS = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"],
}
SHA256 = {  # the official files; see shared/datasets/mnist/README.md
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
}
SYSTEM_COPIES = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}  # Debian's dataset-fashion-mnist
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


def data_dir(dataset="mnist"):
    """Where ``dataset``'s files live: its variable in ENV_VARS, else a system copy, else ~/.cache/pytorch-course/."""
    if os.environ.get(ENV_VARS[dataset]):
        return Path(os.environ[ENV_VARS[dataset]]).expanduser()
    system = SYSTEM_COPIES.get(dataset)
    if system is not None and all((system / name).exists() for name in SPLITS.values()):
        return system
    return Path.home() / ".cache" / "pytorch-course" / dataset


def read_idx(path):
    """The IDX file at ``path`` (gzipped or not) as a uint8 tensor: (N, rows, cols) images or (N,) labels."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} can't be read ({error}): delete it and download it again") from None
    if len(data) < 8:
        raise ValueError(f"{path} is too short to be an IDX file: delete it and download it again")
    magic, count = struct.unpack(">II", data[:8])
    if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        raise ValueError(f"{path} is not an MNIST IDX file (magic number {magic}, expected {IMAGES_MAGIC} for "
                         f"images or {LABELS_MAGIC} for labels): delete it and download it again")
    dims = [count]
    if magic == IMAGES_MAGIC:
        dims += list(struct.unpack(">II", data[8:16]))
    header = 4 + 4 * len(dims)
    expected = header + count * (dims[1] * dims[2] if len(dims) == 3 else 1)
    if len(data) != expected:
        raise ValueError(f"{path} holds {len(data)} bytes but its header promises {expected}: the file is "
                         "truncated or corrupt; delete it and download it again")
    return torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8).reshape(dims)


def load(dataset="mnist", root=None, download=True):
    """A dict with the uint8 tensors train_images (N, 28, 28), train_labels (N,), test_images, test_labels.

    Missing MNIST files are downloaded and verified when ``download`` is true; Fashion-MNIST, which has no
    checksums here, is never downloaded.
    """
    root = Path(root) if root is not None else data_dir(dataset)
    missing = [name for name in SPLITS.values() if not (root / name).exists()]
    if missing:
        if not download or dataset not in SHA256:  # never download what can't be verified
            raise FileNotFoundError(f"{dataset}: {', '.join(missing)} not found in {root}. "
                                    f"{_where_to_put(root, ENV_VARS[dataset])}"
                                    + ("" if dataset in SHA256 else " On Debian: apt-get install dataset-fashion-mnist."))
        fetch(missing, root, MIRRORS[dataset], SHA256.get(dataset, {}), env_var=ENV_VARS[dataset])
    data = {split: read_idx(root / name) for split, name in SPLITS.items()}
    for part in ("train", "test"):
        images, labels = data[f"{part}_images"], data[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{root}: the {part} files don't match: {tuple(images.shape)} images but "
                             f"{tuple(labels.shape)} labels. Replace them with a matching pair")
    return data


def fetch(filenames, root, mirrors, sha256, timeout=10, progress=True, env_var=ENV_VARS["mnist"]):
    """Download each file in ``filenames`` into ``root``, trying ``mirrors`` in order.

    A file is verified against ``sha256`` (when listed) before it appears under its name, so a
    failed or corrupted download never leaves anything behind. Raises RuntimeError naming every
    mirror's failure when no mirror delivers a file.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in filenames:
        failures = []
        for mirror in mirrors:
            try:
                _download(mirror + name, root / name, sha256.get(name), timeout, progress)
                break
            except (OSError, ValueError, http.client.HTTPException) as error:  # URLError, timeouts: OSError
                failures.append(f"{mirror}: {error}")
        else:
            tried = "\n  ".join(failures)
            raise RuntimeError(f"could not download {name}:\n  {tried}\n{_where_to_put(root, env_var)}")


def _download(url, target, sha256, timeout, progress):
    digest = hashlib.sha256()
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total, done = int(response.headers.get("Content-Length") or 0), 0
            while chunk := response.read(1 << 16):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    _show_progress(target.name, done, total)
            if total and done != total:
                raise ValueError(f"the transfer stopped after {done} of {total} bytes")
        if sha256 is not None and digest.hexdigest() != sha256:
            raise ValueError(f"checksum mismatch (sha256 {digest.hexdigest()[:12]}..., expected {sha256[:12]}...): "
                             "the file is corrupt and was discarded")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
        if progress:
            print(file=sys.stderr)


def _show_progress(name, done, total):
    if total:
        filled = 30 * done // total
        bar = f"[{'#' * filled}{'.' * (30 - filled)}] {100 * done // total:3d}%"
    else:
        bar = f"{done // 1024} KiB"
    print(f"\r{name} {bar}", end="", file=sys.stderr, flush=True)


def _where_to_put(root, env_var):
    return (f"Offline? Put the four files ({', '.join(SPLITS.values())}) in {root}, "
            f"or point ${env_var} at a folder that has them.")
