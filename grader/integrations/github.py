"""GitHub Classroom / Actions: the workflow of a student repository, and its Markdown job summary.

A student repository has no solutions, so its workflow runs the *check* (the
derivative oracle and the contract), not the full grade. ``bptt-grader check
ASSIGNMENT NOTEBOOK --summary "$GITHUB_STEP_SUMMARY" --json results.json``
appends :func:`markdown_summary` to the job's summary page and writes the
results for an artifact. See ``docs/github-classroom.md``.

``python -m grader.integrations.github ASSIGNMENT --repo DIR`` writes that
workflow into a template repository (:func:`write_workflow`), with what it
installs: by default a wheel of this installation committed beside it
(bptt-grader is not on PyPI), so the first push already works; ``--package
REQUIREMENT`` installs something else (a git URL, the course's own wheel).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from grader.questions import Assignment
from grader.report import test_output
from grader.results import CheckResult, Grade

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


# -- the workflow ----------------------------------------------------------------------------------

#: Where :func:`write_workflow` puts the wheel it installs, in the repository.
WHEEL_FOLDER = ".github/bptt-grader"
WORKFLOW_PATH = ".github/workflows/grade.yml"

_WORKFLOW = """\
# Checks the assignment's notebook on every push.
# Written by `python -m grader.integrations.github {assignment} --repo .` (docs/github-classroom.md) into the
# assignment's template repository (GitHub Classroom copies it into every student's repository); the three
# values below are what it was given. BPTT_GRADER is what pip installs: by default the wheel written next to
# this workflow ({wheel_folder}/), or --package REQUIREMENT (a git URL, the course's own wheel).
#
# The job summary page shows a score table and the first failure's explanation;
# the results (results.json form) are kept as the artifact "bptt-results".
# A student repository holds no solutions, so this runs the maths checks
# (bptt-grader check), not the full grade.
name: bptt-grader check

on:
  push:
  workflow_dispatch:

permissions:
  contents: read

env:
  ASSIGNMENT: {assignment_json}
  NOTEBOOK: {notebook_json}
  BPTT_GRADER: {package_json}

jobs:
  check:
    runs-on: ubuntu-latest
    timeout-minutes: 15
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install bptt-grader
        run: python -m pip install "$BPTT_GRADER"
      - name: Check the notebook
        run: bptt-grader check "$ASSIGNMENT" "$NOTEBOOK" --summary "$GITHUB_STEP_SUMMARY" --json bptt-results.json
      - name: Keep the results
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: bptt-results
          path: bptt-results.json
          if-no-files-found: ignore
"""


def default_package() -> str:
    """What the workflow installs by default: the wheel :func:`write_workflow` commits beside it."""
    from grader.integrations.package import wheel_name

    return f"./{WHEEL_FOLDER}/{wheel_name()}"


def workflow_yaml(assignment: str, notebook: str | None = None, package: str | None = None) -> str:
    """The workflow's text: check ``notebook`` (default ``<assignment>.ipynb``) after installing ``package``
    (a pip requirement; default :func:`default_package`)."""
    notebook = notebook or f"{assignment}.ipynb"
    package = package or default_package()
    for value in (assignment, notebook, package):
        if not value.strip() or "\n" in value or "\r" in value:
            raise ValueError(f"not a one-line value: {value!r}")
    # JSON strings are YAML strings: quoted, so a value with ': ' or ' #' stays one value
    return _WORKFLOW.format(assignment=assignment, wheel_folder=WHEEL_FOLDER, assignment_json=json.dumps(assignment),
                            notebook_json=json.dumps(notebook), package_json=json.dumps(package))


def write_workflow(repo: Path, assignment: str, notebook: str | None = None, package: str | None = None) -> list[Path]:
    """Write ``repo/.github/workflows/grade.yml`` (and, without ``package``, the wheel it installs); the files written.

    Without ``package`` the workflow installs a wheel of this installation
    (:func:`grader.integrations.package.build_wheel`), written to
    ``repo/.github/bptt-grader/``: commit it with the workflow.
    """
    from grader.assignments import get
    from grader.integrations.package import build_wheel

    get(assignment)  # an unknown assignment fails here, not on the students' first push
    written = []
    if package is None:
        wheel = build_wheel(repo / WHEEL_FOLDER)
        package = f"./{WHEEL_FOLDER}/{wheel.name}"
        written.append(wheel)
    path = repo / WORKFLOW_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow_yaml(assignment, notebook, package), encoding="utf-8")
    return [path, *written]


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.integrations.github ASSIGNMENT [--repo DIR] [--notebook NAME] [--package REQUIREMENT]``."""
    parser = argparse.ArgumentParser(prog="python -m grader.integrations.github",
                                     description="Write the GitHub Actions workflow that checks a student "
                                     "repository's notebook on every push.")
    parser.add_argument("assignment", help="the assignment (bptt-grader list shows them)")
    parser.add_argument("--repo", default=".", help="the template repository's folder (default: .)")
    parser.add_argument("--notebook", default=None, help="the notebook students commit (default: ASSIGNMENT.ipynb)")
    parser.add_argument("--package", default=None, metavar="REQUIREMENT",
                        help="what the workflow pip-installs, e.g. git+https://github.com/<owner>/bptt-grader "
                        f"(default: a wheel of this installation, written to {WHEEL_FOLDER}/: commit it)")
    args = parser.parse_args(argv)
    try:
        written = write_workflow(Path(args.repo), args.assignment, args.notebook, args.package)
    except (KeyError, ValueError) as e:  # an unknown assignment (a KeyError), a value on several lines
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print("commit these files; the workflow runs on the next push")
    return 0


if __name__ == "__main__":
    sys.exit(main())
