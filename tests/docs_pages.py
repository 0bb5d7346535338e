"""Run a docs page's ``sh`` blocks the way a reader does: all of them, in order, pasted into one shell.

A block that changes the shell (``cd``, a variable) changes it for the blocks after it, as in a terminal.
The page starts where a reader starts: in the root of a fresh clone (here a copy of its ``solutions/``,
the only part of the clone the pages read), with bptt-grader installed. Every file a page writes there
must be one the clone's ``.gitignore`` ignores (``git add .`` in a clone would otherwise commit it; the
Gradescope zip and otter's ``master/`` hold the reference solutions).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
#: Written between blocks, on stdout and on stderr, to split the shell's output into the blocks' own.
END = "@@bptt-grader-docs: end of block@@"


def blocks(page: str | Path, kind: str) -> list[str]:
    """The code blocks of ``kind`` (``sh``, ``text``, ...) of a page of docs/ (or any Markdown file)."""
    path = page if isinstance(page, Path) else DOCS / page
    return re.findall(rf"^```{kind}\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def scratch_block() -> str:
    """docs/README.md's block that makes the scratch files the pages use (each page starts with it)."""
    (block,) = blocks("README.md", "sh")
    return block


def fresh_clone(folder: Path) -> Path:
    """``folder`` as a fresh clone's root, for the pages: its ``solutions/`` (examples included)."""
    shutil.copytree(ROOT / "solutions", folder / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def reader_env(**extra: str) -> dict[str, str]:
    """The environment of a reader's terminal: this Python's ``bptt-grader`` on the PATH, no grader settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("BPTT_GRADER_SOLUTIONS", "BPTT_GRADER_ASSIGNMENTS")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return {**env, **extra}


def run_in_one_shell(found: list[str], folder: Path, env: dict[str, str] | None = None,
                     timeout: float = 900) -> list[tuple[str, str]]:
    """Run ``found`` (a page's blocks) in order in one ``bash``, from ``folder``; each block's (stdout, stderr).

    The shell stops at the first command that fails (``set -euo pipefail``); the assertion names that block.
    """
    mark = f"printf '\\n%s\\n' '{END}'; printf '\\n%s\\n' '{END}' >&2"
    script = "set -euo pipefail\n" + "".join(f"{block}\n{mark}\n" for block in found)
    proc = subprocess.run(["bash", "-c", script], cwd=folder, env=env or reader_env(), capture_output=True,
                          text=True, timeout=timeout)
    outs, errs = proc.stdout.split(f"\n{END}\n"), proc.stderr.split(f"\n{END}\n")
    done = len(outs) - 1
    assert proc.returncode == 0 and done == len(found), (
        f"block {done + 1} of {len(found)} failed (exit status {proc.returncode}):\n{found[min(done, len(found) - 1)]}"
        f"\n--- stdout\n{outs[-1][-4000:]}\n--- stderr\n{errs[-1][-4000:]}")
    return list(zip(outs[:-1], errs[:-1]))


def not_ignored(folder: Path, before: set[str]) -> list[str]:
    """The entries of ``folder`` a page made (not in ``before``) that the clone's ``.gitignore`` does not ignore."""
    made = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if p.name not in before)
    if not made:
        return []
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(made),
                          capture_output=True, text=True)
    ignored = set(proc.stdout.splitlines())
    return [m for m in made if m not in ignored]


def run_page(page: str, folder: Path, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Run every ``sh`` block of a docs page from ``folder`` (a fresh clone), as a reader does; check that
    the page starts with the scratch block and that everything it wrote is ignored by git in a clone."""
    found = blocks(page, "sh")
    assert found, f"{page} has no sh block"
    assert found[0] == scratch_block(), f"{page} does not start with docs/README.md's scratch block"
    before = {p.name for p in folder.iterdir()}
    outputs = run_in_one_shell(found, folder, env)
    left = not_ignored(folder, before)
    assert not left, f"{page} writes files the clone's .gitignore does not ignore: {left}"
    return outputs
