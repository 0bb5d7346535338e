"""A function whose answer depends on earlier calls is told so, with what it changed (grader.history)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from grader.assignments import get
from grader.grading import grade
from grader.history import FINDING
from grader.notebook import read_submission
from grader.oracles.reference import load_solutions
from grader.worker_target import WorkerTarget

ROOT = Path(__file__).resolve().parent.parent
RIGHT = "V.T.dot(delta_o_t) * (1 - s_t ** 2)"

# Three ways students keep state: each answer is right on its first call and drifts after.
KEEPERS = {
    "global counter": f"""
import numpy as np
calls = 0
def delta_t(V, delta_o_t, s_t):
    global calls
    calls += 1
    return {RIGHT} * (1.0 if calls == 1 else 1.5)
""",
    "mutable default": f"""
import numpy as np
def delta_t(V, delta_o_t, s_t, _seen=[]):
    _seen.append(1)
    return {RIGHT} + 0.01 * (len(_seen) - 1)
""",
    "function attribute": f"""
import numpy as np
def delta_t(V, delta_o_t, s_t):
    delta_t.total = getattr(delta_t, "total", 0.0) + 1.0
    return {RIGHT} * delta_t.total
""",
}
# Wrong from the first call, and keeping a harmless counter: not the state's fault.
WRONG_ANYWAY = f"""
import numpy as np
calls = 0
def delta_t(V, delta_o_t, s_t):
    global calls
    calls += 1
    return {RIGHT} * 2.0
"""
# Right on every call, with a module-level cache it fills: no note.
CACHING = f"""
import numpy as np
seen = {{}}
def delta_t(V, delta_o_t, s_t):
    seen[len(seen)] = 1
    return {RIGHT}
"""


def _grade(tmp_path: Path, code: str, mode: str):
    if mode == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    path = tmp_path / "sub.py"
    path.write_text(code)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = WorkerTarget(read_submission(path), mode=mode)
    try:
        result = grade(get("britz"), target, load_solutions("britz", ROOT / "solutions"), only=["delta_t"])
    finally:
        target.close()
    return {c.check: c for c in result.checks}


@pytest.mark.parametrize("mode", ["none", "bwrap"])
@pytest.mark.parametrize("kind", list(KEEPERS))
def test_state_kept_between_calls_is_named_with_what_changed(tmp_path, kind, mode):
    derivative = _grade(tmp_path, KEEPERS[kind], mode)["derivative"]
    assert not derivative.passed and FINDING in derivative.findings, derivative.message
    assert "keeps state between calls" in derivative.message
    changed = {"global counter": "`calls`", "mutable default": "`delta_t (its defaults",
               "function attribute": "`delta_t (its defaults"}[kind]
    assert changed in derivative.message, derivative.message


@pytest.mark.parametrize("code", [WRONG_ANYWAY, CACHING], ids=["wrong from the start", "right with a cache"])
def test_no_state_note_where_the_state_is_not_the_mistake(tmp_path, code):
    checks = _grade(tmp_path, code, "none")
    assert all(FINDING not in c.findings and "keeps state" not in c.message for c in checks.values())
    assert checks["derivative"].passed == (code is CACHING)
