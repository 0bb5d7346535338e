"""Grade one submission: search for failing instances with Hypothesis, judge, diagnose, score.

Each graded function gets up to three checks, each its own Hypothesis search
(so each reports its own smallest failing instance), with the shares of its
points that :func:`grader.results.shares` gives:

``derivative``
    the answer equals the derivative of the forward pass (no solution needed);
``reference``
    the answer equals the instructor's reference solution (grading only);
``contract``
    the general rules: new float64 arrays of the right shape, arguments left
    alone, finite, the same twice, batch rows independent.

plus any behaviour the question declares (trask's network must learn to add),
with its own points. Searches are derandomized and use no example database
(:mod:`grader.search`), so a submission gets the same score on every run and
machine.

A search that finds nothing draws the same instances for every submission, so
each check first judges that list (:func:`grader.drawn.passing_draws`) and
searches, and shrinks, only from a failure on it. The student's calls on the
list are sent ahead to the worker in one go, and are kept by their arguments
(:class:`grader.answers.Answers`), so checks on the same instances do not call
the student twice for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from grader import drawn, stand_ins
from grader.answers import Answers
from grader.behaviours import kept_results, start_parallel
from grader.credit import ValueProfile, numerical_mistake, relative_error
from grader.diagnose import describe, match
from grader.explain import failure_message
from grader.history import FINDING as STATE_FINDING
from grader.history import state_note
from grader.oracles.compare import answer_problem, structure_problem
from grader.oracles.properties import contract_problem, further_calls
from grader.oracles.reference import Solutions
from grader.questions import Assignment, Question
from grader.results import SHARE, CheckResult, DeclarationError, Grade, InternalError, shares
from grader.search import KEEP_FAILURES, StopSearch, larger_failure, search, search_again
from grader.strategies import Instance
from grader.target import FUNCTION, Availability, Outcome, Target
from grader.unnamed import answers_digest

Judge = Callable[[Instance, Outcome], "str | None"]
Found = tuple[Instance, str, list[Instance]]  # the smallest failing instance, its message, the failures seen


@dataclass
class _Checking:
    """One function's checks in progress: what each check learns that the next ones use."""

    question: Question
    target: Target
    answers: Answers
    solutions: Solutions | None
    examples: int
    judges: dict[str, Judge]
    profile: ValueProfile = field(default_factory=ValueProfile)
    drawn: list[Instance] = field(default_factory=list)  # instances judged so far, passing
    drawn_all: bool = False  # ``drawn`` holds all that a passing search draws
    shown: list[Instance] = field(default_factory=list)  # the smallest and larger instance a check failed on
    failing: list[Instance] = field(default_factory=list)  # every failure seen, for the catalogue
    explained: dict[str, Any] = field(default_factory=dict)  # what each failed check showed (grader.explain)


def grade_question(question: Question, target: Target | None, solutions: Solutions | None,
                   status: Availability, examples: int | None = None,
                   started: dict[tuple[str, str], Future] | None = None,
                   allow_numerical: bool = False) -> list[CheckResult]:
    """All checks of one function; ``started``: behaviours already running (:func:`grader.behaviours.start_parallel`).

    ``allow_numerical``: answers with the error signature of a numerical approximation keep their
    derivative and reference credit (they are flagged all the same; see :mod:`grader.credit`).
    """
    checks = [CheckResult(question.function, c, question.points * share, False)
              for c, share in shares(solutions is not None).items()]
    behaviours = [CheckResult(question.function, b.name, b.points, False) for b in question.behaviours]
    if not status.is_function:
        for r in checks + behaviours:
            r.message = status.message(question.function)
        return checks + behaviours
    answers = Answers(question, target)
    state = _Checking(question, target, answers, solutions, examples or question.examples,
                      _judges(question, answers, solutions))
    for r in checks:
        found = _find_failure(state, r)
        if found is None:
            r.passed = True
            continue
        _report_failure(state, r, found)
        if answers.student(r.instance).fatal:  # nothing more can be learnt from a function that hangs
            for other in checks:
                if other is not r and not other.passed and not other.message:
                    other.message = r.message
            break
    shared = [answers.student(inst) for inst, _ in state.profile.verdicts]  # the shared list's, kept by answers
    if not checks[0].passed and not _not_written(shared):  # how this failure compares across a class
        checks[0].behaviour, checks[0].answers = answers_digest(shared)
    _name_mistake(state, checks)
    _run_behaviours(state, target, checks, behaviours, started or {})
    _apply_credit_rules(question, checks, behaviours, state.profile, allow_numerical)
    return checks + behaviours


def _not_written(outcomes: list[Outcome]) -> bool:
    """No answers, or each call raised NotImplementedError: the function is not written yet (not a mistake)."""
    return all(not o.ok and str(o.error).startswith("NotImplementedError") for o in outcomes)


def not_graded(question: Question, solutions: Solutions | None, reason: str) -> list[CheckResult]:
    """The checks of a function that could not be graded (``reason``), each with no points and that message."""
    return grade_question(question, None, solutions, Availability("not graded", f"not graded: {reason}"))


def _judges(question: Question, answers: Answers, solutions: Solutions | None) -> dict[str, Judge]:
    """For each check, what it says of an outcome on an instance: ``None`` if right, else what is wrong."""
    tol = question.tolerance
    judges: dict[str, Judge] = {
        "derivative": lambda i, o: answer_problem(answers.truth(i), o, question.parts, question.axes, tol,
                                                  question.truth_name),
        "contract": lambda i, o: contract_problem(answers.truth(i), o, question, i,
                                                  lambda args: answers.further(i, args)),
    }
    if solutions:
        judges["reference"] = lambda i, o: _against_reference(answers, solutions, question, i, o)
    return judges


def _find_failure(state: _Checking, r: CheckResult) -> Found | None:
    """The check's smallest failing instance, or ``None`` if it passes."""
    judge = _stopping_at_fatal(state.answers, state.judges[r.check])
    if r.check == "derivative":
        found = _search_derivative(state, judge)
        state.drawn_all = found is None
        return found
    if state.shown and (message := judge(state.shown[0])) is not None:
        # A function that is wrong against the derivative is wrong against the reference on the
        # same smallest instance, as a rule: shrinking again would find it again, at a cost of
        # seconds (most of a buggy submission's grading time).
        return state.shown[0], message, [state.shown[0]]
    # the same derandomized draws: reuse them while they pass
    if r.check == "contract" and state.drawn_all:
        state.answers.send_further_ahead(state.drawn, lambda i: further_calls(state.question, i,
                                                                              state.answers.student(i)))
    return search_again(state.question.instances, judge, state.examples, state.drawn, state.drawn_all)


def _search_derivative(state: _Checking, judge: Callable[[Instance], str | None]) -> Found | None:
    """Judge the list of instances a passing search draws; search (and shrink) only at a failure on it.

    The list is the same for every submission (:mod:`grader.drawn`): recalled, or drawn once with a
    judge that passes everything. Every submission takes this one path, so its calls come in the same
    order on the first grading and on every later one (a function that keeps state between calls
    gets the same grade either way), and they can be made all at once (:meth:`Answers.send_ahead`).
    Every instance of the list is judged, failing or not, and the profile records how many the
    answers get right and with what error (:mod:`grader.credit`).
    """
    question, answers, profile = state.question, state.answers, state.profile
    known = drawn.passing_draws(question, state.examples)
    answers.send_ahead(known)
    first: tuple[Instance, str] | None = None
    for position, inst in enumerate(known):
        out = answers.student(inst)
        message = judge(inst)
        profile.judged += 1
        profile.verdicts.append((inst, message is None))
        if message is None:
            profile.right += 1
            error = relative_error(answers.truth(inst), out.value, question.parts)
            if error is not None:
                profile.errors.append(error)
        elif first is None:
            first = inst, message
        if out.fatal:  # a hang or a crash: no more calls are made, and the search would stop at it too
            profile.judged += len(known) - position - 1
            return first[0], first[1], [first[0]]
    if first is not None:
        # The search finds this failure or an earlier one (it draws the same instances).
        return search(question.instances(), judge, state.examples, state.drawn) or (first[0], first[1], [first[0]])
    state.drawn.extend(known)
    return None


def _stopping_at_fatal(answers: Answers, judge: Judge) -> Callable[[Instance], str | None]:
    """Wrap a judge so that after a hung or crashed call the search stops (no shrinking through hangs)."""
    stopped: list[bool] = []

    def run(inst: Instance) -> str | None:
        if stopped:
            raise StopSearch
        out = answers.student(inst)
        if out.fatal:
            stopped.append(True)
        return judge(inst, out)

    return run


def _report_failure(state: _Checking, r: CheckResult, found: Found) -> None:
    """The failed check's message: the smallest instance, a larger one, what the failures have in common."""
    question, answers = state.question, state.answers
    smallest, message, seen = found
    r.instance = smallest
    r.message = (f"{question.function} fails on this instance (the smallest found):\n"
                 f"{describe(smallest, question.signature)}\n{message}")
    larger = _larger_failure(state, r, found)
    if r.check != "contract":  # what the failures have in common, then the numbers (grader.explain)
        r.message, r.findings = failure_message(question, r.check, smallest, message, seen, larger, answers,
                                                state.solutions, state.profile, state.explained, plain=r.message)
    if r.check == "derivative" and (note := state_note(question, state.target, smallest, state.judges[r.check])):
        r.message, r.findings = f"{note}\n\n{r.message}", (*r.findings, STATE_FINDING)
    if not state.shown:
        state.shown = [smallest] + ([larger] if larger is not None else [])
    _keep_for_plot(state, r, larger or smallest)
    state.failing.extend(seen)


def _larger_failure(state: _Checking, r: CheckResult, found: Found) -> Instance | None:
    """A larger failing instance, added to the message: the smallest says *what* is wrong, a larger one *where*.

    Shrinking to T = 1 hides "only t = 0 is wrong"; the first failures found (before shrinking) are
    the natural larger instances. Only for wrong values (not an exception or a hang).
    """
    smallest, _, seen = found
    if not state.answers.student(smallest).ok or r.check == "contract":
        return None
    judge = _stopping_at_fatal(state.answers, state.judges[r.check])
    larger = larger_failure(smallest, state.shown[1:] + seen + state.drawn, judge)
    if larger is None:
        return None
    more = state.judges[r.check](larger, state.answers.student(larger))
    if not more:
        return None
    sizes = ", ".join(f"{k} = {v}" for k, v in larger.sizes.items())
    r.message += f"\n\nOn a larger failing instance ({sizes}):\n{more}"
    return larger


def _keep_for_plot(state: _Checking, r: CheckResult, shown: Instance) -> None:
    """The expected and the student's answer on the instance shown, when they are comparable (for plots)."""
    out = state.answers.student(shown)
    if not out.ok or r.check not in ("derivative", "reference"):
        return
    expected = (state.answers.truth(shown) if r.check == "derivative"
                else state.answers.reference(state.solutions.reference, shown).value)
    if structure_problem(expected, out.value, state.question.parts) is None:
        r.expected, r.got = expected, out.value


def _name_mistake(state: _Checking, checks: list[CheckResult]) -> None:
    """The catalogued mistake (grading only) that explains every failure seen, on every failed check."""
    if not state.solutions or not state.failing:
        return
    m = match(state.solutions.mistakes, state.question, state.failing[:KEEP_FAILURES * 2], state.answers.student,
              state.solutions.reference.functions, state.answers.truth)
    for r in checks:
        if not r.passed:
            r.misconception = m


def _run_behaviours(state: _Checking, target: Target, checks: list[CheckResult], behaviours: list[CheckResult],
                    started: dict[tuple[str, str], Future]) -> None:
    """Each declared behaviour's result: collected if started, run now, or not run after a hang."""
    hung = next((r for r in checks if r.instance is not None and state.answers.student(r.instance).fatal), None)
    for r, b in zip(behaviours, state.question.behaviours):
        if hung is not None:  # each call would hang again: not worth minutes of deadlines
            r.message = hung.message
        elif (state.question.function, b.name) in started:
            r.passed, r.message = started[(state.question.function, b.name)].result()
        else:
            r.passed, r.message = b.run(target)
    diagnosis = next((r.misconception for r in checks if r.misconception), None)
    for r in behaviours:
        if not r.passed:
            r.misconception = diagnosis


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


def _against_reference(answers: Answers, solutions: Solutions, question: Question, inst: Instance,
                       out: Outcome) -> str | None:
    ref = answers.reference(solutions.reference, inst)
    if not ref.ok:
        raise RuntimeError(f"the reference solution's {question.function} raised {ref.error}")
    return answer_problem(ref.value, out, question.parts, question.axes, question.tolerance,
                          "the reference solution")


def _grade_or_report(result: Grade, question: Question, target: Target, solutions: Solutions | None,
                     status: Availability, examples: int | None, started: dict[tuple[str, str], Future],
                     allow_numerical: bool) -> list[CheckResult]:
    """:func:`grade_question`; a failure of the grader's own leaves the function not graded, never wrong."""
    try:
        return grade_question(question, target, solutions, status, examples, started, allow_numerical)
    except DeclarationError as exc:
        message = f"not graded: {exc}"
    except (InternalError, Exception) as exc:  # noqa: BLE001 - ours, reported for regrading
        what = f"{type(exc).__name__}: {exc}" if not isinstance(exc, InternalError) else str(exc)
        message = f"not graded: internal error in the grader while grading {question.function} ({what[:500]})"
    result.internal_errors.append(message)
    return not_graded(question, solutions, message.removeprefix("not graded: "))


def grade(assignment: Assignment, target: Target, solutions: Solutions | None = None, name: str = "",
          examples: int | None = None, only: list[str] | None = None, allow_numerical: bool = False) -> Grade:
    """Grade every function of ``assignment`` that ``target`` has (or the ones in ``only``).

    ``allow_numerical``: see :func:`grade_question`.
    """
    start = time.perf_counter()
    result = Grade(submission=name, assignment=assignment.name)
    questions = [q for q in assignment.questions if only is None or q.function in only]
    started = start_parallel(questions, target)  # first: its worker boots while this one runs the cells
    status = target.available([q.function for q in questions])
    try:
        for q in questions:
            result.checks.extend(_grade_or_report(result, q, target, solutions, status[q.function], examples,
                                                  started, allow_numerical))
    finally:
        for future in started.values():  # no behaviour outlives its grading (one a hang skipped included)
            future.exception()
    loaded = [q for q in questions if status[q.function].is_function]
    _mend_callers(result, loaded, target, solutions, examples, allow_numerical)
    result.seconds = time.perf_counter() - start
    return result


def grade_submission(assignment: Assignment, target: Target, solutions: Solutions | None = None, name: str = "",
                     examples: int | None = None, allow_numerical: bool = False) -> Grade:
    """:func:`grade` a submission's worker, close it, and keep what running its code showed.

    The grade holds the problems of the submission's cells (ones that raised, could not be read),
    what its code printed, and the sandbox mode it ran in.
    """
    try:
        result = grade(assignment, target, solutions, name=name, examples=examples, allow_numerical=allow_numerical)
    finally:
        getattr(target, "close", lambda: None)()
    result.problems = list(getattr(target, "problems", []))
    result.output = "".join(getattr(target, "output", []))
    result.sandbox = getattr(target, "mode", "")
    return result


def _mend_callers(result: Grade, questions: list[Question], target: Target,
                  solutions: Solutions | None, examples: int | None, allow_numerical: bool) -> None:
    """One mistake costs once: a wrong helper's caller is graded again with the true helper (grader.stand_ins)."""
    for caller in questions:
        if not stand_ins.wrong_values(result.checks, caller.function):
            continue
        helpers = stand_ins.helpers_of(questions, caller, target, result.checks)  # with their partners
        wrong = [q for q in helpers if stand_ins.wrong_values(result.checks, q.function)]
        own = [c for c in result.checks if c.function == caller.function]
        regraded = _regrade_with_true_helpers(result, caller, helpers, target, solutions, examples, allow_numerical)
        if regraded is not None:
            _credit_kept_behaviours(caller, regraded, wrong)
        if regraded is not None and sum(c.score for c in regraded) > sum(c.score for c in own):
            note = stand_ins.mended_note(caller.function, wrong)
            regraded[0].message = note if regraded[0].passed else f"{note}\n\n{regraded[0].message}"
            at = result.checks.index(own[0])
            result.checks[at:at + len(own)] = regraded
        elif wrong:
            _blame_helpers(caller, own, wrong, regraded)


def _blame_helpers(caller: Question, own: list[CheckResult], wrong: list[Question],
                   regraded: list[CheckResult] | None) -> None:
    """The caller fails with the true helpers too: its feedback names the helpers, then what its own mistake is
    (the regrade's findings, where the true helpers let the caller's own error show alone)."""
    note = stand_ins.blame_note(caller.function, wrong)
    alone = {c.check: c for c in regraded or () if not c.passed and c.findings}
    names = " and ".join(q.function for q in wrong)
    for c in own:
        if c.passed:
            continue
        c.message = f"{c.message}\n\n{note}"
        if c.check in alone:
            c.message += f"\n\nWith the true {names}, {caller.function} still fails:\n{alone[c.check].message}"
            c.findings = tuple(dict.fromkeys(c.findings + alone[c.check].findings))


def _credit_kept_behaviours(caller: Question, regraded: list[CheckResult], wrong: list[Question]) -> None:
    """A long behaviour is not run again in a regrade (:func:`grader.behaviours.kept_results`): when every
    check of the caller passes with the true helpers, its failure was the helpers', and it earns its points."""
    checks = [c for c in regraded if c.check in SHARE]
    if not wrong or not checks or not all(c.passed for c in checks):
        return
    kept = {b.name for b in caller.behaviours if b.parallel}
    for c in regraded:
        if c.check in kept and not c.passed:
            c.passed, c.message = True, stand_ins.inferred_note(caller.function, c.check, wrong)
            c.misconception = None


def _regrade_with_true_helpers(result: Grade, caller: Question, helpers: list[Question], target: Target,
                               solutions: Solutions | None, examples: int | None, allow_numerical: bool,
                               ) -> list[CheckResult] | None:
    """The caller's checks in a worker where its helpers answer with the truth; ``None`` where that cannot be."""
    replaceable = {q.function: f for q in helpers if (f := stand_ins.stand_in(q)) is not None}
    make = getattr(target, "with_stand_ins", None)
    if not helpers or len(replaceable) < len(helpers) or make is None:
        return None
    own = [c for c in result.checks if c.function == caller.function]
    with_true_helpers = make(replaceable)
    try:
        return _grade_or_report(Grade(result.submission, result.assignment), caller, with_true_helpers, solutions,
                                FUNCTION, examples, kept_results(caller, own), allow_numerical)
    finally:
        getattr(with_true_helpers, "close", lambda: None)()
