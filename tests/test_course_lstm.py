"""The lstm course assignment (courses/bptt/): written through the authors' face alone, graded as a bundled one is."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader import assignments

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "courses" / "bptt"
PUBLIC = COURSE / "lstm"
EXAMPLES = COURSE / "solutions" / "examples" / "lstm"
COMMAND = str(Path(sys.executable).parent / "bptt-grader")


def bptt_grader(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The installed command, as an instructor types it, with no course folder but the ones it is given."""
    env = {k: v for k, v in os.environ.items() if k not in (assignments.ENV_VAR, "BPTT_GRADER_SOLUTIONS")}
    return subprocess.run([COMMAND, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture
def lstm(monkeypatch):
    monkeypatch.setattr(assignments, "_added", [])
    assignments.add_courses(COURSE)
    return assignments.get("lstm")


def test_the_public_part_is_one_module_of_the_face_alone():
    source = (PUBLIC / "assignment.py").read_text()
    assert len(source.splitlines()) <= 150
    imported = {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import) for a in node.names}
    assert imported == {"grader.authoring", "numpy"}


def test_the_declaration_follows_the_contract(lstm):
    got = [(q.function, q.signature, q.arguments or q.signature, q.parts, q.points,
            [(b.name, b.points) for b in q.behaviours]) for q in lstm.questions]
    step, seq = ("x", "prev_h", "prev_c", "Wx", "Wh", "b"), ("x", "h0", "Wx", "Wh", "b")
    own = [("backward matches your own forward", 1)]
    assert got == [
        ("lstm_step_forward", step, step, ("next_h", "next_c"), 1, []),
        ("lstm_step_backward", (*step, "dnext_h", "dnext_c"), ("dnext_h", "dnext_c", "cache"),
         ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), 3, own),
        ("lstm_forward", seq, seq, (), 1, []),
        ("lstm_backward", (*seq, "dh"), ("dh", "cache"), ("dx", "dh0", "dWx", "dWh", "db"), 4, own),
    ]
    assert lstm.points == 11


def test_the_reference_and_every_catalogued_mistake_validate():
    proc = bptt_grader("validate", "lstm", "--assignments", "courses/bptt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   lstm: reference: 11 / 11" in proc.stdout
    assert proc.stdout.count("diagnosed") == 5


def test_the_examples_get_the_expected_scores_with_the_installed_command(tmp_path):
    expected = json.loads((EXAMPLES / "EXPECTED.json").read_text())
    paths = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))
    assert {p.stem for p in paths} == set(expected)
    proc = bptt_grader("grade", "lstm", str(EXAMPLES), "--out", str(tmp_path), "--assignments", "courses/bptt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for stem, want in expected.items():
        data = json.loads((tmp_path / f"{stem}.json").read_text())
        scores: dict[str, float] = {}
        diagnosed: dict[str, str] = {}
        for t in data["tests"]:
            scores[t["function"]] = scores.get(t["function"], 0) + t["score"]
            if t["status"] == "failed" and t["extra_data"]["misconception"]:
                diagnosed[t["function"]] = t["extra_data"]["misconception"]
        assert scores == pytest.approx(want["scores"]), stem
        assert diagnosed == want["misconceptions"], stem
    # the most common filled-in lstm_step_backward: right values, the caller's dnext_c changed; the feedback
    # says exactly that, and how to write it instead
    data = json.loads((tmp_path / "inplace_dnext_c.json").read_text())
    (failed,) = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed["name"] == "lstm_step_backward: contract"
    text = " ".join(failed["output"].split())
    assert "modified its argument dnext_c" in text
    assert "dnext_c += ... changes the caller's array; write dc = dnext_c + ... instead" in text
    # a wrong step backward costs once: lstm_backward, right through it, keeps its points
    data = json.loads((tmp_path / "missing_tanh_c.json").read_text())
    assert "lstm_backward is right once lstm_step_backward is fixed" in " ".join(
        t["output"] for t in data["tests"] if t["function"] == "lstm_backward")


def test_the_notebook_is_the_generated_one_edited_by_hand(lstm):
    from grader.authoring import build_notebook

    nb = nbformat.read(PUBLIC / "lstm.ipynb", as_version=4)
    nbformat.validate(nb)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs are stored"
    generated = build_notebook("lstm")
    kept = [c.source for c in generated.cells[1:]]
    assert [c.source for c in nb.cells if c.source in kept] == kept  # every generated cell, in order
    text = "\n".join(c.source for c in nb.cells)
    assert "## The notation, mapped onto `cache`'s" in text and "| `prev_h (N, H)` **and** the cell state" in text
    for q in lstm.questions:
        assert f'check("lstm", {q.function})' in text


def test_the_notebooks_check_cells_run_in_the_public_folder(monkeypatch):
    """A student's kernel runs next to assignment.py: check() finds the assignment with no setting at all."""
    monkeypatch.setattr(assignments, "_added", [])
    monkeypatch.delenv(assignments.ENV_VAR, raising=False)
    monkeypatch.chdir(PUBLIC)
    nb = nbformat.read(PUBLIC / "lstm.ipynb", as_version=4)
    out, ns = io.StringIO(), {"__name__": "__main__"}
    with contextlib.redirect_stdout(out), np.printoptions():  # the notebook sets its own
        for cell in nb.cells:
            if cell.cell_type == "code" and "globals()" not in cell.source:
                exec(cell.source, ns)
    assert out.getvalue().count("NotImplementedError") >= 4 and "PASS" not in out.getvalue()


def test_a_student_checks_a_finished_notebook_from_its_folder(tmp_path):
    """The student's copy of the public folder, the notebook filled in with correct code: every check passes."""
    folder = tmp_path / "lstm"
    folder.mkdir()
    (folder / "assignment.py").write_text((PUBLIC / "assignment.py").read_text())
    nb = nbformat.read(PUBLIC / "lstm.ipynb", as_version=4)
    solution = (EXAMPLES / "correct.py").read_text()
    nb.cells.insert(3, nbformat.v4.new_code_cell(solution))
    for cell in nb.cells:
        if cell.cell_type == "code" and "NotImplementedError" in cell.source:
            cell.source = "# done above"
    nbformat.write(nb, folder / "lstm.ipynb")
    proc = bptt_grader("check", "lstm", "lstm.ipynb", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS") >= 4
