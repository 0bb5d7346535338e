"""What graded a result, and what moved when a submission is graded again.

Each result records ``extra_data.graded_with``, the *fingerprint* of what graded it (:func:`fingerprint`):
the grader's version and a digest of its code, digests of the assignment's declaration module and of
the solutions' ``reference.py`` and ``misconceptions.py``, and the options that change scores
(``--examples``, ``--allow-numerical``). ``grade --resume`` keeps a result only when its fingerprint is
this run's (:func:`grader.batch.run_batch`), so a change of the reference, the catalogue, the
assignment or the grader regrades what it affects; every score that then moved is listed, with the
part of the fingerprint that changed, in ``changes.txt`` and ``changes.csv`` (:func:`write_changes`).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The parts of a fingerprint, in the order the reasons name them, with what they are called there.
PARTS = {
    "grader": "the grader's version",
    "grader_code": "the grader's code",
    "assignment": "the assignment's declaration",
    "reference": "the reference solution (reference.py)",
    "misconceptions": "the misconception catalogue (misconceptions.py)",
    "options": "the grading options",
}


def file_digest(path: Path) -> str | None:
    """``sha256:<hex>`` of a file's bytes, ``None`` when there is no such file."""
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


@functools.cache
def grader_code_digest() -> str:
    """A digest of the grader's own modules (``grader/**/*.py`` but the assignments, whose declaration is
    a part of its own): a grader changed without a new version number regrades too. Once per process."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel.startswith("assignments/") or "__pycache__" in rel:
            continue
        h.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + h.hexdigest()


def fingerprint(assignment: str, solutions_dir: Path, examples: int | None = None,
                allow_numerical: bool = False) -> dict[str, Any]:
    """What grades ``assignment`` with these solutions and options (see the module notes)."""
    from grader import __version__
    from grader.assignments import module

    declared = getattr(module(assignment), "__file__", None)
    base = Path(solutions_dir) / assignment
    return {
        "grader": __version__,
        "grader_code": grader_code_digest(),
        "assignment": file_digest(Path(declared)) if declared else None,
        "reference": file_digest(base / "reference.py"),
        "misconceptions": file_digest(base / "misconceptions.py"),
        "options": {"examples": examples, "allow_numerical": bool(allow_numerical)},
    }


def recorded(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fingerprint a result records, ``None`` when it records none."""
    if not data:
        return None
    found = data.get("extra_data", {}).get("graded_with")
    return found if isinstance(found, dict) else None


def _options(before: Any, after: Any) -> str:
    before, after = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
    moved = [f"{k} {before.get(k)!r} -> {after.get(k)!r}" for k in sorted(set(before) | set(after))
             if before.get(k) != after.get(k)]
    return "the grading options changed (" + ", ".join(moved) + ")"


def fingerprint_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """Which parts of the fingerprint differ, in words (empty when none does)."""
    if before is None:
        return ["the earlier result records no fingerprint (graded by an older grader)"]
    reasons = []
    for part, what in PARTS.items():
        old, new = before.get(part), after.get(part)
        if old == new:
            continue
        if part == "grader":
            reasons.append(f"the grader's version changed ({old} -> {new})")
        elif part == "options":
            reasons.append(_options(old, new))
        elif old is None:
            reasons.append(f"{what} was added")
        elif new is None:
            reasons.append(f"{what} was removed")
        else:
            reasons.append(f"{what} changed")
    return reasons


def why_regraded(existing: dict[str, Any] | None, source: dict[str, Any] | None,
                 current: dict[str, Any]) -> list[str]:
    """Why a submission that had a result ``existing`` was graded again: the submission itself changed,
    the earlier result had an internal error, or parts of the fingerprint changed (``source``: the file
    graded now, ``{"path", "sha256"}``)."""
    if existing is None:
        return []
    reasons = []
    old = existing.get("extra_data", {}).get("source") or {}
    new = source or {}
    if old.get("path") != new.get("path"):
        reasons.append(f"the earlier result was of another file ({old.get('path')})")
    elif old.get("sha256") != new.get("sha256"):
        reasons.append("the submission changed")
    if existing.get("internal_errors"):
        reasons.append("the earlier result had an internal error of the grader")
    reasons += fingerprint_changes(recorded(existing), current)
    return reasons or ["graded again (the same submission, grader and solutions)"]


def function_scores(data: dict[str, Any]) -> dict[str, float]:
    """A result's points per function, in the order its tests come."""
    per: dict[str, float] = {}
    for t in data.get("tests", []):
        per[t["function"]] = round(per.get(t["function"], 0.0) + float(t["score"]), 6)
    return per


@dataclass(frozen=True)
class Change:
    """One score that moved."""

    submission: str
    function: str
    before: float
    after: float
    why: str


@dataclass(frozen=True)
class Diagnosis:
    """A check whose failure is now named as another misconception (or none, or only now one)."""

    submission: str
    check: str
    before: str | None
    after: str | None


@dataclass
class Regrading:
    """What a run graded again: the scores that moved, and how many results were replaced, and why."""

    changes: list[Change]
    regraded: dict[str, list[str]]  # submission -> why it was graded again
    kept: int = 0
    first: int = 0  # graded for the first time
    diagnoses: list[Diagnosis] = field(default_factory=list)


def compare(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]],
            reasons: dict[str, list[str]], functions: list[str]) -> list[Change]:
    """Every function score of a submission in both ``before`` and ``after`` that moved (sorted by
    submission, then in the assignment's order of ``functions``)."""
    out = []
    for name in sorted(set(before) & set(after)):
        old, new = function_scores(before[name]), function_scores(after[name])
        order = [f for f in functions if f in old or f in new] + sorted((set(old) | set(new)) - set(functions))
        for f in order:
            a, b = old.get(f, 0.0), new.get(f, 0.0)
            if abs(a - b) > 1e-9:
                out.append(Change(name, f, a, b, "; ".join(reasons.get(name, [])) or "graded again"))
    return out


def _misconceptions(data: dict[str, Any]) -> dict[str, str | None]:
    return {t["name"]: (t.get("extra_data") or {}).get("misconception") if t.get("status") == "failed" else None
            for t in data.get("tests", [])}


def compare_diagnoses(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[Diagnosis]:
    """Every check of a submission in both whose named misconception differs (sorted by submission)."""
    out = []
    for name in sorted(set(before) & set(after)):
        old, new = _misconceptions(before[name]), _misconceptions(after[name])
        for check in [c for c in new if c in old] + [c for c in old if c not in new] + \
                [c for c in new if c not in old]:
            if old.get(check) != new.get(check):
                out.append(Diagnosis(name, check, old.get(check), new.get(check)))
    return out


def _num(x: float) -> str:
    return f"{x:g}"


def changes_text(assignment: str, regrading: Regrading) -> str:
    """``changes.txt``: what this run graded again and why, then every score that moved."""
    lines = [f"{assignment}: scores that moved in this grading, against the results the folder held before it",
             f"Graded again: {len(regrading.regraded)}; kept (--resume): {regrading.kept}; "
             f"graded for the first time: {regrading.first}"]
    why: dict[str, int] = {}
    for reasons in regrading.regraded.values():
        for r in reasons:
            why[r] = why.get(r, 0) + 1
    for r, n in sorted(why.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:4d}  {r}")
    moved = regrading.changes
    lines += ["", f"Scores that moved: {len(moved)}" + (
        f" ({len({c.submission for c in moved})} submissions)" if moved else " (none)")]
    if moved:
        rows = [("submission", "function", "before", "after", "why")]
        rows += [(c.submission, c.function, _num(c.before), _num(c.after), c.why) for c in moved]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    named = regrading.diagnoses
    lines += ["", f"Misconceptions named differently: {len(named)}" + ("" if named else " (none)")]
    if named:
        rows = [("submission", "check", "before", "after")]
        rows += [(d.submission, d.check, d.before or "(none)", d.after or "(none)") for d in named]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    return "\n".join(lines) + "\n"


def write_changes(out: Path, assignment: str, regrading: Regrading) -> None:
    """``changes.txt`` and ``changes.csv`` (submission, function, before, after, why) in ``out``."""
    from grader.report import write_atomic, write_csv

    write_atomic(out / "changes.txt", changes_text(assignment, regrading))
    write_csv(out / "changes.csv", [["submission", "function", "before", "after", "why"],
                                    *([c.submission, c.function, c.before, c.after, c.why]
                                      for c in regrading.changes)])
