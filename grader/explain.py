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

    ``smallest``, ``message``, ``seen``: the search's smallest failing instance, the judge's message
    there and the failing instances it kept; ``larger``: a larger failing instance to show as well
    (or None); ``memo``: the question's student outcomes and truths (``student(inst)``,
    ``truth(inst)``, ``reference(target, inst)``); ``profile``: the derivative check's
    :class:`~grader.credit.ValueProfile` (which judged instances passed); ``explained``: what earlier
    checks of the function showed (filled in here).

    Feedback only: should any of it fail, the message is ``plain`` (the instance and the judge's
    message), never an error of the grader's (which would leave the function not graded).
    """
    try:
        f = _Failure(question, check, smallest, message, seen, memo, solutions, profile)
        same = _same_as_derivative(f, explained)
        if same is not None:
            return same
        findings = _findings(f)
        shown = choose(smallest, f.cases, f.kept, question.parts)
        findings += _crash(f, shown)
        text, shown_all = _numbers(f, shown, findings, larger)
        ids = tuple(x.id for x in findings)
        explained[check] = (_unique(shown_all), ids)
        return text, ids
    except Exception:  # noqa: BLE001 - see above
        text = plain or (f"{question.function} fails on this instance (the smallest found):\n"
                         f"{describe(smallest, question.signature)}\n{message}")
        explained[check] = ([smallest], ())
        return text, ()


class _Failure:
    """One failed check: the question, its truth (the forward pass's, or the reference's), and the failing
    instances, split into those whose answers compare with the truth (``cases``) and the others (``broken``)."""

    def __init__(self, q: Any, check: str, smallest: Instance, message: str, seen: list[Instance], memo: Any,
                 solutions: Any, profile: Any) -> None:
        self.q, self.check, self.smallest, self.message, self.memo = q, check, smallest, message, memo
        self.solutions, self.tol = solutions, q.tolerance
        self.name = q.truth_name_for(smallest) if check == "derivative" else "the reference solution"
        self.kept = _unique([smallest, *seen])
        self.judged = list(getattr(profile, "verdicts", [])) if check == "derivative" else []
        self.cases: dict[int, Case] = {}
        self.broken: list[Instance] = []
        for inst in _unique(self.kept + [i for i, passed in self.judged if not passed]):
            out, value = memo.student(inst), self.truth(inst)
            if out.ok and structure_problem(value, out.value, q.parts) is None:
                self.cases[id(inst)] = Case(inst, value, out.value)
            else:
                self.broken.append(inst)

    def truth(self, inst: Instance) -> Any:
        if self.check == "derivative":
            return self.memo.truth(inst)
        return self.memo.reference(self.solutions.reference, inst).value

    def against(self, inst: Instance) -> str:
        return self.q.truth_name_for(inst) if self.check == "derivative" else "the reference solution"

    def comparable_judged(self) -> list[tuple[Instance, Any, Any]]:
        """The judged instances (passing or not) whose answers compare with the truth: (instance, truth, answer)."""
        out = []
        for inst, _ in self.judged:
            answer, value = self.memo.student(inst), self.truth(inst)
            if answer.ok and structure_problem(value, answer.value, self.q.parts) is None:
                out.append((inst, value, answer.value))
        return out


def _same_as_derivative(f: _Failure, explained: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """A reference check failing on the derivative check's instances, where the two truths agree: one line."""
    before = explained.get("derivative")
    if f.check != "reference" or before is None or not before[0] or f.smallest is not before[0][0]:
        return None
    if not all(same_values(f.truth(inst), f.memo.truth(inst), f.tol) for inst in before[0]):
        return None
    where = "the same instance" if len(before[0]) == 1 else "the same instances"
    return (f"{f.q.function} fails the reference check on {where}, the same way: there the reference solution "
            f"agrees with {f.q.truth_name_for(f.smallest)} (see the derivative check).", before[1])


def _findings(f: _Failure) -> list[Finding]:
    """What the failures have in common: which parts, what they equal, how they relate to the truth, when."""
    findings: list[Finding] = []
    if f.cases and not f.broken:
        findings += _comparable(f)
    elif f.broken:
        findings += _broken(f)
    if f.check == "derivative" and f.judged:
        verdicts = [(inst.sizes, passed) for inst, passed in f.judged]
        listed = {id(inst) for inst, _ in f.judged}
        verdicts += [(inst.sizes, False) for inst in f.kept if id(inst) not in listed]
        when = condition(verdicts)
        if when is not None:
            findings.append(when)
    return findings


def _comparable(f: _Failure) -> list[Finding]:
    """Of answers that compare with the truth: the parts that are wrong, the variant they equal, their relation
    to the truth, and whether they depend on the inputs at all."""
    q, listed = f.q, list(f.cases.values())
    try:
        found, done = variant_findings(q, listed, f.tol, f.name)
        related = relations(q, listed, f.tol, f.name, skip=done)
        # which parts are wrong, then what they equal, then how they relate to the truth
        findings = [x for x in related if x.id.startswith("only:")] + found
        findings += [x for x in related if not x.id.startswith("only:")]
        if not any(x.id == "zero" or x.id.startswith("zero:") for x in findings):
            wrong = {n for c in listed for n in wrong_parts(c, q.parts, f.tol)}
            independent = _independent(q, f.comparable_judged(), wrong, f.name, f.tol)
            if independent is not None:
                findings.append(independent)
        return findings
    except (ValueError, TypeError, KeyError, IndexError, FloatingPointError):  # an odd answer: say less
        return []


def _broken(f: _Failure) -> list[Finding]:
    """Of answers of the wrong shapes: the parts that are the truth's transpose (and where square, its values);
    or one answer whatever the inputs."""
    q, flipped = f.q, None
    for inst in f.broken:
        out = f.memo.student(inst)
        these = set(transposed_parts(f.truth(inst), out.value, q.parts, f.tol)) if out.ok else set()
        flipped = these if flipped is None else flipped & these
    for c in f.cases.values():  # the same parts, square here: transposed in value, or right
        e, g, wrong = part_arrays(c.truth, q.parts), part_arrays(c.answer, q.parts), wrong_parts(c, q.parts, f.tol)
        flipped = {p for p in flipped or () if p not in wrong
                   or (e[p].ndim == 2 and close(g[p], e[p].T, relation_tolerance(f.tol)))}
    if not flipped:
        fixed = _fixed_answer(f)
        return [fixed] if fixed is not None else []
    first = part_arrays(f.truth(f.broken[0]), q.parts)
    parts = [n for n in first if n in flipped]
    w = words_for(q, parts, list(first), f.name)
    n = len(f.broken) + len(f.cases)
    return [Finding("transposed" + (f":{','.join(parts)}" if parts != [""] else ""), sentence(
        f"{w.subject} {w.is_} {w.truth} transposed ({w.where(n, n)})"))]


def _fixed_answer(f: _Failure) -> Finding | None:
    """One and the same answer on every instance judged, of every size, where the truths differ: hard-coded."""
    answers, truths = [], []
    for inst in _unique(f.kept + [i for i, _ in f.judged]):
        out = f.memo.student(inst)
        if not out.ok:
            return None
        answers.append(out.value)
        truths.append(f.truth(inst))
    if len(answers) < MIN_FIXED or not _numeric(answers[0]) or not all(_identical(a, answers[0]) for a in answers[1:]):
        return None
    if all(_identical(t, truths[0]) for t in truths[1:]):
        return None
    return Finding("same-answer-always", sentence(
        f"your {f.q.function} gives the same answer on all {len(answers)} instances tried, whatever their sizes and "
        "values: an answer worked out once (on one example) and written into the function is right only there; "
        "compute it from the arguments"))


#: Answers compared before an answer is said to be always the same.
MIN_FIXED = 3


def _numeric(a: Any) -> bool:
    """Whether an answer holds numbers (an array, or arrays in a tuple, list or dict), not None or text."""
    if isinstance(a, dict):
        return bool(a) and all(_numeric(v) for v in a.values())
    if isinstance(a, (tuple, list)) and a and not all(isinstance(x, (int, float)) for x in a):
        return all(_numeric(x) for x in a)
    try:
        x = np.asarray(a)
    except (TypeError, ValueError):
        return False
    return x.size > 0 and x.dtype.kind in "fiub"


def _identical(a: Any, b: Any) -> bool:
    """Whether two answers are the same (arrays, or tuples/lists/dicts of them), shape and values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_identical(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b))
    try:
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and bool(np.array_equal(x, y))
    except (TypeError, ValueError):
        return False


def _crash(f: _Failure, shown: Instance) -> list[Finding]:
    """For an error about shapes on the instance shown: the arguments' shapes, in the contract's sizes."""
    out = f.memo.student(shown)
    if out.ok:
        return []
    note = crash_note(shown, f.q.signature, f"{out.error}\n{out.traceback}", [inst for inst, _ in f.judged])
    return [note] if note is not None else []


def _numbers(f: _Failure, shown: Instance, findings: list[Finding], larger: Instance | None,
             ) -> tuple[str, list[Instance]]:
    """The message: the instance, the findings, the numbers there, and on a larger failing instance."""
    q, memo = f.q, f.memo
    numbers = answer_problem(f.truth(shown), memo.student(shown), q.parts, q.axes, f.tol, f.against(shown))
    which = "the smallest found" if shown is f.smallest else "a small one found"
    text = f"{q.function} fails on this instance ({which}):\n{describe(shown, q.signature)}\n"
    text += "".join(f"{x.sentence}\n" for x in findings)
    text += numbers or f.message
    shown_all = [f.smallest, shown]
    if larger is None and f.check == "derivative":  # a larger judged failure says where in time, in which rows
        want = _size(f.smallest) + 4
        larger = next((inst for inst, passed in f.judged if not passed and _size(inst) >= want
                       and id(inst) in f.cases), None)
    if larger is not None and larger is not shown:
        more = answer_problem(f.truth(larger), memo.student(larger), q.parts, q.axes, f.tol, f.against(larger))
        if more:
            sizes = ", ".join(f"{k} = {v}" for k, v in larger.sizes.items())
            text += f"\n\nOn a larger failing instance ({sizes}):\n{more}"
            shown_all.append(larger)
    return text, shown_all
