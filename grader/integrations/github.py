"""GitHub Classroom / Actions: a Markdown job summary of ``bptt-grader check``.

A student repository has no solutions, so its workflow runs the *check* (the
derivative oracle and the contract), not the full grade. ``bptt-grader check
ASSIGNMENT NOTEBOOK --summary "$GITHUB_STEP_SUMMARY" --json results.json``
appends :func:`markdown_summary` to the job's summary page and writes the
results for an artifact. See ``docs/github-classroom.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.grading import CheckResult, Grade
from grader.questions import Assignment
from grader.report import test_output

PASS, FAIL = "✅", "❌"
_MAIN_CHECKS = ("derivative", "contract")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``, so it cannot be closed early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _cell(checks: list[CheckResult]) -> str:
    return " ".join(PASS if c.passed else FAIL for c in checks) if checks else "–"


def markdown_summary(result: Grade, assignment: Assignment, notebook: str = "") -> str:
    """A score table (a row per function, a column per check) and the first failure's explanation."""
    n_pass = sum(c.passed for c in result.checks)
    title = f"## bptt-grader check: {assignment.name}" + (f" (`{notebook}`)" if notebook else "")
    lines = [title, "",
             f"**{n_pass} of {len(result.checks)} checks pass**, {result.score:g} / {result.max_score:g} points "
             "on the checks that need no answer key. The final grade also compares each function with the "
             "reference solution.", "",
             "| function | derivative | contract | other checks | points |",
             "|---|:-:|:-:|---|--:|"]
    for q in assignment.questions:
        mine = [c for c in result.checks if c.function == q.function]
        if not mine:
            continue
        main = {c.check: c for c in mine if c.check in _MAIN_CHECKS}
        others = ", ".join(f"{c.check} {PASS if c.passed else FAIL}" for c in mine if c.check not in _MAIN_CHECKS)
        score = sum(c.score for c in mine)
        top = sum(c.max_score for c in mine)
        lines.append(f"| `{q.function}` | {_cell([main['derivative']] if 'derivative' in main else [])} "
                     f"| {_cell([main['contract']] if 'contract' in main else [])} | {others or '–'} "
                     f"| {score:g} / {top:g} |")
    if result.problems:
        lines += ["", "**Problems while running the notebook:**", ""]
        for p in result.problems:
            first, _, rest = p.partition("\n")
            lines.append(f"- {first}")
            if rest:
                fence = _fence(rest)
                lines += ["", f"  {fence}text", *(f"  {line}" for line in rest.splitlines()), f"  {fence}"]
    failed = next((c for c in result.checks if not c.passed), None)
    if failed is not None:
        text = test_output(failed)
        fence = _fence(text)
        lines += ["", f"### First failure: `{failed.name}`", "", f"{fence}text", text, fence]
    else:
        lines += ["", "Every check passes."]
    return "\n".join(lines) + "\n"


def unreadable_summary(assignment: Assignment, notebook: str, problem: str) -> str:
    """The summary when the notebook could not be read at all (not JSON, a syntax error, missing)."""
    fence = _fence(problem)
    return (f"## bptt-grader check: {assignment.name} (`{notebook}`)\n\n"
            f"**The notebook could not be read**, so nothing was checked:\n\n{fence}text\n{problem}\n{fence}\n")


def append_summary(path: str, text: str) -> None:
    """Append to ``path`` (GitHub's ``$GITHUB_STEP_SUMMARY`` collects a step's appends); ``-``: stdout."""
    if path == "-":
        print(text, end="")
        return
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(text + "\n")
