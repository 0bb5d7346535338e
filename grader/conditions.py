"""When a function fails: a rule on the instance's sizes that separates its failures from its passes.

The derivative check judges the same list of instances for every
submission and knows which passed (:class:`grader.credit.ValueProfile`).
When a simple predicate of the sizes (``H == 1``, ``n_in != H``,
``T > bptt_truncate + 1``) is true on every failing instance and false on
every passing one, it is said; a predicate that misclassifies a single
instance is not. On a crash whose error speaks of shapes, the shapes of the
instance's arguments are said in the contract's sizes.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from grader.relations import Finding, sentence
from grader.strategies import Instance

#: Each side needs this many instances: one failure can be singled out by too many predicates.
MIN_EACH = 2

Predicate = tuple[str, str, Callable[[dict[str, int]], bool]]  # (text, its negation, test)


def _int_sizes(sizes: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in sizes.items() if isinstance(v, (int, np.integer)) and not isinstance(v, bool)}


def predicates(names: list[str]) -> list[Predicate]:
    """Simple predicates of the sizes, simplest first."""
    out: list[Predicate] = []
    for a in names:
        out.append((f"{a} == 1", f"{a} > 1", lambda s, a=a: s[a] == 1))
        out.append((f"{a} > 1", f"{a} == 1", lambda s, a=a: s[a] > 1))
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            out.append((f"{a} == {b}", f"{a} != {b}", lambda s, a=a, b=b: s[a] == s[b]))
            out.append((f"{a} != {b}", f"{a} == {b}", lambda s, a=a, b=b: s[a] != s[b]))
            out.append((f"{a} > {b}", f"{a} <= {b}", lambda s, a=a, b=b: s[a] > s[b]))
            out.append((f"{a} < {b}", f"{a} >= {b}", lambda s, a=a, b=b: s[a] < s[b]))
            out.append((f"{a} >= {b}", f"{a} < {b}", lambda s, a=a, b=b: s[a] >= s[b]))
            out.append((f"{a} <= {b}", f"{a} > {b}", lambda s, a=a, b=b: s[a] <= s[b]))
    for a in names:
        for b in names:
            if a != b:
                out.append((f"{a} > {b} + 1", f"{a} <= {b} + 1", lambda s, a=a, b=b: s[a] > s[b] + 1))
                out.append((f"{a} <= {b} + 1", f"{a} > {b} + 1", lambda s, a=a, b=b: s[a] <= s[b] + 1))
    return out


def condition(verdicts: Iterable[tuple[dict[str, Any], bool]]) -> Finding | None:
    """The simplest predicate true exactly on the failing instances (``verdicts``: sizes, passed), or None."""
    rows = [(_int_sizes(sizes), passed) for sizes, passed in verdicts]
    if not rows:
        return None
    names = [k for k in rows[0][0] if all(k in s for s, _ in rows)]
    rows = [({k: s[k] for k in names}, p) for s, p in rows]
    failing = [s for s, p in rows if not p]
    passing = [s for s, p in rows if p]
    if len(failing) < MIN_EACH or len(passing) < MIN_EACH:
        return None
    varying = [k for k in names if len({s[k] for s, _ in rows}) > 1]
    for text, negation, test in predicates(varying):
        if all(test(s) for s in failing) and not any(test(s) for s in passing):
            return Finding(f"when:{text}", sentence(
                f"It is wrong exactly when {text}: wrong on all {len(failing)} instances judged with {text}, "
                f"right on all {len(passing)} with {negation}"))
    return None


# -- declared conditions and values (Question.truth_names, grader.variants) ------------------------------

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Eq: operator.eq, ast.NotEq: operator.ne,
        ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


def evaluate(expression: str, sizes: dict[str, Any]) -> Any:
    """The value of a declared expression over the sizes: names, ints, ``+``, ``-`` and one comparison
    (``"bptt_truncate - 1"``, ``"T > bptt_truncate + 1"``). Anything else is a ``ValueError``."""
    values = _int_sizes(sizes)

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name) and node.id in values:
            return values[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPS:
            return _OPS[type(node.ops[0])](value(node.left), value(node.comparators[0]))
        raise ValueError(f"not a size expression: {expression!r}")

    return value(ast.parse(expression, mode="eval"))


def holds(condition_text: str, sizes: dict[str, Any]) -> bool:
    """Whether a declared condition (``"T > bptt_truncate + 1"``) holds for these sizes (False if it cannot be told)."""
    try:
        return bool(evaluate(condition_text, sizes))
    except ValueError:
        return False


# -- crashes about shapes ------------------------------------------------------------------------------

_SHAPE_WORDS = re.compile(r"shape|broadcast|align|dimension|size \d|out of bounds|reshape|mismatch|0-d", re.I)
_ZERO_D = re.compile(r"0-d|0-dimensional|zero-dimensional", re.I)


def axis_names(instances: list[Instance], signature: tuple[str, ...]) -> dict[str, tuple[str | None, ...]]:
    """The contract's shape of each array argument, as the sizes its axes equal on *every* instance given
    (``V: ("word_dim", "H")``); ``None`` for an axis no single size always equals."""
    out: dict[str, tuple[str | None, ...]] = {}
    for i, name in enumerate(signature):
        arrays = [inst.args[i] if i < len(inst.args) else None for inst in instances]
        if not arrays or not all(isinstance(a, np.ndarray) for a in arrays) or len({a.ndim for a in arrays}) != 1:
            continue
        axes = []
        for axis in range(arrays[0].ndim):
            candidates = None
            for inst, a in zip(instances, arrays):
                hits = {k for k, v in _int_sizes(inst.sizes).items() if v == a.shape[axis]}
                candidates = hits if candidates is None else candidates & hits
            axes.append(candidates.pop() if candidates and len(candidates) == 1 else None)
        out[name] = tuple(axes)
    return out


def _dims(shape: tuple[int, ...], names: tuple[str | None, ...] | None, sizes: dict[str, int]) -> str:
    """``(word_dim, H)``: each length by the size it is (from ``names``, else the one size equal to it here)."""
    out = []
    for axis, n in enumerate(shape):
        name = names[axis] if names and axis < len(names) else None
        if name is None:
            hits = [k for k, v in sizes.items() if v == n]
            name = hits[0] if len(hits) == 1 else str(n)
        out.append(name)
    return "(" + ", ".join(out) + ("," if len(out) == 1 else "") + ")"


def crash_note(instance: Instance, signature: tuple[str, ...], error: str,
               others: list[Instance] | None = None) -> Finding | None:
    """For an error about shapes: the arguments' shapes, in the contract's sizes, and what its numbers are.

    ``others``: instances whose sizes tell which size each axis is (:func:`axis_names`).
    """
    if not error or not _SHAPE_WORDS.search(error):
        return None
    sizes = _int_sizes(instance.sizes)
    names = axis_names([instance, *(others or [])], signature)
    shapes = []
    for name, value in zip(signature, instance.args):
        if isinstance(value, np.ndarray):
            dims = _dims(value.shape, names.get(name), sizes) if sizes and value.ndim else ""
            shapes.append(f"{name} {value.shape}" + (f" = {dims}" if dims and dims != str(value.shape) else ""))
    if not shapes:
        return None
    last = error.strip().splitlines()[-1] if error.strip() else ""
    numbers = sorted({int(n) for n in re.findall(r"(?<![\w.])(\d+)(?![\w.])", last)}, reverse=True)
    meant = []
    for n in numbers:
        hits = [k for k, v in sizes.items() if v == n]
        if hits and n > 1:
            meant.append(f"{n} is {' or '.join(hits)}")
    text = ("The error is about shapes. Here the arguments are " + ", ".join(shapes)
            + (f"; in the error, {', '.join(meant)}" if meant else "")
            + ": check which axes your products and sums combine against these shapes")
    ones = [k for k, v in sizes.items() if v == 1]
    if _ZERO_D.search(error) and ones:
        text += (f". An array became 0-d, here where {' and '.join(f'{k} = 1' for k in ones)}: an axis of length 1 "
                 "was squeezed away (np.squeeze, .item(), float(), or indexing it out); keep the axes the contract "
                 "gives")
    return Finding("crash:shapes", sentence(text))
