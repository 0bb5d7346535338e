"""otter-grader: a master notebook generated from an assignment's declaration, and its test cells.

:func:`master_notebook` writes an otter-assign master notebook for an
assignment from :func:`grader.assignments.get`: one otter question per graded
function, with that function's name, parameters and points, its reference
solution as the (stripped) solution, and one exception-based test per check
(``derivative``, ``contract``, and any behaviour such as trask's
``learns 8-bit binary addition``), each worth the points ``bptt-grader grade``
gives that check without a reference solution. :func:`assign` runs
``otter assign`` on it.

Each test cell calls :func:`otter_check`, which grades one function *in the
student's own process* with the derivative oracle and the contract, and
raises :class:`AssertionError` with the smallest failing case and what is
wrong with it. Otter runs student code and tests in one kernel: a submission
can tamper with anything a test uses. The test cells take the checker from a
fresh import (so replacing ``otter_check`` does not help) and every call has a
time limit (so an infinite loop fails one test instead of hanging ``otter
run``), but only ``bptt-grader grade`` (and the Gradescope route) isolates
student code. No reference solution is put in the otter autograder: otter
copies autograder files next to the submission, where its code could read them.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.calls import OutOfTime
from grader.contract import contract_lines, sizes_line
from grader.questions import Assignment, Question
from grader.target import LocalTarget, TimedTarget

CALL_SECONDS = 10.0  # as the sandbox's per-call limit (grader.sandbox.Limits.call_seconds)
TEST_SECONDS = 120.0  # one test cell: all of one function's searches and shrinking
_CHECKS = ("derivative", "contract")  # what can be judged without a reference solution


# -- the test cells' checker --------------------------------------------------------------------

def _exception_text(exc: BaseException) -> str:
    """An exception with its notes (Hypothesis puts the falsifying example there) and sub-exceptions."""
    lines = [f"{type(exc).__name__}: {exc}"]
    lines += [str(n) for n in getattr(exc, "__notes__", [])]
    for sub in getattr(exc, "exceptions", ()):  # an ExceptionGroup: every way the call failed
        lines.append(textwrap.indent(_exception_text(sub), "  "))
    return "\n".join(lines)


def _otter_safe(text: str) -> str:
    # Otter shows str(exc).strip("'"): a quote at either end of the message would vanish.
    return text + "\n." if text.endswith(("'", '"')) else text


def otter_check(assignment: str, function: str, namespace: Mapping[str, Any] | None = None,
                check: str | None = None, *, examples: int | None = None,
                call_seconds: float = CALL_SECONDS, seconds: float = TEST_SECONDS) -> None:
    """Check one function in this process; raise :class:`AssertionError` explaining the first failure.

    This is what the test cells of ``bptt-grader otter`` notebooks call. No
    reference solution is used: the derivative oracle, the contract, and any
    behaviour the question declares.

    Parameters
    ----------
    assignment
        ``"britz"``, ``"trask"``, ... (see ``bptt-grader list``).
    function
        The graded function's name.
    namespace
        Where the student's functions are, by name (``globals()``); ``None``
        takes the caller's globals. A missing or ``None`` entry counts as not
        defined. A backward function's forward is taken from here too.
    check
        ``"derivative"``, ``"contract"`` or a behaviour's name: raise only for
        that check (all are still run, being one search). ``None``: any.
    examples
        Instances tried per check (default: the question's own, as in grading).
    call_seconds, seconds
        Time limits for one call of the student's code and for the whole check.

    Raises
    ------
    AssertionError
        The function fails the check; the message gives the smallest failing
        instance, expected against got, and where the answer is wrong.
    ValueError
        ``check`` names no check of this function.
    """
    from grader.assignments import get
    from grader.grading import grade
    from grader.report import test_output

    a = get(assignment)
    question = a.question(function)
    names = {function, *question.needs}
    allowed = (*_CHECKS, *(b.name for b in question.behaviours))
    if check is not None and check not in allowed:
        raise ValueError(f"{function} has no check {check!r}; its checks are: {', '.join(allowed)}")
    if namespace is None:
        from grader.student import callers_globals

        namespace = callers_globals()
    functions = {n: namespace[n] for n in names if namespace.get(n) is not None}
    target = TimedTarget(LocalTarget(functions, capture=True), call_seconds, seconds)
    try:
        result = grade(a, target, None, examples=examples, only=[function])
    except OutOfTime:
        raise AssertionError(_otter_safe(f"{function}: the checks were stopped after {seconds:g} s")) from None
    except Exception as e:  # not the student's failure: say what happened rather than crash otter
        raise AssertionError(_otter_safe(f"{function}: the checker stopped with\n{_exception_text(e)}")) from None
    failed = [c for c in result.checks if not c.passed and (check is None or c.check == check)]
    if failed:
        first = failed[0]
        text = f"{first.name} failed.\n{test_output(first)}"
        if len(failed) > 1:
            text += "\n\nAlso failed: " + ", ".join(c.name for c in failed[1:])
        raise AssertionError(_otter_safe(text))


# -- the master notebook ---------------------------------------------------------------------------

@dataclass
class _Reference:
    """reference.py split for the notebook: imports, code given to students, and each graded function."""

    imports: list[str]
    given: list[str]  # public helpers (the forward pass): shown to students
    hidden: list[str]  # private helpers (``_name``): inside a solution block
    functions: dict[str, tuple[str, str, str]]  # name -> (header, docstring lines, body)


def _split_reference(source: str, graded: set[str]) -> _Reference:
    lines = source.splitlines()
    tree = ast.parse(source)
    ref = _Reference([], [], [], {})
    for i, node in enumerate(tree.body):
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "\n".join(lines[first - 1:node.end_lineno])
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            ref.imports.append(text)
        elif isinstance(node, ast.FunctionDef) and node.name in graded:
            body = node.body
            doc = ""
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and len(body) > 1:
                doc = "\n".join(lines[body[0].lineno - 1:body[0].end_lineno])
                body = body[1:]
            if body[0].lineno == node.lineno:
                raise ValueError(f"reference.py: put the body of {node.name} on lines of its own")
            header = "\n".join(lines[first - 1:node.body[0].lineno - 1])
            ref.functions[node.name] = (header, doc, "\n".join(lines[body[0].lineno - 1:node.end_lineno]))
        else:
            names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) else [
                t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if isinstance(t, ast.Name)]
            (ref.hidden if names and all(n.startswith("_") for n in names) else ref.given).append(text)
    return ref


def _params(header: str) -> tuple[list[str], str]:
    """A function header's positional parameter names, and its parameter list as written (defaults too)."""
    fn = ast.parse(header + "\n    pass").body[0]
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    return [p.arg for p in (*a.posonlyargs, *a.args)], ast.unparse(a)


def _points(p: float) -> str:
    return f"{p:g} point" + ("" if p == 1 else "s")


def _slug(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_").lower()


def _contract(q: Question, params: list[str]) -> str:
    """A question's own contract, for the notebook: its ``doc``, then its arguments' shapes and its result."""
    doc = inspect.cleandoc(q.doc) + "\n\n" if q.doc else ""
    return doc + "\n".join(contract_lines(q, params))


def _question_tests(assignment: Assignment, q: Question, seconds: float) -> list[tuple[str, float, str]]:
    """(check, points, test cell source) for each test of a question."""
    params = [q.function, *q.needs]
    ns = ", ".join(f'"{p}": {p}' for p in params)
    share = q.points / len(_CHECKS)  # as grade() shares a function's points without a reference
    checks = [(c, share) for c in _CHECKS] + [(b.name, b.points) for b in q.behaviours]
    tests = []
    for check, points in checks:
        name = f"test_{q.function}_{_slug(check)}"
        source = (
            f'""" # BEGIN TEST CONFIG\npoints: {points:g}\nhidden: false\n""" # END TEST CONFIG\n'
            f"def {name}({', '.join(params)}):\n"
            "    import sys\n"
            "    # a fresh import: a submission that replaced the checker does not get this one\n"
            "    for module in [m for m in sys.modules if m == 'grader' or m.startswith('grader.')]:\n"
            "        del sys.modules[module]\n"
            "    from grader.integrations.otter import otter_check\n"
            f'    otter_check("{assignment.name}", "{q.function}", {{{ns}}}, "{check}", seconds={seconds:g})\n'
            f"{name}({', '.join(params)})"
        )
        tests.append((check, points, source))
    return tests


def _yaml(value: Any, indent: int = 0) -> str:
    """A small YAML emitter for the assignment config (JSON scalars are valid YAML)."""
    pad = " " * indent
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:\n{_yaml(v, indent + 2)}")
            else:
                out.append(f"{pad}{k}: {json.dumps(v)}")
        return "\n".join(out)
    if isinstance(value, list):
        return "\n".join(f"{pad}- {json.dumps(v)}" for v in value)
    return pad + json.dumps(value)


def master_notebook(assignment: Assignment, reference_source: str, install: str, *,
                    requirements: list[str], files: list[str], seconds: float = TEST_SECONDS) -> Any:
    """The otter-assign master notebook of ``assignment``, as an ``nbformat`` notebook.

    Parameters
    ----------
    assignment
        The declaration (:func:`grader.assignments.get`): questions, function
        names, points, behaviours.
    reference_source
        The text of the assignment's ``reference.py``: the solution of each
        question, and the imports and helpers (the forward pass) students are
        given. Helpers named with a leading underscore stay hidden.
    install
        What students run to install bptt-grader (shown in the notebook).
    requirements
        Packages the autograder installs (otter pins only itself).
    files
        Files (next to the master notebook) for the student folder and the autograder.
    seconds
        Time limit of each test cell.
    """
    import nbformat

    graded = {q.function for q in assignment.questions}
    ref = _split_reference(reference_source, graded)
    missing = graded - set(ref.functions)
    if missing:
        raise ValueError(f"reference.py of {assignment.name} does not define {', '.join(sorted(missing))}")
    md, code, raw = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell, nbformat.v4.new_raw_cell
    config = {
        "name": assignment.name,
        "requirements": requirements,
        "files": files,
        "tests": {"ok_format": False},  # exception-based tests: our AssertionError texts are the feedback
        "init_cell": True,
        "check_all_cell": True,
        "export_cell": {"pdf": False},
        "generate": {"show_stdout": False},
    }
    total = assignment.points
    cells = [
        raw("# ASSIGNMENT CONFIG\n" + _yaml(config)),
        md(f"# {assignment.title}\n\n"
           f"{len(assignment.questions)} functions, {_points(total)}. Above each function: its arguments, their "
           f"shapes and what it returns. {sizes_line(assignment.questions)} The whole contract (the forward pass, "
           f"the sign conventions) is bptt-grader's `docs/contract.md`, section `{assignment.name}`.\n\n"
           "Each check cell (`grader.check(...)`) runs your function on many small generated problems and compares "
           "it with the derivative of the forward pass, computed by the grader; when it fails it shows the "
           "**smallest** problem your function gets wrong and where. Install the checker once:\n\n"
           f"    {install}"),
        code("\n\n\n".join(filter(None, ["\n".join(ref.imports), *ref.given]))),
    ]
    for i, q in enumerate(assignment.questions, 1):
        cells += _question_cells(assignment, q, i, ref, seconds)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _question_cells(assignment: Assignment, q: Any, i: int, ref: Any, seconds: float) -> list[Any]:
    """The cells of question ``i``: its otter-assign markers, contract, solution and tests."""
    import nbformat

    md, code, raw = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell, nbformat.v4.new_raw_cell
    header, doc, body = ref.functions[q.function]
    params, written = _params(header)
    if q.sequence is None and tuple(params) != q.signature:
        raise ValueError(f"reference.py: {q.function}({', '.join(params)}) does not take the declared "
                         f"arguments ({', '.join(q.signature)})")
    tests = _question_tests(assignment, q, seconds)
    points = [p for _, p, _ in tests]
    indent = re.match(r"\s*", body).group(0)
    solution = "\n".join(filter(None, [header, doc, f"{indent}# BEGIN SOLUTION", body, f"{indent}# END SOLUTION"]))
    if i == 1 and ref.hidden:  # private helpers of the reference: the autograder's notebook needs them
        solution = "# BEGIN SOLUTION NO PROMPT\n" + "\n\n".join(ref.hidden) + "\n# END SOLUTION\n\n" + solution
    checks = ", ".join(f"{c} ({p:g})" for c, p, _ in tests)
    return [
        raw(f"# BEGIN QUESTION\nname: {q.function}\npoints: {json.dumps(points)}"),
        md(f"## {i}. `{q.function}({written})` ({_points(sum(points))})\n\n{_contract(q, params)}\n\n"
           f"Checks (points): {checks}. "
           "`derivative`: the answer equals the derivative of the forward pass; `contract`: new float64 "
           "arrays of the right shape, arguments left unchanged, finite, the same twice, batch rows "
           "independent."),
        raw("# BEGIN SOLUTION"),
        code(solution),
        raw("# END SOLUTION"),
        raw("# BEGIN TESTS"),
        *(code(src) for _, _, src in tests),
        raw("# END TESTS"),
        raw("# END QUESTION"),
    ]


# -- otter assign --------------------------------------------------------------------------------

class OtterUnavailable(RuntimeError):
    """otter-grader (with its ``grading`` extra) is not installed in this Python."""


@dataclass
class OtterOutput:
    """What :func:`write_master` and :func:`assign` made."""

    master: Path
    student: Path | None = None  # the student notebook
    autograder_zip: Path | None = None


def otter_available() -> bool:
    """Whether ``otter assign`` can run here (otter-grader and ipykernel importable)."""
    return importlib.util.find_spec("otter") is not None and importlib.util.find_spec("ipykernel") is not None


def write_master(assignment: Assignment, reference: Path, out: Path, package: str | None = None,
                 seconds: float = TEST_SECONDS) -> OtterOutput:
    """Write ``out/master/<name>.ipynb`` (and the bptt-grader wheel it ships, unless ``package`` is given).

    Parameters
    ----------
    package
        A pip requirement for bptt-grader (``"bptt-grader==0.1.0"``, a git
        URL) instead of a wheel of this installation.
    """
    import nbformat

    from grader.integrations.package import build_wheel, pinned_requirements

    folder = out / "master"
    folder.mkdir(parents=True, exist_ok=True)
    if package is None:
        wheel = build_wheel(folder)
        # otter copies files: into the autograder at source/files/, and next to the student's notebook
        requirement, files, install = f"/autograder/source/files/{wheel.name}", [wheel.name], \
            f"%pip install {wheel.name}   # the file next to this notebook"
    else:
        requirement, files, install = package, [], f"%pip install {package}"
    nb = master_notebook(assignment, reference.read_text(encoding="utf-8"), install,
                         requirements=["numpy>=1.24", *pinned_requirements(), requirement], files=files,
                         seconds=seconds)
    master = folder / f"{assignment.name}.ipynb"
    nbformat.write(nb, master)
    return OtterOutput(master=master)


def assign(output: OtterOutput, out: Path, run_tests: bool = True) -> OtterOutput:
    """Run ``otter assign`` on the master notebook; the student notebook and autograder zip land in ``out``.

    Raises
    ------
    OtterUnavailable
        otter-grader is not installed here.
    RuntimeError
        ``otter assign`` failed (its output is in the message).
    """
    if not otter_available():
        raise OtterUnavailable('otter-grader is not installed: pip install "bptt-grader[otter]"')
    cmd = [sys.executable, "-m", "otter", "assign", str(output.master.resolve()), str(out.resolve())]
    if not run_tests:
        cmd.append("--no-run-tests")
    proc = subprocess.run(cmd, cwd=output.master.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"otter assign failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    zips = sorted((out / "autograder").glob("*.zip"), key=lambda p: p.stat().st_mtime)
    student = out / "student" / output.master.name
    return OtterOutput(master=output.master, student=student if student.is_file() else None,
                       autograder_zip=zips[-1] if zips else None)
