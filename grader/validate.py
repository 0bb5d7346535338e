"""``bptt-grader validate``: the self-test of an assignment's reference and catalogue.

The reference must earn full marks, and every catalogued mistake, graded as if
it were a student's function, must fail at least one check and be diagnosed
as itself. An instructor's CI runs this whenever solutions/ changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.assignments import get
from grader.grading import grade
from grader.oracles.reference import Solutions
from grader.target import LocalTarget


@dataclass
class Finding:
    subject: str  # "reference" or a mistake id
    ok: bool
    detail: str


def validate(assignment_name: str, solutions: Solutions, examples: int | None = None) -> list[Finding]:
    assignment = get(assignment_name)
    findings = []
    ref = grade(assignment, solutions.reference, solutions, name="reference", examples=examples)
    failed = [c for c in ref.checks if not c.passed]
    findings.append(Finding("reference", not failed and ref.score == ref.max_score,
                            f"{ref.score:g} / {ref.max_score:g}" + "".join(
                                f"\n  {c.name}: {c.message.splitlines()[-1] if c.message else ''}" for c in failed)))
    known = {q.function for q in assignment.questions}
    for m in solutions.mistakes:
        if m.function not in known:
            findings.append(Finding(m.id, False, f"imitates {m.function}, which {assignment.name} does not grade"))
            continue
        target = LocalTarget(m.functions(solutions.reference.functions))
        result = grade(assignment, target, solutions, name=m.id, examples=examples, only=[m.function])
        failing = [c for c in result.checks if not c.passed]
        named = {c.misconception.id if c.misconception else None for c in failing}
        if not failing:
            findings.append(Finding(m.id, False, "passes every check: the checks cannot tell it from correct"))
        elif result.internal_errors:
            reason = result.internal_errors[0].removeprefix("not graded: ")
            findings.append(Finding(m.id, False, f"not graded: {reason}"))
        elif named != {m.id}:
            said = ", ".join(sorted(n for n in named if n)) or "no catalogued mistake"
            findings.append(Finding(m.id, False, f"fails {', '.join(c.check for c in failing)} but is diagnosed as "
                                    f"{said}"))
        else:
            findings.append(Finding(m.id, True, f"fails {', '.join(c.check for c in failing)}; diagnosed"))
    return findings
