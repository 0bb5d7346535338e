"""Contract properties: what every graded function must do whatever its formula.

New arrays of the right type, shape and float64 dtype; arguments never
modified; finite values; the same result when called twice (no hidden global
state); batch rows independent where the contract has batch rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.diagnose import fmt_array, parts_of, same_values
from grader.oracles.compare import kind, structure_problem
from grader.oracles.derivative import REPEAT_TOL
from grader.questions import Question
from grader.strategies import Instance
from grader.target import Outcome
from grader.wire import Unsupported


def _arg_name(question: Question, key: str) -> str:
    if key.isdigit() and int(key) < len(question.signature):
        return question.signature[int(key)]
    return key


def _strict_types(expected: Any, out: Outcome, question: Question) -> str | None:
    got = out.value
    if isinstance(expected, tuple) and not isinstance(got, (tuple, list)):  # a list of the same items is a tuple
        return f"should return a tuple, returned {kind(got)}"
    if out.subclasses:
        return (f"returned a {out.subclasses[0]} (a subclass of numpy.ndarray); return plain arrays "
                "(np.asarray(...))")
    for name, part in parts_of(got, question.parts):
        label = f"{name}: " if name else ""
        if isinstance(part, Unsupported):
            return f"{label}returned {kind(part)}"
        if isinstance(part, np.ndarray) and part.dtype != np.float64:
            return f"{label}should have dtype float64, has {part.dtype}"
        if isinstance(part, np.ndarray) and not np.all(np.isfinite(part)):
            return f"{label}contains NaN or infinite values"
    return None


def rows_subset(question: Question, instance: Instance, rows: np.ndarray) -> list[Any]:
    """The instance's arguments restricted to some batch rows."""
    args = list(instance.args)
    for pos, axis in question.rows.args.items():
        a = args[pos]
        args[pos] = [a[i] for i in rows] if isinstance(a, list) else np.take(a, rows, axis=axis)
    return args


def contract_problem(expected: Any, out: Outcome, question: Question, instance: Instance,
                     call: Callable[[list[Any]], Outcome]) -> str | None:
    """``None`` if the call kept the contract; otherwise which rule it broke."""
    if not out.ok:
        return out.describe_failure()
    problem = structure_problem(expected, out.value, question.parts) or _strict_types(expected, out, question)
    if problem:
        return problem
    if out.mutated:
        key, after = next(iter(out.mutated.items()))
        name = _arg_name(question, key)
        before = instance.args[int(key)] if key.isdigit() else instance.kwargs.get(key)
        detail = ""
        if isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and before.shape == after.shape:
            changed = np.argwhere(before != after)
            n = len(changed)
            where = tuple(int(i) for i in changed[0]) if n else ()
            detail = "" if not n else f" (1 entry changed, at index {where})" if n == 1 else \
                f" ({n} entries changed, first at index {where})"
        return (f"modified its argument {name}{detail}; a graded function must leave its arguments "
                f"unchanged (work on a copy: np.array(x, copy=True))")
    if out.aliased:
        name = _arg_name(question, str(out.aliased[0]))
        return (f"returned an array that shares memory with its argument {name}; return a new array "
                "(changing one would change the other)")
    again = call(list(instance.args))
    if not again.ok or not same_values(out.value, again.value, REPEAT_TOL):
        what = f"raised {again.error}" if not again.ok else "returned a different result"
        return (f"called a second time with the same arguments, it {what}: the function keeps state between "
                "calls (a global, a default argument that is modified, or an accumulator that is never reset)")
    return _rows_problem(out, question, instance, call)


def further_calls(question: Question, instance: Instance, out: Outcome) -> list[list[Any]]:
    """The arguments :func:`contract_problem` will call the function with again, after the first call ``out``.

    So that they can be made ahead, all at once (:meth:`grader.answers.Answers.send_further_ahead`). None after a
    first call that failed, changed an argument or returned one: the check stops there. (One that
    breaks the structure rules stops it too; its further calls are made and go unused.)
    """
    if not out.ok or out.mutated or out.aliased:
        return []
    split = _row_split(question, instance)
    return [list(instance.args)] + ([] if split is None else [rows_subset(question, instance, r) for r in split])


def _row_split(question: Question, instance: Instance) -> tuple[np.ndarray, np.ndarray] | None:
    """The first batch row and the others, where the contract has batch rows and there are two or more."""
    if question.rows is None:
        return None
    first_pos, first_axis = next(iter(question.rows.args.items()))
    first = instance.args[first_pos]
    n = len(first) if isinstance(first, list) else np.shape(first)[first_axis]
    return None if n < 2 else (np.arange(1), np.arange(1, n))


def _rows_problem(out: Outcome, question: Question, instance: Instance,
                  call: Callable[[list[Any]], Outcome]) -> str | None:
    spec = question.rows
    split = _row_split(question, instance)
    if spec is None or split is None:
        return None
    head, tail = split
    n = len(head) + len(tail)
    a, b = call(rows_subset(question, instance, head)), call(rows_subset(question, instance, tail))
    if not (a.ok and b.ok):
        bad = a if not a.ok else b
        return f"called on some of the batch rows only, it raised {bad.error}"
    full = parts_of(out.value, question.parts)
    pa, pb = parts_of(a.value, question.parts), parts_of(b.value, question.parts)
    for (name, whole), (_, x), (_, y) in zip(full, pa, pb):
        try:
            if spec.summed:
                combined = np.asarray(x, dtype=float) + np.asarray(y, dtype=float)
            else:
                combined = np.concatenate([np.asarray(x, dtype=float), np.asarray(y, dtype=float)], axis=spec.out)
        except ValueError:
            return "called on some of the batch rows only, it returned arrays of the wrong shape"
        if not same_values(whole, combined, question.tolerance):
            how = ("the sum of the results for the first row and for the other rows"
                   if spec.summed else "the results for the first row and for the other rows, stacked")
            label = f"{name} " if name else ""
            return (f"batch rows are not independent: for {n} rows, {label}is not {how} "
                    f"(got {fmt_array(whole)} against {fmt_array(combined)}); "
                    "does something depend on the batch size, or mix rows?")
    return None
