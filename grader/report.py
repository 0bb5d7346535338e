"""Write grading results: Gradescope ``results.json``, ``grades.csv``, terminal text.

The JSON of a submission is a pure function of its grade (and the source it
was graded from), apart from ``execution_time``: grading twice gives the same
file otherwise. Every file is written whole or not at all, readable by others
as the umask allows (0644 with the usual umask), and the cells of a CSV cannot
start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grader.questions import Assignment
from grader.results import CheckResult, Grade

FORMAT = "bptt-grader/1"


def test_output(check: CheckResult) -> str:
    """What a student reads for one check."""
    if check.passed:
        return "passed" + (f"\n{check.message}" if check.message else "")  # how it was judged, where it matters
    text = check.message or "failed"
    m = check.misconception
    if m is not None:
        text += f"\n\nThis looks like a known mistake: {m.name}.\n{m.explanation}"
    return text


def results_json(grade: Grade, assignment: Assignment, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """The grade in Gradescope's ``results.json`` form (plus a ``function`` key per test).

    ``source``: the file graded, ``{"path": its path below the submissions' root, "sha256": of the bytes
    graded (None when none could be read)}``, kept as ``extra_data.source`` (what ``--resume`` compares).
    """
    tests = []
    for c in grade.checks:
        test: dict[str, Any] = {
            "name": c.name,
            "function": c.function,
            "check": c.check,
            "score": round(c.score, 6),
            "max_score": round(c.max_score, 6),
            "status": "passed" if c.passed else "failed",
            "output": test_output(c),
        }
        if not c.passed:
            test["extra_data"] = {"misconception": c.misconception.id if c.misconception else None,
                                  "findings": list(c.findings),
                                  **({"behaviour": c.behaviour, "answers": c.answers} if c.behaviour else {})}
        tests.append(test)
    lines = [f"{assignment.title}: {grade.score:g} / {grade.max_score:g}"]
    if grade.problems:
        lines.append("Problems while reading or running the submission:")
        lines += [f"  - {p}" for p in grade.problems]
    return {
        "score": round(grade.score, 6),
        "max_score": round(grade.max_score, 6),
        "output": "\n".join(lines),
        "tests": tests,
        "execution_time": round(grade.seconds, 3),
        "sandbox": grade.sandbox,
        "internal_errors": list(grade.internal_errors),
        "extra_data": {"format": FORMAT, "assignment": assignment.name, "submission": grade.submission,
                       "problems": grade.problems, **({"source": dict(source)} if source is not None else {})},
    }


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` is either absent or complete, even if the grader is killed.

    The file gets mode ``0o666`` less the umask, as ``open()`` would give it (not ``mkstemp``'s 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        # newline="": as given (a CSV's \r\n stays); a file name that is not UTF-8 (surrogates) is escaped
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(grade: Grade, assignment: Assignment, path: Path,
                  source: dict[str, Any] | None = None) -> dict[str, Any]:
    data = results_json(grade, assignment, source)
    write_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
    return data


def read_results(path: Path) -> dict[str, Any] | None:
    """A results file written by this grader, or ``None`` if absent or incomplete."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("extra_data", {}).get("format") != FORMAT:
        return None
    return data


#: What a spreadsheet takes as the start of a formula (or of a cell it rewrites): OWASP's list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell: a number as a number (``-1.5`` stays a number), text that a spreadsheet would take
    as a formula prefixed with ``'`` (as spreadsheet-safe exporters do), other text as it is."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, (int, float)):
        return f"{value:g}"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path: Path, rows: Iterable[Iterable[Any]]) -> None:
    """Write ``rows`` as CSV with :func:`csv_cell` cells, atomically (:func:`write_atomic`)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([csv_cell(v) for v in row] for row in rows)
    write_atomic(path, buffer.getvalue())


def write_grades_csv(rows: Iterable[dict[str, Any]], assignment: Assignment, path: Path) -> None:
    """A row per submission, a column per function (its points), then the total."""
    functions = [q.function for q in assignment.questions]
    lines: list[list[Any]] = [["submission", *functions, "score", "max_score"]]
    for data in sorted(rows, key=lambda d: d["extra_data"]["submission"]):
        per: dict[str, float] = dict.fromkeys(functions, 0.0)
        for t in data["tests"]:
            per[t["function"]] = per.get(t["function"], 0.0) + t["score"]
        lines.append([data["extra_data"]["submission"], *(per[f] for f in functions),
                      data["score"], data["max_score"]])
    write_csv(path, lines)


#: The checks of a single call (a behaviour's message is about a whole run, not one call).
_CALL_CHECKS = ("derivative", "reference", "contract")


def not_written(checks: list[CheckResult]) -> str | None:
    """Why every check of one function failed, when that is only that it is not written yet; else ``None``.

    Not written: on the smallest failing instance of each of its call checks, the function raised
    ``NotImplementedError`` (a skeleton), or the forward it needs first did (``rnn_step_forward,
    run first to make the cache, raised NotImplementedError``).
    """
    import re

    calls = [c for c in checks if c.check in _CALL_CHECKS]
    if not calls or any(c.passed for c in checks):
        return None
    own = re.compile(r"^raised NotImplementedError\b", re.M)
    forward = re.compile(r"^(\w+), run first to make the cache, raised NotImplementedError\b", re.M)
    if all(own.search(c.message) for c in calls):
        return "not written yet (raises NotImplementedError)"
    needs = {m.group(1) for c in calls if (m := forward.search(c.message))}
    if len(needs) == 1 and all(forward.search(c.message) for c in calls):
        return f"not checked yet: {needs.pop()}, which it needs first, is not written yet (raises NotImplementedError)"
    return None


def points_note(grade: Grade) -> str | None:
    """For a grade without reference checks (``check``): its points, and why ``grade`` may give others."""
    from fractions import Fraction

    from grader.results import SHARE, SHARE_WITHOUT_REFERENCE

    if not grade.checks or any(c.check == "reference" for c in grade.checks):
        return None

    def split(share: dict[str, float]) -> str:
        return ", ".join(f"{k} {Fraction(v).limit_denominator(64)}" for k, v in share.items())

    own: dict[str, float] = {}
    for c in grade.checks:
        if c.check in ("derivative", "contract"):
            own[c.check] = own.get(c.check, 0.0) + c.max_score
    total = sum(own.values())
    here = split({k: v / total for k, v in own.items()}) if total else split(SHARE_WITHOUT_REFERENCE)
    return (f"{grade.score:g} / {grade.max_score:g} points. No reference check here: each function's points are "
            f"split {here} (bptt-grader grade: {split(SHARE)}), so grade's score may differ.")


def text_report(grade: Grade, assignment: Assignment, show_points: bool = True) -> str:
    """Plain-text feedback for a terminal or a notebook.

    A function that is not written yet (:func:`not_written`) takes one line; without reference checks
    (``check``), a last paragraph gives the points and why ``grade`` may give others (:func:`points_note`).
    """
    import textwrap

    out = []
    head = f"{assignment.name}: {grade.submission}" if grade.submission else assignment.name
    if show_points:
        head += f"  {grade.score:g} / {grade.max_score:g}"
    out.append(head)
    for p in grade.problems:
        out.append(f"  ! {p}")
    functions: dict[str, list[CheckResult]] = {}
    for c in grade.checks:
        functions.setdefault(c.function, []).append(c)
    for function, checks in functions.items():
        why = not_written(checks)
        if why is not None:
            pts = f"  [0/{sum(c.max_score for c in checks):g}]" if show_points else ""
            out.append(f"  FAIL  {function}: {why}{pts}")
            continue
        for c in checks:
            mark = "PASS" if c.passed else "FAIL"
            pts = f"  [{c.score:g}/{c.max_score:g}]" if show_points else ""
            out.append(f"  {mark}  {c.name}{pts}")
            if not c.passed or c.message:
                out.extend("        " + line for line in test_output(c).splitlines()[0 if not c.passed else 1:])
    note = points_note(grade)
    if note is not None:
        out += ["", *textwrap.wrap(note, 100)]
    return "\n".join(out)
