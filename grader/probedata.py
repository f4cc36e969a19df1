"""Read what a probe recorded, as untrusted data: NumPy's .npz without pickles, every field checked.

Whatever a kernel wrote (a student can write anything there) either becomes a ``Record`` of plain
entries or raises ``BadData`` with a reason; nothing in it is ever imported, unpickled or called.
"""
import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass

import numpy as np

from grader.parsing import in_turn

MAX_BYTES = 16 << 20  # one question's data, compressed or not
MAX_ENTRIES = 256
KINDS = {"result", "unchanged", "value", "claim", "error"}


class BadData(Exception):
    """The recorded data cannot be used; the message says why, for the student's note."""


@dataclass(frozen=True)
class Entry:
    """One observation: a returned tensor or value, a yes/no about the inputs, or an exception."""

    label: str
    kind: str  # result, unchanged, value, claim (a statement that holds or not), error
    type: str = ""  # the Python type name (Tensor, ndarray, float, ...) or the exception's name
    value: object = None  # JSON value, or the error message
    dtype: str = ""
    device: str = ""
    shape: tuple = None
    array: np.ndarray = None  # None for a meta tensor or a non-array value
    requires_grad: bool = False

    @property
    def is_array(self):
        return self.shape is not None


def read_file(path):
    """The bytes of a regular file that a kernel wrote, never following a link, at most MAX_BYTES + 1."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, a FIFO or a device: nothing to read
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(MAX_BYTES + 1)


def parse(data):
    """label -> Entry, in recording order, from the bytes of one question's .npz. Raises BadData."""
    if data is None:
        raise BadData("no data was recorded")
    if len(data) > MAX_BYTES:
        raise BadData(f"the recorded data is larger than {MAX_BYTES >> 20} MB")
    try:
        header, arrays = in_turn(_unpack, data)  # NumPy parses each array's header as Python syntax
    except BadData:
        raise
    except Exception as error:  # anything malformed: not an npz, a pickle, bad JSON
        raise BadData(f"the recorded data is damaged ({type(error).__name__})") from None
    entries = header.get("entries") if isinstance(header, dict) else None
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise BadData("the recorded data has no list of entries, or too many")
    record = {}
    for raw in entries:
        entry = _entry(raw, arrays)
        record.setdefault(entry.label, entry)
    return record


def _unpack(data):
    """(header, name -> array) of an .npz, never unpickling."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        total = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
        if total > 4 * MAX_BYTES:
            raise BadData("the recorded data unpacks to too many bytes")
        header = json.loads(npz["__header__"].tobytes().decode())
        return header, {key: npz[key] for key in npz.files if key != "__header__"}


def _entry(raw, arrays):
    if not isinstance(raw, dict) or not isinstance(raw.get("label"), str) or raw.get("kind") not in KINDS:
        raise BadData("an entry of the recorded data is malformed")
    label, kind = raw["label"][:400], raw["kind"]
    text = lambda key: str(raw.get(key, ""))[:400]  # noqa: E731
    if kind == "error":
        return Entry(label, kind, type=text("type"), value=text("message"))
    if "shape" not in raw:
        return Entry(label, kind, type=text("type"), value=_json(raw.get("value")))
    shape = raw["shape"]
    if not isinstance(shape, list) or len(shape) > 16 or not all(isinstance(n, int) and 0 <= n for n in shape):
        raise BadData(f"{label}: the recorded shape is malformed")
    array = None
    if raw.get("array") is not None:
        array = arrays.get(raw["array"]) if isinstance(raw["array"], str) else None
        if array is None or array.dtype.kind not in "biufc" or list(array.shape) != shape:
            raise BadData(f"{label}: the recorded values do not match the recorded shape")
    return Entry(label, kind, type=text("type"), dtype=text("dtype"), device=text("device"), shape=tuple(shape),
                 array=array, requires_grad=bool(raw.get("requires_grad")))


def _json(value, depth=0):
    """``value`` if it is plain JSON of bounded size (lists become tuples), else BadData."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:400]
    if isinstance(value, list) and depth < 4 and len(value) <= 64:
        return tuple(_json(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth < 4 and len(value) <= 64:
        return {str(k)[:400]: _json(v, depth + 1) for k, v in value.items()}
    raise BadData("a recorded value is malformed")


def save(record_bytes, folder):
    """Write question -> bytes into ``folder`` (the reference cache)."""
    os.makedirs(folder, exist_ok=True)
    for question, data in record_bytes.items():
        with open(os.path.join(folder, f"{question}.npz"), "wb") as f:
            f.write(data)


def collect(folder, questions):
    """question -> the bytes a kernel wrote for it in ``folder`` (None where it wrote nothing usable)."""
    return {q: read_file(os.path.join(folder, f"{q}.npz")) for q in questions}
