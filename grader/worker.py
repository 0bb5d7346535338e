"""The worker: the only place student code runs during grading.

It is started by :mod:`grader.sandbox` (inside bubblewrap when available) and
speaks :mod:`grader.wire` over the pipes that were its stdin and stdout. Its
file descriptors 0 and 1 are then pointed away from those pipes, so nothing a
student prints, even with ``os.write(1, ...)``, can corrupt the channel.

Each call of student code is made by :func:`grader.calls.invoke`, which the
trusted side's in-process calls use too. Imports: numpy, the standard library,
:mod:`grader.wire`, :mod:`grader.calls` and :mod:`grader.loops` only (the
worker-side modules, :data:`grader.sandbox.WORKER_MODULES`).
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import signal
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from grader import calls, loops, wire
from grader.calls import (
    FAILED,
    CappedText,
    Handles,
    StudentExit,
    describe_exception,
    fingerprint,
    invoke,
    missing_status,
    student_traceback,
)

_real_exit = os._exit  # taken before _install_guards turns it into an exception


def _run(header: dict[str, Any], buffers: list[np.ndarray], namespace: dict[str, Any],
         ) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Run ``grader.loops:name(target, *args)`` on a target of the namespace's functions.

    Only the loops of :data:`grader.loops.LOOPS` can be named: the worker imports no other code of the grader's.
    """
    module_name, _, name = str(header.get("function", "")).partition(":")
    function = loops.LOOPS.get(name) if module_name == loops.__name__ else None
    if function is None:
        return {"ok": False, "error": f"only the grader's functions in {loops.__name__} run here, "
                                      f"not {str(header.get('function'))[:200]!r}"}, []
    try:
        payload = wire.decode(header["args"], buffers)
        # each of the student's calls keeps its usual limit (a hang is a failed call, not a lost run); the
        # loop's values stay in this process until its result is encoded below (and checked by the grader),
        # so its calls skip the wire round trip and the argument watching a check needs
        target = loops.NearTarget(namespace, float(header.get("call_seconds", 10.0)),
                                  float(header.get("run_seconds", 60.0)))
        value = function(target, *payload["args"])
        tree, out = wire.encode({"value": value})
    except BaseException as exc:  # noqa: BLE001 - reported like a student's exception
        return {"ok": False, "error": describe_exception(exc), "traceback": student_traceback(exc)}, []
    return {"ok": True, "result": tree}, out


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


#: Built-ins and numpy functions the worker's own checks rely on (a submission that replaced them
#: could make an argument it modified look untouched).
_RELIED_ON = ((builtins, ("isinstance", "id", "repr", "type", "len", "list", "tuple", "dict", "set", "sorted",
                          "enumerate", "str", "int", "float", "memoryview", "object", "zip", "any", "reversed")),
              (np, ("asarray", "ascontiguousarray", "frombuffer", "shares_memory", "ndarray", "dtype")),
              (hashlib, ("blake2b",)))


class Integrity:
    """What the worker's own code is when grading starts, to tell whether a submission changed it.

    Student code shares this process, so it can rebind the worker's functions (``_aliased``,
    ``fingerprint``, ``wire.encode``), edit their code or defaults, or replace a built-in they
    call, and so hide a modified argument. Every such change is seen by :meth:`changed`
    (identities, code objects, defaults, class attributes); the calls after it are failed. What
    remains possible: rewriting memory with ``ctypes``, which no check in this process can rule
    out. Values themselves are always judged on the trusted side.
    """

    def __init__(self, modules: tuple[types.ModuleType, ...]) -> None:
        self.entries = [(m, name, v) for m in modules for name, v in vars(m).items() if not name.startswith("__")]
        self.entries += [(m, name, getattr(m, name)) for m, names in _RELIED_ON for name in names]
        self.code = [(f, f.__code__, f.__defaults__, f.__kwdefaults__) for _, _, f in self.entries
                     if isinstance(f, types.FunctionType)]
        self.classes = [(c, dict(vars(c))) for m, _, c in self.entries
                        if isinstance(c, type) and c.__module__ == getattr(m, "__name__", None)]

    def changed(self) -> list[str]:
        """The names of the worker's own objects that are no longer what they were."""
        out = [f"{getattr(m, '__name__', '?')}.{name}" for m, name, v in self.entries
               if vars(m).get(name, FAILED) is not v]
        out += [f.__qualname__ for f, code, d, kw in self.code
                if f.__code__ is not code or f.__defaults__ is not d or f.__kwdefaults__ is not kw]
        out += [c.__qualname__ for c, attrs in self.classes
                if vars(c).keys() != attrs.keys() or any(vars(c)[k] is not v for k, v in attrs.items())]
        return out


def _stand_in(name: str, requests: io.BufferedReader, replies: io.BufferedWriter) -> Callable[..., Any]:
    """A function called ``name`` whose answers come from the grader (the true one, in a caller's regrade).

    The call is a question on the reply channel, its answer the next message on the request channel:
    the grader sends nothing ahead to a worker with stand-ins, so nothing else can be waiting there.
    """

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        tree, buffers = wire.encode({"args": list(args), "kwargs": kwargs})
        wire.write_message(replies, {"ask": name, "args": tree}, buffers)
        header, answer = wire.read_message(requests)
        if header.get("ok") is not True:
            raise RuntimeError(f"the grader's {name} could not answer: {header.get('error')}")
        return wire.decode(header.get("result"), answer)

    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def _tampered(names: list[str]) -> dict[str, Any]:
    return {"ok": False, "tampered": True, "traceback": "",
            "error": "the submission changed the grader's own code in the worker (" + ", ".join(names[:3])
                     + "): what this call did cannot be checked, so it earns nothing"}


def _module_state(namespace: dict[str, Any]) -> dict[str, bytes]:
    """Fingerprints of what a call could change and keep for the next one: module-level values, and the
    default arguments, attributes and closure cells of module-level functions (not modules or classes)."""
    state = {}
    for name, value in list(dict.items(namespace)):
        try:
            kind = type(value)  # not isinstance: a student's __class__ would answer it
            if not isinstance(name, str) or name.startswith("__") or issubclass(kind, (types.ModuleType, type)):
                continue
            if kind is types.FunctionType:
                cells = tuple(_cell(c) for c in value.__closure__ or ())
                value = (value.__defaults__, value.__kwdefaults__, dict(value.__dict__), cells)
                name = f"{name} (its defaults, attributes or closure)"
            state[name] = fingerprint(value)
        except Exception:  # noqa: BLE001 - a value the walk cannot read is left out, never the worker's end
            continue
    return state


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


class _Server:
    """The worker's side of the channel: one method per request ``op``, each writing one reply."""

    def __init__(self, requests: io.BufferedReader, replies: io.BufferedWriter) -> None:
        module = types.ModuleType("__main__")
        module.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = module
        self.requests, self.replies = requests, replies
        self.namespace = module.__dict__
        self.handles = Handles()
        self.pid = os.getpid()
        # before any student code runs; the loops run next to it (trask's training) are watched too
        self.integrity = Integrity((sys.modules[__name__], calls, wire, loops))
        self.state_before: dict[str, bytes] | None = None  # the module-level state before the first call

    def reply(self, header: dict[str, Any], buffers: list[np.ndarray] | None = None) -> None:
        # A process forked by student code returns here too: it must never write to the channel.
        if os.getpid() != self.pid:
            _real_exit(0)
        wire.write_message(self.replies, header, buffers or [])

    def exec(self, header: dict[str, Any], buffers: list[np.ndarray]) -> None:
        out = CappedText()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        try:
            # the code comes as a uint8 buffer of UTF-8 (of any size up to wire.MAX_CODE_BYTES)
            source = header["source"] if "source" in header else \
                buffers[0].tobytes().decode("utf-8", "surrogatepass")
            exec(compile(source, f"<{header['label']}>", "exec"), self.namespace)
            reply = {"ok": True}
        except BaseException as exc:
            reply = {"ok": False, "error": describe_exception(exc), "traceback": student_traceback(exc)}
        finally:
            sys.stdout, sys.stderr = saved
        reply["stdout"] = out.text()
        self.state_before = None  # a cell may set up state: it is taken again before the next call
        self.reply(reply)

    def names(self, header: dict[str, Any], buffers: list[np.ndarray]) -> None:
        namespace = self.namespace
        asked = set(header["names"])  # a graded function is never offered as another's misspelling
        defined = [k for k, v in namespace.items() if callable(v) and not k.startswith("_") and k not in asked]
        kinds = {name: (missing_status(name, defined) if name not in namespace else
                        "function" if callable(namespace[name]) else f"not callable ({type(namespace[name]).__name__})")
                 for name in header["names"]}
        self.reply({"ok": True, "names": kinds})

    def call(self, header: dict[str, Any], buffers: list[np.ndarray]) -> None:
        fn = self.namespace.get(header["name"])
        if not callable(fn):
            self.handles.recent.append(FAILED)
            self.reply({"ok": False, "error": f"no function named {header['name']} is defined", "traceback": ""})
            return
        try:
            payload = wire.decode(header["args"], buffers)
        except wire.WireError as e:
            self.handles.recent.append(FAILED)
            self.reply({"ok": False, "error": f"bad request: {e}", "traceback": ""})
            return
        if self.state_before is None:
            self.state_before = _module_state(self.namespace)
        reply, out = invoke(fn, payload["args"], payload.get("kwargs", {}), header.get("keep", []), self.handles)
        changed = self.integrity.changed()
        self.reply(*((_tampered(changed), []) if changed else (reply, out)))

    def run(self, header: dict[str, Any], buffers: list[np.ndarray]) -> None:
        """A loop of the grader's, next to the student's functions (:func:`grader.target.run_near`)."""
        changed = self.integrity.changed()  # a loop replaced before it runs would decide its own result
        reply, out = _tampered(changed) if changed else _run(header, buffers, self.namespace)
        changed = changed or self.integrity.changed()
        self.reply(*((_tampered(changed), []) if changed else (reply, out)))

    def stand_in(self, header: dict[str, Any], buffers: list[np.ndarray]) -> None:
        """The true functions in place of the student's, for a caller's regrade."""
        for name in header.get("names", []):
            self.namespace[str(name)] = _stand_in(str(name), self.requests, self.replies)
        self.reply({"ok": True})

    def state(self, header: dict[str, Any], buffers: list[np.ndarray]) -> None:
        """Which module-level names (or functions' defaults, attributes, closures) calls have changed."""
        before = self.state_before if self.state_before is not None else _module_state(self.namespace)
        now = _module_state(self.namespace)
        changed = sorted(n for n in now.keys() | before.keys() if now.get(n) != before.get(n))
        self.reply({"ok": True, "changed": changed[:50]})

    def release(self, header: dict[str, Any], buffers: list[np.ndarray]) -> None:
        for i in header.get("handles", []):
            self.handles.objects.pop(i, None)
        self.reply({"ok": True})


_OPS = {"exec": _Server.exec, "names": _Server.names, "call": _Server.call, "run": _Server.run,
        "stand_in": _Server.stand_in, "release": _Server.release, "state": _Server.state}


def serve(requests: io.BufferedReader, replies: io.BufferedWriter) -> None:
    """Answer requests until ``exit`` or the end of the channel."""
    server = _Server(requests, replies)
    while True:
        try:
            header, buffers = wire.read_message(requests)
        except EOFError:
            return
        op = header.get("op")
        if op == "exit":
            return
        handle = _OPS.get(op) if isinstance(op, str) else None
        if handle is None:
            server.reply({"ok": False, "error": f"unknown op {op!r}"})
        else:
            handle(server, header, buffers)


#: Packages a notebook imports to show things, never to compute a graded answer. The sandbox does not
#: hold them (it holds numpy and the worker alone); importing one gives a stand-in whose every
#: attribute and call does nothing, so `import matplotlib.pyplot as plt` does not fail the cell that
#: defines the graded functions.
DISPLAY_ONLY = frozenset({"matplotlib", "seaborn", "IPython", "tqdm", "plotly", "ipywidgets", "pylab"})


class _Nothing:
    """What a display-only package gives: any attribute, call, item or unpacking, doing nothing."""

    def __getattr__(self, name: str) -> _Nothing:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Nothing:
        return self

    def __getitem__(self, key: Any) -> _Nothing:
        return self

    def __iter__(self) -> Any:
        return iter((self, self))  # fig, ax = plt.subplots()

    def __enter__(self) -> _Nothing:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class _DisplayOnlyModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Nothing()


class _DisplayOnlyFinder:
    """Finds a display-only package that is not installed in the sandbox, and gives its stand-in."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        import importlib.machinery
        import importlib.util

        top = name.partition(".")[0]
        if top not in DISPLAY_ONLY:
            return None
        if "." not in name:
            sys.meta_path.remove(_DisplayOnlyFinder)  # the real package, where there is one
            try:
                if importlib.util.find_spec(name) is not None:
                    return None
            finally:
                sys.meta_path.append(_DisplayOnlyFinder)
        return importlib.machinery.ModuleSpec(name, _DisplayOnlyFinder, is_package=True)

    @staticmethod
    def create_module(spec: Any) -> types.ModuleType:
        module = _DisplayOnlyModule(spec.name)
        module.__path__ = []
        return module

    @staticmethod
    def exec_module(module: types.ModuleType) -> None:
        return None


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
    sys.meta_path.append(_DisplayOnlyFinder)
    _install_guards()
    serve(requests, replies)


if __name__ == "__main__":
    main()
