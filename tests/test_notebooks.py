"""The student notebooks: valid, complete skeletons, no solutions, and their check cells run."""

from __future__ import annotations

import ast
import contextlib
import io

import nbformat
import pytest
from conftest import ROOT

from grader.assignments import NAMES, get

NOTEBOOKS = [a for a in NAMES if (ROOT / "assignments" / a / f"{a}.ipynb").is_file()]


def test_every_assignment_has_a_notebook():
    assert set(NOTEBOOKS) == set(NAMES)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_a_skeleton_with_check_cells(name):
    nb = nbformat.read(ROOT / "assignments" / name / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not any(c.outputs for c in nb.cells if c.cell_type == "code"), "outputs are stored"
    defs = {}
    for src in code:
        for node in ast.parse(src).body:
            if isinstance(node, ast.FunctionDef):
                defs[node.name] = node
    for q in get(name).questions:
        fn = defs[q.function]  # every graded function has a skeleton ...
        if q.sequence is None:  # (a backward's instance also holds its forward's arguments)
            assert [a.arg for a in fn.args.args] == list(q.signature)  # ... with the contract's signature
        raises = [n for n in ast.walk(fn) if isinstance(n, ast.Raise)]
        assert raises and len(fn.body) <= 2, f"{q.function} is not a skeleton"
        assert any(f'check("{name}", {q.function})' in src for src in code)
    text = "\n".join(c.source for c in nb.cells)
    assert "| vectors |" in text  # the notation table


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_check_cells_report_unfinished_functions_without_crashing(name):
    nb = nbformat.read(ROOT / "assignments" / name / f"{name}.ipynb", as_version=4)
    ns = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in nb.cells:
            if cell.cell_type == "code" and "globals()" not in cell.source:
                exec(cell.source, ns)
    text = out.getvalue()
    assert text.count("NotImplementedError") >= len(get(name).questions)
    assert "PASS" not in text
