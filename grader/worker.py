"""The worker: the only place student code runs during grading.

It is started by :mod:`grader.sandbox` (inside bubblewrap when available) and
speaks :mod:`grader.wire` over the pipes that were its stdin and stdout. Its
file descriptors 0 and 1 are then pointed away from those pipes, so nothing a
student prints, even with ``os.write(1, ...)``, can corrupt the channel.

The same :func:`invoke` serves in-process calls (a student's own ``check``,
the instructor's reference and catalogued mistakes), so a call is judged the
same way wherever it ran. Imports: numpy, the standard library and
:mod:`grader.wire` only.
"""

from __future__ import annotations

import builtins
import collections
import difflib
import io
import os
import signal
import sys
import traceback
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from grader import wire

MAX_OUTPUT_CHARS = 4000
_shares_memory = np.shares_memory  # taken before student code can patch numpy
_real_exit = os._exit  # taken before _install_guards turns it into an exception


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


def _student_traceback(exc: BaseException) -> str:
    """The traceback with the grader's own frames removed."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.endswith(("worker.py", "wire.py"))]
    lines = traceback.format_list(frames[-8:])
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-MAX_OUTPUT_CHARS:]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StudentExit):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text[:500]}" if text else type(exc).__name__


def _copy(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, list):
        return [_copy(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_copy(x) for x in v)
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    return v


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _arrays(v: Any) -> list[np.ndarray]:
    if isinstance(v, np.ndarray):
        return [v]
    if isinstance(v, (list, tuple)):
        return [a for x in v for a in _arrays(x)]
    if isinstance(v, dict):
        return [a for x in v.values() for a in _arrays(x)]
    return []


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


_FAILED = object()  # what a call that raised returned, for Earlier references to it


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
            if earlier is _FAILED:
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


def invoke(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], keep: list[int],
           handles: Handles, capture: bool = True, watch: bool = True, encode: bool = True,
           ) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Call ``fn`` and describe what happened as a wire message.

    ``keep`` lists the positions of a returned tuple that stay here as handles
    (opaque caches). The reply says which arguments the call modified (with
    their new values) and which arguments the result shares memory with;
    ``watch=False`` skips both (for trusted code whose answer alone is wanted).
    ``encode=False``: the reply's ``value`` is what ``fn`` returned, not encoded
    (for a caller in this process that never sends it anywhere).
    """
    try:
        args = handles.resolve(args)
    except KeyError as exc:
        handles.recent.append(_FAILED)
        return {"ok": False, "error": f"could not be called: {exc.args[0]}", "traceback": "", "stdout": ""}, []
    before = [_copy(a) for a in args] if watch else args
    kw_before = {k: _copy(v) for k, v in kwargs.items()} if watch else kwargs
    out = CappedText()
    saved = sys.stdout, sys.stderr
    if capture:
        sys.stdout = sys.stderr = out
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:  # a student's SystemExit, KeyboardInterrupt, ... are results too
        sys.stdout, sys.stderr = saved
        handles.recent.append(_FAILED)
        if isinstance(exc, (KeyboardInterrupt,)) and not capture:
            raise
        return {"ok": False, "error": _describe(exc), "traceback": _student_traceback(exc),
                "stdout": out.text()}, []
    finally:
        sys.stdout, sys.stderr = saved

    handles.recent.append(value)
    mutated = {str(i): a for i, (a, b) in enumerate(zip(args, before)) if watch and not _same(a, b)}
    mutated.update({k: v for k, v in kwargs.items() if watch and not _same(v, kw_before[k])})
    if keep and isinstance(value, tuple):  # a cache stays here, and may well refer to the arguments
        value = tuple(handles.keep(v) if i in keep else v for i, v in enumerate(value))
    aliased = _aliased(args, value) if watch else []
    if not encode:
        return {"ok": True, "value": value, "mutated": mutated, "aliased": aliased, "stdout": out.text()}, []
    subclasses: list[str] = []
    try:
        tree, buffers = wire.encode({"value": value, "mutated": mutated}, subclasses)
    except Exception as exc:  # a hostile __array__ or __len__ can raise anywhere
        return {"ok": False, "error": f"the returned value could not be read: {_describe(exc)}",
                "traceback": "", "stdout": out.text()}, []
    return {"ok": True, "result": tree, "aliased": aliased, "subclasses": subclasses, "stdout": out.text()}, buffers


def _run(header: dict[str, Any], buffers: list[np.ndarray], namespace: dict[str, Any],
         ) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Run ``module:name(target, *args)``, a function of the grader's, on a target of the namespace's functions."""
    module_name, _, name = str(header.get("function", "")).partition(":")
    if not module_name.startswith("grader.") or not name.isidentifier():
        return {"ok": False, "error": f"only the grader's functions run here, not {header.get('function')!r}"}, []
    try:
        import importlib

        from grader.target import LocalTarget, TimedTarget

        function = getattr(importlib.import_module(module_name), name)
        payload = wire.decode(header["args"], buffers)
        # each of the student's calls keeps its usual limit (a hang is a failed call, not a lost run)
        # plain: the loop's values stay in this process until its result is encoded below (and checked by
        # the grader), so its calls skip the wire round trip and the argument watching a check needs
        target = TimedTarget(LocalTarget(namespace, watch=False, plain=True), float(header.get("call_seconds", 10.0)),
                             float(header.get("run_seconds", 60.0)))
        value = function(target, *payload["args"])
        tree, out = wire.encode({"value": value})
    except BaseException as exc:  # noqa: BLE001 - reported like a student's exception
        return {"ok": False, "error": _describe(exc), "traceback": _student_traceback(exc)}, []
    return {"ok": True, "result": tree}, out


def _missing(name: str, defined: list[str]) -> str:
    """``missing``, with the defined names a misspelling of ``name`` would give."""
    close = difflib.get_close_matches(name, defined, n=2, cutoff=0.8)
    return "missing" + (f" (did you mean {' or '.join(close)}?)" if close else "")


def _install_guards() -> None:
    """Turn exit() into an exception, so one bad function does not end the worker."""

    def no_exit(code: object = None) -> None:
        raise StudentExit(f"the code called exit({code!r}); a graded function must return a value")

    def no_os_exit(code: object = 0) -> None:
        raise StudentExit(f"the code called os._exit({code!r}); a graded function must return a value")

    sys.exit = no_exit
    builtins.exit = builtins.quit = no_exit
    os._exit = no_os_exit
    builtins.input = lambda *a: (_ for _ in ()).throw(EOFError("input() is not available while grading"))


def serve(requests: io.BufferedReader, replies: io.BufferedWriter) -> None:
    """Answer requests until ``exit`` or the end of the channel."""
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    namespace = module.__dict__
    handles = Handles()
    me = os.getpid()

    def only_the_worker_answers() -> None:
        # A process forked by student code returns here too: it must never write to the channel.
        if os.getpid() != me:
            _real_exit(0)

    while True:
        try:
            header, buffers = wire.read_message(requests)
        except EOFError:
            return
        op = header.get("op")
        if op == "exit":
            return
        if op == "exec":
            out = CappedText()
            saved = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = out
            try:
                exec(compile(header["source"], f"<{header['label']}>", "exec"), namespace)
                reply = {"ok": True}
            except BaseException as exc:
                reply = {"ok": False, "error": _describe(exc), "traceback": _student_traceback(exc)}
            finally:
                sys.stdout, sys.stderr = saved
            reply["stdout"] = out.text()
            only_the_worker_answers()
            wire.write_message(replies, reply)
        elif op == "names":
            kinds = {}
            defined = [k for k, v in namespace.items() if callable(v) and not k.startswith("_")]
            for name in header["names"]:
                obj = namespace.get(name, None)
                kinds[name] = (_missing(name, defined) if name not in namespace else
                               "function" if callable(obj) else f"not callable ({type(obj).__name__})")
            wire.write_message(replies, {"ok": True, "names": kinds})
        elif op == "call":
            fn = namespace.get(header["name"])
            if not callable(fn):
                handles.recent.append(_FAILED)
                wire.write_message(replies, {"ok": False, "error": f"no function named {header['name']} is defined",
                                             "traceback": ""})
                continue
            try:
                payload = wire.decode(header["args"], buffers)
            except wire.WireError as e:
                handles.recent.append(_FAILED)
                wire.write_message(replies, {"ok": False, "error": f"bad request: {e}", "traceback": ""})
                continue
            reply, out_buffers = invoke(fn, payload["args"], payload.get("kwargs", {}),
                                        header.get("keep", []), handles)
            only_the_worker_answers()
            wire.write_message(replies, reply, out_buffers)
        elif op == "run":  # a loop of the grader's, next to the student's functions (grader.target.run_near)
            reply, out_buffers = _run(header, buffers, namespace)
            only_the_worker_answers()
            wire.write_message(replies, reply, out_buffers)
        elif op == "release":
            for i in header.get("handles", []):
                handles.objects.pop(i, None)
            wire.write_message(replies, {"ok": True})
        else:
            wire.write_message(replies, {"ok": False, "error": f"unknown op {op!r}"})


def main() -> None:
    """Entry point inside the worker process."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    # From here on the worker is up: fd-level writes (os.write(1, ...), a child process's output)
    # go nowhere, so no amount of output can fill a disk or block a pipe. Python-level prints are
    # captured per call (CappedText); start-up errors before this point reach the grader's log.
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a student's file at the size limit fails writes, not the worker
    sys.stdin = open(os.devnull)  # noqa: SIM115
    import grader

    grader.GRADING = True  # a notebook's own check() cells are skipped: the grader checks everything
    _install_guards()
    serve(requests, replies)


if __name__ == "__main__":
    main()
