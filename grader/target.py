"""What a call of a graded function gave back, wherever the function ran.

A *target* is something the grader can call functions of by name: the
student's code in a worker (:class:`grader.worker_target.WorkerTarget`), or code in
this process (:class:`LocalTarget`: a student's own ``check``, the reference
solution, a catalogued mistake). Both hand back an :class:`Outcome` decoded
from the same wire format, so every check judges them alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from grader import wire
from grader.calls import FAILED, CallClock, Handles, invoke, missing_status


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
    internal: bool = False  # the grader's own handling failed: not graded, never the student's fault
    named: bool = False  # the error already says which call failed (a forward run first): no "raised" before it

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe_failure(self) -> str:
        """What went wrong, for feedback (the student's traceback included)."""
        text = self.error if self.fatal or self.named else f"raised {self.error}"
        return text + (f"\n{self.traceback.rstrip()}" if self.traceback else "")


@dataclass(frozen=True)
class Availability:
    """What a graded function's name is in a submission: a function, or why it cannot be graded.

    ``kind`` is one of :data:`KINDS`; ``detail`` completes the message (a misspelling the name may be,
    the type of what the name holds, why the function is not graded).
    """

    kind: str
    detail: str = ""

    KINDS = ("function", "missing", "not callable", "not graded", "could not be loaded")

    @classmethod
    def parse(cls, status: str) -> Availability:
        """From a worker's word for it: ``function``, ``missing (did you mean f?)``, ``not callable (int)``."""
        if status.startswith("not graded"):  # "not graded: internal error ...", said whole
            return cls("not graded", status)
        for kind in cls.KINDS:
            if status == kind or status.startswith(kind + " "):
                return cls(kind, status[len(kind):].strip())
        return cls("not callable", f"({status})")

    @property
    def is_function(self) -> bool:
        return self.kind == "function"

    def message(self, function: str) -> str:
        """Why ``function`` earns nothing, for its feedback."""
        if self.kind == "missing":
            return f"no function named {function} was found in the submission" + (f" {self.detail}" * bool(self.detail))
        if self.kind == "not graded":
            return self.detail
        if self.kind == "could not be loaded":
            return f"{function} {self}"
        return f"{function} is {self}"

    def __str__(self) -> str:
        return f"{self.kind} {self.detail}".strip()


FUNCTION = Availability("function")


MAX_NAMES = 100
MAX_ERROR = 2000  # characters of a reply's error kept (the worker's own are at most about 600)
MAX_TEXT = 8000  # ... of its traceback and its output (the worker keeps 4000 of each)


def _text(header: dict[str, Any], key: str, cap: int, default: str = "") -> str:
    value = header.get(key, default)
    if type(value) is not str:
        raise wire.WireError(f"the reply's {key} is not a string")
    return value if len(value) <= cap else value[:cap] + " [...]"


def status_from_reply(header: dict[str, Any]) -> Outcome:
    """What a reply says of success (``ok``, ``error``, ``traceback``, ``stdout``), checked; no value.

    For a reply to ``exec``, and the failed replies of ``call`` and ``run``. Raises
    :class:`grader.wire.WireError` on a field of the wrong type.
    """
    ok = header.get("ok")
    if type(ok) is not bool:
        raise wire.WireError("the reply does not say whether the request succeeded")
    stdout = _text(header, "stdout", MAX_TEXT)
    if ok:
        return Outcome(stdout=stdout)
    # "internal": the worker's own bookkeeping failed. A forged one earns nothing: the function is left
    # not graded (and listed for regrading), never given points
    return Outcome(error=_text(header, "error", MAX_ERROR, "failed"), traceback=_text(header, "traceback", MAX_TEXT),
                   stdout=stdout, internal=header.get("internal") is True)


def outcome_from_reply(header: dict[str, Any], buffers: list[np.ndarray], n_args: int = 0,
                       kwarg_names: Collection[str] = ()) -> Outcome:
    """Decode a worker's reply to ``call`` (or ``run``), checking every field it uses.

    ``n_args`` and ``kwarg_names`` are what the call was given: a reply may say only that those
    arguments were modified (``mutated``: ``"0"``, ``"1"``, ... or a keyword's name) or shared
    memory with the result (``aliased``: positions). The defaults, no arguments, fit ``run``.
    Anything off raises :class:`grader.wire.WireError` (and nothing else).
    """
    try:
        if header.get("ok") is not True:  # False, or not a bool (which status_from_reply refuses)
            return status_from_reply(header)
        stdout = _text(header, "stdout", MAX_TEXT)
        if "result" not in header:
            raise wire.WireError("reply without a result")
        payload = wire.decode(header["result"], buffers)
        if type(payload) is not dict or "value" not in payload or not payload.keys() <= _PAYLOAD_KEYS:
            raise wire.WireError("reply without a result")
        mutated = payload.get("mutated", {})
        if type(mutated) is not dict or not all(k in kwarg_names or _position(k, n_args) for k in mutated):
            raise wire.WireError("the reply names modified arguments the call was not given")
        aliased = header.get("aliased", [])
        if type(aliased) is not list or not all(type(i) is int and 0 <= i < n_args for i in aliased) \
                or len(set(aliased)) != len(aliased):
            raise wire.WireError("the reply names shared arguments the call was not given")
        # named by the worker's encoder (as trustworthy as the tree it also wrote), for feedback only
        subclasses = header.get("subclasses", [])
        if type(subclasses) is not list or not all(type(n) is str for n in subclasses):
            raise wire.WireError("the reply's subclasses are not a list of names")
        return Outcome(value=payload["value"], mutated=mutated, aliased=aliased,
                       subclasses=[n[:100] for n in subclasses[:MAX_NAMES]], stdout=stdout)
    except wire.WireError:
        raise
    except wire.REPLY_ERRORS as e:  # a check missed something: still the reply's fault
        raise wire.WireError(f"unreadable reply ({type(e).__name__}: {e})") from None


def names_from_reply(header: dict[str, Any], names: list[str]) -> dict[str, Availability]:
    """A worker's reply to ``names``, checked: for each of ``names``, what the worker says it is."""
    kinds = header.get("names")
    if header.get("ok") is not True or type(kinds) is not dict \
            or not all(type(kinds.get(n, "")) is str for n in names):
        raise wire.WireError("the reply to names is not an object of strings")
    return {n: Availability.parse(kinds.get(n, "missing")[:500]) for n in names}


def state_from_reply(header: dict[str, Any]) -> list[str] | None:
    """A worker's reply to ``state``, checked: at most 50 names of at most 200 characters, else ``None``."""
    changed = header.get("changed")
    if header.get("ok") is not True or type(changed) is not list or len(changed) > 50 \
            or not all(type(n) is str and len(n) <= 200 for n in changed):
        return None
    return list(changed)


_PAYLOAD_KEYS = frozenset({"value", "mutated"})


def _position(key: str, n_args: int) -> bool:
    """Whether ``key`` is ``str(i)`` of an argument position ``i``."""
    return key.isascii() and key.isdigit() and len(key) <= 6 and str(int(key)) == key and int(key) < n_args


class TimedTarget:
    """The student's functions in this process, each call limited in time with SIGALRM.

    A call past its limit comes back as a fatal outcome, exactly as a hung call
    in the sandboxed worker does, so the engine stops searching at once and
    reports "did not return within ... s". Used where the student's functions
    run in the same process as the loop calling them: otter's test cells, and
    a grader loop run in the worker (:func:`run_near`).
    """

    def __init__(self, inner: LocalTarget, call_seconds: float, total_seconds: float) -> None:
        self.inner = inner
        self.clock = CallClock(call_seconds, total_seconds)

    def available(self, names: list[str]) -> dict[str, Availability]:
        return self.inner.available(names)

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        return self.clock.run(name, lambda: self.inner.call(name, args, kwargs, keep),
                              lambda why: Outcome(error=why, fatal=True))


class Target(Protocol):
    """Anything whose functions the grader can call by name."""

    def available(self, names: list[str]) -> dict[str, Availability]:
        """For each name: a function, missing, or why it cannot be called."""

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        """Call ``name(*args, **kwargs)``; positions in ``keep`` of a returned tuple stay opaque."""


class LocalTarget:
    """Functions of this process (trusted code, or a student's own kernel)."""

    def __init__(self, functions: dict[str, Callable[..., Any]], capture: bool = True, watch: bool = True) -> None:
        self.functions = functions
        self.handles = Handles()
        self.capture = capture
        self.watch = watch  # False: trusted code, whose answers alone are wanted (no mutation or alias checks)

    def available(self, names: list[str]) -> dict[str, Availability]:
        others = [f for f in self.functions if f not in names]  # never another graded function as a misspelling
        return {n: Availability.parse(missing_status(n, others) if n not in self.functions else
                                      "function" if callable(self.functions[n]) else
                                      f"not callable ({type(self.functions[n]).__name__})") for n in names}

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        if not callable(self.functions.get(name)):
            self.handles.recent.append(FAILED)  # a call all the same, for Earlier references
            return Outcome(error=f"no function named {name} is defined")
        # Through the wire format and back, so values are normalised exactly as a worker's are.
        tree, buffers = wire.encode({"args": list(args), "kwargs": kwargs or {}})
        payload = wire.decode(tree, [b.copy() for b in buffers])
        header, out = invoke(self.functions[name], payload["args"], payload["kwargs"], list(keep),
                             self.handles, capture=self.capture, watch=self.watch)
        return outcome_from_reply(header, [b.copy() for b in out], len(payload["args"]), payload["kwargs"])

    def with_stand_ins(self, stand_ins: dict[str, Callable[..., Any]]) -> LocalTarget:
        """These functions, each seeing ``stand_ins`` in place of the functions of those names it calls.

        A student's own functions (``check``) find each other through their module's globals: those
        are swapped for the duration of each call, and put back after it.
        """
        outer = self

        class _Standing(LocalTarget):
            def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
                     keep: tuple[int, ...] = ()) -> Outcome:
                scope = getattr(outer.functions.get(name), "__globals__", None)
                if not isinstance(scope, dict):
                    return super().call(name, args, kwargs, keep)
                saved = {k: scope[k] for k in stand_ins if k in scope}
                scope.update(stand_ins)
                try:
                    return super().call(name, args, kwargs, keep)
                finally:
                    for k in stand_ins:
                        scope.pop(k, None)
                    scope.update(saved)

        return _Standing(self.functions, self.capture, self.watch)

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
