"""validate, the instructor's self-test: what it says of a catalogue entry that crashes and of a wrong reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMMAND = str(Path(sys.executable).parent / "bptt-grader")
CRASHES = '''

@mistake("demo-own-cache", "layer_backward", "reads a cache of its own layout", "unpacks what is not there")
def own_cache(x, W, b, dh):
    cache = {"x": x, "W": W}
    return cache["prev_h"], W, b
'''


def _course(tmp_path: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if k != "BPTT_GRADER_ASSIGNMENTS"}
    assert subprocess.run([COMMAND, "new", "demo", "--course", "c"], cwd=tmp_path, env=env,
                          capture_output=True).returncode == 0
    return tmp_path / "c"


def _validate(course: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BPTT_GRADER_ASSIGNMENTS", "BPTT_GRADER_SOLUTIONS")}
    return subprocess.run([COMMAND, "validate", "demo"], cwd=course, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_catalogued_mistake_that_raises_everywhere_is_refused(tmp_path):
    course = _course(tmp_path)
    with open(course / "solutions" / "demo" / "misconceptions.py", "a") as f:
        f.write(CRASHES)
    proc = _validate(course)
    assert proc.returncode == 1, proc.stdout
    line = next(line for line in proc.stdout.splitlines() if "demo-own-cache" in line)
    assert line.startswith("FAIL") and "raises on every instance (KeyError: 'prev_h')" in line
    assert "companions=" in line
    assert "ok   demo: demo-missing-tanh-derivative" in proc.stdout  # the others are still judged


def test_a_wrong_reference_shows_its_instance_and_expected_against_got(tmp_path):
    course = _course(tmp_path)
    reference = course / "solutions" / "demo" / "reference.py"
    text = reference.read_text()
    assert "da.sum(axis=0)" in text, text
    reference.write_text(text.replace("da.sum(axis=0)", "da.sum(axis=0) * 2"))
    proc = _validate(course)
    assert proc.returncode == 1 and "FAIL demo: reference" in proc.stdout, proc.stdout
    assert "fails on this instance" in proc.stdout and "expected" in proc.stdout and "got" in proc.stdout


def test_a_question_given_a_strategy_instead_of_a_function_says_so_when_declared():
    import pytest

    from grader.authoring import Instance, Question, array, composite

    @composite
    def draw(draw):
        return Instance(args=(draw(array((2,))),), sizes={"H": 2})

    with pytest.raises(TypeError, match="instances must be a function returning a strategy"):
        Question("f", 1, ("z",), draw(), lambda inst: inst.args[0])
    assert Question("f", 1, ("z",), draw, lambda inst: inst.args[0]).function == "f"
