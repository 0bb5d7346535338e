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

Besides edits of the instance, a variant may change how derivatives flow
through the forward pass (:mod:`grader.terms`: the tanh derivative left out,
``W`` where ``W.T`` belongs on the way back, ``h[t]`` where ``h[t-1]`` belongs,
a sum over time reduced to one term, ...): the vocabulary shared by every
assignment, declared with the names of the assignment's terms
(``{"terms": {"state": "s[{t}]", "W": "W"}}``). Where no single variant
explains a wrong part, an edit of the instance together with one of those is
tried (two mistakes at once: a truncation one step short *and* the tanh
derivative left out stepping back).

A variant is named only of a part that is wrong, and only where the edited
truth differs from the truth: it never names a correct answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grader import terms
from grader.conditions import evaluate
from grader.oracles.derivative import Tolerance
from grader.relations import (
    Case,
    Finding,
    close,
    declared_activations,
    part_arrays,
    relation_tolerance,
    sentence,
    words_for,
    wrong_parts,
)
from grader.strategies import Instance

Edit = Callable[[Instance], "Instance | None"]


@dataclass(frozen=True)
class Variant:
    """A wrong program, as an edit of the instance whose truth it computes.

    ``says`` completes "your dLdW equals ...": "the gradient with h0 = 0: the initial state is
    ignored". ``rebuild``: after the edit, rebuild the instance from its arguments
    (:attr:`grader.questions.Question.instance_from_args`), for a truth that reads a context the edit
    must keep consistent (goodfellow's ``grad_h`` re-runs later steps from the given states).
    ``wrong``: how derivatives flow through the forward pass (:mod:`grader.terms`), for a wrong
    program that is not an edit of its arguments; ``after``: what the wrong program does to the
    edited instance's truth (divides it by an activation's derivative, ...); ``how``: ``says``
    without its subject ("with the tanh derivative left out ..."), for a second mistake.
    """

    id: str
    says: str
    edit: Edit
    rebuild: bool = False
    wrong: terms.Wrong | None = None
    after: Callable[[Instance, Any], Any] | None = None
    how: str = ""

    def then(self, other: Variant) -> Variant:
        """Two mistakes at once: this variant's edit, then ``other``'s way of letting derivatives flow."""
        return Variant(f"{self.id}+{other.id}", f"{self.says}; and, a second mistake, {other.how or other.says}",
                       self.edit, self.rebuild, other.wrong, self.after)


def unchanged(inst: Instance) -> Instance:
    """The identity edit (a variant that changes only how derivatives flow)."""
    return inst


def _with_args(inst: Instance, args: list[Any], sizes: dict[str, Any] | None = None) -> Instance:
    return replace(inst, args=tuple(args), sizes=dict(inst.sizes if sizes is None else sizes), memo_key=None)


def zeroed(position: int) -> Edit:
    """The argument at ``position`` replaced by zeros (an ignored initial state, bias or input)."""
    def edit(inst: Instance) -> Instance | None:
        a = inst.args[position]
        if not isinstance(a, np.ndarray):
            return None
        if not np.any(a):  # already zero: the variant is the truth here
            return inst
        args = list(inst.args)
        args[position] = np.zeros_like(a, dtype=float)
        return _with_args(inst, args)

    return edit


def transposed(position: int) -> Edit:
    """The square matrix at ``position`` transposed (``W`` where ``W.T`` belongs)."""
    def edit(inst: Instance) -> Instance | None:
        a = inst.args[position]
        if not isinstance(a, np.ndarray) or a.ndim != 2 or a.shape[0] != a.shape[1]:
            return None
        if np.array_equal(a, a.T):
            return inst
        args = list(inst.args)
        args[position] = np.ascontiguousarray(a.T)
        return _with_args(inst, args)

    return edit


def last_step_only(position: int, axis: int) -> Edit:
    """The argument at ``position`` kept only at its last index along ``axis`` (zeros elsewhere)."""
    def edit(inst: Instance) -> Instance | None:
        a = inst.args[position]
        if not isinstance(a, np.ndarray):
            return None
        if a.shape[axis] < 2:
            return inst
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
        if not np.all(np.isfinite(b)):
            return None
        if np.array_equal(a, b):
            return inst
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
            return inst
        args = list(inst.args)
        if len(args) <= position:
            args.append(new)
        else:
            args[position] = new
        return _with_args(inst, args, {**inst.sizes, size: new})

    return edit


def _activation(q: Any, argument: str) -> Any:
    """The declared activation whose outputs ``argument`` holds (:attr:`Question.activations`)."""
    for act in declared_activations(q):
        if act.argument == argument:
            return act
    raise ValueError(f"{q.function}: no activation is declared for {argument!r}")


def _derivative_first(q: Any, d: dict[str, Any]) -> Variant:
    """The activation's derivative applied to an upstream argument before a product, not to its result:
    the truth for ``upstream * f``, divided by ``f`` (``f`` the derivative at the activation's argument)."""
    upstream, argument = d["derivative_first"]
    act, at = _activation(q, argument), q.signature.index(argument)

    def f(inst: Instance) -> np.ndarray:
        return act.derivative(np.asarray(inst.args[at], dtype=float))

    def after(inst: Instance, value: Any) -> Any:
        with np.errstate(all="ignore"):
            return np.asarray(value, dtype=float) / f(inst)

    says = d.get("says") or (f"{d.get('what', 'the result')} with the {act.kind} derivative {act.formula} applied "
                             f"to {upstream} before the product, where it multiplies the product's result")
    return Variant(d.get("id", "derivative-before-product"), says, scaled(q.signature.index(upstream), f),
                   after=after)


def _of_terms(d: dict[str, Any]) -> list[Variant]:
    """The shared vocabulary of :mod:`grader.terms`, with the names of the declaration's terms."""
    out = []
    for kind, wrong, says in terms.vocabulary(d["terms"]):
        what = d["terms"].get("what", "the gradient")
        out.append(Variant(kind, says, unchanged, wrong=wrong, how=says[len(what):].lstrip()))
    return out


def _edit(q: Any, d: dict[str, Any]) -> Edit:
    """The edit of an argument a declaration names."""
    if "zeros" in d:
        return zeroed(q.signature.index(d["zeros"]))
    if "transpose" in d:
        return transposed(q.signature.index(d["transpose"]))
    if "last_only" in d:
        name, axis = d["last_only"]
        return last_step_only(q.signature.index(name), int(axis))
    if "scale" in d:
        return scaled(q.signature.index(d["scale"]), d["by"])
    if "set" in d:
        name, to = d["set"], d["to"]
        return size_argument(q.signature.index(name), name, lambda sizes, to=to: evaluate(to, sizes))
    raise ValueError(f"{q.function}: a variant declares no edit: {d!r}")


def declared(q: Any) -> list[Variant]:
    """The question's variants: :class:`Variant` s as they are, and declarations as data, by argument name::

        {"id": "h0-ignored", "zeros": "h0", "says": "the gradient with h0 = 0: the initial state is ignored"}
        {"id": "w-untransposed", "transpose": "W", "says": "...", "rebuild": True}
        {"id": "last-only", "last_only": ("dY", 1), "says": "..."}      # kept only at its last index on axis 1
        {"id": "no-derivative", "scale": "dnext_h", "by": lambda inst: ..., "says": "..."}  # times an array
        {"id": "short", "set": "bptt_truncate", "to": "bptt_truncate - 1", "says": "..."}
        {"derivative_first": ("delta_t", "s_prev")}       # its derivative applied to delta_t before the product
        {"terms": {"state": "s[{t}]", "W": "W", "act": "tanh"}}   # the vocabulary of grader.terms

    The generic ones say what they are with the names declared; an ``id`` or ``says`` given wins.
    """
    out: list[Variant] = []
    for d in q.variants:
        if isinstance(d, Variant):
            out.append(d)
        elif "terms" in d:
            out += _of_terms(d)
        elif "derivative_first" in d:
            out.append(_derivative_first(q, d))
        else:
            out.append(Variant(d["id"], d["says"], _edit(q, d), bool(d.get("rebuild", False))))
    return out


def edited(q: Any, variant: Variant, inst: Instance) -> Instance | None:
    """The edited instance (rebuilt where the variant says so), or None where the edit does not apply."""
    out = variant.edit(inst)
    if out is None:
        return None
    if variant.rebuild and q.instance_from_args is not None and out is not inst:
        rebuilt = q.instance_from_args(out.args)
        out = replace(out, context={**out.context, **rebuilt.context})
    return out


def truth_of(q: Any, variant: Variant, inst: Instance, states: dict[int, Any] | None = None) -> Any | None:
    """What the variant's wrong program computes on ``inst`` (None where it does not apply; ``states``: those
    of the instances seen before, :func:`grader.terms.truth_with`)."""
    e = edited(q, variant, inst)
    if e is None:
        return None
    value = q.truth(e) if variant.wrong is None else terms.truth_with(q.truth, e, variant.wrong, states)
    return value if variant.after is None else variant.after(e, value)


def _matching(q: Any, v: Variant, cases: list[Case], wrong: list[set[str]], candidates: set[str], tol: Tolerance,
              required: frozenset[str] = frozenset(), states: dict[int, Any] | None = None) -> set[str]:
    """The ``candidates`` that equal the variant's truth on every case, and differ from the truth where wrong
    (none, unless the ``required`` ones all do)."""
    rtol = relation_tolerance(tol)
    for c, w in zip(cases, wrong):
        try:
            value = truth_of(q, v, c.instance, states)
        except Exception:  # noqa: BLE001 - an edit the oracle cannot take: the variant does not apply
            return set()
        if value is None:
            return set()
        other, g, e = (part_arrays(x, q.parts) for x in (value, c.answer, c.truth))
        candidates = {n for n in candidates
                      if close(g[n], other[n], rtol) and not (n in w and close(other[n], e[n], tol))}
        if not candidates - required or not required <= candidates:
            return set()
    return candidates


def _pairs(variants: list[Variant]) -> list[Variant]:
    """Two mistakes at once: each edit of the instance with each way of letting derivatives flow."""
    edits = [v for v in variants if v.wrong is None and v.after is None and v.edit is not unchanged]
    flows = [v for v in variants if v.wrong is not None]
    return [a.then(b) for a in edits for b in flows]


def variant_findings(q: Any, cases: list[Case], tol: Tolerance, truth_name: str,
                     ) -> tuple[list[Finding], frozenset[str]]:
    """The declared variants that wrong parts of the answer equal on every case; and those parts.

    A part is named when it is wrong on some case and equals the variant's truth on *every* case (where
    it is right too: the variant must then agree with the truth there). Only wrong parts are named. Parts
    no single variant explains are tried with two (:meth:`Variant.then`).
    """
    if not cases or not q.variants:
        return [], frozenset()
    names = list(part_arrays(cases[0].truth, q.parts))
    multi = not (len(names) == 1 and names[0] == "")
    # where the most parts are wrong first, then the smallest: a variant that does not hold is seen not to at once
    wrong_of = {id(c): set(wrong_parts(c, q.parts, tol)) for c in cases}
    cases = sorted(cases, key=lambda c: (-len(wrong_of[id(c)]),
                                         sum(np.size(a) for a in c.instance.args if isinstance(a, np.ndarray))))
    wrong = [wrong_of[id(c)] for c in cases]
    open_parts = [n for n in names if any(n in w for w in wrong)]
    found: list[Finding] = []
    variants = declared(q)
    states: dict[int, Any] = {}  # each instance's states, recorded once for every variant that reads later steps
    for group in (variants, _pairs(variants)):
        if not open_parts:
            break
        matches = []  # (variant, the parts it explains)
        for v in group:
            # a mistake in the error's flow must leave every right part right (what it changes is wrong)
            right = frozenset(names) - set(open_parts) if v.wrong is not None and v.wrong.whole else frozenset()
            candidates = _matching(q, v, cases, wrong, set(open_parts) | right, tol, right, states)
            if candidates & set(open_parts):
                matches.append((v, candidates & set(open_parts)))
        # the variant that explains the most parts first (a part two variants compute alike is the larger's)
        for v, parts in sorted(matches, key=lambda m: -len(m[1])):
            parts = [n for n in open_parts if n in parts]
            if not parts:
                continue
            words = words_for(q, parts, names, truth_name)
            found.append(Finding(f"variant:{v.id}" + (f":{','.join(parts)}" if multi else ""),
                                 sentence(f"{words.subject} {'equal' if words.plural else 'equals'} {v.says}")))
            open_parts = [n for n in open_parts if n not in parts]
    explained = {n for n in names if any(n in w for w in wrong)} - set(open_parts)
    return found, frozenset(explained)
