"""The worker's life: prestarted workers, deadlines kept by the watchdog, parallel behaviours."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

from grader import sandbox
from grader.notebook import read_submission


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
        target = sandbox.WorkerTarget(submission, mode="none")
    try:
        assert sandbox._spares == [] and target.worker is spare
        assert target.call("pid", []).value == spare.proc.pid
    finally:
        target.close()


def test_a_spare_with_other_limits_is_not_used(submission):
    sandbox.prestart("none", sandbox.Limits(call_seconds=3.0))
    spare, = sandbox._spares
    target = sandbox.WorkerTarget(submission, mode="none")  # default limits
    try:
        assert target.worker is None and spare.proc.poll() is not None  # closed, not handed over
        assert target.call("pid", []).value != spare.proc.pid
    finally:
        target.close()


def test_the_watchdog_kills_a_call_at_its_deadline(submission):
    target = sandbox.WorkerTarget(submission, sandbox.Limits(call_seconds=1.0), mode="none")
    try:
        start = time.monotonic()
        out = target.call("spin", [])
        took = time.monotonic() - start
        assert out.fatal and "did not return within 1 s" in out.error
        assert 1.0 <= took < 1.0 + 2 * sandbox._Watchdog.POLL + 1.0  # poll period plus the kill and wait
        assert target.call("pid", []).ok  # a new worker serves the next call
    finally:
        target.close()


def test_spawn_gives_a_second_worker_for_the_same_submission(submission):
    target = sandbox.WorkerTarget(submission, mode="none")
    other = target.spawn()
    try:
        a, b = target.call("pid", []).value, other.call("pid", []).value
        assert a != b
    finally:
        target.close()
        other.close()
