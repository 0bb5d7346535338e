"""Regrading that says what changed: each result records what graded it, ``--resume`` regrades what a
change of the reference, the catalogue, the assignment or the options affects, and ``changes.txt`` /
``changes.csv`` list every score that moved, with the part that changed.

The class is graded with a copy of the solutions in a scratch folder; the copy is edited, and the class
graded again with ``--resume --solutions`` pointing at it.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from grader import assignments, cli, regrade

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "solutions" / "examples" / "britz"
CLASS = ("correct", "partial", "transposed_w")
FAST = ["--examples", "5", "--sandbox", "none", "--jobs", "2"]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "solutions" / "britz", tmp_path / "solutions" / "britz",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "class").mkdir()
    for name in CLASS:
        (source,) = EXAMPLES.glob(f"{name}.*")
        shutil.copy(source, tmp_path / "class" / source.name)
    return tmp_path


def grade(course: Path, *extra: str) -> int:
    return cli.main(["grade", "britz", str(course / "class"), "--out", str(course / "out"),
                     "--solutions", str(course / "solutions"), *FAST, *extra])


def grades(course: Path) -> dict[tuple[str, str], float]:
    with open(course / "out" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {(r["submission"], k): float(v) for r in rows for k, v in r.items()
            if k not in ("submission", "score", "max_score")}


def changes(course: Path) -> list[dict[str, str]]:
    with open(course / "out" / "changes.csv", newline="") as f:
        return list(csv.DictReader(f))


def statuses(capsys) -> str:
    return " ".join(capsys.readouterr().err.split())


def test_each_result_records_what_graded_it(course):
    assert grade(course) == 0
    data = json.loads((course / "out" / "partial.json").read_text())
    fp = data["extra_data"]["graded_with"]
    assert set(fp) == set(regrade.PARTS)
    assert fp["reference"] == regrade.file_digest(course / "solutions" / "britz" / "reference.py")
    assert fp["misconceptions"] == regrade.file_digest(course / "solutions" / "britz" / "misconceptions.py")
    assert fp["assignment"] == regrade.file_digest(ROOT / "grader" / "assignments" / "britz.py")
    assert fp["options"] == {"examples": 5, "allow_numerical": False}
    assert not (course / "out" / "changes.txt").exists()  # a first grading: nothing to compare with


def test_nothing_changed_nothing_regraded(course, capsys):
    assert grade(course) == 0
    assert grade(course, "--resume") == 0
    assert "graded 0, kept 3 (--resume)" in statuses(capsys)
    text = (course / "out" / "changes.txt").read_text()
    assert "Graded again: 0; kept (--resume): 3" in text and "Scores that moved: 0 (none)" in text
    assert changes(course) == []


def test_a_changed_reference_regrades_and_every_moved_score_is_listed(course, capsys):
    assert grade(course) == 0
    before = grades(course)
    reference = course / "solutions" / "britz" / "reference.py"
    text = reference.read_text()
    assert "    return W.T @ delta_t" in text
    reference.write_text(text.replace("    return W.T @ delta_t", "    return W @ delta_t"))  # a wrong reference
    capsys.readouterr()
    assert grade(course, "--resume") == 0
    assert "graded 3 of 3 submissions" in statuses(capsys)  # every result: its fingerprint differs
    after = grades(course)
    moved = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert moved, "a wrong reference moved no score"
    rows = changes(course)
    assert {(r["submission"], r["function"]): (float(r["before"]), float(r["after"])) for r in rows} == moved
    assert {r["why"] for r in rows} == {"the reference solution (reference.py) changed"}
    # the one whose W @ delta_t the reference now agrees with gains its reference quarter
    assert moved[("transposed_w", "delta_t_prev")] == (0.0, 0.25)
    assert moved[("correct", "delta_t_prev")] == (1.0, 0.75)
    report = (course / "out" / "changes.txt").read_text()
    assert "3  the reference solution (reference.py) changed" in report
    assert f"Scores that moved: {len(moved)}" in report
    assert "transposed_w delta_t_prev 0 0.25 the reference solution (reference.py) changed" in " ".join(report.split())
    # and once more: nothing left to regrade
    assert grade(course, "--resume") == 0
    assert changes(course) == [] and "graded 0, kept 3" in statuses(capsys)


def test_a_changed_catalogue_regrades_and_names_the_diagnoses_that_changed(course):
    assert grade(course) == 0
    catalogue = course / "solutions" / "britz" / "misconceptions.py"
    text = catalogue.read_text()
    start, end = text.index('@mistake("britz-transposed-w"'), text.index('@mistake("britz-tanh-derivative-wrong-step"')
    catalogue.write_text(text[:start] + text[end:])  # the mistake transposed_w makes is no longer catalogued
    assert grade(course, "--resume") == 0
    report = (course / "out" / "changes.txt").read_text()
    assert "Graded again: 3; kept (--resume): 0" in report
    assert "3  the misconception catalogue (misconceptions.py) changed" in report
    assert "Scores that moved: 0 (none)" in report  # a diagnosis earns no points
    assert "transposed_w  delta_t_prev: derivative  britz-transposed-w  (none)" in report
    data = json.loads((course / "out" / "transposed_w.json").read_text())
    assert "britz-transposed-w" not in json.dumps(data)


def test_changed_options_and_a_result_of_an_older_grader_are_regraded(course, capsys):
    assert grade(course) == 0
    old = json.loads((course / "out" / "partial.json").read_text())
    del old["extra_data"]["graded_with"]  # as a grader before fingerprints wrote it
    (course / "out" / "partial.json").write_text(json.dumps(old))
    assert grade(course, "--resume") == 0
    assert "graded 1, kept 2 (--resume)" in statuses(capsys)
    assert "1  the earlier result records no fingerprint" in (course / "out" / "changes.txt").read_text()
    assert cli.main(["grade", "britz", str(course / "class"), "--out", str(course / "out"), "--solutions",
                     str(course / "solutions"), "--examples", "6", "--sandbox", "none", "--jobs", "2",
                     "--resume"]) == 0
    assert "3  the grading options changed (examples 5 -> 6)" in (course / "out" / "changes.txt").read_text()


def test_a_changed_assignment_declaration_regrades(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(assignments, "_added", [])
    monkeypatch.delenv(assignments.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["new", "tanh_layer", "--course", "course"]) == 0
    (tmp_path / "subs").mkdir()
    shutil.copy(tmp_path / "course" / "solutions" / "tanh_layer" / "reference.py", tmp_path / "subs" / "mine.py")
    argv = ["grade", "tanh_layer", "subs", "--out", "out", "--assignments", "course", "--sandbox", "none",
            "--jobs", "1"]
    assert cli.main(argv) == 0
    with open(tmp_path / "course" / "tanh_layer" / "assignment.py", "a") as f:
        f.write("\n# the instructor edits the declaration\n")
    capsys.readouterr()
    assert cli.main([*argv, "--resume"]) == 0
    assert "graded 1 of 1" in statuses(capsys)
    assert "1  the assignment's declaration changed" in (tmp_path / "out" / "changes.txt").read_text()


def test_grading_again_without_resume_also_reports_and_a_new_folder_has_no_stale_report(course):
    assert grade(course) == 0
    (course / "class" / "partial.ipynb").write_bytes((EXAMPLES / "correct.ipynb").read_bytes())  # resubmitted
    assert grade(course) == 0  # no --resume: everything graded again, compared with what was there
    rows = changes(course)
    assert rows and {r["submission"] for r in rows} == {"partial"}
    assert {r["why"] for r in rows} == {"the submission changed"}
    text = (course / "out" / "changes.txt").read_text()
    assert "2  graded again (the same submission, grader and solutions)" in text
    for stale in ("changes.txt", "changes.csv"):  # a fresh folder: the stale pair of another run is removed
        (course / "fresh").mkdir(exist_ok=True)
        (course / "fresh" / stale).write_text("stale\n")
    assert cli.main(["grade", "britz", str(course / "class"), "--out", str(course / "fresh"), "--solutions",
                     str(course / "solutions"), *FAST]) == 0
    assert not (course / "fresh" / "changes.txt").exists() and not (course / "fresh" / "changes.csv").exists()


def test_the_reasons_name_each_part():
    base = {"grader": "0.1.0", "grader_code": "sha256:a", "assignment": "sha256:b", "reference": "sha256:c",
            "misconceptions": "sha256:d", "options": {"examples": None, "allow_numerical": False}}
    assert regrade.fingerprint_changes(base, dict(base)) == []
    assert regrade.fingerprint_changes(base, {**base, "grader": "0.2.0"}) == ["the grader's version changed "
                                                                              "(0.1.0 -> 0.2.0)"]
    assert regrade.fingerprint_changes(base, {**base, "grader_code": "sha256:z"}) == ["the grader's code changed"]
    assert regrade.fingerprint_changes(base, {**base, "misconceptions": None}) == [
        "the misconception catalogue (misconceptions.py) was removed"]
    assert regrade.fingerprint_changes(base, {**base, "options": {"examples": None, "allow_numerical": True}}) == [
        "the grading options changed (allow_numerical False -> True)"]
