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

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.calls import FAILED, Handles, copy_value, invoke


@dataclass
class Called:
    """What one call of the student's function gave the loop."""

    value: Any = None
    error: str | None = None
    fatal: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class _OutOfTime(BaseException):
    """Raised by SIGALRM. A BaseException, so that a student's ``except Exception`` does not keep it."""


class NearTarget:
    """The student's functions of the worker's namespace, each call limited in time with SIGALRM.

    As :class:`grader.target.TimedTarget` over a plain :class:`grader.target.LocalTarget` in the
    grader's process: arguments are copied in, answers come back as they are, and a call past its
    limit is a fatal failure ("did not return within ... s"), so a hang is a failed call, not a
    lost run.
    """

    def __init__(self, namespace: dict[str, Any], call_seconds: float, total_seconds: float) -> None:
        self.namespace, self.call_seconds, self.total = namespace, call_seconds, total_seconds
        self.deadline = time.monotonic() + total_seconds
        self.handles = Handles()
        self.can_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Called:
        left = self.deadline - time.monotonic()
        if left <= 0:
            return Called(error=f"the checks used up their {self.total:g} s", fatal=True)
        if not self.can_alarm:  # signals work only in the main thread: no limit rather than no check
            return self._call(name, args, kwargs, keep)
        limit = min(self.call_seconds, left)
        fired: list[bool] = []

        def on_alarm(signum: int, frame: Any) -> None:
            fired.append(True)
            raise _OutOfTime

        previous = signal.signal(signal.SIGALRM, on_alarm)
        # It fires again every 0.2 s: a student's bare ``except:`` swallows one alarm, not all of them.
        signal.setitimer(signal.ITIMER_REAL, limit, 0.2)
        try:
            out = self._call(name, args, kwargs, keep)
        except _OutOfTime:
            out = None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if fired or out is None:
            what = (f"did not return within {limit:g} s (an infinite loop?)" if limit == self.call_seconds
                    else f"was stopped: the checks used up their {self.total:g} s")
            return Called(error=f"{name} {what}", fatal=True)
        return out

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
