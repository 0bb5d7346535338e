"""What a student sees from check(): a table with plots and the full text one click away in a Jupyter kernel,
plain text elsewhere (shown once either way); one line per function not written yet; the wording of a
backward whose forward failed; and why check's points differ from grade's."""

from __future__ import annotations

import numpy as np
import pytest

from grader import student
from grader.assignments import get
from grader.report import not_written, text_report
from grader.results import CheckResult, Grade
from grader.student import check, render_html


def delta_o(o, y):  # britz, correct
    g = o.copy()
    g[np.arange(len(y)), y] -= 1
    return g


def delta_t(V, delta_o_t, s_t):  # britz, wrong: the tanh derivative is missing
    return V.T @ delta_o_t


def delta_t_prev(W, delta_t, s_prev):  # britz, a skeleton
    raise NotImplementedError("delta_t_prev: write it, then run the check cell below")


@pytest.fixture
def kernel(monkeypatch):
    """A Jupyter kernel as check() sees one: what it publishes is kept; ``cell[0]`` is the cell running."""
    shown: list[dict[str, str]] = []
    cell = [1]
    monkeypatch.setattr(student, "_in_kernel", lambda: True)
    monkeypatch.setattr(student, "_publish", shown.append)
    monkeypatch.setattr(student, "_execution_count", lambda: cell[0])
    return shown, cell


def test_outside_a_kernel_check_prints_the_text_once(capsys):
    report = check("britz", delta_o, examples=10)
    out = capsys.readouterr().out
    assert out == report.text + "\n" and "PASS  delta_o: derivative" in out
    assert report and "<CheckReport: 2 of 2 checks passed>" == repr(report)


def test_in_a_kernel_check_shows_the_table_once_and_prints_nothing(kernel, capsys):
    shown, cell = kernel
    report = check("britz", delta_o, delta_t, examples=10)
    assert capsys.readouterr().out == ""  # not the text and the table
    assert len(shown) == 1 and set(shown[0]) == {"text/plain", "text/html"}
    assert shown[0]["text/plain"] == report.text and "<table" in shown[0]["text/html"]
    report._ipython_display_()  # the cell's value, displayed right after: nothing more
    assert len(shown) == 1
    cell[0] = 2
    report._ipython_display_()  # `report` in a later cell: shown again
    assert len(shown) == 2 and shown[1] == shown[0]
    assert not report  # delta_t fails
    assert check("britz", delta_o, examples=10, quiet=True) and len(shown) == 2  # quiet: returned, not shown


def test_the_table_has_verdicts_points_plots_and_the_full_text_behind_a_click():
    report = check("britz", delta_o, delta_t, delta_t_prev, examples=10, quiet=True)
    page = report._repr_html_()
    rows = page.split("<tr>")[2:]  # after the header row
    assert [r.split("<code>")[1].split("</code>")[0] for r in rows] == ["delta_o", "delta_t", "delta_t_prev"]
    assert "passed" in rows[0] and "1 / 1" in rows[0]
    assert "failed: derivative, contract" in rows[1] and "0 / 1" in rows[1]
    assert "not written yet (raises NotImplementedError)" in rows[2]
    assert page.count("<details>") == 2  # one per failing function: delta_t and delta_t_prev
    details = page.split("<details>")[1]
    assert "differs from the derivative of the forward pass" in details and "expected" in details
    assert page.count('src="data:image/png;base64,') == 1  # delta_t's error plot (a skeleton has no values)
    assert page.index("<img") < page.index("<details>")  # the plot inline, the text one click away
    assert "grade&#x27;s score may differ" in page


def test_the_html_escapes_what_student_code_says():
    a = get("britz")
    evil = CheckResult("delta_o", "derivative", 0.5, False, "raised ValueError: <script>alert(1)</script>")
    page = render_html(Grade("x", "britz", [evil, CheckResult("delta_o", "contract", 0.5, True)],
                             problems=["cell 2 printed <b>"]), a)
    assert "<script>" not in page and "&lt;script&gt;" in page and "cell 2 printed &lt;b&gt;" in page


def test_real_ipython_display_machinery(monkeypatch, capsys):
    """IPython's own shell and display hook: a kernel shows the table once per cell; a terminal the text once."""
    pytest.importorskip("IPython")
    import os
    import subprocess
    import sys

    if os.environ.get("BPTT_DISPLAY_ISOLATED") != "1":  # IPython's shell is a process-wide singleton: a fresh one
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              f"{__file__}::test_real_ipython_display_machinery"], capture_output=True, text=True,
                             env={**os.environ, "BPTT_DISPLAY_ISOLATED": "1"}, timeout=300)
        assert run.returncode == 0, run.stdout[-3000:]
        return
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        published: list[dict] = []
        monkeypatch.setattr(shell.display_pub, "publish", lambda data, metadata=None, **kw: published.append(data))
        shell.user_ns.update(delta_o=delta_o, delta_t=delta_t)
        shell.run_cell("from grader import check", store_history=True)
        shell.run_cell('check("britz", delta_o, examples=10)', store_history=True)  # a terminal IPython
        out = capsys.readouterr().out
        assert out.count("PASS  delta_o: derivative") == 1 and not published  # printed once, no HTML

        monkeypatch.setattr(shell, "kernel", object(), raising=False)  # now a Jupyter kernel
        shell.run_cell('check("britz", delta_o, delta_t, examples=10)', store_history=True)
        assert len(published) == 1 and "<table" in published[0]["text/html"]  # shown by check(), not again
        assert "PASS  delta_o" not in capsys.readouterr().out
        shell.run_cell("_", store_history=True)  # the report again, in a later cell
        assert len(published) == 2
    finally:
        InteractiveShell.clear_instance()


def test_a_skeleton_takes_one_line_per_function():
    ns: dict = {}
    exec("def delta_o(o, y):\n    raise NotImplementedError\n"
         "def delta_t(V, delta_o_t, s_t):\n    raise NotImplementedError('write it')\n", ns)
    text = check("britz", ns["delta_o"], ns["delta_t"], examples=10, quiet=True).text
    lines = text.splitlines()
    assert "  FAIL  delta_o: not written yet (raises NotImplementedError)" in lines
    assert "  FAIL  delta_t: not written yet (raises NotImplementedError)" in lines
    assert len(lines) <= 6  # the title, two functions, the points paragraph


def test_a_function_that_is_wrong_is_not_taken_for_a_skeleton():
    ns: dict = {}
    exec("def delta_o(o, y):\n    if len(y) > 2:\n        raise NotImplementedError\n    return o - 1\n", ns)
    report = check("britz", ns["delta_o"], examples=10, quiet=True)
    assert "not written yet" not in report.text and "FAIL  delta_o: derivative" in report.text


def test_a_backward_whose_forward_is_not_written_says_so_plainly():
    ns: dict = {}
    exec("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    raise NotImplementedError\n"
         "def rnn_step_backward(dnext_h, cache):\n    raise NotImplementedError\n", ns)
    text = check("cache", ns["rnn_step_backward"], ns["rnn_step_forward"], examples=5, quiet=True).text
    assert "  FAIL  rnn_step_forward: not written yet (raises NotImplementedError)" in text
    assert ("  FAIL  rnn_step_backward: not checked yet: rnn_step_forward, which it needs first, is not written "
            "yet (raises NotImplementedError)") in text
    assert "raised rnn_step_forward" not in text and "(run first, to make the cache) failed" not in text


def test_a_forward_that_raises_is_named_once_in_the_backward_message():
    ns: dict = {}
    exec("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    raise ValueError('shapes')\n"
         "def rnn_step_backward(dnext_h, cache):\n    return cache\n", ns)
    report = check("cache", ns["rnn_step_backward"], ns["rnn_step_forward"], examples=5, quiet=True)
    message = next(c.message for c in report.result.checks if c.name == "rnn_step_backward: derivative")
    assert "\nrnn_step_forward, run first to make the cache, raised ValueError: shapes" in message
    assert "raised rnn_step_forward" not in message
    missing = check("cache", ns["rnn_step_backward"], examples=5, quiet=True).result.checks[0].message
    assert "rnn_step_forward, run first to make the cache, failed: no function named rnn_step_forward" in missing


def test_check_says_why_its_points_differ_from_grade():
    a = get("britz")
    checks = [CheckResult("delta_o", "derivative", 0.5, True), CheckResult("delta_o", "contract", 0.5, False, "x")]
    text = text_report(Grade("", "britz", checks), a, show_points=False)
    assert "0.5 / 1 points. No reference check here: each function's points are split derivative 1/2, " \
           "contract 1/2 (bptt-grader grade: derivative 1/2, reference 1/4, contract 1/4)" in " ".join(text.split())
    graded = text_report(Grade("", "britz", [*checks, CheckResult("delta_o", "reference", 0.25, True)]), a)
    assert "No reference check" not in graded  # a grade with its reference checks needs no such note
    assert not_written(checks) is None  # a check passed: written
