"""``check``: what a student runs in their own notebook.

Runs the derivative oracle and the contract properties on the student's
functions, in the student's own kernel. No reference solution is needed or
loaded, so it works on a student's machine and reveals nothing but what the
mathematics says.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from grader.assignments import get
from grader.grading import Grade, grade
from grader.report import text_report
from grader.target import LocalTarget


class CheckReport:
    """The result of :func:`check`; shown as text in a notebook, true when everything passed."""

    def __init__(self, result: Grade, text: str) -> None:
        self.result, self.text = result, text

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.result.checks)

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """Already printed by check(); Jupyter shows nothing more for the returned report."""

    def __repr__(self) -> str:
        n = sum(c.passed for c in self.result.checks)
        return f"<CheckReport: {n} of {len(self.result.checks)} checks passed>"


def _collect(assignment: str, items: tuple[Any, ...]) -> dict[str, Callable[..., Any]]:
    names = {q.function for q in get(assignment).questions}
    functions: dict[str, Callable[..., Any]] = {}
    for item in items:
        if isinstance(item, dict):  # globals(): every function of the assignment that is defined
            functions.update({k: v for k, v in item.items() if k in names})
        elif callable(item):
            name = getattr(item, "__name__", "")
            if name not in names:
                raise ValueError(f"{name!r} is not a function of {assignment}; its functions are "
                                 + ", ".join(sorted(names)))
            functions[name] = item
        else:
            raise TypeError(f"check({assignment!r}, ...) takes functions or globals(), not {type(item).__name__}")
    return functions


def check(assignment: str, *functions: Any, examples: int | None = None, quiet: bool = False) -> CheckReport:
    """Check functions of ``assignment`` against the derivative of its forward pass.

    Parameters
    ----------
    assignment
        ``"trask"``, ``"britz"``, ... (see ``bptt-grader list``).
    *functions
        The functions to check, or ``globals()`` for every one you defined.
    examples
        Instances tried per check (default: as many as grading uses).
    quiet
        Do not print; just return the report.
    """
    found = _collect(assignment, functions)
    if not found:
        raise ValueError(f"none of the functions of {assignment} were given")
    # A backward function is checked through the forward that makes its cache: take that forward
    # from the caller's namespace when it was not passed too.
    caller = inspect.currentframe().f_back
    caller = caller.f_back if caller is not None and caller.f_globals.get("__name__") == "grader" else caller
    available = dict(found)
    for q in get(assignment).questions:
        for need in q.needs if q.function in found else ():
            if need not in available and caller is not None and callable(caller.f_globals.get(need)):
                available[need] = caller.f_globals[need]
    result = grade(get(assignment), LocalTarget(available, capture=True), None, examples=examples,
                   only=list(found))
    report = CheckReport(result, text_report(result, get(assignment), show_points=False))
    if not quiet:
        print(report.text)
    return report
