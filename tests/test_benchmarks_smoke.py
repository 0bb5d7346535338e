"""The benchmark harness runs (``--quick``: every section at tiny sizes) and its output is sane.

CI runs only this smoke run; the real benchmarks are ``python benchmarks/run.py`` (see BENCHMARKS.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT


def _stats(node, path=""):
    """Every timing (a dict with median/low/high/n) in the results, with where it is."""
    if isinstance(node, dict):
        if {"median", "low", "high", "n"} <= node.keys():
            yield path, node
        else:
            for k, v in node.items():
                yield from _stats(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _stats(v, f"{path}[{i}]")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out.read_text(), json.loads(out.with_suffix(".json").read_text())


def test_every_timing_is_positive_and_ordered(quick):
    _, res = quick
    timings = list(_stats(res))
    assert len(timings) > 10
    for where, s in timings:
        assert 0 < s["low"] <= s["median"] <= s["high"], where
        assert s["n"] >= 1, where


def test_the_oracle_is_accurate(quick):
    _, res = quick
    (cfg,) = res["oracle"]
    errors = {r["method"]: r["error"] for r in cfg["rows"]}
    assert errors["ours: complex step"] < 1e-10
    assert errors["ours: central differences"] < 1e-5
    assert errors["loop of central differences (h = 1e-05)"] < 1e-4
    if "torch.autograd.gradcheck (slow mode)" in errors:  # torch is an optional extra
        assert errors["torch.autograd.gradcheck (slow mode)"] < 1e-3
        assert errors["torch autograd backward (for scale)"] < 1e-10


def test_grading_gets_the_expected_scores(quick):
    _, res = quick
    assert all(c["passed"] for c in res["check"])
    assert all(g["score"] == "7 / 7" for g in res["grade_one"])
    for run in res["grade_class"]["runs"]:
        full, n = run["correct_full_marks"].split(" / ")
        caught, m = run["buggy_caught"].split(" / ")
        assert full == n and caught == m and int(n) + int(m) == res["grade_class"]["n"]
    assert res["otter"]["measured"] or res["otter"]["reason"]


def test_the_profile_adds_up(quick):
    _, res = quick
    for p in res["profile"]:
        parts = p["median"]
        assert all(v >= 0 for v in parts.values())
        assert sum(parts.values()) == pytest.approx(p["total"], rel=0.05)
        assert parts["worker start"] > 0 and parts["student compute"] > 0 and parts["hypothesis"] > 0


def test_the_report_describes_the_machine(quick):
    text, res = quick
    for heading in ("## Machine", "## Goals", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## Reproduce"):
        assert heading in text
    for key in ("cpu", "cores", "memory", "python", "numpy", "blas", "sandbox"):
        assert res["machine"][key]
