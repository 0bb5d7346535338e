"""Argument-edit variants: the true answer of an edited instance is what a typical wrong program computes.

An assignment declares, on a question, edits of an instance: the initial
state replaced by zeros (a program that ignores ``h0``), the truncation
replaced by another (a walk back one step short), a weight transposed (``W``
where ``W.T`` belongs), an upstream gradient kept only at the last step.
The grader computes the truth of the edited instance with the question's
own oracle (no reference solution, no catalogue) and, when a wrong part of
the student's answer equals the edited truth on every failing instance,
names the variant in its feedback: "your dLdW equals the gradient with
h0 = 0: the initial state is ignored".

A variant is named only of a part that is wrong, and only where the edited
truth differs from the truth: it never names a correct answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grader.conditions import evaluate
from grader.oracles.derivative import Tolerance
from grader.relations import Case, Finding, close, part_arrays, relation_tolerance, sentence, words_for, wrong_parts
from grader.strategies import Instance

Edit = Callable[[Instance], "Instance | None"]


@dataclass(frozen=True)
class Variant:
    """A wrong program, as an edit of the instance whose truth it computes.

    ``says`` completes "your dLdW equals ...": "the gradient with h0 = 0: the initial state is
    ignored". ``rebuild``: after the edit, rebuild the instance from its arguments
    (:attr:`grader.questions.Question.instance_from_args`), for a truth that reads a context the edit
    must keep consistent (goodfellow's ``grad_h`` re-runs later steps from the given states).
    """

    id: str
    says: str
    edit: Edit
    rebuild: bool = False


def _with_args(inst: Instance, args: list[Any], sizes: dict[str, Any] | None = None) -> Instance:
    return replace(inst, args=tuple(args), sizes=dict(inst.sizes if sizes is None else sizes), memo_key=None)


def zeroed(position: int) -> Edit:
    """The argument at ``position`` replaced by zeros (an ignored initial state, bias or input)."""
    def edit(inst: Instance) -> Instance | None:
        a = inst.args[position]
        if not isinstance(a, np.ndarray) or not np.any(a):
            return None
        args = list(inst.args)
        args[position] = np.zeros_like(a, dtype=float)
        return _with_args(inst, args)

    return edit


def transposed(position: int) -> Edit:
    """The square matrix at ``position`` transposed (``W`` where ``W.T`` belongs)."""
    def edit(inst: Instance) -> Instance | None:
        a = inst.args[position]
        if not isinstance(a, np.ndarray) or a.ndim != 2 or a.shape[0] != a.shape[1] or np.array_equal(a, a.T):
            return None
        args = list(inst.args)
        args[position] = np.ascontiguousarray(a.T)
        return _with_args(inst, args)

    return edit


def last_step_only(position: int, axis: int) -> Edit:
    """The argument at ``position`` kept only at its last index along ``axis`` (zeros elsewhere)."""
    def edit(inst: Instance) -> Instance | None:
        a = inst.args[position]
        if not isinstance(a, np.ndarray) or a.shape[axis] < 2:
            return None
        b = np.zeros_like(a, dtype=float)
        index = [slice(None)] * a.ndim
        index[axis] = -1
        b[tuple(index)] = a[tuple(index)]
        args = list(inst.args)
        args[position] = b
        return _with_args(inst, args)

    return edit


def scaled(position: int, by: Callable[[Instance], np.ndarray]) -> Edit:
    """The argument at ``position`` multiplied by ``by(instance)`` (an upstream gradient divided by an
    activation's derivative: the truth of a backward pass that leaves that derivative out)."""
    def edit(inst: Instance) -> Instance | None:
        a = inst.args[position]
        if not isinstance(a, np.ndarray):
            return None
        with np.errstate(all="ignore"):
            b = np.asarray(a, dtype=float) * np.asarray(by(inst), dtype=float)
        if not np.all(np.isfinite(b)) or np.array_equal(a, b):
            return None
        args = list(inst.args)
        args[position] = b
        return _with_args(inst, args)

    return edit


def size_argument(position: int, size: str, value: Callable[[dict[str, Any]], int]) -> Edit:
    """An int argument at ``position`` (also the size ``size``; appended when the call left it at its default)
    set to ``value(sizes)``: britz's ``bptt_truncate`` one smaller, one larger, ignored, ..."""
    def edit(inst: Instance) -> Instance | None:
        new = int(value(inst.sizes))
        if new == inst.sizes.get(size):
            return None
        args = list(inst.args)
        if len(args) <= position:
            args.append(new)
        else:
            args[position] = new
        return _with_args(inst, args, {**inst.sizes, size: new})

    return edit


def declared(q: Any) -> list[Variant]:
    """The question's variants: :class:`Variant` s as they are, and declarations as data, by argument name::

        {"id": "h0-ignored", "zeros": "h0", "says": "the gradient with h0 = 0: the initial state is ignored"}
        {"id": "w-untransposed", "transpose": "W", "says": "...", "rebuild": True}
        {"id": "last-only", "last_only": ("dY", 1), "says": "..."}      # kept only at its last index on axis 1
        {"id": "no-derivative", "scale": "dnext_h", "by": lambda inst: ..., "says": "..."}  # times an array
        {"id": "short", "set": "bptt_truncate", "to": "bptt_truncate - 1", "says": "..."}
    """
    out = []
    for d in q.variants:
        if isinstance(d, Variant):
            out.append(d)
            continue
        if "zeros" in d:
            edit = zeroed(q.signature.index(d["zeros"]))
        elif "transpose" in d:
            edit = transposed(q.signature.index(d["transpose"]))
        elif "last_only" in d:
            name, axis = d["last_only"]
            edit = last_step_only(q.signature.index(name), int(axis))
        elif "scale" in d:
            edit = scaled(q.signature.index(d["scale"]), d["by"])
        elif "set" in d:
            name, to = d["set"], d["to"]
            edit = size_argument(q.signature.index(name), name, lambda sizes, to=to: evaluate(to, sizes))
        else:
            raise ValueError(f"{q.function}: a variant declares no edit: {d!r}")
        out.append(Variant(d["id"], d["says"], edit, bool(d.get("rebuild", False))))
    return out


def edited(q: Any, variant: Variant, inst: Instance) -> Instance | None:
    """The edited instance (rebuilt where the variant says so), or None where the edit does not apply."""
    out = variant.edit(inst)
    if out is None:
        return None
    if variant.rebuild and q.instance_from_args is not None:
        rebuilt = q.instance_from_args(out.args)
        out = replace(out, context={**out.context, **rebuilt.context})
    return out


def variant_findings(q: Any, cases: list[Case], tol: Tolerance, truth_name: str,
                     ) -> tuple[list[Finding], frozenset[str]]:
    """The declared variants that wrong parts of the answer equal on every case; and those parts.

    A part is named when it is wrong on some case and equals the variant's truth on *every* case (where
    it is right too: the variant must then agree with the truth there). Only wrong parts are named.
    """
    if not cases or not q.variants:
        return [], frozenset()
    rtol = relation_tolerance(tol)
    names = list(part_arrays(cases[0].truth, q.parts))
    multi = not (len(names) == 1 and names[0] == "")
    wrong = [set(wrong_parts(c, q.parts, tol)) for c in cases]
    open_parts = [n for n in names if any(n in w for w in wrong)]
    found: list[Finding] = []
    explained: set[str] = set()
    for v in declared(q):
        if not open_parts:
            break
        candidates = set(open_parts)
        for c, w in zip(cases, wrong):
            inst = edited(q, v, c.instance)
            if inst is None:
                candidates = set()
                break
            try:
                other = part_arrays(q.truth(inst), q.parts)
            except Exception:  # noqa: BLE001 - an edit the oracle cannot take: the variant does not apply
                candidates = set()
                break
            g, e = part_arrays(c.answer, q.parts), part_arrays(c.truth, q.parts)
            for n in list(candidates):
                if not close(g[n], other[n], rtol) or (n in w and close(other[n], e[n], tol)):
                    candidates.discard(n)
            if not candidates:
                break
        if candidates:
            parts = [n for n in open_parts if n in candidates]
            words = words_for(q, parts, names, truth_name)
            verb = "equal" if words.plural else "equals"
            found.append(Finding(f"variant:{v.id}" + (f":{','.join(parts)}" if multi else ""),
                                 sentence(f"{words.subject} {verb} {v.says}")))
            explained |= set(parts)
            open_parts = [n for n in open_parts if n not in candidates]
    return found, frozenset(explained)


