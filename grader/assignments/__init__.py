"""The assignments, by name. Each module defines ``ASSIGNMENT`` (see :mod:`grader.questions`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing the declarations imports Hypothesis: only when an assignment is asked for
    from grader.questions import Assignment

#: In teaching order. Adding an assignment: a module here and its name in this tuple.
NAMES = ("trask", "britz", "goodfellow", "martens", "cache")

#: The assignments with a behaviour run in a second worker (``Behaviour.parallel``), known without
#: importing them (and numpy), so that ``bptt-grader`` can start both workers at once, first thing.
#: ``tests/test_grading.py`` checks it against the declarations.
TWO_WORKERS = frozenset({"trask"})


class UnknownAssignment(KeyError):
    def __str__(self) -> str:
        return f"unknown assignment {self.args[0]!r}; the assignments are: {', '.join(NAMES)}"


def get(name: str) -> Assignment:
    """The assignment called ``name``."""
    if name not in NAMES:
        raise UnknownAssignment(name)
    return importlib.import_module(f"grader.assignments.{name}").ASSIGNMENT


def all_assignments() -> list[Assignment]:
    return [get(n) for n in NAMES]
