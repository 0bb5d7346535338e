"""The worker survives every value: arguments, results and caches of any container shape.

Real CS231n solutions keep step caches in dicts (``cache[t] = ...``, ``{"x": x, ...}``), lists of tuples,
namedtuples, small classes; comparing those with ``==`` once ended the worker. Every value below is
fingerprinted, watched and sent back without raising, and a change anywhere inside it is seen.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

from grader.calls import Handles, fingerprint, invoke
from grader.worker import Integrity, _tampered

Pair = collections.namedtuple("Pair", "x h")


@dataclasses.dataclass
class StepCache:
    x: np.ndarray
    extras: dict


class Slotted:
    __slots__ = ("w", "h")

    def __init__(self) -> None:
        self.w, self.h = np.ones((2, 2)), np.zeros(2)

    def __eq__(self, other):  # a student's __eq__ must never run during the grader's bookkeeping
        raise RuntimeError("never called")

    __hash__ = object.__hash__


class Hostile:
    def __getattr__(self, name):
        raise RuntimeError("never called")

    def __len__(self):
        raise RuntimeError("never called")


def _values():
    cyclic: list = [np.ones(2)]
    cyclic.append(cyclic)
    return {
        "dict with int keys": {0: np.ones(3), 1: (np.zeros(2), 0.5)},
        "dict with str keys": {"x": np.ones(3), "prev_h": np.zeros(2), "Wx": np.eye(2)},
        "list of tuples": [(np.ones(2), np.zeros(2)), (np.ones(2), 3)],
        "namedtuple": Pair(np.ones(2), np.zeros(2)),
        "dataclass": StepCache(np.ones(2), {"k": [np.zeros(1)]}),
        "slots and a hostile __eq__": Slotted(),
        "hostile __getattr__": Hostile(),
        "object array": np.array([np.ones(2), None, "s"], dtype=object),
        "set": {1, 2.5, "a"},
        "nested mixture": {"steps": [{0: Pair(np.ones(2), [np.zeros(1)])}], "n": None},
        "cycle": cyclic,
        "deep": _deep(5000),
    }


def _deep(n: int) -> list:
    root: list = []
    node = root
    for _ in range(n):
        node.append([])
        node = node[0]
    node.append(np.ones(1))
    return root


@pytest.mark.parametrize("name", list(_values()))
def test_every_value_is_fingerprinted_without_raising(name):
    value = _values()[name]
    assert fingerprint(value) == fingerprint(value)


@pytest.mark.parametrize("name", ["dict with int keys", "list of tuples", "namedtuple", "dataclass",
                                  "slots and a hostile __eq__", "nested mixture"])
def test_a_change_deep_inside_is_seen(name):
    value = _values()[name]
    from grader.calls import _arrays

    before = fingerprint(value)
    arrays = _arrays(value)
    arrays[-1][...] += 1.0
    assert fingerprint(value) != before


@pytest.mark.parametrize("name", list(_values()))
def test_a_call_on_any_value_gives_a_reply(name):
    value = _values()[name]

    def backward(dout, cache):  # returns an array and leaves its cache alone
        return dout * 2.0

    handles = Handles()
    cache = handles.keep(value)  # a cache reaches a backward as a handle to what its forward returned
    reply, buffers = invoke(backward, [np.ones(2), cache], {}, [], handles)
    assert reply["ok"], reply
    from grader import wire

    payload = wire.decode(reply["result"], buffers)
    assert payload["mutated"] == {}
    np.testing.assert_array_equal(payload["value"], 2.0 * np.ones(2))


def test_a_modified_dict_cache_is_reported_with_its_position():
    def backward(dout, cache):
        cache["x"] += 1.0  # the in-place habit
        return dout * cache["x"]

    reply, _ = invoke(backward, [np.ones(3), {"x": np.ones(3)}], {}, [], Handles())
    assert reply["ok"]
    from grader import wire

    payload = wire.decode(reply["result"], _)
    assert set(payload["mutated"]) == {"1"}


def test_a_forward_returning_a_list_keeps_its_cache_behind():
    def forward(x):
        return [x * 2.0, {0: x}]

    reply, out = invoke(forward, [np.ones(2)], {}, [1], Handles())
    from grader import wire

    value = wire.decode(reply["result"], out)["value"]
    assert isinstance(value, tuple) and isinstance(value[1], wire.Handle)


def test_bookkeeping_that_fails_is_an_internal_error_of_that_call(monkeypatch):
    from grader import calls

    def broken(v):
        raise calls.Bookkeeping("simulated")

    monkeypatch.setattr(calls, "fingerprint", broken)
    reply, _ = invoke(lambda x: x, [np.ones(2)], {}, [], Handles())
    assert not reply["ok"] and reply["internal"] is True and "internal error" in reply["error"]


def test_the_worker_sees_its_own_code_replaced():
    import grader.calls as calls
    import grader.wire as wire
    import grader.worker as worker

    integrity = Integrity((worker, calls, wire))
    assert integrity.changed() == []
    original = calls._aliased
    try:
        calls._aliased = lambda args, value: []  # what the review's submission did
        assert "grader.calls._aliased" in integrity.changed()
    finally:
        calls._aliased = original
    code = calls.fingerprint.__code__
    try:
        calls.fingerprint.__code__ = (lambda v: b"").__code__
        assert "fingerprint" in integrity.changed()
    finally:
        calls.fingerprint.__code__ = code
    serving = worker.invoke
    try:
        worker.invoke = lambda *a, **k: ({"ok": True}, [])  # the worker's own name for the call, rebound
        assert "grader.worker.invoke" in integrity.changed()
    finally:
        worker.invoke = serving
    assert integrity.changed() == []
    assert _tampered(["x"])["ok"] is False


@pytest.mark.parametrize("mode", ["none", "bwrap"])
def test_a_notebook_that_imports_matplotlib_is_still_graded(tmp_path, mode, load):
    """The sandbox holds numpy alone: a plotting import gets a stand-in instead of failing the cell."""
    import shutil
    import warnings

    from grader.assignments import get
    from grader.grading import grade
    from grader.notebook import read_submission
    from grader.worker_target import WorkerTarget

    if mode == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    sub = tmp_path / "plots.py"
    sub.write_text("import numpy as np\nimport matplotlib.pyplot as plt\nfrom tqdm import tqdm\n"
                   "fig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()\n"
                   "def delta_o(o, y):\n    d = np.array(o, dtype=float)\n    d[np.arange(len(y)), y] -= 1\n"
                   "    return d\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = WorkerTarget(read_submission(sub), mode=mode)
    try:
        result = grade(get("britz"), target, load("britz"), only=["delta_o"])
    finally:
        target.close()
    assert result.score == 1.0, [c.message for c in result.checks] + target.problems


@pytest.mark.parametrize("mode", ["none", "bwrap"])
def test_a_submission_that_rebinds_the_workers_checks_earns_nothing(tmp_path, mode, load):
    """The review's submission replaced _aliased in its own process to hide an argument it modified."""
    import shutil
    import warnings

    from grader.assignments import get
    from grader.grading import grade
    from grader.notebook import read_submission
    from grader.worker_target import WorkerTarget

    if mode == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    sub = tmp_path / "tamper.py"
    sub.write_text("import numpy as np\nimport grader.calls as w\nw._aliased = lambda args, value: []\n"
                   "w.fingerprint.__code__ = (lambda v: b'').__code__\n"
                   "def delta_o(o, y):\n    d = o\n    d[np.arange(len(y)), y] -= 1.0\n    return d\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = WorkerTarget(read_submission(sub), mode=mode)
    try:
        result = grade(get("britz"), target, load("britz"), only=["delta_o"])
    finally:
        target.close()
    assert result.score == 0.0
    assert "changed the grader's own code" in result.checks[0].message


def test_a_list_of_updates_trains_trasks_network(load):
    """The contract accepts a list where a tuple is named: trask's learning test too (grader/loops.py)."""
    import warnings
    from pathlib import Path

    from grader.assignments import get
    from grader.grading import grade
    from grader.notebook import read_submission
    from grader.worker_target import WorkerTarget

    path = Path(__file__).parent / "data" / "trask_list_return.py"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = WorkerTarget(read_submission(path))
    try:
        result = grade(get("trask"), target, load("trask"), only=["bptt_updates"])
    finally:
        target.close()
    assert result.score == 6.0, [c.message for c in result.checks if not c.passed]
