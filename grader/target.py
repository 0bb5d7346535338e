"""What a call of a graded function gave back, wherever the function ran.

A *target* is something the grader can call functions of by name: the
student's code in a worker (:class:`grader.sandbox.WorkerTarget`), or code in
this process (:class:`LocalTarget`: a student's own ``check``, the reference
solution, a catalogued mistake). Both hand back an :class:`Outcome` decoded
from the same wire format, so every check judges them alike.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from grader import wire
from grader.worker import _FAILED, Handles, _copy, _missing, invoke


@dataclass
class Outcome:
    """The result of one call, as plain values."""

    value: Any = None
    error: str | None = None  # "ValueError: ...", "timed out after 5 s", ...
    traceback: str = ""
    mutated: dict[str, Any] = field(default_factory=dict)  # argument position -> value after the call
    aliased: list[int] = field(default_factory=list)  # argument positions the result shares memory with
    subclasses: list[str] = field(default_factory=list)
    stdout: str = ""
    fatal: bool = False  # the worker had to be stopped (timeout, crash): nothing more from it

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe_failure(self) -> str:
        """What went wrong, for feedback (the student's traceback included)."""
        text = self.error if self.fatal else f"raised {self.error}"
        return text + (f"\n{self.traceback.rstrip()}" if self.traceback else "")


MAX_NAMES = 100


def outcome_from_reply(header: dict[str, Any], buffers: list[np.ndarray]) -> Outcome:
    """Decode a worker's reply to ``call`` (already read and checked by :mod:`grader.wire`)."""
    if not header.get("ok"):
        return Outcome(error=str(header.get("error", "failed")), traceback=str(header.get("traceback", "")),
                       stdout=str(header.get("stdout", "")))
    tree = header.get("result")
    payload = wire.decode(tree, buffers)
    if not isinstance(payload, dict):
        raise wire.WireError("reply without a result")
    aliased = [int(i) for i in header.get("aliased", []) if isinstance(i, int)]
    # named by the worker's encoder (as trustworthy as the tree it also wrote), for feedback only
    subclasses = [str(n)[:100] for n in header.get("subclasses", [])[:MAX_NAMES]] \
        if isinstance(header.get("subclasses"), list) else []
    return Outcome(value=payload.get("value"), mutated=dict(payload.get("mutated", {})), aliased=aliased,
                   subclasses=subclasses, stdout=str(header.get("stdout", "")))


class OutOfTime(BaseException):
    """Raised by SIGALRM. A BaseException, so that neither Hypothesis nor a plain ``except Exception`` keeps it."""


class TimedTarget:
    """The student's functions in this process, each call limited in time with SIGALRM.

    A call past its limit comes back as a fatal outcome, exactly as a hung call
    in the sandboxed worker does, so the engine stops searching at once and
    reports "did not return within ... s". Used where the student's functions
    run in the same process as the loop calling them: otter's test cells, and
    a grader loop run in the worker (:func:`run_near`).
    """

    def __init__(self, inner: LocalTarget, call_seconds: float, total_seconds: float) -> None:
        self.inner, self.call_seconds, self.total = inner, call_seconds, total_seconds
        self.deadline = time.monotonic() + total_seconds
        self.can_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def available(self, names: list[str]) -> dict[str, str]:
        return self.inner.available(names)

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        left = self.deadline - time.monotonic()
        if left <= 0:
            return Outcome(error=f"the checks used up their {self.total:g} s", fatal=True)
        if not self.can_alarm:  # signals work only in the main thread: no limit rather than no check
            return self.inner.call(name, args, kwargs, keep)
        limit = min(self.call_seconds, left)
        fired: list[bool] = []

        def on_alarm(signum: int, frame: Any) -> None:
            fired.append(True)
            raise OutOfTime

        previous = signal.signal(signal.SIGALRM, on_alarm)
        # It fires again every 0.2 s: a student's bare ``except:`` swallows one alarm, not all of them.
        signal.setitimer(signal.ITIMER_REAL, limit, 0.2)
        try:
            out = self.inner.call(name, args, kwargs, keep)
        except OutOfTime:
            out = None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if fired or out is None:
            what = (f"did not return within {limit:g} s (an infinite loop?)" if limit == self.call_seconds
                    else f"was stopped: the checks used up their {self.total:g} s")
            return Outcome(error=f"{name} {what}", fatal=True)
        return out


class Target(Protocol):
    """Anything whose functions the grader can call by name."""

    def available(self, names: list[str]) -> dict[str, str]:
        """For each name: ``"function"``, ``"missing"`` or why it cannot be called."""

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        """Call ``name(*args, **kwargs)``; positions in ``keep`` of a returned tuple stay opaque."""


class LocalTarget:
    """Functions of this process (trusted code, or a student's own kernel)."""

    def __init__(self, functions: dict[str, Callable[..., Any]], capture: bool = True, watch: bool = True,
                 plain: bool = False) -> None:
        self.functions = functions
        self.handles = Handles()
        self.capture = capture
        self.watch = watch  # False: trusted code, whose answers alone are wanted (no mutation or alias checks)
        # True: arguments copied in and answers returned as they are, not normalised through the wire
        # format (for a loop of the grader's next to the student's code: grader.target.run_near)
        self.plain = plain

    def available(self, names: list[str]) -> dict[str, str]:
        return {n: (_missing(n, list(self.functions)) if n not in self.functions else
                    "function" if callable(self.functions[n]) else
                    f"not callable ({type(self.functions[n]).__name__})") for n in names}

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        if not callable(self.functions.get(name)):
            self.handles.recent.append(_FAILED)  # a call all the same, for Earlier references
            return Outcome(error=f"no function named {name} is defined")
        if self.plain:
            header, _ = invoke(self.functions[name], [_copy(a) for a in args], _copy(dict(kwargs or {})), list(keep),
                               self.handles, capture=self.capture, watch=self.watch, encode=False)
            if not header["ok"]:
                return outcome_from_reply(header, [])
            return Outcome(value=header["value"], mutated=header["mutated"], aliased=header["aliased"],
                           stdout=header["stdout"])
        # Through the wire format and back, so values are normalised exactly as a worker's are.
        tree, buffers = wire.encode({"args": list(args), "kwargs": kwargs or {}})
        payload = wire.decode(tree, [b.copy() for b in buffers])
        header, out = invoke(self.functions[name], payload["args"], payload["kwargs"], list(keep),
                             self.handles, capture=self.capture, watch=self.watch)
        return outcome_from_reply(header, [b.copy() for b in out])

    def close(self) -> None:
        self.handles.objects.clear()


def call_all(target: Any, calls: list[tuple[str, list[Any], dict[str, Any], tuple[int, ...]]]) -> list[Outcome]:
    """Make ``calls`` in order, pipelined where the target can (:meth:`WorkerTarget.call_many`).

    After a fatal outcome no more calls are made, so the list can be shorter than ``calls``.
    """
    many = getattr(target, "call_many", None)
    if many is not None:
        return many(calls)
    outcomes: list[Outcome] = []
    for name, args, kwargs, keep in calls:
        outcomes.append(target.call(name, args, kwargs, keep))
        if outcomes[-1].fatal:
            break
    return outcomes


def run_near(target: Any, function: Callable[..., Any], *args: Any) -> Outcome:
    """``function(target_there, *args)`` where the target's functions run: in its worker, if it has one.

    For a loop of many calls that each need the last one's result (trask's training), which would
    otherwise wait for a round trip per call. ``function`` is the grader's own (a module under
    ``grader.``); what it returns crosses back in the wire format, to be checked like any answer.
    """
    run = getattr(target, "run", None)
    if run is not None:
        return run(f"{function.__module__}:{function.__qualname__}", list(args))
    try:
        return Outcome(value=function(target, *args))
    except Exception as e:  # noqa: BLE001 - the target's own errors come back as outcomes; this is a bug
        return Outcome(error=f"{type(e).__name__}: {e}")
