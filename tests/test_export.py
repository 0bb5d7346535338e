"""bptt-grader export: Canvas' and Moodle's import files from results folders and a roster; nothing dropped
silently (unmatched, ambiguous, missing, not graded: all reported); docs/gradebook.md run as written."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from docs_pages import blocks, fresh_clone, run_page

from grader import cli, export
from grader.assignments import get
from grader.report import results_json
from grader.results import CheckResult, Grade

ROOT = Path(__file__).resolve().parent.parent
ROSTER = """student,id,sis_user_id,sis_login_id,section,email,submission
"Lovelace, Ada",1001,S1001,ada,Section 1,ada@example.edu,ada
"Babbage, Charles",1002,S1002,charles,Section 1,charles@example.edu,charles_*
"Hopper, Grace",1003,S1003,grace,Section 2,,grace-hw
"Turing, Alan",1004,S1004,alan,Section 2,alan@example.edu,alan*
"""


def parse_canvas(text: str) -> dict:
    """Read a Canvas gradebook import CSV as Canvas does: the header (identity columns, then an assignment
    per column), the ``Points Possible`` row (blank identity cells, points under the assignments), then a row
    per student, cells as numbers or blank."""
    rows = list(csv.reader(io.StringIO(text)))
    header, points, students = rows[0], rows[1], rows[2:]
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert points[0] == "Points Possible" and points[1:5] == ["", "", "", ""]
    assert all(len(r) == len(header) for r in rows)
    columns = header[5:]
    out = {"columns": columns, "points": dict(zip(columns, map(float, points[5:]))), "students": {}}
    for r in students:
        out["students"][r[1]] = {"name": r[0], "sis_user_id": r[2], "sis_login_id": r[3], "section": r[4],
                                 **{c: (float(v) if v != "" else None) for c, v in zip(columns, r[5:])}}
    return out


def result(assignment: str, path: str, scores: dict[str, float], internal: bool = False) -> dict:
    """A results file's JSON, as bptt-grader grade writes it (:func:`grader.report.results_json`)."""
    a = get(assignment)
    checks = []
    for q in a.questions:
        top = q.points + sum(b.points for b in q.behaviours)
        got = scores.get(q.function, 0)
        checks.append(CheckResult(q.function, "derivative", got, True))
        if top - got:
            checks.append(CheckResult(q.function, "contract", top - got, False, "wrong"))
    g = Grade(submission=Path(path).stem, assignment=assignment, checks=checks)
    if internal:
        g.internal_errors = ["the worker's reply could not be read"]
    return results_json(g, a, source={"path": path, "sha256": "0" * 64})


def write_results(folder: Path, items: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in items.items():
        (folder / f"{name}.json").write_text(json.dumps(data))
    return folder


@pytest.fixture
def britz(tmp_path) -> Path:
    return write_results(tmp_path / "results" / "britz", {
        "ada-hw": result("britz", "ada/hw.ipynb", {"delta_o": 1, "delta_t": 1, "delta_t_prev": 1, "bptt": 4}),
        "charles_hw3": result("britz", "charles_hw3.ipynb", {"delta_o": 1, "bptt": 4}),
        "grace-hw": result("britz", "grace-hw.py", {"delta_o": 0.75, "delta_t": 1}),
        "mallory": result("britz", "mallory.ipynb", {"bptt": 4}),  # on no roster
    })


def test_canvas_file_has_canvas_header_points_row_and_values(britz, tmp_path):
    students = export.parse_roster(ROSTER)
    results, problems = export.read_results_folder(britz)
    assert problems == []
    table = export.build_export(students, results)
    canvas = parse_canvas(export.csv_text(export.canvas_rows(table)))
    assert canvas["columns"] == ["britz"] and canvas["points"] == {"britz": 7}
    s = canvas["students"]
    assert s["1001"] == {"name": "Lovelace, Ada", "sis_user_id": "S1001", "sis_login_id": "ada",
                         "section": "Section 1", "britz": 7}  # matched by its folder
    assert s["1002"]["britz"] == 5  # by a file-name glob
    assert s["1003"]["britz"] == 1.75  # by the results file's name
    assert s["1004"]["britz"] is None  # no submission: an empty cell, not 0
    assert "britz: no submission for Turing, Alan (1004): an empty cell" in table.problems
    assert "britz: mallory.ipynb matches no student in the roster: not exported" in table.problems
    zero = export.build_export(students, results, missing_as_zero=True)
    assert parse_canvas(export.csv_text(export.canvas_rows(zero)))["students"]["1004"]["britz"] == 0
    # asked for: a note, not a problem (the command's exit status stays 0 for it)
    assert zero.notes == ["britz: no submission for Turing, Alan (1004): 0 (--missing-as-zero)"]
    assert not any("Turing" in p for p in zero.problems)
    assert "1 note (as asked, not problems):\n  - britz: no submission for Turing" in export.report_text(zero, [], [])


def test_per_function_columns_and_existing_canvas_assignments(britz):
    table = export.build_export(export.parse_roster(ROSTER), export.read_results_folder(britz)[0],
                                headers={"britz": "BPTT britz (12345)"}, per_function=True)
    canvas = parse_canvas(export.csv_text(export.canvas_rows(table)))
    assert canvas["columns"] == ["BPTT britz (12345)", "britz: delta_o", "britz: delta_t", "britz: delta_t_prev",
                                 "britz: bptt"]
    assert canvas["points"] == {"BPTT britz (12345)": 7, "britz: delta_o": 1, "britz: delta_t": 1,
                                "britz: delta_t_prev": 1, "britz: bptt": 4}
    grace = canvas["students"]["1003"]
    assert (grace["britz: delta_o"], grace["britz: delta_t"], grace["britz: bptt"]) == (0.75, 1, 0)


def test_moodle_file_identifies_students_by_a_roster_column(britz):
    table = export.build_export(export.parse_roster(ROSTER), export.read_results_folder(britz)[0])
    rows, left_out = export.moodle_rows(table)
    assert rows == [["email", "britz"], ["ada@example.edu", "7"], ["charles@example.edu", "5"],
                    ["alan@example.edu", ""]]
    assert left_out == ["moodle: Hopper, Grace (1003) has no email in the roster: left out of the Moodle file"]
    by_id, _ = export.moodle_rows(table, "sis_user_id")  # Moodle's ID number
    assert by_id[0] == ["sis_user_id", "britz"] and by_id[3] == ["S1003", "1.75"]


def test_ambiguous_and_ungraded_submissions_are_reported_and_exported_for_no_one(tmp_path):
    folder = write_results(tmp_path / "britz", {
        "ann": result("britz", "ann.ipynb", {"bptt": 4}),
        "ann2": result("britz", "ann2.ipynb", {"bptt": 2}),
        "shared": result("britz", "shared.ipynb", {"bptt": 4}),
        "bob": result("britz", "bob.ipynb", {"bptt": 4}, internal=True),
    })
    roster = ("student,id,submission\nAnn,1,ann*\nBob,2,bob\nCat,3,shared\nDan,4,shared\n"
              "Eve,5,\n")
    table = export.build_export(export.parse_roster(roster), export.read_results_folder(folder)[0],
                                missing_as_zero=True)
    cells = {s.name: table.cell(s, table.columns[0]) for s in table.students}
    assert cells == {"Ann": None, "Bob": None, "Cat": None, "Dan": None, "Eve": 0}
    text = "\n".join(table.problems)
    assert "britz: Ann (1) matches several submissions (ann.ipynb, ann2.ipynb): cell left empty" in text
    assert "britz: shared.ipynb matches several students (Cat (3), Dan (4)): exported for none of them" in text
    assert "britz: bob.ipynb (Bob (2)) was not graded (an internal error of the grader" in text
    assert "roster: Eve (5) has no submission pattern" in text


def test_a_canvas_export_works_as_a_roster():
    canvas_export = ("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (87568490),Submission\n"
                     "    Points Possible,,,,,10,\n"
                     '"Lovelace, Ada",1001,S1001,ada,Section 1,9,ada\n'
                     '"Lovelace, Ada",1001,S1001,ada,Section 1,9,lovelace*\n')  # a second pattern
    (ada,) = export.parse_roster("\ufeff" + canvas_export)
    assert (ada.name, ada.id, ada.sis_user_id, ada.sis_login_id, ada.section) == ("Lovelace, Ada", "1001", "S1001",
                                                                                   "ada", "Section 1")
    assert ada.patterns == ("ada", "lovelace*")
    with pytest.raises(export.ExportError, match="no column submission"):
        export.parse_roster("student,id\nAda,1\n")
    with pytest.raises(export.ExportError, match="on an earlier line with other details"):
        export.parse_roster("student,id,submission\nAda,1,a\nAdam,1,b\n")


def test_matching_rules():
    r = export.Result("britz", 7, 7, "section1/alice/hw.ipynb", Path("section1-alice-hw.json"))
    assert export.submission_names(r) == {"section1/alice/hw.ipynb", "hw.ipynb", "hw", "section1", "alice",
                                          "section1-alice-hw"}
    assert export.matches("ALICE", r) and export.matches("*alice-hw", r) and export.matches("section1/alice/*", r)
    assert not export.matches("ali", r) and not export.matches("alice/*", r)  # a path pattern: the whole path


def test_the_command_writes_both_files_and_reports_problems(britz, tmp_path, capsys):
    (tmp_path / "roster.csv").write_text(ROSTER)
    (britz / "summary.json").write_text("{}")  # a JSON that is no result: said, not silently skipped
    code = cli.main(["export", str(britz), "--roster", str(tmp_path / "roster.csv"), "--canvas",
                     str(tmp_path / "canvas.csv"), "--moodle", str(tmp_path / "moodle.csv"), "--per-function"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 1  # written, with problems
    assert "no submission for Turing, Alan (1004)" in err and "mallory.ipynb matches no student" in err
    assert "summary.json: not a complete bptt-grader results file: skipped" in err
    report = (tmp_path / "canvas-report.txt").read_text()
    assert "no submission for Turing, Alan (1004)" in report and "mallory.ipynb matches no student" in report
    assert "has no email in the roster" in report  # Grace, from the Moodle file
    assert parse_canvas((tmp_path / "canvas.csv").read_text())["students"]["1001"]["britz: bptt"] == 4
    assert (tmp_path / "moodle.csv").read_text().splitlines()[0] == \
        "email,britz,britz: delta_o,britz: delta_t,britz: delta_t_prev,britz: bptt"
    assert cli.main(["export", str(britz), "--roster", str(tmp_path / "roster.csv")]) == 2  # nothing to write
    assert cli.main(["export", str(tmp_path / "nowhere"), "--roster", str(tmp_path / "roster.csv"),
                     "--canvas", str(tmp_path / "c.csv")]) == 2


def test_cells_cannot_start_a_formula():
    roster = 'student,id,submission\n"=HYPERLINK(""http://x"")",1,a\n'
    table = export.build_export(export.parse_roster(roster), [])
    text = export.csv_text(export.canvas_rows(table))
    assert "\n'=HYPERLINK" in text.replace("\r\n", "\n").replace('"', "")


def test_the_gradebook_page_as_written(tmp_path):
    """docs/gradebook.md's sh blocks, as a reader runs them (in order, in one shell, from a fresh clone)."""
    outputs = [out for out, _ in run_page("gradebook.md", fresh_clone(tmp_path))]
    canvas, moodle, report, note = blocks("gradebook.md", "text")[:4]
    assert canvas + moodle in outputs[1]  # the page shows what the commands write
    assert parse_canvas(canvas)["students"]["1003"]["britz"] == 6.75
    assert "exit status 1" in outputs[2] and report in outputs[2]
    assert outputs[3] == note  # --missing-as-zero: a note, exit status 0 (the shell stops at a failure)
    assert parse_canvas((tmp_path / "canvas.csv").read_text())["students"]["1004"]["britz"] == 0
