"""What `pip install .` ships: the grader, never the solutions or the catalogue."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import ROOT


def test_wheel_contains_the_grader_and_no_solutions(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "-q", "-w", str(tmp_path)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("bptt_grader-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/worker.py" in names and "grader/assignments/britz.py" in names
    assert not [n for n in names if n.startswith(("solutions/", "tests/", "assignments/"))]
    assert not [n for n in names if "reference" in n and not n.startswith("grader/oracles/")]
    assert not [n for n in names if "misconceptions" in n]
