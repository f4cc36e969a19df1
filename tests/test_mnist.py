"""The MNIST data module: reading IDX files, and downloading them safely from a loopback server."""
import functools
import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
import torch

from course import mnist

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
OFFICIAL, SMALL = SHARED / "official", SHARED / "small"
LABELS = "t10k-labels-idx1-ubyte.gz"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared MNIST at {SHARED}")


@needs_shared
def test_the_ci_split_loads_as_uint8_tensors():
    data = mnist.load(root=SMALL, download=False)
    assert data["train_images"].shape == (8000, 28, 28) and data["train_labels"].shape == (8000,)
    assert data["test_images"].shape == (2000, 28, 28) and data["test_labels"].shape == (2000,)
    assert all(t.dtype == torch.uint8 for t in data.values())
    assert torch.bincount(data["test_labels"]).tolist() == [200] * 10
    assert data["train_images"].max() == 255


def test_data_dir_comes_from_the_environment_then_a_default(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COURSE_FASHION_MNIST_DIR", raising=False)
    assert mnist.data_dir() == tmp_path
    assert mnist.data_dir("fashion-mnist") != tmp_path, "each dataset has its own folder"
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert mnist.data_dir() == Path.home() / ".cache" / "pytorch-course" / "mnist"


def write_idx(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I" + "I" * len(dims), magic, *dims) + payload)


def test_bad_files_say_what_is_wrong(tmp_path):
    write_idx(tmp_path / "wrong.gz", 1234, [3], b"\x00" * 3)
    with pytest.raises(ValueError, match="not an MNIST IDX file.*delete it and download it again"):
        mnist.read_idx(tmp_path / "wrong.gz")
    write_idx(tmp_path / "short.gz", mnist.IMAGES_MAGIC, [2, 28, 28], b"\x00" * 100)
    with pytest.raises(ValueError, match="header promises 1584: the file is truncated"):
        mnist.read_idx(tmp_path / "short.gz")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match="can't be read"):
        mnist.read_idx(tmp_path / "broken.gz")
    write_idx(tmp_path / "ok.gz", mnist.LABELS_MAGIC, [4], bytes([3, 1, 4, 1]))
    assert mnist.read_idx(tmp_path / "ok.gz").tolist() == [3, 1, 4, 1]


def test_missing_files_offline_fail_with_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"not found in {tmp_path}.*Put the four files"):
        mnist.load(root=tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match="COURSE_FASHION_MNIST_DIR.*apt-get install dataset-fashion-mnist"):
        mnist.load("fashion-mnist", root=tmp_path)  # no checksums for it here: never downloaded


class Mirror(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; ``truncate`` sends a full Content-Length but only half the bytes."""

    truncate = False

    def log_message(self, *args):
        pass

    def copyfile(self, source, outputfile):
        if self.truncate:
            outputfile.write(source.read()[: os.fstat(source.fileno()).st_size // 2])
        else:
            super().copyfile(source, outputfile)


@pytest.fixture
def serve():
    """serve(folder, truncate=False) -> base URL of a loopback HTTP server for ``folder``."""
    servers = []

    def start(folder, truncate=False):
        handler = functools.partial(type("M", (Mirror,), {"truncate": truncate}), directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def unreachable_url():
    """A loopback URL where nothing listens: a port just bound and released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def official_sha256(name):
    return mnist.SHA256["mnist"][name]


@needs_shared
def test_a_good_download_is_verified_and_readable(serve, tmp_path):
    url = serve(OFFICIAL)
    names = [LABELS, "t10k-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    mnist.fetch(names, tmp_path, [url], mnist.SHA256["mnist"], progress=False)
    for name in names:
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == official_sha256(name)
    assert mnist.read_idx(tmp_path / LABELS).shape == (10000,)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names), "no partial files left behind"


@needs_shared
def test_a_corrupted_file_is_rejected_removed_and_the_next_mirror_used(serve, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = bytearray((OFFICIAL / LABELS).read_bytes())
    data[100] ^= 0xFF
    (bad / LABELS).write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="checksum mismatch.*corrupt and was discarded"):
        mnist.fetch([LABELS], out, [serve(bad)], mnist.SHA256["mnist"], progress=False)
    assert list(out.iterdir()) == [], "a corrupted download must leave nothing behind"
    mnist.fetch([LABELS], out, [serve(bad), serve(OFFICIAL)], mnist.SHA256["mnist"], progress=False)
    assert hashlib.sha256((out / LABELS).read_bytes()).hexdigest() == official_sha256(LABELS)


@needs_shared
def test_an_unreachable_mirror_falls_back_to_the_next(serve, tmp_path):
    mirrors = [unreachable_url(), serve(OFFICIAL)]
    mnist.fetch([LABELS], tmp_path / "out", mirrors, mnist.SHA256["mnist"], progress=False)
    assert (tmp_path / "out" / LABELS).exists()


@needs_shared
def test_an_interrupted_transfer_leaves_nothing_half_written(serve, tmp_path):
    with pytest.raises(RuntimeError, match="could not download"):
        mnist.fetch([LABELS], tmp_path / "out", [serve(OFFICIAL, truncate=True)], mnist.SHA256["mnist"],
                    progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_offline_fails_fast_with_where_to_put_the_files(tmp_path):
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=f"(?s)could not download.*Connection refused.*Put the four files.*in {tmp_path}"):
        mnist.fetch([LABELS], tmp_path, [unreachable_url(), unreachable_url()], {}, progress=False)
    assert time.monotonic() - start < 5
    assert list(tmp_path.iterdir()) == []


@needs_shared
def test_load_downloads_what_is_missing(serve, tmp_path, monkeypatch):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):  # no official train images here
        (tmp_path / name).write_bytes((SMALL / name).read_bytes())
    monkeypatch.setitem(mnist.MIRRORS, "mnist", [serve(OFFICIAL)])
    data = mnist.load(root=tmp_path)
    assert data["train_images"].shape == (8000, 28, 28) and data["test_images"].shape == (10000, 28, 28)


@needs_shared
def test_files_that_do_not_belong_together_are_named(tmp_path):
    for name in mnist.SPLITS.values():
        (tmp_path / name).write_bytes((SMALL / name).read_bytes())
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes((OFFICIAL / "train-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match=r"the train files don't match: \(8000, 28, 28\) images but \(60000,\) labels"):
        mnist.load(root=tmp_path, download=False)
