"""Name the mistake: where an answer is wrong, and which known misconception it is.

A catalogued mistake is a small function (in ``solutions/<assignment>/
misconceptions.py``) that computes a graded function the wrong way a student
would. It *matches* a student's function when it reproduces the student's
outcome (the value returned, and any argument modified) on every failing
instance the search found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.oracles.derivative import Tolerance
from grader.strategies import Instance
from grader.target import LocalTarget, Outcome

SMALL_ARRAY = 12  # arrays with at most this many entries are shown whole in feedback


@dataclass(frozen=True)
class Mistake:
    """A known wrong way to compute ``function``."""

    id: str
    function: str
    name: str
    explanation: str
    implementation: Callable[..., Any]
    companions: dict[str, Callable[..., Any]] = field(default_factory=dict)  # e.g. the forward that made a cache

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.implementation(*args, **kwargs)

    def functions(self, reference: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
        """The functions the mistake is tried among: the reference's, its companions, and itself."""
        return {**reference, **self.companions, self.function: self.implementation}


def mistake(id: str, function: str, name: str, explanation: str,
            companions: dict[str, Callable[..., Any]] | None = None) -> Callable[[Callable[..., Any]], Mistake]:
    """Declare a catalogued mistake (used in ``solutions/*/misconceptions.py``).

    ``companions`` replaces other functions of the reference while this
    mistake is tried (a backward pass that relies on its own forward's cache).
    """

    def wrap(fn: Callable[..., Any]) -> Mistake:
        return Mistake(id, function, name, " ".join(explanation.split()), fn, dict(companions or {}))

    return wrap


# -- comparing outcomes ----------------------------------------------------------------------------

def parts_of(value: Any, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """``[(part name, array), ...]`` of a single array, a tuple or a dict answer."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, (tuple, list)):
        return [(names[i] if i < len(names) else f"part {i}", v) for i, v in enumerate(value)]
    return [("", value)]


def same_values(a: Any, b: Any, tol: Tolerance) -> bool:
    """Equal structure, shapes and (within ``tol``) values; NaNs in the same places count as equal."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(same_values(a[k], b[k], tol) for k in a))
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(same_values(x, y, tol) for x, y in zip(a, b)))
    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return type(a) is type(b) and a == b
    if x.shape != y.shape:
        return False
    if np.array_equal(x, y):  # the common case (a repeat of a deterministic call), in one pass
        return True
    both_nan = np.isnan(x) & np.isnan(y)
    return bool(np.all(tol.close(np.where(both_nan, 0, x), np.where(both_nan, 0, y)) | both_nan))


def same_outcome(a: Outcome, b: Outcome, tol: Tolerance) -> bool:
    if not a.ok or not b.ok:
        return (not a.ok and not b.ok) and a.error.split(":")[0] == b.error.split(":")[0]
    return (same_values(a.value, b.value, tol) and a.mutated.keys() == b.mutated.keys()
            and all(same_values(a.mutated[k], b.mutated[k], tol) for k in a.mutated))


def _explains(mistaken: Outcome, truth: Any, tol: Tolerance) -> bool:
    """Whether a mistake's outcome is a failure at all: an error, a value off the truth, or a changed argument.

    A mistake that coincides with the truth on an instance (``s[t]`` for ``s[t-1]`` at ``T = 1``,
    where both read the zero state) cannot be what made the student fail there.
    """
    return not mistaken.ok or bool(mistaken.mutated) or bool(mistaken.aliased) or not same_values(
        mistaken.value, truth, tol)


def match(mistakes: Iterable[Mistake], question: Any, failing: list[Instance],
          student: Callable[[Instance], Outcome], reference: dict[str, Callable[..., Any]],
          truth: Callable[[Instance], Any] | None = None) -> Mistake | None:
    """The first catalogued mistake that reproduces the student's outcome on every failing instance.

    The mistake runs in place of the question's function, beside the
    reference's other functions (and the mistake's companions). With ``truth``,
    it must also *explain* each failure: differ from the truth there
    (:func:`_explains`), so that no correct answer is ever given a mistake's name.
    """
    if not failing:
        return None
    for m in mistakes:
        if m.function != question.function:
            continue
        target = LocalTarget(m.functions(reference))
        for inst in failing:
            mistaken = question.invoke(target, list(inst.args), inst.kwargs)
            if not same_outcome(mistaken, student(inst), question.tolerance):
                break
            if truth is not None and not _explains(mistaken, truth(inst), question.tolerance):
                break
        else:
            return m
    return None


# -- saying where an answer is wrong ------------------------------------------------------------

#: Significant digits shown by default, and at most (expected and got are printed with more digits,
#: up to this, until they differ: :func:`distinct_digits`).
DIGITS, MAX_DIGITS = 6, 12


def fmt_number(v: Any, digits: int = DIGITS) -> str:
    """A number in ``digits`` significant digits; never ``-0`` (a negative zero, or one rounded to zero, is ``0``)."""
    if isinstance(v, (complex, np.complexfloating)):
        return f"{v:.{digits}g}"
    text = f"{float(v):.{digits}g}"
    return "0" if text in ("-0", "0") else text


def fmt_array(a: Any, digits: int = DIGITS) -> str:
    """An array in a line or two: whole when small, its shape and range otherwise."""
    if isinstance(a, list) and all(isinstance(v, (int, np.integer)) for v in a):
        return f"list {a}" if len(a) <= 2 * SMALL_ARRAY else f"list of {len(a)} ints"
    arr = np.asarray(a)
    if arr.dtype.kind not in "biufc":
        return repr(a)[:200]
    if arr.size <= SMALL_ARRAY:
        if arr.ndim == 0:
            return fmt_number(arr[()], digits) if arr.dtype.kind in "fc" else str(arr[()])
        text = np.array2string(arr, separator=", ", max_line_width=100,
                               formatter={"float_kind": lambda v: fmt_number(v, digits)})
        return " ".join(text.split())
    with np.errstate(all="ignore"):
        return (f"array of shape {arr.shape} (values from {fmt_number(np.nanmin(arr), 3)} "
                f"to {fmt_number(np.nanmax(arr), 3)})")


def distinct_digits(expected: Any, got: Any) -> int:
    """The fewest significant digits (from :data:`DIGITS` up to :data:`MAX_DIGITS`) at which ``expected``
    and ``got`` do not print the same."""
    for digits in range(DIGITS, MAX_DIGITS + 1):
        if fmt_array(expected, digits) != fmt_array(got, digits):
            return digits
    return MAX_DIGITS


def describe(instance: Instance, signature: tuple[str, ...]) -> str:
    """The instance as a student should read it: sizes, then each argument."""
    lines = []
    if instance.sizes:
        lines.append(", ".join(f"{k} = {v}" for k, v in instance.sizes.items()))
    for name, value in zip(signature, instance.args):
        if isinstance(value, np.ndarray):
            lines.append(f"{name} {value.shape}: {fmt_array(value)}")
        else:
            lines.append(f"{name}: {fmt_array(value)}")
    for name, value in instance.kwargs.items():
        lines.append(f"{name}: {fmt_array(value)}")
    return "\n".join("    " + line for line in lines)


def locate(expected: np.ndarray, got: np.ndarray, tol: Tolerance, axes: tuple[str, ...]) -> str:
    """Which entries are wrong, where the largest error is, and which indices along each axis are affected."""
    expected, got = np.asarray(expected, dtype=float), np.asarray(got, dtype=float)
    with np.errstate(all="ignore"):
        wrong = ~tol.close(got, expected) | ~np.isfinite(got)
        err = np.where(np.isfinite(got), np.abs(got - expected), np.inf)
    n_wrong = int(wrong.sum())
    if expected.ndim == 0:
        d = distinct_digits(expected, got)
        return f"expected {fmt_number(expected, d)}, got {fmt_number(got, d)}"
    worst = np.unravel_index(int(np.argmax(np.where(wrong, err, -1))), expected.shape)
    names = axes if len(axes) == expected.ndim else tuple(f"axis {i}" for i in range(expected.ndim))
    where = ", ".join(f"{n} = {i}" for n, i in zip(names, worst))
    d = distinct_digits(expected[worst], got[worst])
    lines = [f"{n_wrong} of {expected.size} entries are wrong; the largest error is at [{where}]: "
             f"expected {fmt_number(expected[worst], d)}, got {fmt_number(got[worst], d)}"]
    for axis, name in enumerate(names):
        if expected.shape[axis] < 2:
            continue
        hit = np.flatnonzero(wrong.any(axis=tuple(i for i in range(expected.ndim) if i != axis)))
        if 0 < len(hit) < expected.shape[axis]:
            shown = ", ".join(str(i) for i in hit[:8]) + (" ..." if len(hit) > 8 else "")
            lines.append(f"only {name} = {shown} {'is' if len(hit) == 1 else 'are'} wrong "
                         f"(of {name} = 0..{expected.shape[axis] - 1})")
    if expected.size <= SMALL_ARRAY:
        d = max(d, distinct_digits(expected, got))
        lines.append(f"expected {fmt_array(expected, d)}")
        lines.append(f"got      {fmt_array(got, d)}")
    return "\n".join(lines)
