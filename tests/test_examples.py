"""The bundled example submissions get exactly the expected scores and diagnoses."""

from __future__ import annotations

import json

import pytest
from conftest import SOLUTIONS

from grader.assignments import NAMES
from grader.batch import Job, run_batch

ASSIGNMENTS = [a for a in NAMES if (SOLUTIONS / "examples" / a / "EXPECTED.json").is_file()]


def test_every_assignment_has_examples():
    assert set(ASSIGNMENTS) == set(NAMES)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_examples_get_the_expected_scores(assignment, tmp_path):
    folder = SOLUTIONS / "examples" / assignment
    expected = json.loads((folder / "EXPECTED.json").read_text())
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb"))
    assert {p.stem for p in paths} == set(expected)
    results, errors = run_batch(Job(assignment, SOLUTIONS), paths, tmp_path, jobs=2)
    assert not errors
    for data in results:
        stem = data["extra_data"]["submission"]
        scores: dict[str, float] = {}
        diagnosed: dict[str, str] = {}
        for t in data["tests"]:
            scores[t["function"]] = scores.get(t["function"], 0) + t["score"]
            if t["status"] == "failed" and t["extra_data"]["misconception"]:
                diagnosed[t["function"]] = t["extra_data"]["misconception"]
        assert scores == pytest.approx(expected[stem]["scores"]), stem
        assert diagnosed == expected[stem]["misconceptions"], stem
        assert (tmp_path / f"{stem}.html").is_file()
    assert (tmp_path / "grades.csv").read_text().count("\n") == len(paths) + 1
