"""The GitHub Classroom route: the Markdown summary, and the documented workflow's grading step run as written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignments import get
from grader.integrations.github import markdown_summary
from grader.report import FORMAT
from grader.results import CheckResult, Grade

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "docs" / "github-classroom" / "grade.yml"
EXAMPLES = ROOT / "solutions" / "examples" / "britz"


def test_the_summary_has_a_score_table_and_the_first_failure():
    a = get("britz")
    checks = []
    for q in a.questions:
        for check in ("derivative", "contract"):
            passed = not (q.function == "delta_t_prev" and check == "derivative")
            checks.append(CheckResult(q.function, check, q.points / 2, passed,
                                      "" if passed else "delta_t_prev fails on this instance:\n```not a fence```"))
    text = markdown_summary(Grade("s.ipynb", "britz", checks, problems=["cell 3 raised X\n  File x"]), a, "s.ipynb")
    lines = text.splitlines()
    assert lines[0] == "## bptt-grader check: britz (`s.ipynb`)"
    assert "**7 of 8 checks pass**, 6.5 / 7 points" in text
    assert "| `delta_t_prev` | ❌ | ✅ | – | 0.5 / 1 |" in lines
    assert "| `bptt` | ✅ | ✅ | – | 4 / 4 |" in lines
    assert "- cell 3 raised X" in lines
    start = lines.index("### First failure: `delta_t_prev: derivative`")
    # the fence is longer than any run of backticks in the explanation, so it cannot end early
    assert lines[start + 2] == "````text" and lines[start + 3] == "delta_t_prev fails on this instance:"
    assert lines[start + 5] == "````"


def test_behaviours_get_their_own_column():
    a = get("trask")
    q = a.question("bptt_updates")
    checks = [CheckResult(q.function, "derivative", 2, True), CheckResult(q.function, "contract", 2, True),
              CheckResult(q.function, q.behaviours[0].name, 2, True)]
    text = markdown_summary(Grade("t.py", "trask", checks), a)
    assert "| `bptt_updates` | ✅ | ✅ | learns 8-bit binary addition ✅ | 6 / 6 |" in text
    assert text.rstrip().endswith("Every check passes.")


def grading_step() -> tuple[dict, dict, str]:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["check"]["steps"]
    graders = [s for s in steps if "bptt-grader" in s.get("run", "")]
    assert len(graders) == 1 and "\n" not in graders[0]["run"].strip()  # one step, one command
    return workflow, graders[0], steps[-1]


def test_the_workflow_runs_on_push_and_keeps_the_results():
    workflow, step, upload = grading_step()
    assert "push" in workflow[True]  # PyYAML reads the key `on` as True
    assert step["run"].startswith("bptt-grader check ") and '--summary "$GITHUB_STEP_SUMMARY"' in step["run"]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    assert upload["with"]["path"] in step["run"].split()  # the artifact is the file the step writes


def test_the_workflow_grading_step_as_written(tmp_path):
    workflow, step, upload = grading_step()
    shutil.copy(EXAMPLES / "partial.ipynb", tmp_path / workflow["env"]["NOTEBOOK"])
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier output\n")  # GitHub collects a step's appends: nothing may be overwritten
    env = {**os.environ, **workflow["env"], "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1  # a check fails: the push gets a red cross
    text = summary.read_text()
    assert text.startswith("earlier output\n## bptt-grader check: britz (`britz.ipynb`)")
    assert "| `delta_t` | ❌ | ❌ | – | 0 / 1 |" in text and "| `bptt` | ✅ | ✅ | – | 4 / 4 |" in text
    assert "### First failure: `delta_t: derivative`" in text and "NotImplementedError" in text
    results = json.loads((tmp_path / upload["with"]["path"]).read_text())
    assert results["extra_data"]["format"] == FORMAT and results["score"] == 5
    assert "FAIL  delta_t: not written yet (raises NotImplementedError)" in proc.stdout  # the log shows the report


def test_an_unreadable_notebook_still_gets_a_summary(tmp_path):
    from grader import cli

    (tmp_path / "britz.ipynb").write_text("{not json")
    summary = tmp_path / "summary.md"
    assert cli.main(["check", "britz", str(tmp_path / "britz.ipynb"), "--summary", str(summary)]) == 2
    text = summary.read_text()
    assert "**The notebook could not be read**" in text and "britz.ipynb" in text
