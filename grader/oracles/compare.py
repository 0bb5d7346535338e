"""Judge one answer against a true one (from the derivative oracle or the reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.diagnose import locate, parts_of
from grader.oracles.derivative import Tolerance
from grader.target import Outcome
from grader.wire import Handle, Unsupported


def kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    if isinstance(value, Unsupported):
        return f"a {value.type_name} ({value.reason})"
    if value is None:
        return "None (is a return statement missing?)"
    return f"a {type(value).__name__}"


def structure_problem(expected: Any, got: Any, parts: tuple[str, ...]) -> str | None:
    """Why ``got`` is not shaped like ``expected`` (a tuple may come back as a list here)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"should return a dict with keys {sorted(expected)}, returned {kind(got)}"
        if set(got) != set(expected):
            return f"should return a dict with exactly the keys {sorted(expected)}, returned keys {sorted(got)}"
        pairs = [(k, expected[k], got[k]) for k in expected]
    elif isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"should return a tuple of {len(expected)} ({', '.join(parts)}), returned {kind(got)}"
        pairs = [(n, e, g) for (n, e), g in zip(parts_of(expected, parts), got)]
    else:
        pairs = [("", expected, got)]
    for name, e, g in pairs:
        label = f"{name}: " if name else ""
        if isinstance(g, (Handle, Unsupported)) or not isinstance(g, np.ndarray):
            return f"{label}should be an array of shape {e.shape}, is {kind(g)}"
        if g.shape != e.shape:
            flipped = " (the shape of its transpose)" if g.ndim == 2 and g.shape == e.shape[::-1] else ""
            return f"{label}should have shape {e.shape}, has shape {g.shape}{flipped}"
        if g.dtype.kind not in "fiub":
            return f"{label}should hold real numbers, holds dtype {g.dtype}"
    return None


def answer_problem(expected: Any, out: Outcome, parts: tuple[str, ...], axes: dict[str, tuple[str, ...]],
                   tol: Tolerance, against: str) -> str | None:
    """``None`` if ``out`` matches ``expected``; otherwise what is wrong and where."""
    if not out.ok:
        return out.describe_failure()
    problem = structure_problem(expected, out.value, parts)
    if problem:
        return problem
    got = out.value
    if isinstance(expected, dict):
        pairs = [(k, expected[k], got[k]) for k in expected]
    else:
        pairs = [(n, e, g) for (n, e), (_, g) in zip(parts_of(expected, parts), parts_of(got, parts))]
    for name, e, g in pairs:
        g = np.asarray(g, dtype=float)
        if not np.all(tol.close(g, e) & np.isfinite(g)):
            head = f"{name} differs from {against}" if name else f"differs from {against}"
            return f"{head}:\n{locate(e, g, tol, axes.get(name, ()))}"
    return None
