"""``bptt-grader validate``: the self-test of an assignment's reference and catalogue.

The reference must earn full marks, and every catalogued mistake, graded as if
it were a student's function, must fail at least one check and be diagnosed
as itself. An instructor's CI runs this whenever solutions/ changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.assignments import get
from grader.diagnose import Mistake
from grader.drawn import passing_draws
from grader.grading import grade
from grader.oracles.reference import Solutions
from grader.questions import Assignment, Question
from grader.target import LocalTarget


@dataclass
class Finding:
    subject: str  # "reference" or a mistake id
    ok: bool
    detail: str


def validate(assignment_name: str, solutions: Solutions, examples: int | None = None) -> list[Finding]:
    assignment = get(assignment_name)
    ref = grade(assignment, solutions.reference, solutions, name="reference", examples=examples)
    failed = [c for c in ref.checks if not c.passed]
    detail = f"{ref.score:g} / {ref.max_score:g}" + "".join(f"\n  {c.name}: {_first_lines(c.message)}" for c in failed)
    findings = [Finding("reference", not failed and ref.score == ref.max_score, detail)]
    known = {q.function for q in assignment.questions}
    for m in solutions.mistakes:
        if m.function not in known:
            findings.append(Finding(m.id, False, f"imitates {m.function}, which {assignment.name} does not grade"))
            continue
        findings.append(_mistake_finding(assignment, solutions, m, examples))
    return findings


def _first_lines(message: str, most: int = 14) -> str:
    """A failure's message as validate shows it: its first lines (the instance, expected and got), indented."""
    lines = message.strip().splitlines() or [""]
    shown = lines[:most] + ([f"... ({len(lines) - most} more lines: bptt-grader check shows them all)"]
                            if len(lines) > most else [])
    return "\n    ".join(shown)


def _mistake_finding(assignment: Assignment, solutions: Solutions, m: Mistake, examples: int | None) -> Finding:
    """Whether a catalogued mistake fails a check and is named as itself, and returns answers at all."""
    target = LocalTarget(m.functions(solutions.reference.functions))
    result = grade(assignment, target, solutions, name=m.id, examples=examples, only=[m.function])
    failing = [c for c in result.checks if not c.passed]
    named = {c.misconception.id if c.misconception else None for c in failing}
    if not failing:
        return Finding(m.id, False, "passes every check: the checks cannot tell it from correct")
    if result.internal_errors:
        return Finding(m.id, False, f"not graded: {result.internal_errors[0].removeprefix('not graded: ')}")
    raised = _raises_everywhere(assignment.question(m.function), target)
    if raised is not None:
        return Finding(m.id, False, f"raises on every instance ({raised}): a catalogued mistake computes a wrong "
                       "answer, it does not crash, or a student whose function crashes alike would be told this "
                       "mistake. A backward mistake is called with the cache of the reference's forward: read it as "
                       "the reference lays it out, or pair the mistake with a forward of its own (companions=)")
    if named != {m.id}:
        said = ", ".join(sorted(n for n in named if n)) or "no catalogued mistake"
        return Finding(m.id, False, f"fails {', '.join(c.check for c in failing)} but is diagnosed as {said}")
    return Finding(m.id, True, f"fails {', '.join(c.check for c in failing)}; diagnosed")


def _raises_everywhere(question: Question, target: LocalTarget) -> str | None:
    """The first error, when the function raises on every instance of its shared list; else ``None``."""
    instances = passing_draws(question)
    outcomes = [question.invoke(target, list(inst.args), inst.kwargs) for inst in instances]
    if outcomes and all(not o.ok for o in outcomes):
        return str(outcomes[0].error)[:200]
    return None
