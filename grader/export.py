"""Grades into a gradebook: Canvas and Moodle import files from results folders and a roster.

Inputs
------
*Results folders*, each written by ``bptt-grader grade ASSIGNMENT ... --out DIR``:
every ``<name>.json`` there (Gradescope's ``results.json`` form, with
``extra_data.assignment`` and, since batch integrity, ``extra_data.source.path``,
the submission's path below the folder graded) is one submission's grade.

A *roster* CSV, a row per student (header names are matched ignoring case,
spaces and underscores, so Canvas' own gradebook export works as a roster once
a ``submission`` column is added)::

    student,id,sis_user_id,sis_login_id,section,email,submission
    "Lovelace, Ada",1001,S1001,ada,Section 1,ada@example.edu,ada*

``student`` and ``submission`` are required, the others optional (Canvas
matches a row by ``ID``, ``SIS User ID`` or ``SIS Login ID``; Moodle by the
column ``--moodle-id`` names, ``email`` by default). ``submission`` is a glob
(``*``, ``?``, ``[...]``, matched ignoring case) naming the student's
submission: see :func:`submission_names` for what it is matched against.
Several patterns: several rows for the same student (same ``id``, else
``sis_user_id``, ``sis_login_id``, ``email``, ``student``).

Nothing is dropped silently: a submission no student matches, one several
students match, a student with no submission (an empty cell, not a 0), a
student with several, a result with an internal error of the grader: each is
a :class:`Export` problem, which the command prints on stderr and writes to a
report file (exit status 1). With ``missing_as_zero`` a student with no
submission gets 0, as asked: a *note* (printed and reported, exit status 0).

Everything here is a pure function of its inputs but :func:`read_roster`,
:func:`read_results_folder` and :func:`write_csv_rows`.
"""

from __future__ import annotations

import csv
import fnmatch
import io
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

#: Canvas' identity columns, in the order of its gradebook export (and import).
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
#: The first cell of Canvas' second row, whose assignment cells are the points possible.
POINTS_POSSIBLE = "Points Possible"
#: Roster columns, by their normalised header.
ROSTER_COLUMNS = ("student", "id", "sis_user_id", "sis_login_id", "section", "email", "submission")


class ExportError(ValueError):
    """An input that cannot be exported at all (a roster without the required columns, ...)."""


@dataclass(frozen=True)
class Student:
    """One roster student (every field text, ``""`` when the roster has none)."""

    name: str
    id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    patterns: tuple[str, ...] = ()
    #: every roster column, normalised header -> value (for ``--moodle-id`` on any column)
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """What identifies the student: the first of id, sis_user_id, sis_login_id, email, name that is set."""
        return next(v for v in (self.id, self.sis_user_id, self.sis_login_id, self.email, self.name, "?") if v)

    def column(self, name: str) -> str:
        """The value of roster column ``name`` (normalised header)."""
        return dict(self.extra).get(_normalise(name), "")

    def __str__(self) -> str:
        return f"{self.name} ({self.key})" if self.key != self.name else self.name


@dataclass(frozen=True)
class Result:
    """One submission's grade, from a results file."""

    assignment: str
    score: float
    max_score: float
    #: how reports name it: its source path below the folder graded, else its results file's name
    label: str
    file: Path
    per_function: tuple[tuple[str, float], ...] = ()
    #: internal errors of the grader: the submission was not really graded
    internal_errors: tuple[str, ...] = ()

    def function_score(self, function: str) -> float:
        return dict(self.per_function).get(function, 0.0)


@dataclass(frozen=True)
class Column:
    """A grade column: an assignment's total, or one of its functions (``function`` set)."""

    assignment: str
    header: str
    points: float
    function: str | None = None


@dataclass
class Export:
    """The grades to write: the columns, a row per roster student, and what did not fit."""

    columns: list[Column]
    students: list[Student]
    #: student key -> column header -> score (absent: no grade; an empty cell)
    grades: dict[str, dict[str, float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: what was done as asked, said but not a problem (a missing submission as 0, with ``missing_as_zero``)
    notes: list[str] = field(default_factory=list)

    def cell(self, student: Student, column: Column) -> float | None:
        return self.grades.get(student.key, {}).get(column.header)


# -- reading ---------------------------------------------------------------------------------------

def _normalise(header: str) -> str:
    return "_".join(header.strip().lower().replace("_", " ").split())


def parse_roster(text: str, origin: str = "roster") -> list[Student]:
    """The students of a roster CSV (see the module's documentation); raises :class:`ExportError`.

    Rows for the same student (same :attr:`Student.key`) are merged, their submission patterns
    added up; two rows with the same key that disagree on another field are an error. A Canvas
    ``Points Possible`` row and blank rows are skipped.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [_normalise(h) for h in next(reader)]
    except StopIteration:
        raise ExportError(f"{origin} is empty") from None
    missing = [c for c in ("student", "submission") if c not in header]
    if missing:
        raise ExportError(f"{origin} has no column {' or '.join(missing)} (its columns: {', '.join(header)}); "
                          f"the columns are {', '.join(ROSTER_COLUMNS)}")
    merged: dict[str, Student] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
        if values["student"].startswith(POINTS_POSSIBLE) and not values.get("id"):
            continue  # Canvas' second row, in a gradebook export used as a roster
        if not values["student"]:
            raise ExportError(f"{origin}, line {line}: no student name")
        patterns = tuple(p for p in [values["submission"]] if p)
        student = Student(name=values["student"], id=values.get("id", ""), sis_user_id=values.get("sis_user_id", ""),
                          sis_login_id=values.get("sis_login_id", ""), section=values.get("section", ""),
                          email=values.get("email", ""), patterns=patterns,
                          extra=tuple((h, v) for h, v in values.items() if h != "submission"))
        known = merged.get(student.key)
        if known is None:
            merged[student.key] = student
        elif known.extra != student.extra:
            raise ExportError(f"{origin}, line {line}: {student.key} is on an earlier line with other details")
        else:
            merged[student.key] = replace(known, patterns=known.patterns + patterns)
    return list(merged.values())


def read_roster(path: Path) -> list[Student]:
    """:func:`parse_roster` of the file at ``path`` (UTF-8, a byte-order mark allowed)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ExportError(f"cannot read the roster {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ExportError(f"the roster {path} is not UTF-8 text (save it as CSV UTF-8)") from None
    return parse_roster(text, str(path))


def result_from_json(data: dict[str, Any], file: Path) -> Result:
    """A :class:`Result` from the JSON of one results file (:func:`grader.report.results_json`)."""
    extra = data.get("extra_data", {})
    source = extra.get("source") or {}
    per: dict[str, float] = {}
    for t in data.get("tests", []):
        per[t["function"]] = per.get(t["function"], 0.0) + float(t["score"])
    return Result(assignment=str(extra.get("assignment", "")), score=float(data["score"]),
                  max_score=float(data["max_score"]), label=str(source.get("path") or file.name), file=file,
                  per_function=tuple(per.items()), internal_errors=tuple(data.get("internal_errors") or ()))


def read_results_folder(folder: Path) -> tuple[list[Result], list[str]]:
    """The results in ``folder`` (its ``*.json`` files), and the problems met (files that are not results)."""
    from grader.report import read_results

    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder (give the folders bptt-grader grade --out wrote)")
    results, problems = [], []
    for path in sorted(folder.glob("*.json")):
        data = read_results(path)
        if data is None:
            problems.append(f"{path}: not a complete bptt-grader results file: skipped")
            continue
        try:
            results.append(result_from_json(data, path))
        except (KeyError, TypeError, ValueError) as e:
            problems.append(f"{path}: unreadable results ({type(e).__name__}: {e}): skipped")
    if not results:
        problems.append(f"{folder}: no results files (<name>.json) found")
    return results, problems


# -- matching --------------------------------------------------------------------------------------

def submission_names(result: Result) -> set[str]:
    """What a roster pattern is matched against, for one result (each in lower case).

    Its path below the folder graded (``alice/hw.ipynb``), the file's name (``hw.ipynb``) and stem
    (``hw``), each folder on that path (``alice``), and the results file's stem (``alice-hw``).
    """
    path = PurePosixPath(result.label)
    names = {str(path), path.name, path.stem, *path.parts[:-1], result.file.stem}
    return {n.lower() for n in names if n and n != "."}


def matches(pattern: str, result: Result) -> bool:
    """Whether roster pattern ``pattern`` names ``result``: a pattern with ``/`` is matched against the
    whole path, any other against each of :func:`submission_names`; ignoring case."""
    pattern = pattern.lower()
    if "/" in pattern:
        return fnmatch.fnmatchcase(str(PurePosixPath(result.label)).lower(), pattern)
    return any(fnmatch.fnmatchcase(name, pattern) for name in submission_names(result))


def default_header(assignment: str) -> str:
    """An assignment's column header: its name (Canvas makes a new assignment of a header without ``(id)``)."""
    return assignment


def columns_for(assignments: list[str], headers: dict[str, str] | None = None,
                per_function: bool = False) -> list[Column]:
    """The grade columns: per assignment its total (header from ``headers``, else its name), and with
    ``per_function`` a column per function (``britz: delta_o``) after it. Points from the declarations."""
    from grader.assignments import get

    headers = headers or {}
    columns = []
    for name in assignments:
        a = get(name)
        columns.append(Column(name, headers.get(name, default_header(name)), a.points))
        if per_function:
            for q in a.questions:
                columns.append(Column(name, f"{name}: {q.function}", q.points + sum(b.points for b in q.behaviours),
                                      q.function))
    return columns


def build_export(students: list[Student], results: list[Result], headers: dict[str, str] | None = None,
                 per_function: bool = False, missing_as_zero: bool = False,
                 assignments: list[str] | None = None) -> Export:
    """Match ``results`` to ``students`` and lay out the grades (nothing is written).

    ``assignments``: the columns' assignments, in order (default: those of the results, in the order
    of :data:`grader.assignments.NAMES`). A result is a student's when one of the student's patterns
    :func:`matches` it. What cannot be placed is a problem, never a silent loss:

    - a result no student matches, or several students match (exported for none of them);
    - a student with no result for an assignment (an empty cell; ``0`` with ``missing_as_zero``, a note then);
    - a student whose patterns match several results of one assignment (an empty cell: which one counts
      is yours to say);
    - a result with an internal error of the grader (not a grade: empty, grade it again with ``--resume``);
    - a result whose maximum differs from the assignment's points (exported, and said).
    """
    from grader.assignments import NAMES, UnknownAssignment, get

    problems: list[str] = []
    known = []
    for r in results:
        try:
            get(r.assignment)
            known.append(r)
        except UnknownAssignment:
            problems.append(f"{r.file}: unknown assignment {r.assignment!r}: skipped")
    if assignments is None:  # the bundled assignments in teaching order, then any other (a course's own)
        present = {r.assignment for r in known}
        assignments = [n for n in NAMES if n in present] + sorted(present - set(NAMES))
    columns = columns_for(assignments, headers, per_function)
    export = Export(columns=columns, students=list(students), problems=problems)
    for student in students:
        if not student.patterns:
            problems.append(f"roster: {student} has no submission pattern: every cell is empty")
    owners = {i: [s for s in students if any(matches(p, r) for p in s.patterns)] for i, r in enumerate(known)}
    for name in assignments:
        mine = [(i, r) for i, r in enumerate(known) if r.assignment == name]
        _check_results(name, get(name).points, mine, owners, problems)
        for student in students:
            _fill_cells(export, name, student, mine, owners, known, missing_as_zero)
    return export


def _check_results(name: str, points: float, mine: list[tuple[int, Result]], owners: dict[int, list[Student]],
                   problems: list[str]) -> None:
    """The problems of one assignment's results: matching no student, several, or out of other points."""
    for i, r in mine:
        if not owners[i]:
            problems.append(f"{name}: {r.label} matches no student in the roster: not exported")
        elif len(owners[i]) > 1:
            problems.append(f"{name}: {r.label} matches several students ("
                            f"{', '.join(map(str, owners[i]))}): exported for none of them")
        if abs(r.max_score - points) > 1e-9 and not r.internal_errors:
            problems.append(f"{name}: {r.label} is out of {r.max_score:g} points, the assignment of "
                            f"{points:g}: exported as it is")


def _fill_cells(export: Export, name: str, student: Student, mine: list[tuple[int, Result]],
                owners: dict[int, list[Student]], known: list[Result], missing_as_zero: bool) -> None:
    """One student's cells of one assignment (or the problem that leaves them empty)."""
    problems = export.problems
    theirs = [i for i, _ in mine if student in owners[i]]
    cells = export.grades.setdefault(student.key, {})
    own_columns = [c for c in export.columns if c.assignment == name]
    if len(theirs) > 1:
        problems.append(f"{name}: {student} matches several submissions ("
                        f"{', '.join(known[i].label for i in theirs)}): cell left empty")
        return
    if not theirs:
        if student.patterns and missing_as_zero:
            export.notes.append(f"{name}: no submission for {student}: 0 (--missing-as-zero)")
        elif student.patterns:
            problems.append(f"{name}: no submission for {student}: an empty cell")
        if missing_as_zero:
            for c in own_columns:
                cells[c.header] = 0.0
        return
    if len(owners[theirs[0]]) > 1:
        return  # a submission several students match: said above, exported for none
    r = known[theirs[0]]
    if r.internal_errors:
        problems.append(f"{name}: {r.label} ({student}) was not graded (an internal error of the grader: "
                        "grade it again with --resume): cell left empty")
        return
    for c in own_columns:
        cells[c.header] = r.score if c.function is None else r.function_score(c.function)


# -- writing ---------------------------------------------------------------------------------------

def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def canvas_rows(export: Export) -> list[list[str]]:
    """Canvas' gradebook import CSV: the identity columns, a column per grade column; a second row
    ``Points Possible`` with each column's points (its identity cells blank); then a row per student."""
    rows = [[*CANVAS_IDENTITY, *(c.header for c in export.columns)],
            [POINTS_POSSIBLE, "", "", "", "", *(_number(c.points) for c in export.columns)]]
    for s in export.students:
        rows.append([s.name, s.id, s.sis_user_id, s.sis_login_id, s.section,
                     *(_number(export.cell(s, c)) for c in export.columns)])
    return rows


def moodle_rows(export: Export, identifier: str = "email") -> tuple[list[list[str]], list[str]]:
    """Moodle's grade import CSV: the identifier column (roster column ``identifier``: ``email``,
    ``sis_user_id`` as Moodle's ID number, ...) then a column per grade column; and the students left
    out because they have no identifier (problems to report)."""
    key = _normalise(identifier)
    rows = [[key, *(c.header for c in export.columns)]]
    left_out = []
    for s in export.students:
        value = s.column(key)
        if not value:
            left_out.append(f"moodle: {s} has no {key} in the roster: left out of the Moodle file")
            continue
        rows.append([value, *(_number(export.cell(s, c)) for c in export.columns)])
    return rows, left_out


def csv_text(rows: list[list[str]]) -> str:
    """``rows`` as CSV text; a text cell a spreadsheet would take as a formula is prefixed with ``'``
    (:func:`grader.report.csv_cell`), numbers (``-1.5``, written by :func:`canvas_rows`) are kept."""
    from grader.report import csv_cell

    def cell(value: str) -> str:
        try:
            float(value)
            return value
        except ValueError:
            return csv_cell(value)

    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def write_csv_rows(path: Path, rows: list[list[str]]) -> None:
    """Write ``rows`` (:func:`csv_text`) to ``path``, whole or not at all."""
    from grader.report import write_atomic

    write_atomic(path, csv_text(rows))


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def report_text(export: Export, problems: list[str], written: list[Path]) -> str:
    """The export's report: what was written, for whom, and every problem (one per line)."""
    graded = sum(1 for s in export.students if export.grades.get(s.key))
    lines = [f"bptt-grader export: {len(export.students)} students on the roster, {graded} with a grade; "
             f"columns: {', '.join(c.header for c in export.columns) or 'none'}",
             *(f"wrote {p}" for p in written), ""]
    lines += [f"{_count(len(problems), 'problem')}:", *(f"  - {p}" for p in problems)] if problems else ["no problems"]
    if export.notes:
        lines += ["", f"{_count(len(export.notes), 'note')} (as asked, not problems):",
                  *(f"  - {n}" for n in export.notes)]
    return "\n".join(lines) + "\n"


def parse_headers(items: list[str]) -> dict[str, str]:
    """``--canvas-column ASSIGNMENT=HEADER`` options as a mapping; raises :class:`ExportError`."""
    from grader.assignments import get

    out = {}
    for item in items:
        name, sep, header = item.partition("=")
        if not sep or not header.strip() or not name.strip():
            raise ExportError(f"--canvas-column takes ASSIGNMENT=HEADER, not {item!r}")
        try:
            get(name.strip())
        except (KeyError, ValueError) as e:  # UnknownAssignment is a KeyError
            raise ExportError(f"--canvas-column {item!r}: {e}") from None
        out[name.strip()] = header.strip()
    return out
