"""The message of a failed derivative or reference check: what the failures have in common, then the numbers.

:func:`failure_message` is the one call :func:`grader.grading.grade_question`
makes for it. From the failing instances the search kept, the instances the
derivative check judged (which passed, which failed) and the question's
public declaration, it says, before any number:

* which declared variant the answer equals (:mod:`grader.variants`);
* how the answer relates to the truth (:mod:`grader.relations`);
* whether the answer depends on its inputs at all;
* which sizes make it fail (:mod:`grader.conditions`), and, for a crash about
  shapes, the arguments' shapes in the contract's sizes;

then shows one failing instance, chosen so that expected and got visibly
differ, with the numbers. Everything here is derived from the forward pass
and the declaration, so a student's ``check`` says the same as grading; a
reference check that fails the same way as the derivative check says so in
a line instead of repeating the block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.conditions import condition, crash_note
from grader.credit import relative_error
from grader.diagnose import describe, same_values
from grader.oracles.compare import answer_problem, structure_problem
from grader.relations import (
    Case,
    Finding,
    close,
    part_arrays,
    relation_tolerance,
    relations,
    sentence,
    transposed_parts,
    words_for,
    wrong_parts,
)
from grader.strategies import Instance
from grader.variants import variant_findings

#: A relative error this large shows at a glance: the smallest instance is shown unless its error is smaller.
VISIBLE = 0.01
#: Instances up to this many times the smallest's number of entries count as small.
SMALL = 2


def _unique(instances: list[Instance]) -> list[Instance]:
    seen: set[int] = set()
    out = []
    for inst in instances:
        if id(inst) not in seen:
            seen.add(id(inst))
            out.append(inst)
    return out


def _size(inst: Instance) -> int:
    return sum(v for v in inst.sizes.values() if isinstance(v, int) and not isinstance(v, bool))


def _entries(inst: Instance) -> int:
    return sum(int(np.size(a)) for a in inst.args if isinstance(a, (np.ndarray, list)))


def _error(case: Case, parts: tuple[str, ...]) -> float:
    err = relative_error(case.truth, case.answer, parts)
    return float("inf") if err is None else err


def choose(smallest: Instance, cases: dict[int, Case], kept: list[Instance], parts: tuple[str, ...]) -> Instance:
    """The instance to show: the smallest, unless its error is too small to see and a small kept one's is larger."""
    if id(smallest) not in cases:
        return smallest
    best, best_error = smallest, _error(cases[id(smallest)], parts)
    if best_error >= VISIBLE:
        return smallest
    limit = SMALL * max(1, _entries(smallest))
    for inst in kept:
        if id(inst) in cases and _entries(inst) <= limit:
            error = _error(cases[id(inst)], parts)
            if error > best_error:
                best, best_error = inst, error
    return best


def _independent(q: Any, judged: list[tuple[Instance, Any, Any]], wrong: set[str], truth_name: str,
                 tol: Any) -> Finding | None:
    """Parts that are the same on every judged instance of the same shapes, where the truth is not."""
    if len(judged) < 2:
        return None
    groups: dict[tuple, list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]] = {}
    for _, e, g in judged:
        ga, ea = part_arrays(g, q.parts), part_arrays(e, q.parts)
        groups.setdefault(tuple((k, v.shape) for k, v in ga.items()), []).append((ea, ga))
    found = []
    for name in sorted(wrong):
        differs, same = False, True
        for members in groups.values():
            if len(members) < 2:
                continue
            e0, g0 = members[0][0][name], members[0][1][name]
            for ea, ga in members[1:]:
                if not np.array_equal(ga[name], g0):
                    same = False
                    break
                if not same_values(ea[name], e0, tol):
                    differs = True
            if not same:
                break
        if same and differs:
            found.append(name)
    if not found:
        return None
    multi = found != [""]
    w = words_for(q, found, list(part_arrays(judged[0][1], q.parts)), truth_name)
    does = "do" if w.plural else "does"
    return Finding("same-for-all-inputs" + (f":{','.join(found)}" if multi else ""), sentence(
        f"{w.subject} {does} not depend on the inputs: on instances of the same sizes {w.subject} {w.is_} "
        f"always the same, where {w.truth} {'differ' if w.plural else 'differs'}"))


def failure_message(question: Any, check: str, smallest: Instance, message: str, seen: list[Instance],
                    larger: Instance | None, memo: Any, solutions: Any, profile: Any,
                    explained: dict[str, tuple[list[Instance], tuple[str, ...]]], plain: str = "",
                    ) -> tuple[str, tuple[str, ...]]:
    """The message of a failed ``check`` ("derivative" or "reference") and the ids of what it says.

    Feedback only: should any of it fail, the message is ``plain`` (the instance and the judge's
    message), never an error of the grader's (which would leave the function not graded).
    """
    try:
        return _failure_message(question, check, smallest, message, seen, larger, memo, solutions, profile,
                                explained)
    except Exception:  # noqa: BLE001 - see above
        text = plain or (f"{question.function} fails on this instance (the smallest found):\n"
                         f"{describe(smallest, question.signature)}\n{message}")
        explained[check] = ([smallest], ())
        return text, ()


def _failure_message(question: Any, check: str, smallest: Instance, message: str, seen: list[Instance],
                     larger: Instance | None, memo: Any, solutions: Any, profile: Any,
                     explained: dict[str, tuple[list[Instance], tuple[str, ...]]],
                     ) -> tuple[str, tuple[str, ...]]:
    """:func:`failure_message`, without the fallback.

    ``smallest``, ``message``, ``seen``: the search's smallest failing instance, the judge's message
    there and the failing instances it kept; ``larger``: a larger failing instance to show as well
    (or None); ``memo``: the question's student outcomes and truths (:class:`grader.answers.Answers`);
    ``profile``: the derivative check's :class:`~grader.credit.ValueProfile` (which judged instances
    passed); ``explained``: what earlier checks of the function showed (filled in here).
    """
    q = question
    tol = q.tolerance
    if check == "derivative":
        def truth(inst: Instance) -> Any:
            return memo.truth(inst)

        def against(inst: Instance) -> str:
            return q.truth_name_for(inst)
    else:
        def truth(inst: Instance) -> Any:
            return memo.reference(solutions.reference, inst).value

        def against(inst: Instance) -> str:
            return "the reference solution"

    before = explained.get("derivative")
    if check == "reference" and before is not None and before[0] and smallest is before[0][0] and all(
            same_values(truth(inst), memo.truth(inst), tol) for inst in before[0]):
        where = "the same instance" if len(before[0]) == 1 else "the same instances"
        return (f"{q.function} fails the reference check on {where}, the same way: there the reference solution "
                f"agrees with {q.truth_name_for(smallest)} (see the derivative check).", before[1])

    kept = _unique([smallest, *seen])
    judged = list(getattr(profile, "verdicts", [])) if check == "derivative" else []
    failing = _unique(kept + [inst for inst, passed in judged if not passed])
    cases: dict[int, Case] = {}
    broken = []
    for inst in failing:
        out = memo.student(inst)
        value = truth(inst)
        if out.ok and structure_problem(value, out.value, q.parts) is None:
            cases[id(inst)] = Case(inst, value, out.value)
        else:
            broken.append(inst)

    findings: list[Finding] = []
    name = q.truth_name_for(smallest) if check == "derivative" else "the reference solution"
    if cases and not broken:
        listed = list(cases.values())
        try:
            found, done = variant_findings(q, listed, tol, name)
            related = relations(q, listed, tol, name, skip=done)
            # which parts are wrong, then what they equal, then how they relate to the truth
            findings += [f for f in related if f.id.startswith("only:")] + found
            findings += [f for f in related if not f.id.startswith("only:")]
            wrong = {n for c in listed for n in wrong_parts(c, q.parts, tol)}
            comparable = []
            for inst, _ in judged:
                out = memo.student(inst)
                value = truth(inst)
                if out.ok and structure_problem(value, out.value, q.parts) is None:
                    comparable.append((inst, value, out.value))
            if not any(f.id == "zero" or f.id.startswith("zero:") for f in findings):
                independent = _independent(q, comparable, wrong, name, tol)
                if independent is not None:
                    findings.append(independent)
        except (ValueError, TypeError, KeyError, IndexError, FloatingPointError):  # an odd answer: say less
            pass
    elif broken:  # answers of the wrong shapes: the transpose of the truth's (and where square, its values)?
        flipped: set[str] | None = None
        for inst in broken:
            out = memo.student(inst)
            these = set(transposed_parts(truth(inst), out.value, q.parts, tol)) if out.ok else set()
            flipped = these if flipped is None else flipped & these
        for c in cases.values():  # the same parts, square here: transposed in value, or right
            e, g, wrong = part_arrays(c.truth, q.parts), part_arrays(c.answer, q.parts), wrong_parts(c, q.parts, tol)
            flipped = {p for p in flipped or () if p not in wrong
                       or (e[p].ndim == 2 and close(g[p], e[p].T, relation_tolerance(tol)))}
        if flipped:
            parts = [n for n in part_arrays(truth(broken[0]), q.parts) if n in flipped]
            multi = parts != [""]
            w = words_for(q, parts, list(part_arrays(truth(broken[0]), q.parts)), name)
            n = len(broken) + len(cases)
            findings.append(Finding("transposed" + (f":{','.join(parts)}" if multi else ""), sentence(
                f"{w.subject} {w.is_} {w.truth} transposed ({w.where(n, n)})")))
    if check == "derivative" and judged:
        verdicts = [(inst.sizes, passed) for inst, passed in judged]
        listed_ids = {id(inst) for inst, _ in judged}
        verdicts += [(inst.sizes, False) for inst in kept if id(inst) not in listed_ids]
        when = condition(verdicts)
        if when is not None:
            findings.append(when)

    shown = choose(smallest, cases, kept, q.parts)
    out = memo.student(shown)
    if not out.ok:
        note = crash_note(shown, q.signature, f"{out.error}\n{out.traceback}", [inst for inst, _ in judged])
        if note is not None:
            findings.append(note)
    numbers = answer_problem(truth(shown), out, q.parts, q.axes, tol, against(shown)) or message
    which = "the smallest found" if shown is smallest else "a small one found"
    text = f"{q.function} fails on this instance ({which}):\n{describe(shown, q.signature)}\n"
    text += "".join(f"{f.sentence}\n" for f in findings)
    text += numbers
    shown_all = [smallest, shown]
    if larger is None and check == "derivative":  # a larger judged failure says where in time, in which rows
        want = _size(smallest) + 4
        larger = next((inst for inst, passed in judged if not passed and _size(inst) >= want
                       and id(inst) in cases), None)
    if larger is not None and larger is not shown:
        more = answer_problem(truth(larger), memo.student(larger), q.parts, q.axes, tol, against(larger))
        if more:
            sizes = ", ".join(f"{k} = {v}" for k, v in larger.sizes.items())
            text += f"\n\nOn a larger failing instance ({sizes}):\n{more}"
            shown_all.append(larger)
    ids = tuple(f.id for f in findings)
    explained[check] = (_unique(shown_all), ids)
    return text, ids
