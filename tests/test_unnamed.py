"""The instructor's view of what nothing names: unnamed failures grouped by behaviour across a class."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from grader import unnamed
from grader.batch import Job, run_batch
from grader.target import Outcome

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"

# delta_t with an offset no catalogue or finding knows: written three ways, the same numbers (up to rounding)
ODD_LOOP = """
import numpy as np
def delta_t(V, delta_o_t, s_t):
    out = np.zeros(V.shape[1])
    for j in range(V.shape[1]):
        for k in range(V.shape[0]):
            out[j] += V[k, j] * delta_o_t[k]
    return out * (1 - s_t ** 2) + 0.001 * np.cos(s_t)
"""
ODD_VECTOR = """
import numpy as np
def delta_t(V, delta_o_t, s_t):
    return (1 - s_t * s_t) * (delta_o_t @ V) + 0.001 * np.cos(s_t)
"""
ODD_OTHER = """
import numpy as np
def delta_t(V, delta_o_t, s_t):
    return V.T.dot(delta_o_t) * (1 - s_t ** 2) + 0.001 * np.sin(s_t + 1.0)
"""


def test_the_coarse_digest_forgives_rounding_and_the_exact_one_does_not():
    a = np.array([[1.0, -2.5], [3e-7, 0.0]])
    b = a * (1 + 1e-13)  # another summation order
    b[1, 1] = -0.0
    coarse_a, exact_a = unnamed.answers_digest([Outcome(value=a), Outcome(error="ValueError: shapes (2,3)")])
    coarse_b, exact_b = unnamed.answers_digest([Outcome(value=b), Outcome(error="ValueError: shapes (4,1)")])
    assert coarse_a == coarse_b and exact_a != exact_b
    coarse_c, _ = unnamed.answers_digest([Outcome(value=a * 1.001), Outcome(error="ValueError: x")])
    assert coarse_c != coarse_a  # a different answer is a different behaviour
    assert unnamed.answers_digest([Outcome(value=a)])[0] != unnamed.answers_digest([Outcome(error="TypeError")])[0]


def test_a_class_groups_what_nothing_names_and_lists_identical_answers(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, code in {"ann": ODD_LOOP, "bob": ODD_VECTOR, "cy": ODD_VECTOR, "dee": ODD_OTHER}.items():
        (subs / f"{name}.py").write_text(code)
    (subs / "eve.py").write_text("def delta_t(V, delta_o_t, s_t):\n    return V.dot(delta_o_t) * (1 - s_t ** 2)\n")
    results, errors = run_batch(Job("britz", SOLUTIONS, "none", examples=5), sorted(subs.glob("*.py")),
                                tmp_path / "out")
    assert not errors
    derivative = {r["extra_data"]["submission"]: next(t for t in r["tests"] if t["name"] == "delta_t: derivative")
                  for r in results}
    digests = {n: t["extra_data"].get("behaviour") for n, t in derivative.items()}
    assert digests["ann"] == digests["bob"] == digests["cy"] != digests["dee"]
    assert derivative["bob"]["extra_data"]["answers"] == derivative["cy"]["extra_data"]["answers"]
    assert derivative["ann"]["extra_data"]["answers"] != derivative["bob"]["extra_data"]["answers"]
    groups = unnamed.unnamed_groups(results)
    assert [g.names for g in groups if g.function == "delta_t"] == [["ann", "bob", "cy"], ["dee"]]
    assert unnamed.identical_wrong(results) == [("delta_t", ["bob", "cy"])]
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "delta_t: 3 submissions alike, e.g. ann:" in summary and "delta_t: 1 submission alike, e.g. dee:" in summary
    assert "Identical wrong answers" in summary and "delta_t: bob, cy" in summary
    assert "solutions/britz/misconceptions.py" in summary
    page = (tmp_path / "out" / "index.html").read_text()
    assert "Failures no named mistake explains" in page and "Identical wrong answers" in page
    # eve's untransposed V is named (by the catalogue or a finding), so in no group
    eve = derivative["eve"]["extra_data"]
    assert not any("eve" in g.names for g in groups) and (eve["misconception"] or eve["findings"]), eve


def test_a_named_or_unwritten_failure_is_in_no_group():
    def result(name: str, extra: dict, output: str = "") -> dict:
        test = {"name": "f: derivative", "function": "f", "check": "derivative", "status": "failed",
                "output": output, "extra_data": {"misconception": None, "findings": [], **extra}}
        return {"extra_data": {"submission": name}, "tests": [test]}

    results = [result("named", {"misconception": "m", "behaviour": "x", "answers": "1"}),
               result("variant", {"findings": ["variant:britz-truncation-short"], "behaviour": "x", "answers": "2"}),
               result("located", {"findings": ["only:dLdW"], "behaviour": "x", "answers": "3"}),
               result("unwritten", {})]  # no digest: every call raised NotImplementedError
    groups = unnamed.unnamed_groups(results)
    assert [(g.names, g.where) for g in groups] == [(["located"], "only:dLdW")]
    assert json.dumps(unnamed.summary_lines(results, "britz"))  # plain strings
