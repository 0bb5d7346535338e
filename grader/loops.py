"""The grader's loops that run in the worker, next to the student's functions.

:func:`grader.target.run_near` runs one of :data:`LOOPS` in the worker, so that a loop of many calls
that each need the last one's result (trask's training) does not wait for a round trip per call.
The worker runs nothing else of the grader's (``worker._run`` accepts only these).

This module is worker-side: the sandbox shows it to student code (with ``grader/__init__.py``,
``worker.py``, ``calls.py`` and ``wire.py``, all of the grader that student code can see while it is
graded). So it holds nothing that computes an answer: no truth, no forward pass, no instance
list. A loop only calls the student's functions and adds up what they return, which decides its
result whatever runs it; the grader checks and tests that result itself. Imports: numpy, the
standard library, :mod:`grader.wire` and :mod:`grader.calls`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.calls import FAILED, CallClock, Handles, copy_value, invoke


@dataclass
class Called:
    """What one call of the student's function gave the loop."""

    value: Any = None
    error: str | None = None
    fatal: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class NearTarget:
    """The student's functions of the worker's namespace, each call limited in time with SIGALRM.

    Arguments are copied in, answers come back as they are (no wire round trip), and a call past its
    limit is a fatal failure (:class:`grader.calls.CallClock`), so a hang is a failed call, not a lost run.
    """

    def __init__(self, namespace: dict[str, Any], call_seconds: float, total_seconds: float) -> None:
        self.namespace = namespace
        self.clock = CallClock(call_seconds, total_seconds)
        self.handles = Handles()

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Called:
        return self.clock.run(name, lambda: self._call(name, args, kwargs, keep),
                              lambda why: Called(error=why, fatal=True))

    def _call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None, keep: tuple[int, ...]) -> Called:
        fn = self.namespace.get(name)
        if not callable(fn):
            self.handles.recent.append(FAILED)  # a call all the same, for Earlier references
            return Called(error=f"no function named {name} is defined")
        header, _ = invoke(fn, [copy_value(a) for a in args], copy_value(dict(kwargs or {})), list(keep),
                           self.handles,
                           capture=True, watch=False, encode=False)
        if not header["ok"]:
            return Called(error=str(header.get("error", "failed")))
        return Called(value=header["value"])


def trask_train(target: Any, w: list[np.ndarray], X: np.ndarray, Y: np.ndarray, learning_rate: float,
                ) -> dict[str, Any]:
    """Train the synapses ``w`` with the student's ``bptt_updates``, step ``k`` on ``X[k]`` and ``Y[k]``.

    Runs next to the student's code (:func:`grader.target.run_near`): 600 calls without a round trip
    each. It only adds the updates the student's function returns (times ``learning_rate``) to the
    weights: those updates decide the final weights whatever runs this loop, and the grader tests
    the weights itself (:func:`grader.assignments.trask.learns_binary_addition`).
    """
    for step, (X_step, Y_step) in enumerate(zip(X, Y)):
        out = target.call("bptt_updates", [X_step, Y_step, *w])
        if not out.ok:
            return {"failure": f"bptt_updates failed at training step {step}: {out.error}"}
        ups = out.value
        if not (isinstance(ups, (tuple, list)) and len(ups) == 3 and all(
                isinstance(u, np.ndarray) and u.shape == v.shape for u, v in zip(ups, w))):
            return {"failure": "bptt_updates did not return a tuple of three updates shaped like the synapses"}
        w = [v + learning_rate * np.asarray(u, dtype=float) for v, u in zip(w, ups)]
    return {"weights": w}


#: The loops the worker runs, by name (``grader.loops:<name>``).
LOOPS: dict[str, Callable[..., Any]] = {"trask_train": trask_train}
