"""Grade one submission: search for failing instances with Hypothesis, judge, diagnose, score.

Each graded function gets up to three checks, each its own Hypothesis search
(so each reports its own smallest failing instance):

``derivative`` (half the function's points)
    the answer equals the derivative of the forward pass (no solution needed);
``reference`` (a quarter)
    the answer equals the instructor's reference solution (grading only);
``contract`` (a quarter)
    the general rules: new float64 arrays of the right shape, arguments left
    alone, finite, the same twice, batch rows independent.

plus any behaviour the question declares (trask's network must learn to add),
with its own points. Searches are derandomized and use no example database,
so a submission gets the same score on every run and machine.

A search that finds nothing draws the same instances for every submission, so
each check first judges that list (:func:`passing_draws`, remembered by
:mod:`grader.drawn`) and searches, and shrinks, only from a failure on it. The
student's calls on the list are sent ahead to the worker in one go, and are
memoized by their arguments, so checks on the same instances do not call the
student twice for them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader import drawn, stand_ins
from grader.credit import ValueProfile, numerical_mistake, relative_error
from grader.diagnose import Mistake, describe, match
from grader.explain import failure_message
from grader.oracles.compare import answer_problem, structure_problem
from grader.oracles.properties import contract_problem, further_calls
from grader.oracles.reference import Solutions
from grader.questions import Assignment, Question
from grader.strategies import Instance
from grader.target import Outcome, Target

SHARE = {"derivative": 0.5, "reference": 0.25, "contract": 0.25}
KEEP_FAILURES = 6  # failing instances kept per check for the diagnosis (the smallest is always kept)
#: Calls allowed once a failure is found. Hypothesis' shrinker would otherwise make
#: thousands; the sizes shrink first, so a few hundred calls reach a small instance.
#: A count, not a time, so that the result is the same on every machine.
SHRINK_CALLS = 60


class _Failed(Exception):
    """An instance failed: Hypothesis shrinks it."""


class _Stop(BaseException):
    """The worker cannot go on (hung or crashed): stop searching at once, no shrinking."""


class InternalError(BaseException):
    """The grader's own handling of a call failed: the function is not graded (and never scored as wrong)."""


@dataclass
class CheckResult:
    """One graded check of one function: a test in the results."""

    function: str
    check: str
    max_score: float
    passed: bool
    message: str = ""
    instance: Instance | None = None  # the smallest failing instance
    misconception: Mistake | None = None
    expected: Any = None  # the true answer on the smallest failing instance (for plots)
    got: Any = None  # the student's answer there
    #: what the message says of the failure beyond a catalogued mistake (ids of grader.explain's findings:
    #: "variant:goodfellow-h0-ignored", "negated", "when:H == 1", ...)
    findings: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return self.max_score if self.passed else 0.0

    @property
    def name(self) -> str:
        return f"{self.function}: {self.check}"


@dataclass
class Grade:
    """Everything the grader found about one submission."""

    submission: str
    assignment: str
    checks: list[CheckResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # could not read, cells that failed, ...
    output: str = ""
    seconds: float = 0.0
    sandbox: str = ""  # the mode student code ran in: "bwrap", "none", or "" (in this process: check)
    #: failures that are the grader's own, not the student's: the submission must be graded again
    internal_errors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.checks)

    def by_function(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for c in self.checks:
            out[c.function] = out.get(c.function, 0.0) + c.score
        return out


def _args_key(args: list[Any], kwargs: dict[str, Any]) -> bytes:
    """A content hash of a call's arguments (types, shapes and bytes)."""
    h = hashlib.blake2b(digest_size=16)

    def feed(v: Any) -> None:
        if isinstance(v, np.ndarray):
            h.update(f"a{v.dtype.str}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, (list, tuple)):
            h.update(b"[" if isinstance(v, list) else b"(")
            for x in v:
                feed(x)
            h.update(b"]")
        elif isinstance(v, dict):
            h.update(b"{")
            for k in sorted(v, key=str):
                h.update(repr(k).encode())
                feed(v[k])
            h.update(b"}")
        else:
            h.update(repr((type(v).__name__, v)).encode())

    feed(list(args))
    feed(kwargs)
    return h.digest()


def _key(instance: Instance) -> bytes:
    if instance.memo_key is None:
        instance.memo_key = _args_key(list(instance.args), instance.kwargs)
    return instance.memo_key


class _Memo:
    """The student's outcomes (called one by one, or sent ahead), truths and reference answers of one
    question, by instance."""

    def __init__(self, question: Question, target: Target) -> None:
        self.q, self.target = question, target
        self.calls: dict[bytes, Outcome] = {}
        self.truths: dict[bytes, Any] = {}
        self.refs: dict[bytes, Outcome] = {}
        self.pending: dict[bytes, tuple[Any, int, int]] = {}  # calls sent ahead: (CallsAhead, first, count)
        self.extra: dict[tuple[bytes, bytes], list[tuple[Any, int, int]]] = {}  # further calls sent ahead, used once

    def student(self, inst: Instance) -> Outcome:
        k = _key(inst)
        if k not in self.calls:
            ahead = self.pending.pop(k, None)
            out = self._collect(*ahead) if ahead else None
            self.calls[k] = out if out is not None else self.q.invoke(self.target, list(inst.args), inst.kwargs)
        if self.calls[k].internal:
            raise InternalError(self.calls[k].error)
        return self.calls[k]

    def prefetch(self, instances: list[Instance]) -> None:
        """Send the student's calls on ``instances`` ahead (:meth:`WorkerTarget.send_ahead`).

        The same calls in the same order as judging the list one by one makes; the worker runs the
        next ones while this side judges.
        """
        todo = list({_key(i): i for i in instances if _key(i) not in self.calls}.values())
        self.pending.update(zip(map(_key, todo), self._send_ahead([(list(i.args), i.kwargs) for i in todo])))

    def again(self, inst: Instance, args: list[Any]) -> Outcome:
        """A further call on ``args`` for the contract check of ``inst`` (a repeat, or some batch rows)."""
        queue = self.extra.get((_key(inst), _args_key(args, inst.kwargs))) if self.extra else None
        out = self._collect(*queue.pop(0)) if queue else None
        out = out if out is not None else self.q.invoke(self.target, args, inst.kwargs, further=True)
        if out.internal:
            raise InternalError(out.error)
        return out

    def prefetch_again(self, instances: list[Instance], calls: Callable[[Instance], list[list[Any]]]) -> None:
        """Send the contract check's further calls (``calls(inst)``) on ``instances`` ahead."""
        todo = [(inst, args) for inst in instances for args in calls(inst)]
        for (inst, args), ahead in zip(todo, self._send_ahead([(args, inst.kwargs) for inst, args in todo],
                                                              further=True)):
            self.extra.setdefault((_key(inst), _args_key(args, inst.kwargs)), []).append(ahead)

    def _send_ahead(self, invocations: list[tuple[list[Any], dict[str, Any]]], further: bool = False,
                    ) -> list[tuple[Any, int, int]]:
        """Send the calls of ``invocations`` ahead in one go; for each, where its calls are: (batch, first, count)."""
        start = getattr(self.target, "send_ahead", None)
        if start is None or not invocations:
            return []
        flat: list[Any] = []
        spans = []
        for args, kwargs in invocations:
            calls = self.q.calls(args, kwargs, further)
            spans.append((len(flat), len(calls)))
            flat += calls
        batch = start(flat)
        return [(batch, first, count) for first, count in spans]

    def _collect(self, batch: Any, first: int, count: int) -> Outcome | None:
        """The outcome of one invocation sent ahead; ``None`` if its calls were not made (an earlier fatal one)."""
        outs = []
        for j in range(first, first + count):
            out = batch.get(j)
            if out is None:
                break
            outs.append(out)
            if out.fatal:
                break
        if len(outs) == count or (outs and outs[-1].fatal):
            return self.q.combine(outs)
        return None

    def truth(self, inst: Instance) -> Any:
        k = _key(inst)
        if k not in self.truths:
            self.truths[k] = self.q.truth(inst)
        return self.truths[k]

    def reference(self, ref: Target, inst: Instance) -> Outcome:
        k = _key(inst)
        if k not in self.refs:
            self.refs[k] = self.q.invoke(ref, list(inst.args), inst.kwargs)
        return self.refs[k]


def search(strategy: Any, judge: Callable[[Instance], str | None], examples: int,
           generated: list[Instance] | None = None) -> tuple[Instance, str, list[Instance]] | None:
    """Look for an instance ``judge`` rejects; return the smallest found, its message, and a few others.

    Every instance tried before the first failure is appended to ``generated``
    (when given), so that other checks can be judged on the same instances
    without drawing them again.
    """
    # Imported here: a submission judged on remembered instances needs no Hypothesis (0.2 s to import).
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings

    found: list[tuple[Instance, str]] = []
    calls_after_failure = [0]

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
              verbosity=Verbosity.quiet, phases=(Phase.explicit, Phase.generate, Phase.shrink))
    @given(strategy)
    def probe(instance: Instance) -> None:
        if found:
            calls_after_failure[0] += 1
            if calls_after_failure[0] > SHRINK_CALLS:
                raise _Stop
        elif generated is not None:
            generated.append(instance)
        message = judge(instance)
        if message is not None:
            if len(found) >= KEEP_FAILURES:
                found.pop()  # keep the first few (varied) and the latest (the smallest so far)
            found.append((instance, message))
            raise _Failed

    try:
        probe()
    except (_Failed, _Stop):
        smallest, message = found[-1]
        return smallest, message, [i for i, _ in found]
    return None


def _size(instance: Instance) -> int:
    return sum(v for v in instance.sizes.values() if isinstance(v, int))


def larger_failure(smallest: Instance, candidates: list[Instance], judge: Callable[[Instance], str | None],
                   ) -> Instance | None:
    """The first of ``candidates`` (instances already drawn) at least 4 sizes larger than ``smallest`` that fails.

    No new search: a fresh Hypothesis run that rejects small draws spent seconds
    when no instance that large exists (an H = 4 failure can have no H = 8 one).
    """
    want = _size(smallest) + 4
    for inst in candidates:
        if _size(inst) >= want and judge(inst) is not None:
            return inst
    return None


def search_again(instances: Callable[[], Any], judge: Callable[[Instance], str | None], examples: int,
                 generated: list[Instance], complete: bool) -> tuple[Instance, str, list[Instance]] | None:
    """Judge already generated instances first; search (and shrink) only when one of them fails.

    ``instances`` makes the strategy (only when a search is needed: it imports Hypothesis);
    ``complete``: ``generated`` is all a passing search drew. Otherwise (the first search
    stopped at a failure) there are too few of them: search afresh.
    """
    if not complete:
        return search(instances(), judge, examples)
    for inst in generated:
        message = judge(inst)
        if message is not None:
            return search(instances(), judge, examples) or (inst, message, [inst])
    return None


def draw_passing(question: Question, examples: int) -> list[Instance]:
    """Draw the instances a search of ``question`` that finds no failure draws (with a judge that passes all)."""
    drawn_now: list[Instance] = []
    search(question.instances(), lambda inst: None, examples, drawn_now)
    return drawn_now


def passing_draws(question: Question, examples: int | None = None) -> list[Instance]:
    """The instances a search of ``question`` that finds no failure draws: remembered, or drawn now (and kept)."""
    examples = examples or question.examples
    known = drawn.remembered(question, examples)
    if known is None:
        known = draw_passing(question, examples)
        drawn.remember(question, examples, known)
    return known


def _search_derivative(question: Question, judge: Callable[[Instance], str | None], examples: int,
                       generated: list[Instance], memo: _Memo, profile: ValueProfile,
                       ) -> tuple[Instance, str, list[Instance]] | None:
    """Judge the list of instances a passing search draws; search (and shrink) only at a failure on it.

    The list is the same for every submission (:mod:`grader.drawn`): recalled, or drawn once with a
    judge that passes everything. Every submission takes this one path, so its calls come in the same
    order on the first grading and on every later one (a function that keeps state between calls
    gets the same grade either way), and they can be made all at once (:meth:`_Memo.prefetch`).
    Every instance of the list is judged, failing or not, and ``profile`` records how many the
    answers get right and with what error (:mod:`grader.credit`).
    """
    known = passing_draws(question, examples)
    memo.prefetch(known)
    first: tuple[Instance, str] | None = None
    for position, inst in enumerate(known):
        out = memo.student(inst)
        message = judge(inst)
        profile.judged += 1
        profile.verdicts.append((inst, message is None))
        if message is None:
            profile.right += 1
            error = relative_error(memo.truth(inst), out.value, question.parts)
            if error is not None:
                profile.errors.append(error)
        elif first is None:
            first = inst, message
        if out.fatal:  # a hang or a crash: no more calls are made, and the search would stop at it too
            profile.judged += len(known) - position - 1
            return first[0], first[1], [first[0]]
    if first is not None:
        # The search finds this failure or an earlier one (it draws the same instances).
        return search(question.instances(), judge, examples, generated) or (first[0], first[1], [first[0]])
    generated.extend(known)
    return None


def _judged(memo: _Memo, judge: Callable[[Instance, Outcome], str | None]) -> Callable[[Instance], str | None]:
    """Wrap a judge so that after a hung or crashed call the search stops (no shrinking through hangs)."""
    stopped: list[bool] = []

    def run(inst: Instance) -> str | None:
        if stopped:
            raise _Stop
        out = memo.student(inst)
        if out.fatal:
            stopped.append(True)
        return judge(inst, out)

    return run


def grade_question(question: Question, target: Target | None, solutions: Solutions | None,
                   status: str, examples: int | None = None,
                   early: dict[tuple[str, str], Future] | None = None,
                   allow_numerical: bool = False) -> list[CheckResult]:
    """All checks of one function; ``early``: behaviours already started (see :func:`_start_parallel`).

    ``allow_numerical``: answers with the error signature of a numerical approximation keep their
    derivative and reference credit (they are flagged all the same; see :mod:`grader.credit`).
    """
    checks = ["derivative"] + (["reference"] if solutions else []) + ["contract"]
    share = SHARE if solutions else {"derivative": 0.5, "contract": 0.5}
    results = [CheckResult(question.function, c, question.points * share[c], False) for c in checks]
    behaviours = [CheckResult(question.function, b.name, b.points, False) for b in question.behaviours]
    if status != "function":
        if status.startswith("missing"):  # "missing (did you mean ...?)"
            message = f"no function named {question.function} was found in the submission{status[7:]}"
        elif status.startswith("not graded"):
            message = status
        else:
            message = f"{question.function} is {status}"
        for r in results + behaviours:
            r.message = message
        return results + behaviours

    memo = _Memo(question, target)
    n = examples or question.examples
    tol = question.tolerance
    judges: dict[str, Callable[[Instance, Outcome], str | None]] = {
        "derivative": lambda i, o: answer_problem(memo.truth(i), o, question.parts, question.axes, tol,
                                                  question.truth_name),
        "contract": lambda i, o: contract_problem(memo.truth(i), o, question, i, lambda args: memo.again(i, args)),
    }
    if solutions:
        judges["reference"] = lambda i, o: _against_reference(memo, solutions, question, i, o)

    failing: list[Instance] = []
    explained: dict[str, Any] = {}  # what each failed check showed (grader.explain)
    generated: list[Instance] = []
    profile = ValueProfile()
    complete = False  # generated holds all that a passing search drew
    shown_before: list[Instance] = []  # the smallest and the larger instance an earlier check failed on
    for r in results:
        judge = _judged(memo, judges[r.check])
        if r.check == "derivative":
            found = _search_derivative(question, judge, n, generated, memo, profile)
            complete = found is None
        elif shown_before and (message := judge(shown_before[0])) is not None:
            # A function that is wrong against the derivative is wrong against the reference on the
            # same smallest instance, as a rule: shrinking again would find it again, at a cost of
            # seconds (most of a buggy submission's grading time).
            found = shown_before[0], message, [shown_before[0]]
        else:  # the same derandomized draws: reuse them while they pass
            if r.check == "contract" and complete:
                memo.prefetch_again(generated, lambda i: further_calls(question, i, memo.student(i)))
            found = search_again(question.instances, judge, n, generated, complete)
        if found is None:
            r.passed = True
            continue
        smallest, message, seen = found
        r.instance = smallest
        r.message = (f"{question.function} fails on this instance (the smallest found):\n"
                     f"{describe(smallest, question.signature)}\n{message}")
        # The smallest instance says *what* is wrong; the first failure found, usually larger,
        # says *where* (in time, in which rows): shrinking to T = 1 hides "only t = 0 is wrong".
        shown = smallest
        wrong_values = memo.student(smallest).ok and r.check != "contract"  # not an exception or a hang
        # the first failures found (before shrinking) are the natural larger instances
        larger = larger_failure(smallest, shown_before[1:] + seen + generated, judge) if wrong_values else None
        if larger is not None:
            more = judges[r.check](larger, memo.student(larger))
            if more:
                sizes = ", ".join(f"{k} = {v}" for k, v in larger.sizes.items())
                r.message += f"\n\nOn a larger failing instance ({sizes}):\n{more}"
                shown = larger
        if r.check != "contract":  # what the failures have in common, then the numbers (grader.explain)
            r.message, r.findings = failure_message(question, r.check, smallest, message, seen,
                                                    larger if shown is larger else None, memo, solutions,
                                                    profile, explained, plain=r.message)
        if not shown_before:
            shown_before = [smallest] + ([larger] if larger is not None else [])
        out = memo.student(shown)
        if out.ok and r.check in ("derivative", "reference"):
            expected = (memo.truth(shown) if r.check == "derivative"
                        else memo.reference(solutions.reference, shown).value)
            if structure_problem(expected, out.value, question.parts) is None:  # comparable: worth a plot
                r.expected, r.got = expected, out.value
        failing.extend(seen)
        if memo.student(smallest).fatal:  # nothing more can be learnt from a function that hangs
            for other in results:
                if other is not r and not other.passed and not other.message:
                    other.message = r.message
            break

    if solutions and failing:
        student_outcome = memo.student
        m = match(solutions.mistakes, question, failing[:KEEP_FAILURES * 2], student_outcome,
                  solutions.reference.functions, memo.truth)
        for r in results:
            if not r.passed:
                r.misconception = m

    hung = next((r for r in results if r.instance is not None and memo.student(r.instance).fatal), None)
    for r, b in zip(behaviours, question.behaviours):
        if hung is not None:  # each call would hang again: not worth minutes of deadlines
            r.message = hung.message
        elif early and (question.function, b.name) in early:
            r.passed, r.message = early[(question.function, b.name)].result()
        else:
            r.passed, r.message = b.run(target)
    diagnosis = next((r.misconception for r in results if r.misconception), None)
    for r in behaviours:
        if not r.passed:
            r.misconception = diagnosis
    _apply_credit_rules(question, results, behaviours, profile, allow_numerical)
    return results + behaviours


def _apply_credit_rules(question: Question, checks: list[CheckResult], behaviours: list[CheckResult],
                        profile: ValueProfile, allow_numerical: bool) -> None:
    """Credit follows correctness (:mod:`grader.credit`): no points for form without values, none for numbers."""
    by_check = {r.check: r for r in checks}
    if profile.numerical:
        flagged = [by_check[c] for c in ("derivative", "reference") if c in by_check]
        for r in flagged:
            r.misconception = numerical_mistake(question.function)
            if not allow_numerical and r.passed:
                r.passed, r.message = False, profile.numerical_message(question.function)
    if profile.judged and not profile.mostly_right:
        form = [by_check["contract"]] + [r for r, b in zip(behaviours, question.behaviours) if b.needs_right_values]
        diagnosis = next((r.misconception for r in checks if r.misconception), None)
        for r in form:
            if r.passed:
                r.passed, r.message = False, profile.form_message(question.function)
                r.misconception = diagnosis


def _against_reference(memo: _Memo, solutions: Solutions, question: Question, inst: Instance,
                       out: Outcome) -> str | None:
    ref = memo.reference(solutions.reference, inst)
    if not ref.ok:
        raise RuntimeError(f"the reference solution's {question.function} raised {ref.error}")
    return answer_problem(ref.value, out, question.parts, question.axes, question.tolerance,
                          "the reference solution")


def _grade_or_report(result: Grade, question: Question, target: Target, solutions: Solutions | None, status: str,
                     examples: int | None, early: dict[tuple[str, str], Future], allow_numerical: bool,
                     ) -> list[CheckResult]:
    """:func:`grade_question`; a failure of the grader's own leaves the function not graded, never wrong."""
    try:
        return grade_question(question, target, solutions, status, examples, early, allow_numerical)
    except (InternalError, Exception) as exc:  # noqa: BLE001 - ours, reported for regrading
        what = f"{type(exc).__name__}: {exc}" if not isinstance(exc, InternalError) else str(exc)
        message = f"not graded: internal error in the grader while grading {question.function} ({what[:500]})"
        result.internal_errors.append(message)
        return grade_question(question, None, solutions, message)


def grade(assignment: Assignment, target: Target, solutions: Solutions | None = None, name: str = "",
          examples: int | None = None, only: list[str] | None = None, allow_numerical: bool = False) -> Grade:
    """Grade every function of ``assignment`` that ``target`` has (or the ones in ``only``).

    ``allow_numerical``: see :func:`grade_question`.
    """
    start = time.perf_counter()
    result = Grade(submission=name, assignment=assignment.name)
    questions = [q for q in assignment.questions if only is None or q.function in only]
    early = _start_parallel(questions, target)  # first: its worker boots while this one runs the cells
    status = target.available([q.function for q in questions])
    try:
        for q in questions:
            result.checks.extend(_grade_or_report(result, q, target, solutions, status[q.function], examples, early,
                                                  allow_numerical))
    finally:
        for future in early.values():  # no behaviour outlives its grading (one a hang skipped included)
            future.exception()
    loaded = [q for q in questions if status[q.function] == "function"]
    _mend_callers(result, loaded, target, solutions, examples, allow_numerical)
    result.seconds = time.perf_counter() - start
    return result


def _mend_callers(result: Grade, questions: list[Question], target: Target,
                  solutions: Solutions | None, examples: int | None, allow_numerical: bool) -> None:
    """One mistake costs once: a wrong helper's caller is graded again with the true helper (grader.stand_ins)."""
    for caller in questions:
        if not stand_ins.wrong_values(result.checks, caller.function):
            continue
        helpers = stand_ins.helpers_of(questions, caller, target, result.checks)  # with their partners
        wrong = [q for q in helpers if stand_ins.wrong_values(result.checks, q.function)]
        replaceable = {q.function: f for q in helpers if (f := stand_ins.stand_in(q)) is not None}
        own = [c for c in result.checks if c.function == caller.function]
        make = getattr(target, "with_stand_ins", None)
        if helpers and len(replaceable) == len(helpers) and make is not None:
            again_target = make(replaceable)
            try:
                again = _grade_or_report(Grade(result.submission, result.assignment), caller, again_target, solutions,
                                         "function", examples, _kept_behaviours(caller, own), allow_numerical)
            finally:
                getattr(again_target, "close", lambda: None)()
            if sum(c.score for c in again) > sum(c.score for c in own):
                note = stand_ins.mended_note(caller.function, wrong)
                again[0].message = note if again[0].passed else f"{note}\n\n{again[0].message}"
                at = result.checks.index(own[0])
                result.checks[at:at + len(own)] = again
                continue
        if wrong:
            note = stand_ins.blame_note(caller.function, wrong)
            for c in own:
                if not c.passed:
                    c.message = f"{c.message}\n\n{note}"


def _kept_behaviours(question: Question, checks: list[CheckResult]) -> dict[tuple[str, str], Future]:
    """The long behaviours' first results, for a regrade not to run them again (trask's 600 training steps
    would each ask the grader for its stand-in's answers: a minute, not a second)."""
    kept: dict[tuple[str, str], Future] = {}
    for b in question.behaviours:
        first = next((c for c in checks if c.check == b.name), None)
        if b.parallel and first is not None:
            kept[(question.function, b.name)] = Future()
            kept[(question.function, b.name)].set_result((first.passed, first.message))
    return kept


def workers(assignment: Assignment) -> int:
    """How many workers grading a submission of ``assignment`` uses: one, and one for its parallel behaviours."""
    return 1 + any(b.parallel for q in assignment.questions for b in q.behaviours)


def _start_parallel(questions: list[Question], target: Target) -> dict[tuple[str, str], Future]:
    """Start the ``parallel`` behaviours, one after the other in a second worker (where the target can make one).

    Trask's network trains for 600 sequential calls (inside that worker, :func:`grader.target.run_near`);
    it runs on the second core while the other checks run on the first. A behaviour whose
    function the submission lacks is not run (:func:`grade_question` reports the missing function).
    """
    spawn = getattr(target, "spawn", None)
    jobs = [(q, b) for q in questions for b in q.behaviours if b.parallel]
    if spawn is None or not jobs:
        return {}
    futures: dict[tuple[str, str], Future] = {(q.function, b.name): Future() for q, b in jobs}

    def run() -> None:
        try:
            own = spawn()
        except Exception as e:  # noqa: BLE001 - reported as the behaviours' failure, like any other
            for f in futures.values():
                f.set_result((False, f"could not start a worker for it: {e}"))
            return
        try:
            status = own.available(sorted({q.function for q, _ in jobs}))
            for q, b in jobs:
                future = futures[(q.function, b.name)]
                if status.get(q.function) != "function":
                    future.set_result((False, f"{q.function} is {status.get(q.function)}"))
                    continue
                try:
                    future.set_result(b.run(own))
                except BaseException as e:  # noqa: BLE001 - handed to grade(), which raises it there
                    future.set_exception(e)
        finally:
            own.close()

    threading.Thread(target=run, name="bptt-behaviours", daemon=True).start()
    return futures
