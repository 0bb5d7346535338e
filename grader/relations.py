"""How a wrong answer relates to the true one, said in words.

Pure functions over cases (an instance, its true answer and the student's
answer) and the question's public declaration (its parts, axes, signature,
activations and tolerance): no reference solution and no catalogue, so they
work in a student's own ``bptt-grader check`` as in grading.

A relation is claimed only when it holds on *every* failing case given
(for a part of a tuple or dict answer: on every failing case where that part
is wrong), so that it describes the mistake, not an accident of one
instance; and only of a part that is wrong, so that it never names a correct
answer. Each relation has one sentence, filled with the assignment's own
names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.diagnose import fmt_number, parts_of
from grader.oracles.derivative import Tolerance
from grader.strategies import Instance


@dataclass(frozen=True)
class Activation:
    """An activation whose derivative an answer may lack, or carry once too often.

    ``argument`` names (in the question's signature) the argument holding the activation's
    *outputs*, shaped like the answer's ``part`` (``""``: a single array), or broadcasting to it.
    """

    argument: str
    kind: str  # "tanh" or "sigmoid"
    part: str = ""

    def derivative(self, value: np.ndarray) -> np.ndarray:
        return 1 - value**2 if self.kind == "tanh" else value * (1 - value)

    def again(self, value: np.ndarray) -> np.ndarray:
        """The activation applied to ``value`` (its own output, again)."""
        return np.tanh(value) if self.kind == "tanh" else 1 / (1 + np.exp(-value))

    @property
    def formula(self) -> str:
        a = self.argument
        return f"(1 - {a}**2)" if self.kind == "tanh" else f"{a} * (1 - {a})"


@dataclass(frozen=True)
class Finding:
    """Something said of a failure: an id (for tests and summaries) and its sentence."""

    id: str
    sentence: str


@dataclass
class Case:
    """One failing instance: its true answer and the student's (comparable in structure)."""

    instance: Instance
    truth: Any
    answer: Any


def relation_tolerance(tol: Tolerance) -> Tolerance:
    """The question's tolerance, ten times looser: a relation compares the answer with a value computed
    from the truth (a product or quotient of it), whose rounding adds to the truth's."""
    return Tolerance(rtol=10 * tol.rtol, atol=10 * tol.atol)


def part_arrays(value: Any, parts: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``{part name: float array}`` of an answer (``""`` for a single array)."""
    return {name: np.asarray(v, dtype=float) for name, v in parts_of(value, parts)}


def close(got: np.ndarray, expected: np.ndarray, tol: Tolerance) -> bool:
    if got.shape != expected.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(np.isfinite(got)) and np.all(tol.close(got, expected)))


def wrong_parts(case: Case, parts: tuple[str, ...], tol: Tolerance) -> list[str]:
    """The parts of the case's answer that differ from the truth (the grader's own judgement)."""
    e, g = part_arrays(case.truth, parts), part_arrays(case.answer, parts)
    return [k for k in e if not close(g[k], e[k], tol)]


def transposed_parts(value: Any, answer: Any, parts: tuple[str, ...], tol: Tolerance) -> list[str]:
    """The parts of ``answer`` that have the transposed shape of the truth's and are its transpose."""
    try:
        e, g = part_arrays(value, parts), part_arrays(answer, parts)
    except (TypeError, ValueError):
        return []
    return [k for k in e if k in g and e[k].ndim == 2 and e[k].shape != e[k].shape[::-1]
            and g[k].shape == e[k].shape[::-1] and close(g[k], e[k].T, relation_tolerance(tol))]


# -- words ---------------------------------------------------------------------------------------

def join(names: list[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class Words:
    """How the sentences name the answer (or some of its parts) and the truth."""

    function: str
    parts: tuple[str, ...]  # the parts spoken of; () for a single-array answer
    truth_name: str

    @property
    def plural(self) -> bool:
        return len(self.parts) > 1

    @property
    def subject(self) -> str:
        return f"your {join(list(self.parts))}" if self.parts else f"your {self.function}"

    @property
    def truth(self) -> str:
        if not self.parts:
            return self.truth_name
        return "the true ones" if self.plural else f"the true {self.parts[0]}"

    @property
    def is_(self) -> str:
        return "are" if self.plural else "is"

    def where(self, n_cases: int, n_failing: int) -> str:
        if n_cases == n_failing:
            return f"on all {n_failing} failing instances" if n_failing > 1 else "on the failing instance"
        return (f"on every failing instance where {'they are' if self.plural else 'it is'} wrong: "
                f"{n_cases} of {n_failing}")


_CAPITALIZED = ("your", "every", "it", "within", "the")


def words_for(q: Any, parts: list[str], names: list[str], truth_name: str) -> Words:
    """How to speak of ``parts`` of the answer: by their names, or as the function's answer when they are all
    of it (or it has no parts)."""
    whole = names == [""] or set(parts) >= set(names)
    return Words(q.function, () if whole else tuple(parts), truth_name)


def sentence(text: str) -> str:
    """A sentence: a first word of the templates capitalized (never a name: ``dLdW``, ``delta_t``), a full stop."""
    first = text.split(" ", 1)[0]
    head = text[0].upper() + text[1:] if first in _CAPITALIZED else text
    return head + ("" if text.endswith(".") else ".")


# -- the relations of one part ---------------------------------------------------------------------
#
# Each check looks at one part of one case where that part is wrong, and returns the keys it holds
# with (a set: "divided by N" and "divided by T" both hold where N == T), an empty set where it does
# not hold, or None where it cannot be told (a time relation at T = 1). A relation holds when the
# intersection of its keys over the cases is not empty, and at least one case could tell.

@dataclass
class PartCase:
    e: np.ndarray
    g: np.ndarray
    instance: Instance
    signature: tuple[str, ...]
    axes: tuple[str, ...]
    tol: Tolerance

    def argument(self, name: str) -> Any:
        if name in self.signature:
            i = self.signature.index(name)
            if i < len(self.instance.args):
                return self.instance.args[i]
        return self.instance.kwargs.get(name)


def _zero(c: PartCase) -> set | None:
    return {"zero"} if not np.any(c.g) else set()


def _argument(c: PartCase) -> set | None:
    found = set()
    for name in c.signature:
        a = c.argument(name)
        if isinstance(a, np.ndarray) and a.shape == c.g.shape and a.dtype.kind in "fiub" \
                and close(c.g, np.asarray(a, dtype=float), c.tol):
            found.add(name)
    return found


def _constant(c: PartCase) -> set | None:
    if c.g.size < 2:
        return None  # one entry: cannot be told
    if not np.all(np.isfinite(c.g)):
        return set()
    flat = c.g.ravel()
    return {"constant"} if close(flat, np.full_like(flat, flat[0]), c.tol) else set()


def _negated(c: PartCase) -> set | None:
    return {"negated"} if close(c.g, -c.e, c.tol) else set()


def _size_scaled(c: PartCase) -> set | None:
    found = set()
    for name, v in c.instance.sizes.items():
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 1:
            if close(c.g, c.e * v, c.tol):
                found.add(("multiplied", name))
            if close(c.g * v, c.e, c.tol):
                found.add(("divided", name))
    return found


def _factor(c: PartCase) -> set | None:
    ee = float(np.sum(c.e * c.e))
    if not np.isfinite(ee) or ee == 0 or not np.all(np.isfinite(c.g)):
        return set()
    k = float(np.sum(c.g * c.e)) / ee
    if abs(k) < 1e-3 or abs(k - 1) < 1e-6 or not close(c.g, k * c.e, c.tol):
        return set()
    return {("factor", float(f"{k:.6g}"))}


def _transposed(c: PartCase) -> set | None:
    if c.e.ndim != 2 or c.e.shape[0] != c.e.shape[1] or c.e.shape[0] < 2:
        return set()
    return {"transposed"} if close(c.g, c.e.T, c.tol) and not close(c.e, c.e.T, c.tol) else set()


def declared_activations(q: Any) -> tuple[Activation, ...]:
    """The question's activations: :class:`Activation` s, or ``(argument, kind[, part])`` tuples."""
    return tuple(a if isinstance(a, Activation) else Activation(*a) for a in q.activations)


def _zero_off_diagonal(c: PartCase) -> set | None:
    if c.e.ndim != 2 or c.e.shape[0] != c.e.shape[1]:
        return set()
    if c.e.shape[0] < 2:
        return None  # nothing off the diagonal
    off = ~np.eye(c.e.shape[0], dtype=bool)
    return {"zero-off-diagonal"} if not np.any(c.g[off]) and not close(c.e[off], c.g[off], c.tol) else set()


def _diagonal(c: PartCase) -> set | None:
    if c.e.ndim != 2 or c.e.shape[0] != c.e.shape[1]:
        return set()
    with np.errstate(all="ignore"):
        wrong = ~(c.tol.close(c.g, c.e) & np.isfinite(c.g))
    if c.e.shape[0] < 2:
        return None  # one entry: no diagonal to tell from the rest
    diag = np.eye(c.e.shape[0], dtype=bool)
    if not wrong[diag].any() and wrong[~diag].any():
        return {"right-diagonal-only"}
    if wrong[diag].any() and not wrong[~diag].any():
        return {"wrong-diagonal-only"}
    return set()


def _activations(activations: tuple[Activation, ...], part: str) -> Callable[[PartCase], set | None]:
    def check(c: PartCase) -> set | None:
        found = set()
        for act in activations:
            if act.part != part:
                continue
            value = c.argument(act.argument)
            if not isinstance(value, np.ndarray):
                continue
            f = act.derivative(np.asarray(value, dtype=float))
            try:
                f = np.broadcast_to(f, c.e.shape)
            except ValueError:
                continue
            if close(c.g * f, c.e, c.tol) and not close(c.g, c.e, c.tol):
                found.add(("lacks", act))
            if close(c.g, c.e * f, c.tol):
                found.add(("extra", act))
            if close((c.g - f) * f, c.e, c.tol):  # the derivative added, not multiplied
                found.add(("added", act))
        return found

    return check


def _reapplied(activations: tuple[Activation, ...], part: str) -> Callable[[PartCase], set | None]:
    """The activation's derivative taken at ``act(output)``, not at the output (the activation applied to its own
    output): cannot be told where the two derivatives are alike."""
    def check(c: PartCase) -> set | None:
        found, told = set(), False
        for act in activations:
            value = c.argument(act.argument) if act.part == part else None
            if not isinstance(value, np.ndarray):
                continue
            with np.errstate(all="ignore"):
                f = np.broadcast_to(act.derivative(np.asarray(value, dtype=float)), c.e.shape)
                f2 = np.broadcast_to(act.derivative(act.again(np.asarray(value, dtype=float))), c.e.shape)
            if close(f2, f, c.tol):
                continue
            told = True
            if close(c.g * f, c.e * f2, c.tol):
                found.add(("reapplied", act))
        return found if told else None

    return check


def _time_axis(c: PartCase) -> int | None:
    return c.axes.index("t") if "t" in c.axes and len(c.axes) == c.e.ndim else None


def _per_step_wrong(c: PartCase, axis: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        ok = c.tol.close(c.g, c.e) & np.isfinite(c.g)
    return ~np.all(np.moveaxis(ok, axis, 0).reshape(c.e.shape[axis], -1), axis=1)


def _steps(c: PartCase) -> set | None:
    axis = _time_axis(c)
    if axis is None:
        return set()
    w = _per_step_wrong(c, axis)
    if len(w) < 2:  # one step: first and last are the same step
        return {"wrong-first-only", "wrong-last-only"} if w.all() else set()
    found = set()
    if not w[-1] and w[:-1].all():
        found.add("right-last-only")
    if w[0] and not w[1:].any():
        found.add("wrong-first-only")
    if w[-1] and not w[:-1].any():
        found.add("wrong-last-only")
    if not w[0] and w[1:].all():
        found.add("right-first-only")
    return found


def _shifted(c: PartCase) -> set | None:
    axis = _time_axis(c)
    if axis is None:
        return set()
    e, g = np.moveaxis(c.e, axis, 0), np.moveaxis(c.g, axis, 0)
    if len(e) < 2:
        return None  # no overlap to compare
    found = set()
    if close(g[1:], e[:-1], c.tol):
        found.add("late")
    if close(g[:-1], e[1:], c.tol):
        found.add("early")
    return found


def _part_relations() -> list[tuple[str, Callable[[PartCase], set | None]]]:
    """The relations of one part, most specific first (the first that holds is said)."""
    return [("zero", _zero), ("argument", _argument), ("constant", _constant), ("negated", _negated),
            ("size", _size_scaled), ("activation", None), ("reapplied", None), ("transposed", _transposed),
            ("zero-off-diagonal", _zero_off_diagonal), ("diagonal", _diagonal), ("factor", _factor),
            ("shifted", _shifted), ("steps", _steps)]


def _holds(check: Callable[[PartCase], set | None], cases: list[PartCase]) -> Any | None:
    """The first key ``check`` holds with on every case (None: it does not hold)."""
    common: set | None = None
    told = False
    for c in cases:
        keys = check(c)
        if keys is None:
            continue
        told = True
        common = set(keys) if common is None else common & keys
        if not common:
            return None
    if not told or not common:
        return None
    return sorted(common, key=repr)[0]


_STEP_ORDER = ("right-last-only", "wrong-first-only", "wrong-last-only", "right-first-only")


def _say(kind: str, key: Any, w: Words) -> tuple[str, str]:
    """The id and the sentence (without its "on every failing instance") of a relation."""
    s, t, is_ = w.subject, w.truth, w.is_
    if kind == "zero":
        return "zero", f"{s} {is_} zero"
    if kind == "argument":
        return f"argument:{key}", f"{s} {is_} the argument {key}, unchanged"
    if kind == "constant":
        return "constant", (f"every entry of {s} is the same number" if not w.plural
                            else f"within each of {s}, every entry is the same number")
    if kind == "negated":
        return "negated", f"{s} {is_} exactly minus {t}: the sign is flipped"
    if kind == "size":
        how, name = key
        return f"{how}-by:{name}", f"{s} {is_} {t} {how} by {name}"
    if kind in ("activation", "reapplied"):
        how, act = key
        if how == "lacks":
            return (f"lacks:{act.argument}",
                    f"{s} {is_} {t} divided by {act.formula}: the {act.kind} derivative {act.formula} is missing")
        if how == "reapplied":
            a, k = act.argument, act.kind
            return (f"reapplied:{a}",
                    f"{s} {is_} {t} with the {k} derivative taken at {k}({a}) in place of {a}: {k} is applied to "
                    f"{a}, which is already {k}'s output")
        if how == "added":
            return (f"added:{act.argument}",
                    f"{s} {is_} {t} divided by {act.formula}, plus {act.formula}: the {act.kind} derivative is added "
                    "where it must multiply")
        return (f"extra:{act.argument}",
                f"{s} {is_} {t} multiplied by {act.formula}: the {act.kind} derivative is applied once too often")
    if kind == "transposed":
        return "transposed", f"{s} {is_} {t} transposed"
    if kind == "zero-off-diagonal":
        return key, f"{s} {is_} zero off the diagonal, where {t} {'are' if w.plural else 'is'} not"
    if kind == "diagonal":
        if key == "right-diagonal-only":
            return key, f"{s} {is_} right on the diagonal and wrong off it"
        return key, f"{s} {is_} wrong only on the diagonal (right off it)"
    if kind == "factor":
        return f"factor:{key[1]:g}", f"{s} {is_} {fmt_number(key[1])} times {t}"
    if kind == "steps":
        text = {"right-last-only": "right only at the last time step and wrong at every earlier one",
                "wrong-first-only": "wrong only at the first time step, t = 0 (right at every later one)",
                "wrong-last-only": "wrong only at the last time step (right at every earlier one)",
                "right-first-only": "right only at the first time step, t = 0, and wrong at every later one"}[key]
        return key, f"{s} {is_} {text}"
    if kind == "shifted":
        if key == "late":
            return "shifted:late", (f"{s} at step t {is_} {t} at step t - 1 (for t >= 1): the time axis is "
                                    "shifted by one step")
        return "shifted:early", (f"{s} at step t {is_} {t} at step t + 1 (for t < T - 1): the time axis is "
                                 "shifted by one step")
    raise ValueError(kind)


def relations(q: Any, cases: list[Case], tol: Tolerance, truth_name: str,
              skip: frozenset[str] = frozenset()) -> list[Finding]:
    """What holds of the wrong parts on every case (all of them failing, with comparable answers).

    ``skip``: parts already explained (by a variant): only the parts sentence speaks of them.
    """
    if not cases:
        return []
    rtol = relation_tolerance(tol)
    names = list(part_arrays(cases[0].truth, q.parts))
    multi = not (len(names) == 1 and names[0] == "")
    wrong = [set(wrong_parts(c, q.parts, tol)) for c in cases]
    ever = [n for n in names if any(n in w for w in wrong)]
    out: list[Finding] = []
    if multi and ever and len(ever) < len(names):
        right = [n for n in names if n not in ever]
        w_, r_ = Words(q.function, tuple(ever), truth_name), Words(q.function, tuple(right), truth_name)
        out.append(Finding("only:" + ",".join(ever),
                           sentence(f"{join(ever)} {w_.is_} wrong; {join(right)} {r_.is_} right "
                                    f"({w_.where(len(cases), len(cases))})")))
    said: dict[tuple[str, str], list[Any]] = {}  # (kind, key) -> [kind, key, parts, cases where one is wrong]
    for name in ever:
        if name in skip:
            continue
        pcs = []
        for c, w in zip(cases, wrong):
            if name in w:
                e, g = part_arrays(c.truth, q.parts)[name], part_arrays(c.answer, q.parts)[name]
                pcs.append(PartCase(e, g, c.instance, q.signature, tuple(q.axes.get(name, ())), rtol))
        for kind, check in _part_relations():
            if check is None:
                check = (_activations if kind == "activation" else _reapplied)(declared_activations(q), name)
            key = _holds(check, pcs)
            if key is not None:  # parts with the same relation share one sentence
                entry = said.setdefault((kind, repr(key)), [kind, key, [], 0])
                entry[2].append(name)
                entry[3] = max(entry[3], len(pcs))
                break
    for kind, key, parts, n in said.values():
        w = words_for(q, parts, names, truth_name)
        rid, text = _say(kind, key, w)
        out.append(Finding(f"{rid}:{','.join(parts)}" if multi else rid,
                           sentence(f"{text} ({w.where(n, len(cases))})")))
    return out
