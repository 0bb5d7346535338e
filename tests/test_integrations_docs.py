"""The instructor pages in docs/: every ``sh`` block runs, as written, in a scratch course folder.

``console`` blocks are not run (installs, Docker, web interfaces), but every
``bptt-grader`` command in them must still parse.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import build_parser
from grader.integrations.otter import otter_available

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "solutions" / "examples" / "britz"
PAGES = ["own-notebooks.md", "otter.md", "gradescope.md", "github-classroom.md"]


def blocks(page: str, kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", (DOCS / page).read_text(), flags=re.S | re.M)


@pytest.fixture
def course(tmp_path) -> Path:
    """The scratch course folder docs/README.md describes."""
    skip = shutil.ignore_patterns("examples", "__pycache__")
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions", ignore=skip)
    shutil.copy(EXAMPLES / "correct.ipynb", tmp_path / "britz.ipynb")
    (tmp_path / "submissions").mkdir()
    for name in ("correct", "partial", "aliasing"):
        shutil.copy(EXAMPLES / f"{name}.ipynb", tmp_path / "submissions" / f"{name}.ipynb")
    return tmp_path


def run_page(page: str, folder: Path) -> str:
    """Run each ``sh`` block of ``page`` in ``folder`` with this Python's ``bptt-grader``; return the output."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("BPTT_GRADER_SOLUTIONS", None)  # the pages rely on ./solutions
    output = []
    found = blocks(page, "sh")
    assert found, f"{page} has no sh block"
    for block in found:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{page}:\n{block}\n{proc.stdout}\n{proc.stderr}"
        output.append(proc.stdout)
    return "\n".join(output)


def test_own_notebooks_page(course):
    out = run_page("own-notebooks.md", course)
    assert "ok   britz: reference" in out  # validate
    assert "PASS  bptt: derivative" in out  # check
    with open(course / "results" / "britz" / "grades.csv") as f:
        rows = {r["submission"]: float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {"aliasing": 6.75, "correct": 7, "partial": 5}
    assert "britz: 3 submissions" in out  # the summary the page prints


def test_gradescope_page(course):
    out = run_page("gradescope.md", course)
    assert (course / "britz-autograder.zip").is_file()
    results = json.loads((course / "ag" / "results" / "results.json").read_text())
    assert results["score"] == 5  # partial.ipynb, as bptt-grader grade scores it
    assert {t["visibility"] for t in results["tests"] if t["name"].endswith(": reference")} == {"after_published"}
    assert '"visibility": "after_published"' in out  # the page's `cat` shows it


def test_github_classroom_page(course):
    out = run_page("github-classroom.md", course)
    summary = (course / "summary.md").read_text()
    assert summary.startswith("## bptt-grader check: britz (`britz.ipynb`)") and "Every check passes." in summary
    assert "| `bptt` | ✅ | ✅ | – | 4 / 4 |" in out
    assert json.loads((course / "bptt-results.json").read_text())["score"] == 7


@pytest.mark.skipif(not otter_available(), reason='otter-grader not installed (pip install ".[otter]")')
def test_otter_page(course):
    run_page("otter.md", course)
    assert (course / "otter-britz" / "student" / "britz.ipynb").is_file()
    results = json.loads((course / "otter-results" / "results.json").read_text())
    scores = [t["score"] for t in results["tests"] if "score" in t]
    assert len(scores) == 4 and sum(scores) == 0  # the blank student notebook earns nothing


def test_every_documented_command_parses():
    parser = build_parser()
    seen = set()
    for page in PAGES:
        for block in blocks(page, "sh") + blocks(page, "console"):
            for line in block.splitlines():
                if line.startswith("bptt-grader "):
                    args = shlex.split(line.replace('"$ASSIGNMENT"', "britz").replace('"$NOTEBOOK"', "britz.ipynb")
                                       .replace('"$GITHUB_STEP_SUMMARY"', "summary.md"))[1:]
                    parser.parse_args(args)  # exits (fails the test) on an unknown option
                    seen.add(args[0])
    assert seen == {"list", "validate", "check", "grade", "otter", "gradescope"}


def test_the_index_links_every_page_and_the_workflow_command_is_documented():
    index = (DOCS / "README.md").read_text()
    for page in PAGES:
        assert f"]({page})" in index and (DOCS / page).is_file()
    yaml = pytest.importorskip("yaml")
    steps = yaml.safe_load((DOCS / "github-classroom" / "grade.yml").read_text())["jobs"]["check"]["steps"]
    command = next(s["run"] for s in steps if "bptt-grader" in s.get("run", ""))
    assert command in (DOCS / "github-classroom.md").read_text()  # the page shows the step as it is
