"""Same score every time: every score and every feedback text identical on every run, in any order.

The bundled examples of every assignment and the real-code corpus, graded twice (once one by one, once
with ``--jobs 2``: other processes, another order), must give identical results files apart from timings.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from grader import cli

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("trask", "britz", "goodfellow", "martens", "cache")
RUNS = (1, 2)  # --jobs of each run: one by one, then in parallel
_TIMING = re.compile(r"\b\d+(\.\d+)? s\b")


def _submissions(assignment: str, tmp: Path) -> Path:
    """The examples and the corpus files of ``assignment``, in one folder."""
    folder = tmp / f"in-{assignment}"
    folder.mkdir()
    for source in (ROOT / "solutions/examples" / assignment, ROOT / "tests/corpus" / assignment):
        for path in sorted(source.glob("*")) if source.is_dir() else []:
            if path.suffix in (".py", ".ipynb"):
                shutil.copy(path, folder / f"{source.parent.name}-{path.name}")
    return folder


def _stable(results_dir: Path) -> dict[str, object]:
    """Every result without its timings."""
    out: dict[str, object] = {}
    for path in sorted(results_dir.glob("*.json")):
        data = json.loads(path.read_text())
        data.pop("execution_time", None)
        out[path.name] = json.loads(_TIMING.sub("<t> s", json.dumps(data, sort_keys=True)))
    out["grades.csv"] = (results_dir / "grades.csv").read_text()
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_gradings_give_identical_results(tmp_path, assignment):
    folder = _submissions(assignment, tmp_path)
    seen = []
    for i, jobs in enumerate(RUNS):
        out = tmp_path / f"run{i}"
        code = cli.main(["grade", assignment, str(folder), "--out", str(out), "--jobs", str(jobs),
                         "--solutions", str(ROOT / "solutions")])
        assert code in (0, 1), code  # 1: some submission failed a check; never an internal error (3)
        seen.append(_stable(out))
    first = seen[0]
    assert len(first) > 2
    for i, other in enumerate(seen[1:], start=1):
        assert other.keys() == first.keys()
        for name in first:
            assert other[name] == first[name], f"run {i} (--jobs {RUNS[i]}) differs from run 0 in {name}"
