"""How often the feedback names the mistake, on the buggy submissions of this folder.

Each file under ``<assignment>/`` is a whole submission with one or two
realistic mistakes (in one function or in two); ``MANIFEST.json`` lists, for
each buggy function, the bug and the ids that *name* it: a catalogued
misconception (``solutions/<assignment>/misconceptions.py``, grading only),
or a finding of the feedback (:mod:`grader.explain`: a variant, a relation,
a condition). A function that fails is *named* when its checks carry one of
those ids; the share is over the failing buggy functions.

Two modes, in this process (the grader's code is the same as the CLI's; only
the target differs, as in a student's own check):

``grade``
    with the reference solution and the catalogue (``bptt-grader grade``);
``check``
    without them (``grader.student.check``, ``bptt-grader check``).

Run ``python tests/bugs/measure.py`` for the figures.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST: dict[str, Any] = json.loads((HERE / "MANIFEST.json").read_text())


def names_it(ids: set[str], names: list[str]) -> bool:
    """Whether one of ``ids`` is one of ``names``, or one of them for some parts (``negated:dLdW``)."""
    return any(i == n or i.startswith(n + ":") for i in ids for n in names)


@dataclass
class Tally:
    failing: int = 0
    named: int = 0
    missed: list[str] = field(default_factory=list)  # failing buggy functions not named
    undetected: list[str] = field(default_factory=list)  # buggy functions with full marks
    collateral: list[str] = field(default_factory=list)  # failing functions the manifest calls correct

    @property
    def share(self) -> float:
        return self.named / self.failing if self.failing else 0.0


def grade_file(key: str, mode: str, solutions: dict[str, Any]) -> Any:
    """The grade of one file, with the solutions (``grade``) or without (``check``)."""
    from grader.assignments import get
    from grader.grading import grade
    from grader.target import LocalTarget

    assignment = get(MANIFEST[key]["assignment"])
    namespace = runpy.run_path(str(HERE / key), run_name="submission")
    names = {q.function for q in assignment.questions} | {n for q in assignment.questions for n in q.needs}
    target = LocalTarget({k: v for k, v in namespace.items() if k in names and callable(v)}, capture=True)
    if mode == "check":
        return grade(assignment, target, None)
    if assignment.name not in solutions:
        from grader.oracles.reference import load_solutions

        solutions[assignment.name] = load_solutions(assignment.name, ROOT / "solutions")
    return grade(assignment, target, solutions[assignment.name])


def measure(mode: str, keys: list[str] | None = None, findings: bool = True) -> dict[str, Tally]:
    """A tally per assignment (and ``"all"``) of the files ``keys`` (default: every file).

    ``findings=False``: count catalogued misconceptions only (the feedback before grader.explain).
    """
    tallies: dict[str, Tally] = {"all": Tally()}
    solutions: dict[str, Any] = {}
    for key in keys or sorted(MANIFEST):
        entry = MANIFEST[key]
        tally = tallies.setdefault(entry["assignment"], Tally())
        result = grade_file(key, mode, solutions)
        bugs = {b["function"]: b for b in entry["bugs"]}
        by_function: dict[str, list[Any]] = {}
        for c in result.checks:
            by_function.setdefault(c.function, []).append(c)
        for function, checks in by_function.items():
            failing = any(not c.passed for c in checks)
            if function not in bugs:
                if failing:
                    for t in (tally, tallies["all"]):
                        t.collateral.append(f"{key}: {function}")
                continue
            if not failing:
                for t in (tally, tallies["all"]):
                    t.undetected.append(f"{key}: {function}")
                continue
            ids = {c.misconception.id for c in checks if c.misconception is not None}
            ids |= {f for c in checks for f in c.findings} if findings else set()
            named = names_it(ids, bugs[function]["names"])
            for t in (tally, tallies["all"]):
                t.failing += 1
                t.named += named
                if not named:
                    t.missed.append(f"{key}: {function} ({bugs[function]['bug']}; said: {sorted(ids)})")
    return tallies


def report(tallies: dict[str, Tally], mode: str) -> str:
    lines = [f"{mode}:"]
    for name, t in sorted(tallies.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        lines.append(f"  {name:12s} {t.named:3d} / {t.failing:3d} failing functions named ({t.share:.0%})")
    t = tallies["all"]
    lines += [f"    not named: {m}" for m in t.missed]
    lines += [f"    not detected: {m}" for m in t.undetected]
    lines += [f"    failing, though correct: {m}" for m in t.collateral]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    catalogue_only = "--catalogue-only" in args
    for mode in [a for a in args if not a.startswith("--")] or ["grade", "check"]:
        print(report(measure(mode, findings=not catalogue_only), mode + (" (catalogue only)" if catalogue_only else "")))
