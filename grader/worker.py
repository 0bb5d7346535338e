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
import copy
import difflib
import hashlib
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
        raise Bookkeeping(f"could not read a value of type {type(v).__name__}: {_describe(exc)}") from None
    return h.digest()


def _copy(v: Any) -> Any:
    """A copy whose arrays are new (a call on it cannot change ``v``); unknown objects by ``copy.deepcopy``."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if type(v) is list:
        return [_copy(x) for x in v]
    if type(v) is tuple:
        return tuple(_copy(x) for x in v)
    if type(v) is dict:
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, _ATOMS):
        return v
    try:
        return copy.deepcopy(v)
    except Exception as exc:  # noqa: BLE001
        raise Bookkeeping(f"could not copy a value of type {type(v).__name__}: {_describe(exc)}") from None


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


def _internal(exc: BaseException, doing: str, stdout: str = "") -> dict[str, Any]:
    """The reply to a call whose result the worker could not handle: not graded, never the student's fault."""
    return {"ok": False, "internal": True, "traceback": "", "stdout": stdout,
            "error": f"internal error in the grader's worker ({doing}): {_describe(exc)}"}


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
        handles.recent.append(_FAILED)
        return {"ok": False, "error": f"could not be called: {exc.args[0]}", "traceback": "", "stdout": ""}, []
    try:  # fingerprints, not copies: a change anywhere inside any container or object shows
        before = [fingerprint(a) for a in args] if watch else []
        kw_before = {k: fingerprint(v) for k, v in kwargs.items()} if watch else {}
    except Bookkeeping as exc:
        handles.recent.append(_FAILED)
        return _internal(exc, "reading the arguments"), []
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
        return {"ok": False, "error": f"the returned value could not be read: {_describe(exc)}",
                "traceback": "", "stdout": out.text()}, []
    return {"ok": True, "result": tree, "aliased": aliased, "subclasses": subclasses, "stdout": out.text()}, buffers


def _run(header: dict[str, Any], buffers: list[np.ndarray], namespace: dict[str, Any],
         ) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Run ``grader.loops:name(target, *args)`` on a target of the namespace's functions.

    Only the loops of :data:`grader.loops.LOOPS` can be named: the worker imports no other code of the grader's.
    """
    from grader import loops

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
               if vars(m).get(name, _FAILED) is not v]
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


def serve(requests: io.BufferedReader, replies: io.BufferedWriter) -> None:
    """Answer requests until ``exit`` or the end of the channel."""
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    namespace = module.__dict__
    handles = Handles()
    me = os.getpid()
    from grader import loops  # the loops run next to student code (trask's training) are watched too

    integrity = Integrity((sys.modules[__name__], wire, loops))  # before any student code runs

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
                # the code comes as a uint8 buffer of UTF-8 (of any size up to wire.MAX_CODE_BYTES)
                source = header["source"] if "source" in header else \
                    buffers[0].tobytes().decode("utf-8", "surrogatepass")
                exec(compile(source, f"<{header['label']}>", "exec"), namespace)
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
            changed = integrity.changed()
            if changed:
                reply, out_buffers = _tampered(changed), []
            only_the_worker_answers()
            wire.write_message(replies, reply, out_buffers)
        elif op == "run":  # a loop of the grader's, next to the student's functions (grader.target.run_near)
            changed = integrity.changed()  # a loop replaced before it runs would decide its own result
            reply, out_buffers = _tampered(changed) if changed else _run(header, buffers, namespace)
            changed = changed or integrity.changed()
            if changed:
                reply, out_buffers = _tampered(changed), []
            only_the_worker_answers()
            wire.write_message(replies, reply, out_buffers)
        elif op == "stand_in":  # the true functions in place of the student's, for a caller's regrade
            for name in header.get("names", []):
                namespace[str(name)] = _stand_in(str(name), requests, replies)
            wire.write_message(replies, {"ok": True})
        elif op == "release":
            for i in header.get("handles", []):
                handles.objects.pop(i, None)
            wire.write_message(replies, {"ok": True})
        else:
            wire.write_message(replies, {"ok": False, "error": f"unknown op {op!r}"})


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
