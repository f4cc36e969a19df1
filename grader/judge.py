"""Decide a question from data: the student's record against the instructor's, in the grading process.

Nothing here imports or calls anything a submission made: records are plain entries (``probedata``).
A question scores full points when every entry the instructor's answer produced is matched. When it is
not, the message names a known mistake only if the student's data equal that mistake's data on every
probe input; otherwise it says what differs (type, shape, device, dtype, which elements, by how much).
"""
from dataclasses import dataclass, field

import numpy as np

CPU_TOLERANCE = (1e-4, 1e-5)  # (rtol, atol) float32 results meet on the CPU
CUDA_TOLERANCE = (2e-3, 2e-3)  # CUDA may use TF32 for matmuls and convolutions
UNCHANGED = " leaves its inputs unchanged"  # the recorder's label for whether a call changed its inputs
NOT_IMPLEMENTED = "not implemented yet: replace `raise NotImplementedError()` with your code"


@dataclass(frozen=True)
class Judging:
    """How one question is judged, as plain data (it travels to the grading process with the reference)."""

    question: str
    shape_hints: dict = field(default_factory=dict)  # wrong shape (tuple) -> likely mistake
    error_hints: dict = field(default_factory=dict)  # piece of an error message -> likely mistake
    label_hints: dict = field(default_factory=dict)  # piece of a check's label -> what to know when it differs
    check_dtype: bool = False
    rtol: float = None
    atol: float = None
    credit_each: str = None  # a label prefix: the points are shared among the entries it starts (a quiz's items)


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer (a mutant) and the data it produced on this question's probes."""

    id: str
    hint: str
    record: dict


@dataclass
class Verdict:
    points: float
    message: str  # what the student reads under the test cell
    mistake: str = None  # the id of the known mistake it matched, if any


def tolerance(entry, judging):
    rtol, atol = CUDA_TOLERANCE if entry.device.startswith("cuda") else CPU_TOLERANCE
    return (rtol if judging.rtol is None else judging.rtol), (atol if judging.atol is None else judging.atol)


def _shape(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _show(value):
    return repr(value) if not isinstance(value, tuple) else _shape(value) if all(
        isinstance(v, int) for v in value) else repr(list(value))


def difference(got, want, judging, exact_errors=False):
    """None when ``got`` matches ``want``, else what differs, in words (without the expected values).

    An expected error matches any error of its type; with ``exact_errors`` (telling a known mistake by
    its data) the message must be the same too.
    """
    label = want.label
    if got is None:
        return f"{label}: nothing was recorded (the code before it stopped the checks)"
    if want.kind == "error":  # the instructor's answer raises here: so must the student's
        if got.kind != "error" or got.type != want.type or exact_errors and got.value != want.value:
            return f"{label} should raise {want.type}"
        return None
    if got.kind == "error":
        return _error_message(label, got, judging)
    if want.kind == "unchanged":
        if got.value is not want.value and got.value != want.value:
            return (f"{label.replace(UNCHANGED, '')} changed a tensor it was given: work on a "
                    "copy (`x.clone()`) or build a new tensor, and leave the inputs as they were")
        return None
    if want.kind == "claim":
        return None if got.value == want.value else f"expected: {label}" if want.value else f"not expected: {label}"
    if want.is_array:
        return _array_difference(label, got, want, judging)
    if got.is_array or got.type != want.type and not (_number(got.value) and _number(want.value)):
        return f"{label} should be {_a(want.type)} but is {_a(got.type)}" + (
            ": did you forget a `return`?" if got.type == "NoneType" else "")
    rtol, atol = tolerance(want, judging)
    if _number(want.value) and _number(got.value):
        if not _same(got.value, want.value, rtol, atol):
            return f"{label} is off by {abs(got.value - want.value):.4g}"
        return None
    if isinstance(want.value, dict) and isinstance(got.value, dict):
        keys = sorted(set(got.value) ^ set(want.value))
        if keys:
            return f"{label}: {', '.join(keys[:4])} {'is' if len(keys) == 1 else 'are'} missing or not expected"
        wrong = sorted(k for k in want.value if not _same(got.value[k], want.value[k], rtol, atol))
        return f"{label}: {', '.join(wrong[:4])} {'is' if len(wrong) == 1 else 'are'} not right" if wrong else None
    if not _same(got.value, want.value, rtol, atol):
        return f"{label}: got {_show(got.value)}, which is not right"
    return None


def _same(got, want, rtol, atol):
    """Plain values equal, numbers (also inside tuples and dicts) within the tolerance."""
    if _number(got) and _number(want):
        return bool(np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(got, tuple) and isinstance(want, tuple):
        return len(got) == len(want) and all(_same(g, w, rtol, atol) for g, w in zip(got, want))
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(_same(got[k], want[k], rtol, atol) for k in want)
    return type(got) is type(want) and got == want


def _a(name):
    vowel = name[:1].lower() in "aeiou" or name[:2].isupper() and name[:1] in "AEFHILMNORSX"  # "an MLP"
    return {"Tensor": "a torch.Tensor", "ndarray": "a NumPy array", "NoneType": "None"}.get(
        name, f"a{'n' if vowel else ''} {name}")


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _error_message(label, got, judging):
    if got.type == "NotImplementedError" and not got.value:
        return f"{label}: {NOT_IMPLEMENTED}"
    if got.type == "NameError" and "is not defined" in got.value:
        return f"{label}: {got.value}: run the cell that defines it, and keep the name the exercise asks for"
    hint = next((h for key, h in judging.error_hints.items() if key in got.value), None)
    return f"{label} raised {got.type} ({got.value})" + (f": {hint}" if hint else "")


def _array_difference(label, got, want, judging):
    if not got.is_array:
        return f"{label} should be {_a(want.type)} but is {_a(got.type)}" + (
            ": did you forget a `return`?" if got.type == "NoneType" else
            ", a Python number: keep it a tensor" if got.type in ("float", "int") and want.type == "Tensor" else "")
    if got.type != want.type:
        return f"{label} should be {_a(want.type)} but is {_a(got.type)}"
    if got.shape != want.shape:
        hint = judging.shape_hints.get(got.shape)
        return f"{label}: expected shape {_shape(want.shape)} but got {_shape(got.shape)}" + (f": {hint}" if hint else "")
    if got.device.split(":")[0] != want.device.split(":")[0]:
        return (f"{label} is on {got.device} but the inputs were on {want.device}: create new tensors on the "
                "inputs' device (`device=x.device`, or `torch.zeros_like(x)` and friends)")
    if judging.check_dtype and got.dtype != want.dtype:
        return f"{label} has dtype {got.dtype} but should have {want.dtype}"
    if want.array is None:  # meta tensors carry no values
        return None
    if got.array is None:
        return f"{label} holds no values"
    a, b = got.array, want.array
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        wrong = a.astype(bool) != b.astype(bool)
    else:
        rtol, atol = tolerance(want, judging)
        a64, b64 = a.astype(np.complex128 if "c" in (a.dtype.kind, b.dtype.kind) else np.float64), b
        if np.isnan(a64).any() and not np.isnan(b64).any():
            return f"{label} contains nan: a value overflowed to inf (exp of a large number?) or you divided 0 by 0"
        wrong = ~np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=True)
    if not wrong.any():
        return None
    return f"{label}: " + _where(wrong, a, b)


def _where(wrong, got, want):
    """Which elements differ and by how much, in a sentence."""
    count, total = int(wrong.sum()), wrong.size
    if wrong.ndim == 0:
        return f"the value is off by {_gap(got, want, wrong):.4g}" if got.dtype.kind != "b" else "the value is wrong"
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    where = f"{count} of {total} elements differ" if count < total else f"all {total} elements differ"
    if wrong.ndim >= 2 and count < total:
        rows = sorted({int(i) for i in np.argwhere(wrong)[:, 0]})
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        where += f" (in row{'s' if len(rows) > 1 else ''} {shown} of {wrong.shape[0]})"
    elif count < total:
        where += f", the first at index {list(first) if len(first) > 1 else first[0]}"
    if got.dtype.kind != "b" and want.dtype.kind != "b":
        where += f"; the largest difference is {_gap(got, want, wrong):.4g}"
    return where


def _gap(got, want, wrong):
    gap = np.abs(got.astype(np.complex128) - want.astype(np.complex128))[wrong]
    return float(np.nanmax(gap)) if np.isfinite(gap).any() else float("inf")


def differences(record, reference, judging, exact_errors=False):
    """(label, what differs) for every entry of ``record`` that misses ``reference``'s, in the reference's order."""
    found = [(label, difference(record.get(label), want, judging, exact_errors)) for label, want in reference.items()]
    return [(label, message + "".join(f": {hint}" for key, hint in judging.label_hints.items() if key in label))
            for label, message in found if message]


def same(record, other, judging):
    """Whether two records hold the same data on every entry of both."""
    return record.keys() == other.keys() and not differences(record, other, judging, exact_errors=True)


def verdict(points, record, reference, judging, mistakes=()):
    """The points and message for one question, from its record (label -> Entry)."""
    found = differences(record, reference, judging)
    if not found:
        return Verdict(points, "passed: right on every input the grader tried")
    items = [label for label in reference if judging.credit_each and label.startswith(judging.credit_each)]
    if items and all(label in items for label, _ in found):  # only items are wrong: credit for the right ones
        right = len(items) - len(found)
        earned, said = points * right / len(items), f"{right} of {len(items)} right"
    else:
        earned, said = 0, ""
    matched = {m.hint: m for m in mistakes if same(record, m.record, judging)}
    if len(matched) == 1:  # two known mistakes with the same data but different hints: the evidence can't tell
        mistake = next(iter(matched.values()))
        return Verdict(earned, (f"{said}; " if said else "") + f"{found[0][0].replace(UNCHANGED, '')}: {mistake.hint}",
                       mistake.id)
    if said:  # each wrong item, with what to know about it
        return Verdict(earned, f"{said}; " + "; ".join(message for _, message in found))
    label, message = found[0]
    raised = label in record and record[label].kind == "error"  # the rest likely raised too
    more = f" (and {len(found) - 1} more check{'s' if len(found) > 2 else ''} differ)" if len(found) > 1 and not raised else ""
    return Verdict(0, message + more)
