"""A student's copy of a course assignment's public folder is found however the folder is named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMMAND = str(Path(sys.executable).parent / "bptt-grader")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BPTT_GRADER_ASSIGNMENTS"}
    return subprocess.run([COMMAND, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_a_renamed_copy_of_the_public_folder_still_checks(tmp_path):
    assert _run("new", "demo", "--course", "course", cwd=tmp_path).returncode == 0
    assert _run("notebook", "demo", "--assignments", "course", cwd=tmp_path).returncode == 0
    copy = tmp_path / "demo-alice (1)"  # as GitHub Classroom, a zip or a second download names it
    copy.mkdir()
    for name in ("assignment.py", "demo.ipynb"):
        (copy / name).write_bytes((tmp_path / "course" / "demo" / name).read_bytes())
    reference = tmp_path / "course" / "solutions" / "demo" / "reference.py"
    inside = _run("check", "demo", str(reference), cwd=copy)  # from inside the copy
    assert inside.returncode == 0 and "2 / 2 points" in inside.stdout, inside.stdout + inside.stderr
    outside = _run("check", "demo", str(copy / "demo.ipynb"), cwd=tmp_path)  # the notebook's folder counts
    assert outside.returncode == 1 and "0 / 2 points" in outside.stdout, outside.stdout + outside.stderr
    lost = _run("check", "demo", str(reference), cwd=tmp_path)  # no copy here, no course folder named
    assert lost.returncode == 2 and "a student's copy" in lost.stderr, lost.stderr
