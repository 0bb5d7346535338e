"""The worker's life: prestarted workers, deadlines kept by the watchdog, pipelined calls, parallel behaviours."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from grader import sandbox
from grader.notebook import read_submission
from grader.worker_target import WorkerTarget


@pytest.fixture
def submission(tmp_path: Path):
    path = tmp_path / "s.py"
    path.write_text("import os\n\ndef pid():\n    return os.getpid()\n\ndef spin():\n    while True:\n        pass\n")
    return read_submission(path)


@pytest.fixture(autouse=True)
def no_spare():
    sandbox._close_spares()  # an earlier test's command may have left some (they are closed at exit)
    yield
    sandbox._close_spares()


def test_a_prestarted_worker_serves_the_next_target(submission):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sandbox.prestart("none")
        spare, = sandbox._spares
        target = WorkerTarget(submission, mode="none")
    try:
        assert sandbox._spares == [] and target.worker is spare
        assert target.call("pid", []).value == spare.proc.pid
    finally:
        target.close()


def test_a_spare_with_other_limits_is_not_used(submission):
    sandbox.prestart("none", sandbox.Limits(call_seconds=3.0))
    spare, = sandbox._spares
    target = WorkerTarget(submission, mode="none")  # default limits
    try:
        assert target.worker is None and spare.proc.poll() is not None  # closed, not handed over
        assert target.call("pid", []).value != spare.proc.pid
    finally:
        target.close()


def test_the_watchdog_kills_a_call_at_its_deadline(submission):
    target = WorkerTarget(submission, sandbox.Limits(call_seconds=1.0), mode="none")
    try:
        start = time.monotonic()
        out = target.call("spin", [])
        took = time.monotonic() - start
        assert out.fatal and "did not return within 1 s" in out.error
        assert 1.0 <= took < 1.0 + 1.0  # the deadline, plus the kill and wait
        assert target.call("pid", []).ok  # a new worker serves the next call
    finally:
        target.close()


def test_spawn_gives_a_second_worker_for_the_same_submission(submission):
    target = WorkerTarget(submission, mode="none")
    other = target.spawn()
    try:
        a, b = target.call("pid", []).value, other.call("pid", []).value
        assert a != b
    finally:
        target.close()
        other.close()


@pytest.fixture
def pipelined(tmp_path: Path):
    path = tmp_path / "p.py"
    path.write_text(
        "import numpy as np\n\n"
        "calls = []\n\n"
        "def echo(a):\n    calls.append(1)\n    print('call', len(calls))\n    return np.asarray(a) * 2.0\n\n"
        "def bump(a):\n    a += 1\n    return None\n\n"
        "def fail(a):\n    raise ValueError(f'no {len(calls)}')\n\n"
        "def count():\n    return len(calls)\n\n"
        "def spin(a):\n    while True:\n        pass\n\n"
        "def pair(a):\n    return np.asarray(a) + 1.0, {'kept': np.asarray(a)}\n\n"
        "def use(cache):\n    return cache['kept'] * 10.0\n")
    return read_submission(path)


def test_pipelined_calls_give_what_calls_one_by_one_give(pipelined):
    rng = np.random.default_rng(0)
    batch = [("echo", [rng.normal(size=(3, 2))], {}, ()), ("bump", [np.zeros(2)], {}, ()),
             ("fail", [1.0], {}, ()), ("echo", [[1.0, 2.0]], {}, ()), ("missing", [], {}, ())] * 3
    one, many = (WorkerTarget(pipelined, mode="none") for _ in range(2))
    try:
        expected = [one.call(*c) for c in batch]
        got = many.call_many(batch)
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            assert (e.ok, e.error, e.stdout, sorted(e.mutated)) == (g.ok, g.error, g.stdout, sorted(g.mutated))
            if e.ok and e.value is not None:
                np.testing.assert_array_equal(e.value, g.value)
        assert many.call("count", []).value == one.call("count", []).value == 6  # every call made, once
    finally:
        one.close()
        many.close()


def test_pipelined_calls_stop_at_a_hang_and_the_worker_restarts(pipelined):
    target = WorkerTarget(pipelined, sandbox.Limits(call_seconds=1.0), mode="none")
    try:
        batch = [("echo", [1.0], {}, ())] * 3 + [("spin", [0.0], {}, ())] + [("echo", [2.0], {}, ())] * 3
        got = target.call_many(batch)
        assert [o.ok for o in got] == [True, True, True, False]  # nothing after the hang is reported
        assert got[-1].fatal and "did not return within 1 s" in got[-1].error
        assert target.call("count", []).value == 0  # a new worker: the calls after the hang were not made there
    finally:
        target.close()


def test_pipelined_calls_larger_than_the_pipe_do_not_deadlock(pipelined):
    target = WorkerTarget(pipelined, mode="none")
    try:
        big = np.arange(200_000, dtype=np.float64)  # 1.6 MB each way, far over a pipe's 64 KiB
        got = target.call_many([("echo", [big + i], {}, ()) for i in range(12)])
        assert len(got) == 12 and all(o.ok for o in got)
        for i, o in enumerate(got):
            np.testing.assert_array_equal(o.value, 2.0 * (big + i))
    finally:
        target.close()


def test_calls_sent_ahead_are_all_made_before_any_other_call(pipelined):
    target = WorkerTarget(pipelined, mode="none")
    try:
        ahead = target.send_ahead([("echo", [float(i)], {}, ()) for i in range(5)])
        assert ahead.get(0).value == 0.0
        assert target.call("count", []).value == 5  # the four still on their way were read (made) first
        assert [ahead.get(i).value for i in range(5)] == [0.0, 2.0, 4.0, 6.0, 8.0]
        assert ahead.get(5) is None
        assert target.call_many([]) == []
    finally:
        target.close()


def test_a_call_can_take_what_an_earlier_call_returned_before_its_reply(pipelined):
    from grader.wire import Earlier, Handle

    target = WorkerTarget(pipelined, mode="none")
    try:
        got = target.call_many([("pair", [3.0], {}, (1,)), ("use", [Earlier(1, 1)], {}, ()),
                                ("fail", [0.0], {}, ()), ("use", [Earlier(1, 1)], {}, ()),
                                ("use", [Earlier(4, 1)], {}, ()), ("use", [Earlier(99, 0)], {}, ()),
                                ("use", [Handle(12345)], {}, ()), ("echo", [1.0], {}, ())])
        assert got[0].ok and isinstance(got[0].value[1], Handle)  # the cache stays in the worker ...
        assert got[1].value == 30.0  # ... and the next call got it without waiting for the reply
        assert not got[3].ok and "earlier call it needs failed" in got[3].error
        assert got[4].value == 30.0  # four calls back: the pair again
        assert not got[5].ok and not got[6].ok and "handle 12345" in got[6].error
        assert got[7].ok and got[7].value == 2.0  # bad references are errors of their call, not of the worker
        assert not any(o.fatal for o in got)
    finally:
        target.close()


# a student's function that changes its arguments in place: the loop's own weights must not change
_MUTATING = "\n_right = bptt_updates\n\n\ndef bptt_updates(X, Y, s0, s1, sh):\n    r = _right(X, Y, s0, s1, sh)\n" \
            "    s0 *= 2\n    sh[:] = 0\n    return r\n"


@pytest.mark.parametrize("extra", ["", _MUTATING], ids=["reference", "mutating"])
def test_a_grader_loop_runs_next_to_the_students_functions(tmp_path, extra):
    from grader.assignments import trask
    from grader.loops import trask_train
    from grader.target import LocalTarget, Outcome, run_near

    source = (Path(__file__).resolve().parent.parent / "solutions/trask/reference.py").read_text() + extra
    (tmp_path / "t.py").write_text(source)
    rng = np.random.default_rng(1)
    w = [rng.normal(size=(2, 16)), rng.normal(size=(16, 1)), rng.normal(size=(16, 16))]
    a, b = rng.integers(0, 128, (3, 4)), rng.integers(0, 128, (3, 4))
    batches = (*trask._addition_batch(a, b), trask.LEARNING_RATE)
    namespace: dict = {}
    exec(compile(source, "t.py", "exec"), namespace)
    here = run_near(LocalTarget(namespace), trask_train, w, *batches)  # no worker: run in this process
    target = WorkerTarget(read_submission(tmp_path / "t.py"), mode="none")
    try:
        there = run_near(target, trask_train, w, *batches)  # in the worker, next to the submission
        assert there.ok and here.ok
        for x, y in zip(there.value["weights"], here.value["weights"]):
            np.testing.assert_array_equal(x, y)
        refused = target.run("os:system", ["true"])
        assert not refused.ok and "only the grader's functions" in refused.error
        for other in ("grader.assignments.trask:learns_binary_addition", "grader.loops:no_such_function"):
            refused = target.run(other, [])  # the grader's, but not a loop of grader.loops
            assert not refused.ok and "only the grader's functions in grader.loops" in refused.error
    finally:
        target.close()
    assert isinstance(run_near(LocalTarget({}), lambda t: 1 / 0), Outcome)


def test_trask_checks_what_the_training_gives_back():
    from grader.assignments.trask import learns_binary_addition
    from grader.target import Outcome

    class Forged:
        def __init__(self, value):
            self.value = value

        def run(self, function, args):
            return Outcome(value=self.value)

    for forged in (None, [1, 2], {"weights": "all good"}, {"weights": [np.zeros(2)] * 3}, {"failure": 7}):
        passed, message = learns_binary_addition(Forged(forged))
        assert not passed and "not" in message
    passed, message = learns_binary_addition(Forged({"failure": "bptt_updates failed at training step 3: x"}))
    assert not passed and message.endswith("step 3: x")


def test_a_hang_inside_a_grader_loop_fails_its_call_within_the_call_limit(tmp_path):
    from grader.assignments.trask import learns_binary_addition

    source = (Path(__file__).resolve().parent.parent / "solutions/trask/reference.py").read_text()
    (tmp_path / "t.py").write_text(source + "\n_n = [0]\n_right = bptt_updates\n\n\ndef bptt_updates(*args):\n"
                                   "    _n[0] += 1\n    while _n[0] > 5:\n        pass\n    return _right(*args)\n")
    target = WorkerTarget(read_submission(tmp_path / "t.py"), sandbox.Limits(call_seconds=1.0), mode="none")
    try:
        start = time.monotonic()
        passed, message = learns_binary_addition(target)
        assert time.monotonic() - start < 20
        assert not passed and message == ("bptt_updates failed at training step 5: bptt_updates did not return "
                                          "within 1 s (an infinite loop?)")
    finally:
        target.close()


def _lent(n: int) -> np.ndarray:
    """An array whose memory a bytearray lends (not an array that owns it)."""
    return np.frombuffer(_BUFFER, dtype=np.float64, count=n)


_BUFFER = bytearray(64)


@pytest.mark.parametrize(("make", "expected"), [
    (lambda a, b: a, [0]),
    (lambda a, b: (b.copy(), a[1:]), [0]),  # a view, second in a tuple
    (lambda a, b: [b.T], [1]),
    (lambda a, b: (a.reshape(2, 3)[:, ::2], b[0]), [0, 1]),
    (lambda a, b: np.lib.stride_tricks.as_strided(b, shape=(2,), strides=(8,)), [1]),
    (lambda a, b: (a.copy(), b + 0), []),
    (lambda a, b: a[:0], []),  # no element: nothing shared
    (lambda a, b: 3.0, []),
])
def test_the_worker_sees_every_answer_that_shares_memory_with_an_argument(make, expected):
    from grader.calls import _aliased

    a, b = np.arange(6.0), np.ones((2, 2))
    assert _aliased([a, [b], 7], make(a, b)) == expected


def test_memory_lent_by_another_object_is_tested_exactly():
    from grader.calls import _aliased

    first, again, elsewhere = _lent(4), _lent(8), np.frombuffer(bytearray(32), dtype=np.float64)
    assert _aliased([first], again[2:]) == [0]  # two arrays over one bytearray
    assert _aliased([elsewhere], again) == []


def test_cgroups_left_by_a_killed_grader_are_removed_by_the_next():
    """A SIGKILLed grader cannot remove its workers' cgroups; the next grader removes them (not a live one's)."""
    import os
    import subprocess
    import sys

    base = Path("/sys/fs/cgroup/pids")
    if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
        pytest.skip("no pids cgroup this process may write")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale, alive = base / f"bptt-grader-{gone.pid}-1-2", base / f"bptt-grader-{os.getppid()}-1-2"
    stale.mkdir()
    alive.mkdir()
    sandbox._sweep_once.cache_clear()
    worker = sandbox.Worker(sandbox.Limits(), "none")
    try:
        assert not stale.exists()
        assert alive.exists()
    finally:
        worker.close()
        for path in (stale, alive):
            if path.exists():
                path.rmdir()


def test_a_missing_function_is_offered_a_misspelling_but_never_another_graded_function(tmp_path):
    from grader.target import LocalTarget

    code = "def rnn_step_backward(d, c):\n    return d\n\ndef rnn_forwrd(x):\n    return x\n"
    (tmp_path / "m.py").write_text(code)
    asked = ["rnn_step_backward", "rnn_forward", "rnn_backward"]
    namespace: dict = {}
    exec(code, namespace)
    local = LocalTarget({k: v for k, v in namespace.items() if callable(v)})
    target = WorkerTarget(read_submission(tmp_path / "m.py"), mode="none")
    try:
        for found in (target.available(asked), local.available(asked)):
            assert found["rnn_step_backward"].is_function
            assert str(found["rnn_forward"]) == "missing (did you mean rnn_forwrd?)"
            assert str(found["rnn_backward"]) == "missing"  # not "did you mean rnn_step_backward?"
    finally:
        target.close()
