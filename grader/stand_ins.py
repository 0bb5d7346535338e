"""One mistake costs once: a caller graded again with the true helper in place of the student's.

A student's ``bptt`` that calls their own ``delta_t_prev`` inherits its mistake: graded as it is, one
wrong line would cost both functions. Where the helper's contract is arrays in and arrays out, its
question declares how to rebuild an instance from bare arguments (``Question.instance_from_args``),
so its truth is computed from the public forward pass for any arguments the caller passes. The caller
is then graded again in a worker where the helper's name answers with that truth (the worker asks the
grader, :meth:`grader.worker_target.WorkerTarget.with_stand_ins`); if it earns more there, that is its grade,
and the feedback says it is right once the helper is fixed. A helper that cannot be replaced (one that
takes an opaque cache) is named in the caller's feedback as where its error may come from.

What the stand-in gives the student's code is the helper's own answer on the arguments it chooses,
and only during that second grading, whose output and messages are not shown.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable
from typing import Any

from grader.questions import Question


def stand_in(question: Question) -> Callable[..., Any] | None:
    """The true ``question.function`` for any arguments, or ``None`` where it cannot be rebuilt from them."""
    if question.stand_in is not None:
        return question.stand_in
    rebuild = question.instance_from_args
    if rebuild is None:
        return None

    def true_function(*args: Any) -> Any:
        return question.truth(rebuild(tuple(args)))

    true_function.__name__ = question.function
    return true_function


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _source_names(sources: list[str], function: str) -> set[str]:
    """The names used inside every definition of ``function`` in ``sources`` (parsed, never run)."""
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
                names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return names


def referenced(target: Any, function: str) -> set[str]:
    """The names ``function`` of the target's code refers to: from its source (a worker's submission),
    or from its code object (functions of this process)."""
    submission = getattr(target, "submission", None)
    if submission is not None:
        return _source_names([cell.source for cell in submission.cells], function)
    fn = getattr(target, "functions", {}).get(function)
    code = getattr(fn, "__code__", None)
    return _code_names(code) if isinstance(code, types.CodeType) else set()


def wrong_values(checks: list[Any], function: str) -> bool:
    return any(c.function == function and c.check in ("derivative", "reference") and not c.passed for c in checks)


def helpers_of(questions: list[Question], caller: Question, target: Any, checks: list[Any]) -> list[Question]:
    """The other graded functions (of ``questions``) ``caller`` refers to whose own values are wrong."""
    names = referenced(target, caller.function)
    wrong = [q for q in questions if q is not caller and q.function in names and wrong_values(checks, q.function)]
    partners = {p for q in wrong for p in q.stand_in_with} - {q.function for q in wrong}
    return wrong + [q for q in questions if q.function in partners]


def mended_note(caller: str, helpers: list[Question]) -> str:
    names = " and ".join(q.function for q in helpers)
    verb = "is" if len(helpers) == 1 else "are"
    return (f"{caller} is right once {names} {verb} fixed: graded with the true {names} in place of yours, "
            f"it earns these points, so {names}'s mistake costs only {names}'s own.")


def inferred_note(caller: str, behaviour: str, helpers: list[Question]) -> str:
    """Why a behaviour that failed with the student's helpers earns its points once the caller is right."""
    names = " and ".join(q.function for q in helpers)
    return (f"{behaviour}: not run again with the true {names} (it would take a minute); with them, {caller} "
            f"is right on every instance it is judged on, so the training it drives learns as the reference's "
            f"does. It failed with your {names}: that mistake costs only {names}'s own points.")


def blame_note(caller: str, helpers: list[Question]) -> str:
    names = " and ".join(q.function for q in helpers)
    verb, them = ("fails its", "it") if len(helpers) == 1 else ("fail their", "them")
    return (f"Note: {caller} calls your {names}, which {verb} own checks; fix {names} first, since "
            f"{caller}'s errors may come from {them}.")
