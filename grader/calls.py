"""How a call of student code is made and described: the call mechanics the worker and the trusted side share.

:func:`invoke` calls a function and describes what happened as a wire message: its value (or
the exception), what it printed, which arguments it modified (by :func:`fingerprint`) and which
it shares memory with. The worker uses it for every call of student code; :mod:`grader.loops`
for the calls of a loop run next to it; :class:`grader.target.LocalTarget` for the calls made in
this process (a student's own ``check``, the instructor's reference). So a call is judged the
same way wherever it ran.

This module is worker-side: the sandbox shows it to student code. Imports: numpy, the standard
library and :mod:`grader.wire` only.
"""

from __future__ import annotations

import collections
import copy
import difflib
import hashlib
import io
import signal
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from grader import wire

MAX_OUTPUT_CHARS = 4000
_shares_memory = np.shares_memory  # taken before student code can patch numpy


class StudentExit(Exception):
    """Raised instead of ending the worker when student code calls exit()."""


class CappedText(io.TextIOBase):
    """A text stream keeping the first ``cap`` characters and counting the rest."""

    def __init__(self, cap: int = MAX_OUTPUT_CHARS) -> None:
        self.cap, self.parts, self.size, self.dropped = cap, [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        s = str(s)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters of output not kept]"
        return out


def student_traceback(exc: BaseException) -> str:
    """The traceback with the grader's own frames removed."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.endswith(("worker.py", "wire.py", "calls.py"))]
    lines = traceback.format_list(frames[-8:])
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-MAX_OUTPUT_CHARS:]


def describe_exception(exc: BaseException) -> str:
    if isinstance(exc, StudentExit):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text[:500]}" if text else type(exc).__name__


class Bookkeeping(Exception):
    """The worker's own handling of a value failed: the grader's problem, never the student's."""


#: How deep :func:`_walk` follows containers and objects; a student's value nested deeper is
#: compared and watched only down to here (it cannot hide a change above it).
MAX_WALK_DEPTH = 64
MAX_WALK_ITEMS = 1 << 16
_ATOMS = (type(None), bool, int, float, complex, str, bytes, np.generic)


def _children(v: Any) -> list[tuple[str, Any]] | None:
    """The parts of a container or object, as ``(label, part)``; ``None`` for a leaf.

    Reads instance state without calling the student's own methods (``__eq__``, ``__getattr__``,
    ``__iter__`` of a subclass): plain ``dict``/``list``/``tuple``/``set`` access through the built-in
    types, and ``object.__getattribute__`` for ``__dict__`` and slots.
    """
    if isinstance(v, dict):
        return [(repr(k), x) for k, x in dict.items(v)]
    if isinstance(v, (list, tuple)):
        return [(str(i), x) for i, x in enumerate(list.__iter__(v) if isinstance(v, list) else tuple.__iter__(v))]
    if isinstance(v, (set, frozenset)):
        items = list(set.__iter__(v) if isinstance(v, set) else frozenset.__iter__(v))
        return [("", x) for x in sorted(items, key=lambda x: (type(x).__name__, repr(x)) if isinstance(x, _ATOMS)
                                         else (type(x).__name__, ""))]
    if isinstance(v, np.ndarray):
        return [(str(i), x) for i, x in enumerate(v.ravel())] if v.dtype.hasobject else None
    if isinstance(v, (*_ATOMS, type, types.FunctionType, types.ModuleType, types.BuiltinFunctionType)):
        return None
    parts: list[tuple[str, Any]] = []
    try:
        state = object.__getattribute__(v, "__dict__")
        if isinstance(state, dict):
            parts += [(str(k), x) for k, x in dict.items(state)]
    except AttributeError:
        pass
    for klass in type(v).__mro__:
        for slot in klass.__dict__.get("__slots__", ()) if isinstance(klass.__dict__.get("__slots__", ()),
                                                                       (tuple, list)) else ():
            try:
                parts.append((str(slot), object.__getattribute__(v, slot)))
            except AttributeError:
                continue
    return parts


def _walk(v: Any, leaf: Callable[[Any], None], enter: Callable[[Any, int], None]) -> None:
    """Visit ``v`` and everything it holds, once each, iteratively (no recursion a value can exhaust)."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(v, 0)]
    count = 0
    while stack:
        x, depth = stack.pop()
        count += 1
        if count > MAX_WALK_ITEMS:
            return
        children = _children(x)
        if children is None:
            leaf(x)
            continue
        if id(x) in seen or depth >= MAX_WALK_DEPTH:
            enter(x, -1)  # a cycle, or too deep: counted, not followed
            continue
        seen.add(id(x))
        enter(x, len(children))
        if isinstance(x, np.ndarray):
            leaf(x.shape)
        stack.extend((c, depth + 1) for _, c in reversed(children))
        for label, _ in children:
            leaf(label)


def fingerprint(v: Any) -> bytes:
    """A digest of a value's whole state: its types, structure, array shapes, dtypes and bytes.

    Two fingerprints differ when anything held was changed in place, however deep in dicts,
    lists, namedtuples, dataclasses or objects (up to :data:`MAX_WALK_DEPTH`). No copy is made
    and none of the value's own methods runs. Raises :class:`Bookkeeping` if it cannot be read.
    """
    h = hashlib.blake2b(digest_size=16)

    def leaf(x: Any) -> None:
        if isinstance(x, np.ndarray):
            h.update(f"a{x.dtype.str}{x.shape}".encode())
            h.update(memoryview(np.ascontiguousarray(x)).cast("B"))
        elif isinstance(x, (str, bytes)):
            h.update(b"s" + (x.encode("utf-8", "surrogatepass") if isinstance(x, str) else x))
        elif isinstance(x, (type(None), bool, int, float, complex, np.generic)):
            h.update(repr((type(x).__name__, x.item() if isinstance(x, np.generic) else x)).encode())
        elif isinstance(x, tuple):  # a shape
            h.update(repr(x).encode())
        else:
            h.update(f"o{type(x).__qualname__}:{id(x)}".encode())

    def enter(x: Any, n: int) -> None:
        h.update(f"<{type(x).__qualname__}:{n}>".encode())

    try:
        _walk(v, leaf, enter)
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is ours to report
        raise Bookkeeping(f"could not read a value of type {type(v).__name__}: {describe_exception(exc)}") from None
    return h.digest()


def copy_value(v: Any) -> Any:
    """A copy whose arrays are new (a call on it cannot change ``v``); unknown objects by ``copy.deepcopy``."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if type(v) is list:
        return [copy_value(x) for x in v]
    if type(v) is tuple:
        return tuple(copy_value(x) for x in v)
    if type(v) is dict:
        return {k: copy_value(x) for k, x in v.items()}
    if isinstance(v, _ATOMS):
        return v
    try:
        return copy.deepcopy(v)
    except Exception as exc:  # noqa: BLE001
        raise Bookkeeping(f"could not copy a value of type {type(v).__name__}: {describe_exception(exc)}") from None


def _arrays(v: Any) -> list[np.ndarray]:
    """Every numeric array ``v`` holds, however deep (see :func:`_walk`)."""
    found: list[np.ndarray] = []
    _walk(v, lambda x: found.append(x) if isinstance(x, np.ndarray) else None, lambda x, n: None)
    return found


def _owner(a: np.ndarray) -> Any:
    """The array that owns ``a``'s memory, or whatever non-array object lends it (a buffer, an mmap)."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


def _aliased(args: list[Any], value: Any) -> list[int]:
    """The positions of the arguments whose arrays share memory with an array of ``value``."""
    outputs = [(o, _owner(o)) for o in _arrays(value)]
    if not outputs:
        return []
    found = set()
    for i, arg in enumerate(args):
        for a in _arrays(arg):
            owner = _owner(a)
            # two arrays that own their memory are two allocations: only a shared owner, or memory
            # lent by something else, needs the exact test
            if any((owner is o_owner or not isinstance(owner, np.ndarray) or not isinstance(o_owner, np.ndarray))
                   and _shares_memory(a, o) for o, o_owner in outputs):
                found.add(i)
                break
    return sorted(found)


FAILED = object()  # what a call that raised returned, for Earlier references to it


class Handles:
    """Objects that stay on this side of the channel: a student's caches, and what the last calls returned."""

    RECENT = 16

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        self.next = 1
        self.recent: collections.deque[Any] = collections.deque(maxlen=self.RECENT)

    def keep(self, obj: Any) -> wire.Handle:
        self.objects[self.next] = obj
        self.next += 1
        return wire.Handle(self.next - 1)

    def resolve(self, v: Any) -> Any:
        if isinstance(v, wire.Handle):
            if v.id not in self.objects:
                raise KeyError(f"no object kept under handle {v.id}")
            return self.objects[v.id]
        if isinstance(v, wire.Earlier):
            if not 1 <= v.back <= len(self.recent):
                raise KeyError(f"no call {v.back} calls back")
            earlier = self.recent[-v.back]
            if earlier is FAILED:
                raise KeyError("the earlier call it needs failed")
            try:
                return earlier[v.item]
            except (TypeError, IndexError, KeyError):
                raise KeyError(f"the earlier call's result has no item {v.item}") from None
        if isinstance(v, list):
            return [self.resolve(x) for x in v]
        if isinstance(v, tuple):
            return tuple(self.resolve(x) for x in v)
        return v


def _internal(exc: BaseException, doing: str, stdout: str = "") -> dict[str, Any]:
    """The reply to a call whose result the worker could not handle: not graded, never the student's fault."""
    return {"ok": False, "internal": True, "traceback": "", "stdout": stdout,
            "error": f"internal error in the grader's worker ({doing}): {describe_exception(exc)}"}


def _changed(values: list[Any] | dict[str, Any], before: list[bytes] | dict[str, bytes]) -> dict[str, Any]:
    """The values whose fingerprint is no longer ``before``'s, by position (``"0"``, ...) or keyword."""
    if isinstance(values, dict):
        return {k: v for k, v in values.items() if fingerprint(v) != before[k]}
    return {str(i): v for i, (v, b) in enumerate(zip(values, before)) if fingerprint(v) != b}


def invoke(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], keep: list[int],
           handles: Handles, capture: bool = True, watch: bool = True, encode: bool = True,
           ) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Call ``fn`` and describe what happened as a wire message.

    ``keep`` lists the positions of a returned tuple that stay here as handles
    (opaque caches). The reply says which arguments the call modified (with
    their new values) and which arguments the result shares memory with;
    ``watch=False`` skips both (for trusted code whose answer alone is wanted).
    ``encode=False``: the reply's ``value`` is what ``fn`` returned, not encoded
    (for a caller in this process that never sends it anywhere). Whatever the
    values are, this returns a reply: a failure of the worker's own handling of
    them is marked ``internal`` (the grader's problem, not the student's).
    """
    try:
        args = handles.resolve(args)
    except KeyError as exc:
        handles.recent.append(FAILED)
        return {"ok": False, "error": f"could not be called: {exc.args[0]}", "traceback": "", "stdout": ""}, []
    try:  # fingerprints, not copies: a change anywhere inside any container or object shows
        before = [fingerprint(a) for a in args] if watch else []
        kw_before = {k: fingerprint(v) for k, v in kwargs.items()} if watch else {}
    except Bookkeeping as exc:
        handles.recent.append(FAILED)
        return _internal(exc, "reading the arguments"), []
    out = CappedText()
    saved = sys.stdout, sys.stderr
    if capture:
        sys.stdout = sys.stderr = out
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:  # a student's SystemExit, KeyboardInterrupt, ... are results too
        sys.stdout, sys.stderr = saved
        handles.recent.append(FAILED)
        if isinstance(exc, (KeyboardInterrupt,)) and not capture:
            raise
        return {"ok": False, "error": describe_exception(exc), "traceback": student_traceback(exc),
                "stdout": out.text()}, []
    finally:
        sys.stdout, sys.stderr = saved

    handles.recent.append(value)
    try:
        mutated = {**_changed(args, before), **_changed(kwargs, kw_before)} if watch else {}
        if keep and isinstance(value, (tuple, list)):  # a cache stays here, and may well refer to the arguments
            value = tuple(handles.keep(v) if i in keep else v for i, v in enumerate(value))
        aliased = _aliased(args, value) if watch else []
    except Exception as exc:  # noqa: BLE001 - the worker's own bookkeeping: never the student's fault
        return _internal(exc, "watching the arguments", out.text()), []
    if not encode:
        return {"ok": True, "value": value, "mutated": mutated, "aliased": aliased, "stdout": out.text()}, []
    subclasses: list[str] = []
    try:
        tree, buffers = wire.encode({"value": value, "mutated": mutated}, subclasses)
    except Exception as exc:  # a hostile __array__ or __len__ can raise anywhere
        return {"ok": False, "error": f"the returned value could not be read: {describe_exception(exc)}",
                "traceback": "", "stdout": out.text()}, []
    return {"ok": True, "result": tree, "aliased": aliased, "subclasses": subclasses, "stdout": out.text()}, buffers


def missing_status(name: str, defined: list[str]) -> str:
    """``missing``, with the defined names a misspelling of ``name`` would give."""
    close = difflib.get_close_matches(name, defined, n=2, cutoff=0.8)
    return "missing" + (f" (did you mean {' or '.join(close)}?)" if close else "")




class OutOfTime(BaseException):
    """Raised by SIGALRM. A BaseException, so that neither Hypothesis nor a student's ``except Exception`` keeps it."""


Result = TypeVar("Result")


class CallClock:
    """Limits in time for calls made in this process: each call's, and a total for all of them.

    Used where student code runs in the process of the loop calling it: a loop of the grader's in
    the worker (:class:`grader.loops.NearTarget`) and otter's test cells
    (:class:`grader.target.TimedTarget`). A call past its limit is a fatal failure, exactly as a hung
    call in the sandboxed worker is: "did not return within ... s".
    """

    def __init__(self, call_seconds: float, total_seconds: float) -> None:
        self.call_seconds, self.total = call_seconds, total_seconds
        self.deadline = time.monotonic() + total_seconds
        self.can_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def run(self, name: str, call: Callable[[], Result], failed: Callable[[str], Result]) -> Result:
        """``call()``, or ``failed(why)`` when it is out of time (before it starts, or while it runs)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return failed(f"the checks used up their {self.total:g} s")
        if not self.can_alarm:  # signals work only in the main thread: no limit rather than no check
            return call()
        limit = min(self.call_seconds, left)
        fired: list[bool] = []

        def on_alarm(signum: int, frame: Any) -> None:
            fired.append(True)
            raise OutOfTime

        previous = signal.signal(signal.SIGALRM, on_alarm)
        # It fires again and again: a student's bare ``except:`` swallows one alarm, not all of them.
        signal.setitimer(signal.ITIMER_REAL, limit, 0.2)
        out = None
        try:
            out = call()
        except OutOfTime:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if fired or out is None:
            what = (f"did not return within {limit:g} s (an infinite loop?)" if limit == self.call_seconds
                    else f"was stopped: the checks used up their {self.total:g} s")
            return failed(f"{name} {what}")
        return out
