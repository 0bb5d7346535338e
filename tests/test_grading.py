"""Grading end to end: scores, zeros for exactly what is broken, reproducibility, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import cli
from grader.answers import instance_key
from grader.assignments import NAMES
from grader.target import FUNCTION
from grader.validate import validate

BUGGY = '''
import numpy as np

def delta_o(o, y):
    d = o                      # aliasing: changes o
    d[np.arange(len(y)), y] -= 1.0
    return d

def delta_t(V, delta_o_t, s_t):
    return V.T @ delta_o_t      # (1 - s_t**2) missing

def delta_t_prev(W, delta_t, s_prev):
    return W.T @ delta_t * (1 - s_prev**2)

# bptt is missing
'''


def _grade(tmp_path: Path, name: str, source: str, solutions: Path, *extra: str) -> dict:
    sub = tmp_path / f"{name}.py"
    sub.write_text(source)
    out = tmp_path / "out"
    code = cli.main(["grade", "britz", str(sub), "--out", str(out), "--solutions", str(solutions),
                     "--jobs", "1", "--examples", "20", *extra])
    assert code == 0
    return json.loads((out / f"{name}.json").read_text())


def test_each_function_scored_on_its_own(tmp_path, solutions_dir):
    data = _grade(tmp_path, "buggy", BUGGY, solutions_dir)
    per = {}
    for t in data["tests"]:
        per.setdefault(t["function"], []).append(t)
    score = {f: sum(t["score"] for t in ts) for f, ts in per.items()}
    # delta_t is wrong on most instances, so its form (the contract) earns nothing either (grader.credit);
    # delta_o's values are right (it only changes its argument): it keeps derivative and reference
    assert score == {"delta_o": 0.75, "delta_t": 0.0, "delta_t_prev": 1.0, "bptt": 0.0}
    assert data["score"] == 1.75 and data["max_score"] == 7.0
    by_name = {t["name"]: t for t in data["tests"]}
    assert by_name["delta_o: contract"]["extra_data"]["misconception"] == "britz-delta-o-aliasing"
    assert by_name["delta_t: derivative"]["extra_data"]["misconception"] == "britz-missing-tanh-derivative"
    assert "no function named bptt" in by_name["bptt: derivative"]["output"]
    for t in data["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "function"}
        assert t["status"] in ("passed", "failed")
    csv = (tmp_path / "out" / "grades.csv").read_text().splitlines()
    assert csv[0] == "submission,delta_o,delta_t,delta_t_prev,bptt,score,max_score"
    assert csv[1] == "buggy,0.75,0,1,0,1.75,7"


def test_grading_is_reproducible_across_processes(tmp_path, solutions_dir):
    sub = tmp_path / "buggy.py"
    sub.write_text(BUGGY)
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "grader", "grade", "britz", str(sub), "--out", str(out),
                        "--solutions", str(solutions_dir), "--jobs", "1", "--examples", "20"],
                       check=True, env=env, capture_output=True)
        data = json.loads((out / "buggy.json").read_text())
        data.pop("execution_time")
        outputs.append(data)
    assert outputs[0] == outputs[1]


def test_unreadable_submission_gets_zero_with_the_reason(tmp_path, solutions_dir):
    sub = tmp_path / "broken.ipynb"
    sub.write_text("{ not json")
    out = tmp_path / "out"
    assert cli.main(["grade", "britz", str(sub), "--out", str(out), "--solutions", str(solutions_dir)]) == 0
    data = json.loads((out / "broken.json").read_text())
    assert data["score"] == 0 and data["max_score"] == 7
    assert "not valid JSON" in data["output"] and "not valid JSON" in data["tests"][0]["output"]


@pytest.mark.parametrize("argv, code", [
    (["grade", "nosuch", "x.py", "--out", "o"], 2),       # argparse refuses the name
    (["grade", "britz", "x.py", "--out", "o", "--solutions", "/nonexistent"], 2),
    (["validate", "nosuch"], 2),
])
def test_cannot_grade_at_all_exits_non_zero(argv, code, capsys):
    try:
        assert cli.main(argv) == code
    except SystemExit as e:
        assert e.code == code


def test_check_command_without_solutions(tmp_path, solutions_dir, capsys):
    good = tmp_path / "good.py"
    good.write_text((solutions_dir / "britz" / "reference.py").read_text())
    assert cli.main(["check", "britz", str(good), "--examples", "15"]) == 0
    bad = tmp_path / "bad.py"
    bad.write_text(BUGGY)
    assert cli.main(["check", "britz", str(bad), "--examples", "15"]) == 1
    text = capsys.readouterr().out
    assert "FAIL  delta_t: derivative" in text and "reference" not in text.split("FAIL  delta_t")[1][:40]
    assert "known mistake" not in text  # no catalogue without solutions


def test_in_notebook_check(load):
    from grader import check

    funcs = load("britz").reference.functions
    report = check("britz", funcs["delta_t"], examples=10, quiet=True)
    assert report.passed and bool(report)
    report = check("britz", {"delta_t": lambda V, d, s: V.T @ d}, examples=10, quiet=True)
    assert not report.passed and "FAIL" in report.text
    with pytest.raises(ValueError, match="not a function of britz"):
        check("britz", print)


@pytest.mark.parametrize("assignment", NAMES)
def test_validate_passes_on_the_shipped_solutions(assignment, load):
    """The reference earns full marks; every catalogued mistake (at least 8) fails and is named."""
    findings = validate(assignment, load(assignment), examples=20)
    assert all(f.ok for f in findings), [f for f in findings if not f.ok]
    assert len(findings) >= 9


def test_validate_command_fails_when_a_mistake_is_not_caught(tmp_path, solutions_dir, capsys):
    import shutil

    shutil.copytree(solutions_dir / "britz", tmp_path / "britz")
    with open(tmp_path / "britz" / "misconceptions.py", "a") as f:
        f.write("""

@mistake("britz-not-a-mistake", "delta_t", "a correct function", "It is right.")
def not_a_mistake(V, delta_o_t, s_t):
    return V.T @ delta_o_t * (1 - s_t**2)
""")
    assert cli.main(["validate", "britz", "--solutions", str(tmp_path), "--examples", "10"]) == 1
    assert "passes every check" in capsys.readouterr().out


def test_a_later_check_reports_the_same_smallest_instance_and_a_larger_one():
    """The reference check reuses the derivative check's smallest failing instance (no second
    shrink), and the larger instance that says where the error sits comes from drawn instances."""
    import warnings

    from grader import grading
    from grader.assignments import get
    from grader.notebook import read_submission
    from grader.oracles.reference import load_solutions
    from grader.worker_target import WorkerTarget

    root = Path(__file__).resolve().parent.parent
    a = get("goodfellow")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = WorkerTarget(read_submission(root / "solutions/examples/goodfellow/h0_ignored.py"), mode="none")
    try:
        checks = grading.grade_question(a.question("bptt"), target, load_solutions("goodfellow", root / "solutions"),
                                        FUNCTION)
    finally:
        target.close()
    derivative, reference = checks[0], checks[1]
    assert not derivative.passed and not reference.passed
    assert instance_key(reference.instance) == instance_key(derivative.instance)
    assert "On a larger failing instance" in derivative.message


def test_instances_remembered_from_a_passing_search_change_no_result(tmp_path, monkeypatch, no_shipped_lists):
    """Later submissions are judged on the instances an earlier passing search drew (no new search),
    in the same process or, from disk, in a later one; every score, message and diagnosis must be
    what a search in a fresh process gives."""
    import warnings

    from grader import drawn, grading
    from grader.assignments import get
    from grader.notebook import read_submission
    from grader.oracles.reference import load_solutions
    from grader.worker_target import WorkerTarget

    root = Path(__file__).resolve().parent.parent
    a = get("britz")
    solutions = load_solutions("britz", root / "solutions")

    def run(name):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target = WorkerTarget(read_submission(root / "solutions/examples/britz" / name), mode="none")
        try:
            g = grading.grade(a, target, solutions)
        finally:
            target.close()
        return [(c.name, c.score, c.message, c.misconception and c.misconception.id) for c in g.checks]

    monkeypatch.setenv("BPTT_GRADER_CACHE", "off")
    drawn.forget()
    fresh = run("transposed_w.ipynb")
    drawn.forget()
    run("correct.ipynb")
    assert len(drawn._MEMORY) == len(a.questions)  # every search passed and was remembered
    assert run("transposed_w.ipynb") == fresh

    monkeypatch.setenv("BPTT_GRADER_CACHE", str(tmp_path))
    drawn.forget()
    run("correct.ipynb")
    assert len(list(tmp_path.glob("britz.*.drawn"))) == len(a.questions)
    drawn.forget()  # as in a new process: only the disk copy
    assert run("transposed_w.ipynb") == fresh
    assert all(score > 0 and not message for _, score, message, _ in run("correct.ipynb"))


def test_a_function_that_keeps_state_gets_the_same_grade_first_and_later(tmp_path, monkeypatch,
                                                                          no_shipped_lists):
    """Its calls come in the same order whether the instances were just drawn or remembered, so a
    function whose answers drift with the number of calls is graded alike on every run."""
    import warnings

    from grader import drawn, grading
    from grader.assignments import get
    from grader.notebook import read_submission
    from grader.oracles.reference import load_solutions
    from grader.worker_target import WorkerTarget

    root = Path(__file__).resolve().parent.parent
    source = (root / "solutions/britz/reference.py").read_text()
    drifting = source.replace(
        "def delta_t_prev(W, delta_t, s_prev):\n    return W.T @ delta_t * (1 - s_prev**2)",
        "_n = [0]\n\ndef delta_t_prev(W, delta_t, s_prev):\n    _n[0] += 1\n"
        "    return W.T @ delta_t * (1 - s_prev**2) * (1.01 if 25 < _n[0] <= 45 else 1.0)")
    assert drifting != source
    (tmp_path / "drifting.py").write_text(drifting)
    (tmp_path / "correct.py").write_text(source)
    a = get("britz")
    solutions = load_solutions("britz", root / "solutions")

    def run(name):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target = WorkerTarget(read_submission(tmp_path / name), mode="none")
        try:
            g = grading.grade(a, target, solutions, only=["delta_t_prev"])
        finally:
            target.close()
        return [(c.name, c.score, c.message) for c in g.checks]

    monkeypatch.setenv("BPTT_GRADER_CACHE", str(tmp_path / "drawn"))
    drawn.forget()
    first = run("drifting.py")  # the instances are drawn
    assert not all(score for _, score, _ in first)  # the drift is caught
    drawn.forget()
    run("correct.py")
    drawn.forget()  # a new process: the instances come from disk
    assert run("drifting.py") == first


def test_the_assignments_said_to_need_two_workers_are_those_with_a_parallel_behaviour():
    from grader.assignments import NAMES, TWO_WORKERS, get
    from grader.behaviours import workers

    assert {n for n in NAMES if workers(get(n)) == 2} == TWO_WORKERS


def test_the_reference_is_called_without_watching_its_arguments_and_students_are_watched():
    from grader.target import LocalTarget

    def bump(a):
        a += 1
        return a

    watched, trusted = LocalTarget({"f": bump}), LocalTarget({"f": bump}, watch=False)
    w, t = watched.call("f", [np.zeros(2)]), trusted.call("f", [np.zeros(2)])
    assert w.mutated and w.aliased == [0]  # a student's function: changed argument and shared memory seen
    assert not t.mutated and t.aliased == []
    np.testing.assert_array_equal(w.value, t.value)


def test_a_loops_calls_keep_the_callers_arguments_and_report_failures():
    """A grader loop in the worker calls without the wire round trip (grader.loops.NearTarget): the
    student still gets copies, and errors and missing functions come back as failed calls."""
    from grader.loops import NearTarget

    def bump(a, *, k):
        a += 1
        k[0] = 9
        print("changed")  # captured, not the loop's concern
        return a

    near = NearTarget({"f": bump, "g": lambda: 1 / 0}, call_seconds=10.0, total_seconds=60.0)
    x, k = np.zeros(2), [0]
    out = near.call("f", [x], {"k": k})
    assert out.ok
    np.testing.assert_array_equal(out.value, [1, 1])
    np.testing.assert_array_equal(x, [0, 0])
    assert k == [0]
    failed = near.call("g", [])
    assert not failed.ok and failed.error.startswith("ZeroDivisionError")
    assert not near.call("h", []).ok


def test_call_keys_tell_apart_what_a_function_could_tell_apart():
    from grader.answers import args_key as _args_key

    a = np.arange(4.0)
    same = [_args_key([a, [1, 2]], {}), _args_key([a.copy(), [1, 2]], {})]
    assert same[0] == same[1]
    others = [_args_key([a, (1, 2)], {}), _args_key([a.reshape(2, 2), [1, 2]], {}),
              _args_key([a.astype(np.float32), [1, 2]], {}), _args_key([a, [1, 2]], {"k": 1}),
              _args_key([a + 1e-12, [1, 2]], {}), _args_key([a, np.array([1, 2])], {})]
    assert len({same[0], *others}) == 1 + len(others)
