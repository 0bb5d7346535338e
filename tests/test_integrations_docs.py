"""The instructor pages in docs/: every ``sh`` block runs as written, as a reader runs it (all of a page's
blocks in order in one shell, from the root of a fresh clone: :mod:`tests.docs_pages`).

``console`` blocks are not run (installs, Docker, web interfaces), but every
``bptt-grader`` command in them must still parse.
"""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import pytest
from docs_pages import DOCS, blocks, fresh_clone, run_in_one_shell, run_page, scratch_block

from grader.cli import build_parser
from grader.integrations.otter import otter_available

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["own-notebooks.md", "otter.md", "gradescope.md", "github-classroom.md"]


@pytest.fixture
def course(tmp_path) -> Path:
    """A fresh clone's root, as the pages start from (the scratch files are the pages' own first block)."""
    return fresh_clone(tmp_path)


def output(page: str, folder: Path) -> str:
    """Run ``page`` as a reader does (:func:`docs_pages.run_page`); its blocks' stdout."""
    return "\n".join(out for out, _ in run_page(page, folder))


def test_own_notebooks_page(course):
    out = output("own-notebooks.md", course)
    assert "ok   britz: reference" in out  # validate
    assert "PASS  bptt: derivative" in out  # check
    with open(course / "results" / "britz" / "grades.csv") as f:
        rows = {r["submission"]: float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {"aliasing": 6.75, "correct": 7, "partial": 5}
    assert "britz: 3 submissions" in out  # the summary the page prints


def test_gradescope_page(course):
    out = output("gradescope.md", course)
    assert (course / "britz-autograder.zip").is_file()
    results = json.loads((course / "ag" / "results" / "results.json").read_text())
    assert results["score"] == 5  # partial.ipynb, as bptt-grader grade scores it
    assert {t["visibility"] for t in results["tests"] if t["name"].endswith(": reference")} == {"after_published"}
    assert '"visibility": "after_published"' in out  # the page's `cat` shows it


def test_github_classroom_page(course):
    out = output("github-classroom.md", course)
    summary = (course / "summary.md").read_text()
    assert summary.startswith("## bptt-grader check: britz (`britz.ipynb`)") and "Every check passes." in summary
    assert "| `bptt` | ✅ | ✅ | – | 4 / 4 |" in out
    assert json.loads((course / "bptt-results.json").read_text())["score"] == 7


@pytest.mark.skipif(not otter_available(), reason='otter-grader not installed (pip install ".[otter]")')
def test_otter_page(course):
    output("otter.md", course)
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


def test_every_page_with_commands_starts_with_the_scratch_files_it_uses():
    """A reader from a fresh clone runs a page as written: its first block makes what the page uses
    (docs/README.md's scratch block, which must make every file the pages name)."""
    scratch = scratch_block()
    index = (DOCS / "README.md").read_text()
    assert index.index(scratch) < index.index("## How these pages are tested")  # at the top, not the bottom
    with_commands = [p.name for p in sorted(DOCS.glob("*.md")) if blocks(p.name, "sh") and p.name != "README.md"]
    assert set(with_commands) >= {*PAGES, "gradebook.md", "scale.md", "authoring.md"}
    for page in with_commands:
        if page == "authoring.md":  # starts from nothing: bptt-grader new makes everything it uses
            continue
        text = (DOCS / page).read_text()
        assert blocks(page, "sh")[0] == scratch, page
        assert "(README.md#trying-the-pages)" in text and text.index(scratch) < text.index("\n## "), page


def test_the_pages_are_run_in_one_shell_in_order(tmp_path):
    """As pasted into one terminal: a cd or a variable of one block holds in the next (a test that ran each
    block in a fresh shell would pass pages a reader cannot run)."""
    (tmp_path / "inner").mkdir()
    outputs = run_in_one_shell(["cd inner\nname=britz", 'pwd\necho "$name"'], tmp_path)
    assert outputs[1][0].split() == [str(tmp_path / "inner"), "britz"]
    with pytest.raises(AssertionError, match="block 2 of 3 failed"):
        run_in_one_shell(["true", "cd nowhere", "true"], tmp_path)
