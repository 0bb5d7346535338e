"""Grading one function with a given implementation, for the tests of grader.explain's findings."""

from __future__ import annotations

from typing import Any

from grader.assignments import get
from grader.grading import grade_question
from grader.results import CheckResult
from grader.target import FUNCTION, LocalTarget


def checks(load: Any, assignment: str, function: str, impl: Any, with_solutions: bool = False,
           **helpers: Any) -> dict[str, CheckResult]:
    """The checks of ``function`` implemented by ``impl`` (beside the reference's other functions and ``helpers``),
    without the solutions (as a student's ``check``) unless ``with_solutions``."""
    sol = load(assignment)
    functions = {**sol.reference.functions, function: impl, **helpers}
    results = grade_question(get(assignment).question(function), LocalTarget(functions),
                             sol if with_solutions else None, FUNCTION)
    return {r.check: r for r in results}


def findings(load: Any, assignment: str, function: str, impl: Any, **helpers: Any) -> set[str]:
    """The ids of what the feedback says of ``impl`` (in every check)."""
    return {f for r in checks(load, assignment, function, impl, **helpers).values() for f in r.findings}


def says(ids: set[str], name: str) -> bool:
    """Whether ``ids`` hold ``name``, or ``name`` for some parts (``negated:dLdW``)."""
    return any(i == name or i.startswith(name + ":") for i in ids)
