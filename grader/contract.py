"""A graded function's contract in words, from its question's declaration and the instances it is judged on.

What a student reads above a function they write (the otter route's notebook; ``bptt-grader notebook``
for a question without ``doc``): its arguments with their shapes, in the assignment's sizes
(``o``: shape ``(T, word_dim)``), and what it returns. The shapes are read off the instances the
function is judged on (the shipped lists of a bundled assignment; :func:`grader.conditions.axis_names`
names each axis by the size it equals on every one of them), so they are those the grader uses. The
whole contract of the bundled assignments (forward passes, sign conventions) is ``docs/contract.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.questions import Question
from grader.strategies import Instance

#: Instances whose true answers are computed to read the result's shapes (each costs a derivative).
TRUTHS = 8


def _dims(names: tuple[str | None, ...] | None) -> str | None:
    if names is None or any(n is None for n in names):
        return None
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _array(values: list[np.ndarray], names: tuple[str | None, ...] | None) -> str:
    kind = "an integer" if all(v.dtype.kind in "iu" for v in values) else "a float64"
    if len({v.ndim for v in values}) > 1:
        return f"{kind} array of any shape"
    dims = _dims(names)
    return f"{kind} array of shape {dims}" if dims else f"{kind} array with {values[0].ndim} axes"


def _length(values: list[Any], instances: list[Instance]) -> str:
    """The size every value's length equals (``T``), else ``""``."""
    found: set[str] | None = None
    for value, inst in zip(values, instances):
        hits = {k for k, v in inst.sizes.items() if isinstance(v, int) and v == len(value)}
        found = hits if found is None else found & hits
    return sorted(found)[0] if found and len(found) == 1 else ""


def _argument(values: list[Any], names: tuple[str | None, ...] | None, instances: list[Instance]) -> str:
    """How one argument comes, over every instance: an array's dtype and shape, integers, an int."""
    if all(isinstance(v, np.ndarray) for v in values):
        return _array(values, names)
    if all(isinstance(v, (list, np.ndarray)) and all(isinstance(x, (int, np.integer)) for x in v) for v in values):
        n = _length(values, instances)
        return f"{n + ' ' if n else ''}integers (an integer array or a list of ints)"
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return "an int"
    if all(isinstance(v, float) for v in values):
        return "a float"
    return "a value"


def _parts(truth: Any, question: Question) -> tuple[Any, ...]:
    if isinstance(truth, dict):
        return tuple(truth[p] for p in question.parts)
    return tuple(truth) if isinstance(truth, (tuple, list)) else (truth,)


def _cache_at(question: Question) -> int | None:
    """Where a forward function's cache is in the tuple it returns (its values before it), else ``None``."""
    if question.sequence is None:
        return None
    calls = question.sequence.calls_for(list(question.signature), {})
    if len(calls) == 1 and calls[0][0] == question.function and calls[0][3]:
        return calls[0][3][0]
    return None


def _like(arrays: list[np.ndarray], instances: list[Instance], signature: Sequence[str]) -> str | None:
    """The argument every one of ``arrays`` is shaped like, on its own instance."""
    for i, name in enumerate(signature):
        if all(i < len(inst.args) and getattr(inst.args[i], "shape", None) == a.shape
               for a, inst in zip(arrays, instances)):
            return name
    return None


def _truths(question: Question, instances: list[Instance]) -> list[Any] | None:
    try:
        return [question.truth(inst) for inst in instances[:TRUTHS]]
    except Exception:  # an assignment's truth that raises: its shapes are not said
        return None


def _result(question: Question, instances: list[Instance]) -> list[tuple[str, str]]:
    """``(part, description)`` of the result (one part, named ``""``, for a single array); ``[]`` if unknown."""
    from grader.conditions import axis_names

    found = _truths(question, instances)
    if not found:
        return []
    truths = [_parts(t, question) for t in found]
    if len({len(t) for t in truths}) != 1 or not all(isinstance(x, np.ndarray) for t in truths for x in t):
        return []
    labels = question.parts if len(question.parts) == len(truths[0]) else ("",) * len(truths[0])
    keys = tuple(f"_{i}" for i in range(len(labels)))
    named = axis_names([Instance(args=t, sizes=inst.sizes) for t, inst in zip(truths, instances)], keys)
    out = []
    for i, label in enumerate(labels):
        arrays = [t[i] for t in truths]
        text = _array(arrays, named.get(keys[i]))
        like = _like(arrays, instances, question.signature)
        if like and ("any shape" in text or "axes" in text):
            text = f"a float64 array shaped like `{like}`"
        out.append((label, text))
    return out


def _returns(question: Question, parts: list[tuple[str, str]], is_dict: bool) -> str:
    items = "; ".join(f"`{label}`, {text}" for label, text in parts)
    if len(parts) == 1 and not parts[0][0]:
        what = parts[0][1].replace("a float64", "a new float64", 1)
    elif is_dict:
        what = f"a dict with exactly the keys {', '.join(repr(p) for p, _ in parts)}, new arrays: {items}"
    else:
        what = f"a tuple ({', '.join(p for p, _ in parts)}) of new arrays: {items}"
    cache = _cache_at(question)
    if cache is None:
        return f"It returns {what}."
    values = "value" if cache == 1 else ", ".join(f"value {i}" for i in range(cache))
    return (f"It returns a tuple ({values}, cache). What is graded against {question.truth_name}: {what}. "
            "What goes in the cache is yours to choose: your backward function receives it as it is.")


def contract_lines(question: Question, arguments: Sequence[str] | None = None,
                   instances: list[Instance] | None = None) -> list[str]:
    """The contract of ``question``'s function as Markdown lines: a bullet per argument, then what it returns.

    ``arguments``: the student's argument names (default: ``question.arguments``, else its signature); one
    that is not in the signature (a backward's ``cache``) is said to come from the functions it needs.
    ``instances``: those to read the shapes from (default: the list a passing search draws,
    :func:`grader.drawn.passing_draws`: shipped with a bundled assignment, so nothing is drawn).
    """
    from grader.conditions import axis_names

    if instances is None:
        from grader.drawn import passing_draws

        instances = passing_draws(question)
    arguments = tuple(arguments or question.arguments or question.signature)
    names = axis_names(instances, question.signature)
    lines = []
    for arg in arguments:
        if arg in question.signature:
            i = question.signature.index(arg)
            values = [inst.args[i] for inst in instances if i < len(inst.args)]
            lines.append(f"- `{arg}`: {_argument(values, names.get(arg), instances)}")
        else:
            source = " or ".join(f"`{n}`" for n in question.needs) or "the assignment's other functions"
            lines.append(f"- `{arg}`: as your {source} returns it")
    parts = _result(question, instances)
    if parts:
        truths = _truths(question, instances[:1])
        lines += ["", _returns(question, parts, bool(truths) and isinstance(truths[0], dict))]
    return lines


def sizes_line(questions: Sequence[Question]) -> str:
    """One sentence naming the sizes :func:`contract_lines` writes shapes in (any of them can be 1)."""
    from grader.conditions import axis_names
    from grader.drawn import passing_draws

    found: list[str] = []
    for q in questions:
        for axes in axis_names(passing_draws(q), q.signature).values():
            found += [n for n in axes if n is not None and n not in found]
    if not found:
        return ""
    return (f"Shapes are written in the assignment's sizes ({', '.join(f'`{n}`' for n in found)}); any size can "
            "be as small as 1 and matrices need not be square: read sizes from the arguments, never assume them.")
