"""The sutskever course assignment (courses/bptt/): the RTRBM, written through the authors' face alone."""

from __future__ import annotations

import ast
import contextlib
import io
import json

import nbformat
import numpy as np
import pytest
from test_course_lstm import COURSE, bptt_grader

from grader import assignments

PUBLIC = COURSE / "sutskever"
EXAMPLES = COURSE / "solutions" / "examples" / "sutskever"


@pytest.fixture
def sutskever(monkeypatch):
    monkeypatch.setattr(assignments, "_added", [])
    assignments.add_courses(COURSE)
    return assignments.get("sutskever")


def test_the_public_part_is_one_module_of_the_face_alone():
    source = (PUBLIC / "assignment.py").read_text()
    assert len(source.splitlines()) <= 150
    tree = ast.parse(source)
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert imported == {"grader.authoring", "numpy", "itertools"}


def test_the_declaration_follows_the_contract(sutskever):
    params = ("W", "W_rec", "b_v", "b_h", "r0")
    assert [(q.function, q.signature, q.parts) for q in sutskever.questions] == [
        ("hidden_means", ("V", "W", "W_rec", "b_h", "r0"), ()),
        ("rbm_log_prob_grad", ("v", "W", "b_v", "c"), ("W", "b_v", "c")),
        ("dL_dr", ("V", "R", "W", "W_rec", "b_v", "b_h", "r0"), ()),
        ("rtrbm_gradient", ("V", *params), params),
    ]


def test_the_truths_agree_with_an_independent_backward_pass(sutskever):
    """The complex-step truths (of L) against the reference's analytic eqs. 3.24-3.25, on drawn instances."""
    from grader.drawn import passing_draws
    from grader.oracles.reference import load_solutions

    reference = load_solutions("sutskever", COURSE / "solutions").reference.functions
    for q in sutskever.questions:
        for inst in passing_draws(q)[:10]:
            truth, got = q.truth(inst), reference[q.function](*inst.args)
            for a, b in ([(truth[k], got[k]) for k in truth] if isinstance(truth, dict) else [(truth, got)]):
                assert np.allclose(a, b, rtol=1e-9, atol=1e-12), q.function
    # the last row of dL/dr is zero: r_T influences nothing
    q = sutskever.question("dL_dr")
    assert all(not q.truth(inst)[-1].any() for inst in passing_draws(q))


def test_the_reference_and_every_catalogued_mistake_validate():
    proc = bptt_grader("validate", "sutskever", "--assignments", "courses/bptt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   sutskever: reference: 10 / 10" in proc.stdout and proc.stdout.count("diagnosed") == 5


def test_the_examples_get_the_expected_scores_with_the_installed_command(tmp_path):
    expected = json.loads((EXAMPLES / "EXPECTED.json").read_text())
    assert {p.stem for p in EXAMPLES.glob("*.py")} == set(expected)
    proc = bptt_grader("grade", "sutskever", str(EXAMPLES), "--out", str(tmp_path), "--assignments", "courses/bptt")
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


def test_the_notebook_is_the_generated_one_edited_by_hand(sutskever, monkeypatch):
    from grader.authoring import build_notebook

    nb = nbformat.read(PUBLIC / "sutskever.ipynb", as_version=4)
    nbformat.validate(nb)
    kept = [c.source for c in build_notebook("sutskever").cells[1:]]
    assert [c.source for c in nb.cells if c.source in kept] == kept
    assert "## The notation, mapped onto `trask`'s" in "\n".join(c.source for c in nb.cells)
    monkeypatch.setattr(assignments, "_added", [])
    monkeypatch.delenv(assignments.ENV_VAR, raising=False)
    monkeypatch.chdir(PUBLIC)  # where the student's kernel runs
    out, ns = io.StringIO(), {"__name__": "__main__"}
    with contextlib.redirect_stdout(out), np.printoptions():
        for cell in nb.cells:
            if cell.cell_type == "code" and "globals()" not in cell.source:
                exec(cell.source, ns)
    assert out.getvalue().count("NotImplementedError") >= 4 and "PASS" not in out.getvalue()
