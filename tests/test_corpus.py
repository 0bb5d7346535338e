"""The real-code regression corpus (tests/corpus/): the grader agrees with independent ground truth.

Each corpus file reproduces, in our own code, a pattern that real student
submissions use (dict and namedtuple caches, list returns, helper calls, Python 2
leftovers, classes holding weights, in-place updates, ...); see
tests/corpus/README.md. tests/corpus/checker.py decides, from the contract alone
(its own forward passes and central differences, nothing from grader/ or
solutions/), whether each function is correct, and MANIFEST.json records it.

Every corpus file is graded the way an instructor grades a folder
(``bptt-grader grade ASSIGNMENT FILES --out DIR --jobs 2``, one batch per
assignment; a course assignment such as ``lstm`` with ``--assignments
courses/bptt`` and its course's solutions), and every verdict is checked:

* a correct function gets full marks on every one of its checks, and no
  misconception is named in its feedback;
* a buggy function loses marks.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SOLUTIONS

CORPUS = ROOT / "tests" / "corpus"
MANIFEST: dict[str, Any] = json.loads((CORPUS / "MANIFEST.json").read_text())
#: Course assignments (not bundled with the grader) and their course folder: graded with --assignments, and
#: with the course's own solutions folder.
COURSES = {"lstm": ROOT / "courses" / "bptt"}
KEYS = sorted(MANIFEST, key=lambda k: (MANIFEST[k]["assignment"], k))


def _checker():
    spec = importlib.util.spec_from_file_location("corpus_checker", CORPUS / "checker.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


class Batches:
    """One ``bptt-grader grade`` run per assignment, made the first time one of its files is asked for."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.runs: dict[str, subprocess.CompletedProcess[str]] = {}

    def result(self, key: str) -> tuple[dict[str, Any] | None, str]:
        assignment = MANIFEST[key]["assignment"]
        if assignment not in self.runs:
            files = sorted(str(CORPUS / k) for k in MANIFEST if MANIFEST[k]["assignment"] == assignment)
            course = COURSES.get(assignment)
            where = ["--assignments", str(course), "--solutions", str(course / "solutions")] if course else \
                ["--solutions", str(SOLUTIONS)]
            self.runs[assignment] = subprocess.run(
                [sys.executable, "-m", "grader", "grade", assignment, *files, "--out", str(self.out / assignment),
                 "--jobs", "2", *where],
                capture_output=True, text=True, timeout=600, cwd=ROOT)
        run = self.runs[assignment]
        where = f"(batch exit status {run.returncode}; stderr: {run.stderr[-2000:]!r})"
        path = self.out / assignment / f"{Path(key).stem}.json"
        return (json.loads(path.read_text()) if path.is_file() else None), where


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> Batches:
    return Batches(tmp_path_factory.mktemp("corpus"))


def test_corpus_is_complete():
    files = {f"{p.parent.name}/{p.name}" for p in CORPUS.glob("*/*.py")}
    assert files == set(MANIFEST), "every corpus file has a MANIFEST.json entry, and every entry a file"
    assert len(files) >= 40
    assert {e["assignment"] for e in MANIFEST.values()} >= {"trask", "britz", "goodfellow", "martens", "cache", "lstm"}
    verdicts = [f["verdict"] for e in MANIFEST.values() for f in e["functions"].values()]
    assert set(verdicts) == {"correct", "buggy"}
    for key, entry in MANIFEST.items():
        for fn, f in entry["functions"].items():
            assert f["verdict"] == "correct" or f["note"], f"{key}: {fn} is buggy and needs a note of its bug"


@pytest.mark.parametrize("key", KEYS)
def test_checker_agrees_with_manifest(key):
    """The ground truth cannot drift: the checker's verdicts are the manifest's."""
    entry = MANIFEST[key]
    found = _checker().verdicts(CORPUS / key, entry["assignment"])
    assert {fn: v for fn, (v, _) in found.items()} == {fn: f["verdict"] for fn, f in entry["functions"].items()}, \
        {fn: reason for fn, (_, reason) in found.items() if reason}


def _first_lines(text: str, n: int = 6) -> str:
    """The feedback's first line and its reasons (the failing instance's indented lines left out)."""
    lines = text.splitlines()
    kept = lines[:1] + [line for line in lines[1:] if line.strip() and not line.startswith("    ")]
    return "\n".join("        " + line for line in kept[:n])


@pytest.mark.parametrize("key", [k for k, e in MANIFEST.items()
                                 if any(f.get("through") for f in e["functions"].values())])
def test_wrong_only_through_helpers_is_checked_independently(key):
    """A "through" entry holds: with its helpers fixed (corpus/fixed/), the checker finds the caller right,
    and it is wrong as the file stands."""
    entry = MANIFEST[key]
    for fn, truth in entry["functions"].items():
        if truth.get("through"):
            assert truth["verdict"] == "buggy"
            assert _checker().correct_once_fixed(CORPUS / key, entry["assignment"], fn, CORPUS / "fixed" / key)


@pytest.mark.parametrize("key", KEYS)
def test_grader_verdicts(key, batches):
    entry = MANIFEST[key]
    data, where = batches.result(key)
    assert data is not None, f"{key}: the grader wrote no result {where}"
    tests: dict[str, list[dict[str, Any]]] = {}
    for t in data["tests"]:
        tests.setdefault(t["function"], []).append(t)
    problems = []
    for fn, truth in entry["functions"].items():
        checks = tests.get(fn, [])
        if not checks:
            problems.append(f"{fn}: no checks in the results")
            continue
        score, best = sum(t["score"] for t in checks), sum(t["max_score"] for t in checks)
        if truth["verdict"] == "correct":
            for t in checks:
                misconception = (t.get("extra_data") or {}).get("misconception")
                if t["score"] < t["max_score"]:
                    problems.append(f"{fn} is correct but '{t['name']}' scored {t['score']:g} / {t['max_score']:g}"
                                    + (f" [misconception {misconception}]" if misconception else "")
                                    + f":\n{_first_lines(t['output'])}")
                elif misconception:
                    problems.append(f"{fn} is correct but '{t['name']}' names the misconception {misconception}")
        elif truth.get("through"):  # wrong only through helpers of its own: one mistake costs once
            if score < best:
                problems.append(f"{fn} is right once {truth['through']} are fixed, but scored {score:g} / {best:g}:\n"
                                + _first_lines(next(t["output"] for t in checks if t["score"] < t["max_score"])))
            elif not any("right once" in t["output"] for t in checks):
                problems.append(f"{fn}'s feedback does not say it is right once {truth['through']} are fixed")
        elif score >= best:
            problems.append(f"{fn} is buggy ({truth['note']}) but got full marks ({score:g} / {best:g})")
    assert not problems, f"{key} (total {data['score']:g} / {data['max_score']:g}):\n" + "\n".join(problems)


IN_PLACE = [k for k, e in MANIFEST.items() if e["assignment"] == "lstm"
            and e["functions"].get("lstm_step_backward", {}).get("note", "").startswith("dnext_c += ...")]


@pytest.mark.parametrize("key", IN_PLACE)
def test_lstm_in_place_cell_gradient_is_named_with_how_to_write_it(key, batches):
    """The most common filled-in lstm_step_backward (dnext_c += ...): the feedback says the values are right,
    that the argument dnext_c was modified, and how to write it instead; only the contract's share is lost."""
    data, where = batches.result(key)
    assert data is not None, f"{key}: the grader wrote no result {where}"
    checks = {t["name"].split(": ", 1)[1]: t for t in data["tests"] if t["function"] == "lstm_step_backward"}
    assert [c for c, t in checks.items() if t["score"] < t["max_score"]] == ["contract"]
    contract = checks["contract"]
    assert contract["extra_data"]["misconception"] == "lstm-dnext-c-in-place"
    text = " ".join(contract["output"].split())
    assert "modified its argument dnext_c" in text
    assert "The values are right" in text
    assert "write dc = dnext_c + ... instead" in text

