"""What a call of a graded function gave back, wherever the function ran.

A *target* is something the grader can call functions of by name: the
student's code in a worker (:class:`grader.sandbox.WorkerTarget`), or code in
this process (:class:`LocalTarget`: a student's own ``check``, the reference
solution, a catalogued mistake). Both hand back an :class:`Outcome` decoded
from the same wire format, so every check judges them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from grader import wire
from grader.worker import _FAILED, Handles, _missing, invoke


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
    return Outcome(value=payload.get("value"), mutated=dict(payload.get("mutated", {})), aliased=aliased,
                   subclasses=wire.subclasses(tree), stdout=str(header.get("stdout", "")))


class Target(Protocol):
    """Anything whose functions the grader can call by name."""

    def available(self, names: list[str]) -> dict[str, str]:
        """For each name: ``"function"``, ``"missing"`` or why it cannot be called."""

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        """Call ``name(*args, **kwargs)``; positions in ``keep`` of a returned tuple stay opaque."""


class LocalTarget:
    """Functions of this process (trusted code, or a student's own kernel)."""

    def __init__(self, functions: dict[str, Callable[..., Any]], capture: bool = True) -> None:
        self.functions = functions
        self.handles = Handles()
        self.capture = capture

    def available(self, names: list[str]) -> dict[str, str]:
        return {n: (_missing(n, list(self.functions)) if n not in self.functions else
                    "function" if callable(self.functions[n]) else
                    f"not callable ({type(self.functions[n]).__name__})") for n in names}

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        if not callable(self.functions.get(name)):
            self.handles.recent.append(_FAILED)  # a call all the same, for Earlier references
            return Outcome(error=f"no function named {name} is defined")
        # Through the wire format and back, so values are normalised exactly as a worker's are.
        tree, buffers = wire.encode({"args": list(args), "kwargs": kwargs or {}})
        payload = wire.decode(tree, [b.copy() for b in buffers])
        header, out = invoke(self.functions[name], payload["args"], payload["kwargs"], list(keep),
                             self.handles, capture=self.capture)
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
