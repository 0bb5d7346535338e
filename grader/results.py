"""What grading finds: one :class:`CheckResult` per check of a function, one :class:`Grade` per submission.

The model the reports (:mod:`grader.report`, :mod:`grader.report_html`, the integrations) are written
against, apart from the engine that fills it in (:mod:`grader.grading`).

Each graded function's points are split between its checks by :func:`shares`: with the
instructor's reference (``bptt-grader grade``) half for the derivative check, a quarter for the
reference check, a quarter for the contract check; without it (a student's ``check``) half and half.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.diagnose import Mistake
from grader.strategies import Instance

#: The share of a function's points each check carries when graded against the reference.
SHARE = {"derivative": 0.5, "reference": 0.25, "contract": 0.25}
#: ... and without one (a student's own check): the reference's quarter goes to neither, the rest is scaled.
SHARE_WITHOUT_REFERENCE = {"derivative": 0.5, "contract": 0.5}


def shares(with_reference: bool) -> dict[str, float]:
    """The checks of a function, in the order they run, with the share of its points each carries."""
    return SHARE if with_reference else SHARE_WITHOUT_REFERENCE


class InternalError(BaseException):
    """The grader's own handling of a call failed: the function is not graded (and never scored as wrong)."""


class DeclarationError(Exception):
    """The assignment's own code (its forward pass, truth or strategies) raised: the course's to mend.

    Like an internal error, the function is not graded and never scored as wrong; the message names
    the assignment's code that failed, not the grader.
    """


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
    #: of a failed derivative check, digests of the answers on the instances every submission is judged on:
    #: coarse (submissions failing alike) and exact (identical numbers); see grader.unnamed
    behaviour: str = ""
    answers: str = ""

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
