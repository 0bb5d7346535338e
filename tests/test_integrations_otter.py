"""The otter route: otter_check's verdicts, messages and time limits; the generated master notebook;
and, where otter-grader is installed, ``otter assign`` and ``otter run`` end to end."""

from __future__ import annotations

import ast
import builtins
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader import cli
from grader.assignments import NAMES, get
from grader.integrations import otter
from grader.integrations.otter import master_notebook, otter_available, otter_check

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
needs_otter = pytest.mark.skipif(not otter_available(), reason='otter-grader not installed (pip install ".[otter]")')


@pytest.fixture
def restore_grader_modules():
    """Test cells purge and re-import ``grader``: give the rest of the session its own modules back."""
    saved = {k: v for k, v in sys.modules.items() if k == "grader" or k.startswith("grader.")}
    yield
    for k in [k for k in sys.modules if k == "grader" or k.startswith("grader.")]:
        del sys.modules[k]
    sys.modules.update(saved)


def britz_reference() -> dict:
    namespace: dict = {}
    exec(compile((SOLUTIONS / "britz" / "reference.py").read_text(), "reference.py", "exec"), namespace)
    return namespace


def delta_t_prev_untransposed(W, delta_t, s_prev):
    return W @ delta_t * (1 - s_prev**2)


def delta_o_aliasing(o, y):
    d = o
    d[np.arange(len(y)), y] -= 1.0
    return d


# -- otter_check ---------------------------------------------------------------------------------

def test_a_correct_function_passes_every_check():
    ns = britz_reference()
    for check in ("derivative", "contract", None):
        otter_check("britz", "delta_t", ns, check, examples=15)  # does not raise


def test_a_wrong_function_fails_with_the_smallest_case_and_where():
    with pytest.raises(AssertionError) as info:
        otter_check("britz", "delta_t_prev", {"delta_t_prev": delta_t_prev_untransposed}, "derivative",
                    examples=15)
    text = str(info.value)
    assert text.startswith("delta_t_prev: derivative failed.")
    assert "the smallest found" in text and "W (" in text and "s_prev (" in text
    assert "differs from the derivative of the forward pass" in text
    assert "expected" in text and "got" in text
    assert text.strip("'\"") == text  # otter strips quotes at the ends: nothing may be lost


def test_each_test_raises_only_for_its_own_check():
    ns = {"delta_o": delta_o_aliasing}
    otter_check("britz", "delta_o", ns, "derivative", examples=15)  # the values are right
    with pytest.raises(AssertionError, match="delta_o: contract failed.(.|\n)*modified its argument o"):
        otter_check("britz", "delta_o", ns, "contract", examples=15)


def test_a_missing_function_is_reported_not_crashed():
    # otter passes None for a name the notebook never defined
    with pytest.raises(AssertionError, match="no function named bptt was found"):
        otter_check("britz", "bptt", {"bptt": None}, "derivative")


def test_an_unknown_check_is_a_usage_error():
    with pytest.raises(ValueError, match="its checks are: derivative, contract$"):
        otter_check("britz", "delta_o", {}, "reference")


def test_the_callers_globals_are_the_default_namespace():
    ns = britz_reference()
    code = "otter_check('britz', 'delta_t', check='derivative', examples=10)"
    exec(code, {**ns, "otter_check": otter_check})  # finds delta_t in the globals it was called from


def test_an_infinite_loop_fails_the_test_instead_of_hanging():
    def delta_t(V, delta_o_t, s_t):
        try:  # swallows the first alarm: the alarm fires again
            while True:
                pass
        except BaseException:
            pass
        while True:
            pass

    start = time.monotonic()
    with pytest.raises(AssertionError, match=r"delta_t did not return within 0\.5 s \(an infinite loop\?\)"):
        otter_check("britz", "delta_t", {"delta_t": delta_t}, "derivative", call_seconds=0.5, seconds=20)
    assert time.monotonic() - start < 15


def test_the_total_time_limit_stops_slow_checks():
    def delta_t(V, delta_o_t, s_t):
        time.sleep(0.3)
        return V.T @ delta_o_t * (1 - s_t**2)

    start = time.monotonic()
    with pytest.raises(AssertionError, match=r"checks used up their 1 s|stopped"):
        otter_check("britz", "delta_t", {"delta_t": delta_t}, "derivative", call_seconds=5, seconds=1)
    assert time.monotonic() - start < 10


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup and notes are Python 3.11+")
def test_an_escaping_exception_group_keeps_its_falsifying_example(monkeypatch):
    import grader.grading

    def explode(*args, **kwargs):
        inner = ValueError("shapes (2,) and (3,) not aligned")
        inner.add_note("Falsifying example: probe(instance=Instance(sizes={'H': 2}))")
        raise builtins.ExceptionGroup("Hypothesis found 2 distinct failures.", [inner, TypeError("bad operand")])

    monkeypatch.setattr(grader.grading, "grade", explode)
    with pytest.raises(AssertionError) as info:
        otter_check("britz", "delta_t", britz_reference(), "derivative")
    text = str(info.value)
    assert "Falsifying example: probe(instance=Instance(sizes={'H': 2}))" in text
    assert "ValueError: shapes (2,) and (3,) not aligned" in text and "TypeError: bad operand" in text


# -- the master notebook ---------------------------------------------------------------------------

def make_master(name: str, assignment=None):
    reference = (SOLUTIONS / name / "reference.py").read_text()
    return master_notebook(assignment or get(name), reference, "%pip install bptt-grader",
                           requirements=["numpy>=1.24", "hypothesis==6.0", "/autograder/source/files/x.whl"],
                           files=["x.whl"])


def questions_of(nb) -> list[dict]:
    """Otter's view of the master notebook: each question's config, solution cells and test cells."""
    import yaml

    out, current, block = [], None, None
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "raw" and src.startswith("# BEGIN QUESTION"):
            current = {"config": yaml.safe_load(src.split("\n", 1)[1]), "solutions": [], "tests": []}
        elif cell.cell_type == "raw" and src.startswith("# BEGIN "):
            block = src.split()[2].lower()
        elif cell.cell_type == "raw" and src.startswith("# END QUESTION"):
            out.append(current)
            current = None
        elif cell.cell_type == "raw" and src.startswith("# END "):
            block = None
        elif cell.cell_type == "code" and current is not None and block in ("solution", "tests"):
            current["solutions" if block == "solution" else "tests"].append(src)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_the_master_notebook_follows_the_declaration(name):
    pytest.importorskip("yaml")
    a = get(name)
    nb = make_master(name)
    config = nb.cells[0].source
    assert config.startswith("# ASSIGNMENT CONFIG\n") and f'name: "{name}"' in config
    assert "ok_format: false" in config and "hypothesis==6.0" in config and '- "x.whl"' in config
    assert "reference" not in config and "solutions" not in config  # nothing secret ships with the autograder
    questions = questions_of(nb)
    assert [q["config"]["name"] for q in questions] == [q.function for q in a.questions]
    for q, got in zip(a.questions, questions):
        points = got["config"]["points"]
        assert len(points) == len(got["tests"]) == 2 + len(q.behaviours)  # every test has explicit points
        assert sum(points) == pytest.approx(q.points + sum(b.points for b in q.behaviours))
        for test, check in zip(got["tests"], ["derivative", "contract", *(b.name for b in q.behaviours)]):
            body = test.split("# END TEST CONFIG\n", 1)[1]
            tree = ast.parse(body)
            # otter's rule for exception-based tests: one function definition and one call of it
            assert [type(n) for n in tree.body] == [ast.FunctionDef, ast.Expr]
            fn = tree.body[0]
            assert [p.arg for p in fn.args.args] == [q.function, *q.needs]  # looked up by name by otter
            assert f'otter_check("{name}", "{q.function}", ' in body and f'"{check}", seconds=120)' in body
        (solution,) = got["solutions"]
        assert solution.count("# BEGIN SOLUTION") == solution.count("# END SOLUTION") >= 1
        assert f"def {q.function}(" in solution
    assert sum(sum(q["config"]["points"]) for q in questions) == pytest.approx(a.points)


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_states_each_functions_own_contract(name):
    """Students read the contract in the notebook itself (its arguments' shapes, its result), not in a file
    they do not have; the pointer for the rest is docs/contract.md."""
    nb = make_master(name)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "ASSIGNMENTS" + ".md" not in text and f"`docs/contract.md`, section `{name}`" in text
    for q in get(name).questions:
        section = text.split(f"`{q.function}(", 1)[1].split("\n## ", 1)[0]
        assert "It returns " in section, section
        assert section.count("\n- `") >= 1 and "shape" in section, section


def test_the_contract_in_the_notebook_is_the_contract():
    britz = "\n".join(c.source for c in make_master("britz").cells if c.cell_type == "markdown")
    assert "- `o`: a float64 array of shape (T, word_dim)\n- `y`: T integers (an integer array or a list of ints)" \
        in britz
    assert "It returns a tuple (dLdU, dLdV, dLdW) of new arrays: `dLdU`, a float64 array of shape (H, word_dim);" \
        in britz
    assert "- `bptt_truncate`: an int" in britz and "(`T`, `word_dim`, `H`)" in britz
    goodfellow = "\n".join(c.source for c in make_master("goodfellow").cells if c.cell_type == "markdown")
    assert "It returns a dict with exactly the keys 'b', 'c', 'U', 'V', 'W', new arrays" in goodfellow
    cache = "\n".join(c.source for c in make_master("cache").cells if c.cell_type == "markdown")
    assert "## 2. `rnn_step_backward(dnext_h, cache)`" in cache
    assert "- `dnext_h`: a float64 array of shape (N, H)\n- `cache`: as your `rnn_step_forward` returns it" in cache
    assert "It returns a tuple (value, cache). What is graded against the forward pass's output: a new float64 " \
        "array of shape (N, T, H)." in cache
    trask = "\n".join(c.source for c in make_master("trask").cells if c.cell_type == "markdown")
    assert "- `output`: a float64 array of any shape\n\nIt returns a new float64 array shaped like `output`." in trask


def test_a_changed_declaration_changes_the_notebook():
    pytest.importorskip("yaml")
    a = get("britz")
    changed = replace(a, questions=(replace(a.questions[3], points=6), *a.questions[:2]))
    questions = questions_of(make_master("britz", changed))
    assert [q["config"]["name"] for q in questions] == ["bptt", "delta_o", "delta_t"]
    assert questions[0]["config"]["points"] == [3, 3]


def test_a_reference_that_does_not_match_the_declaration_is_refused():
    reference = (SOLUTIONS / "britz" / "reference.py").read_text().replace("def delta_t(V, delta_o_t, s_t)",
                                                                           "def delta_t(V, d, s)")
    with pytest.raises(ValueError, match=r"delta_t\(V, d, s\) does not take the declared arguments"):
        master_notebook(get("britz"), reference, "", requirements=[], files=[])


def test_given_code_and_student_view():
    pytest.importorskip("yaml")
    nb = make_master("britz")
    given = next(c.source for c in nb.cells if c.cell_type == "code")
    assert "import numpy as np" in given and "def forward_propagation(" in given  # the forward pass is given
    assert "def bptt(" not in given
    solution = next(q for q in questions_of(nb) if q["config"]["name"] == "bptt")["solutions"][0]
    student = []  # what otter's solution stripping leaves
    inside = False
    for line in solution.splitlines():
        if line.strip() == "# BEGIN SOLUTION":
            inside = True
            student.append(line.replace("# BEGIN SOLUTION", "..."))
        elif line.strip() == "# END SOLUTION":
            inside = False
        elif not inside:
            student.append(line)
    assert student == ["def bptt(x, y, U, V, W, bptt_truncate=4):", "    ..."]


@pytest.mark.parametrize("name", ["britz", "cache"])
def test_the_generated_tests_pass_the_reference(name, restore_grader_modules):
    """What ``otter assign`` checks, without otter: every test cell passes on the reference solution."""
    nb = make_master(name)
    namespace: dict = {}
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    for src in cells:
        if "# END TEST CONFIG" in src:
            src = src.split("# END TEST CONFIG\n", 1)[1]
        exec(compile(src.replace("# BEGIN SOLUTION NO PROMPT", "").replace("# BEGIN SOLUTION", "")
                     .replace("# END SOLUTION", ""), "<cell>", "exec"), namespace)


def test_a_patched_checker_does_not_fool_the_test_cells(restore_grader_modules, monkeypatch):
    nb = make_master("britz")
    test = next(c.source for c in nb.cells if "def test_delta_t_prev_derivative(" in c.source)
    # what a submission can do in otter's shared kernel
    monkeypatch.setattr(otter, "otter_check", lambda *args, **kwargs: None)
    with pytest.raises(AssertionError, match="delta_t_prev: derivative failed"):
        exec(test.split("# END TEST CONFIG\n", 1)[1], {"delta_t_prev": delta_t_prev_untransposed})


def test_master_only_needs_no_otter(tmp_path, capsys):
    assert cli.main(["otter", "britz", "--out", str(tmp_path), "--solutions", str(SOLUTIONS), "--master-only"]) == 0
    master = tmp_path / "master" / "britz.ipynb"
    nbformat.validate(nbformat.read(master, as_version=4))
    wheels = list((tmp_path / "master").glob("bptt_grader-*.whl"))
    assert len(wheels) == 1 and f"/autograder/source/files/{wheels[0].name}" in master.read_text()
    assert str(master) in capsys.readouterr().out


def test_without_otter_the_command_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(otter, "otter_available", lambda: False)
    assert cli.main(["otter", "britz", "--out", str(tmp_path), "--solutions", str(SOLUTIONS)]) == 2
    assert 'pip install "bptt-grader[otter]"' in capsys.readouterr().err


# -- end to end, with otter ------------------------------------------------------------------------

ANSWERS = {
    "delta_o": "def delta_o(o, y):\n    d = np.array(o, dtype=float)\n    d[np.arange(len(y)), np.asarray(y)] -= 1\n"
               "    return d",
    "delta_t": "def delta_t(V, delta_o_t, s_t):\n    return V.T @ delta_o_t * (1 - s_t ** 2)",
    "delta_t_prev": "def delta_t_prev(W, delta_t, s_prev):\n    return W.T @ delta_t * (1 - s_prev ** 2)",
    "bptt": (SOLUTIONS / "britz" / "reference.py").read_text().split("def bptt", 1)[1].join(["def bptt", ""]),
}
HOSTILE = {
    **ANSWERS,
    # the tutorial's aliasing, plus an attempt on the checker from the student's own cell
    "delta_o": "def delta_o(o, y):\n    d = o\n    d[np.arange(len(y)), y] -= 1.\n    return d\n\n"
               "import grader.integrations.otter as _o\n_o.otter_check = lambda *a, **k: None",
    "delta_t_prev": "def delta_t_prev(W, delta_t, s_prev):\n    while True:\n        pass",
}


def fill(student: Path, answers: dict[str, str], out: Path) -> Path:
    nb = json.loads(student.read_text())
    for cell in nb["cells"]:
        if "otter_answer_cell" in cell["metadata"].get("tags", []):
            name = "".join(cell["source"]).split("(")[0].removeprefix("def ").strip()
            cell["source"] = answers[name]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(nb))
    return out


def otter_run(autograder: Path, notebook: Path, out: Path) -> dict[str, float]:
    out.mkdir()
    subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(autograder), "-o", str(out), str(notebook)],
                   check=True, capture_output=True, timeout=600)
    results = json.loads((out / "results.json").read_text())
    return {t["name"]: t["score"] for t in results["tests"] if "score" in t}


@needs_otter
def test_otter_assign_and_run(tmp_path, capsys):
    out = tmp_path / "otter-britz"
    assert cli.main(["otter", "britz", "--out", str(out), "--solutions", str(SOLUTIONS)]) == 0
    student = out / "student" / "britz.ipynb"
    (autograder,) = (out / "autograder").glob("britz-autograder_*.zip")
    assert student.is_file() and list((out / "student").glob("bptt_grader-*.whl"))
    assert "# BEGIN SOLUTION" not in student.read_text() and "np.outer" not in student.read_text()

    correct = otter_run(autograder, fill(student, ANSWERS, tmp_path / "c" / "britz.ipynb"), tmp_path / "rc")
    assert correct == {"delta_o": 1, "delta_t": 1, "delta_t_prev": 1, "bptt": 4}

    start = time.monotonic()
    hostile = otter_run(autograder, fill(student, HOSTILE, tmp_path / "h" / "britz.ipynb"), tmp_path / "rh")
    assert time.monotonic() - start < 400  # the infinite loop did not hang otter run
    # the patched checker was not used: aliasing loses the contract half; the loop loses delta_t_prev
    assert hostile["delta_o"] == 0.5 and hostile["delta_t_prev"] == 0
    assert hostile["delta_t"] == 1
