"""``check``: what a student runs in their own notebook.

Runs the derivative oracle and the contract properties on the student's
functions, in the student's own kernel. No reference solution is needed or
loaded, so it works on a student's machine and reveals nothing but what the
mathematics says.

In a Jupyter kernel (Jupyter, JupyterLab, VS Code, Colab) the report shows as
a table (function, verdict, points), with each failure's error plot and its
full explanation one click away (an HTML ``<details>``); anywhere else
(a terminal, a script, a plain ``python`` prompt) it prints as text.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable
from typing import Any

from grader.assignments import get
from grader.grading import grade
from grader.questions import Assignment
from grader.report import not_written, points_note, test_output, text_report
from grader.results import CheckResult, Grade
from grader.target import LocalTarget


def _shell() -> Any:
    """The running IPython shell, or ``None`` (no IPython, or IPython not running)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _in_kernel() -> bool:
    """Whether this is a Jupyter kernel (which shows HTML), not a terminal IPython or plain Python."""
    shell = _shell()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _execution_count() -> int | None:
    """The number of the cell running now (IPython), to show a report once per cell."""
    shell = _shell()
    return getattr(shell, "execution_count", None) if shell is not None else None


def _publish(bundle: dict[str, str]) -> None:
    """Show ``bundle`` (MIME type to content) in the notebook."""
    from IPython.display import display

    display(bundle, raw=True)


class CheckReport:
    """The result of :func:`check`: true when everything passed; a table in Jupyter, text elsewhere.

    ``text`` is the plain-text report (:func:`grader.report.text_report`), ``result`` the grade.
    """

    def __init__(self, result: Grade, text: str, assignment: Assignment | None = None) -> None:
        self.result, self.text = result, text
        self.assignment = assignment if assignment is not None else get(result.assignment)
        self._shown_in: int | None | bool = False  # the cell check() showed it in (False: not shown)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.result.checks)

    def __bool__(self) -> bool:
        return self.passed

    def show(self) -> None:
        """Show the report now: the rich display in a Jupyter kernel, the text anywhere else."""
        if _in_kernel():
            _publish(self._bundle())
        else:
            print(self.text)
        self._shown_in = _execution_count()

    def _bundle(self) -> dict[str, str]:
        return {"text/plain": self.text, "text/html": self._repr_html_()}

    def _ipython_display_(self) -> None:
        """IPython's display of the report, except right after check() showed it in the same cell."""
        if self._shown_in is not False and self._shown_in == _execution_count():
            self._shown_in = False  # shown once by check(); a later display of the report shows it again
            return
        if _in_kernel():
            _publish(self._bundle())
        else:
            print(self.text)

    def _repr_html_(self) -> str:
        """A table (function, verdict, points); per failure its error plot and, one click away, the full text."""
        return render_html(self.result, self.assignment)

    def __repr__(self) -> str:
        n = sum(c.passed for c in self.result.checks)
        return f"<CheckReport: {n} of {len(self.result.checks)} checks passed>"


def _collect(assignment: str, items: tuple[Any, ...]) -> dict[str, Callable[..., Any]]:
    names = {q.function for q in get(assignment).questions}
    functions: dict[str, Callable[..., Any]] = {}
    for item in items:
        if isinstance(item, dict):  # globals(): every function of the assignment that is defined
            functions.update({k: v for k, v in item.items() if k in names})
        elif callable(item):
            name = getattr(item, "__name__", "")
            if name not in names:
                raise ValueError(f"{name!r} is not a function of {assignment}; its functions are "
                                 + ", ".join(sorted(names)))
            functions[name] = item
        else:
            raise TypeError(f"check({assignment!r}, ...) takes functions or globals(), not {type(item).__name__}")
    return functions


def callers_globals() -> dict[str, Any]:
    """The globals of the code that called into the grader (a notebook): the first frame outside it.

    The functions a checked function needs (a backward's forward) are taken from there when they
    were not passed: ``check("cache", rnn_step_backward)`` in a notebook that defines both.
    """
    frame = inspect.currentframe()
    while frame is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] == "grader":
        frame = frame.f_back
    return frame.f_globals if frame is not None else {}


def check(assignment: str, *functions: Any, examples: int | None = None, quiet: bool = False) -> CheckReport:
    """Check functions of ``assignment`` against the derivative of its forward pass.

    Parameters
    ----------
    assignment
        ``"trask"``, ``"britz"``, ... (see ``bptt-grader list``).
    *functions
        The functions to check, or ``globals()`` for every one you defined.
    examples
        Instances tried per check (default: as many as grading uses).
    quiet
        Do not print; just return the report.
    """
    found = _collect(assignment, functions)
    if not found:
        raise ValueError(f"none of the functions of {assignment} were given")
    # A backward function is checked through the forward that makes its cache: take that forward
    # from the caller's namespace when it was not passed too.
    namespace = callers_globals()
    available = dict(found)
    for q in get(assignment).questions:
        for need in q.needs if q.function in found else ():
            if need not in available and callable(namespace.get(need)):
                available[need] = namespace[need]
    result = grade(get(assignment), LocalTarget(available, capture=True), None, examples=examples,
                   only=list(found))
    report = CheckReport(result, text_report(result, get(assignment), show_points=False), get(assignment))
    if not quiet:
        report.show()
    return report


# -- the rich display ------------------------------------------------------------------------------

_PASS, _FAIL = "#1a7f37", "#cf222e"


def _verdict(checks: list[CheckResult]) -> tuple[str, bool]:
    """What the table says of one function's checks, and whether they all passed."""
    if all(c.passed for c in checks):
        return "passed", True
    why = not_written(checks)
    if why is not None:
        return why, False
    return "failed: " + ", ".join(c.check for c in checks if not c.passed), False


def render_html(result: Grade, assignment: Assignment) -> str:
    """The report as HTML for a notebook: no page styles (it sits inside the notebook), everything escaped.

    The error plots are :func:`grader.report_html._error_plot`'s, the ones of a grading's feedback page.
    """
    from grader.report_html import _error_plot

    esc = html.escape
    cell = "padding:2px 10px;text-align:left;border-bottom:1px solid #ddd"
    rows, sections = [], []
    for q in assignment.questions:
        checks = [c for c in result.checks if c.function == q.function]
        if not checks:
            continue
        verdict, ok = _verdict(checks)
        got, full = sum(c.score for c in checks), sum(c.max_score for c in checks)
        rows.append(f'<tr><td style="{cell}"><code>{esc(q.function)}</code></td>'
                    f'<td style="{cell};color:{_PASS if ok else _FAIL}">{esc(verdict)}</td>'
                    f'<td style="{cell}">{got:g} / {full:g}</td></tr>')
        failed = [c for c in checks if not c.passed]
        if not failed:
            continue
        body = [f'<p style="margin:.8em 0 .2em"><b><code>{esc(q.function)}</code></b>: {esc(verdict)}</p>']
        plot = next((p for c in failed if (p := _error_plot(c, q.axes, q.parts))), None)
        if plot:
            body.append(f'<img alt="the largest error per index of {esc(q.function)}" '
                        f'src="data:image/png;base64,{plot}" style="max-width:100%">')
        text = "\n\n".join(f"{c.name}\n{test_output(c)}" for c in failed)
        body.append(f"<details><summary>the full explanation</summary><pre>{esc(text)}</pre></details>")
        sections.append("\n".join(body))
    n_pass = sum(c.passed for c in result.checks)
    head = (f"<p><b>bptt-grader check: {esc(assignment.name)}</b>: {n_pass} of {len(result.checks)} checks pass, "
            f"{result.score:g} / {result.max_score:g} points</p>")
    problems = "".join(f"<li><pre>{esc(p)}</pre></li>" for p in result.problems)
    note = points_note(result)
    return "\n".join([
        '<div class="bptt-grader-check">', head,
        f"<p>Problems while running the notebook:</p><ul>{problems}</ul>" if problems else "",
        f'<table style="border-collapse:collapse"><tr><th style="{cell}">function</th>'
        f'<th style="{cell}">verdict</th><th style="{cell}">points</th></tr>{"".join(rows)}</table>',
        *sections,
        f'<p style="color:#555;font-size:90%">{esc(note)}</p>' if note else "",
        "</div>"])
