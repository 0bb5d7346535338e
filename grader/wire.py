"""The checked format in which values cross between the grader and a worker.

A message is a JSON header followed by raw array buffers. Nothing is pickled:
the trusted side only ever runs ``json.loads`` and ``np.frombuffer`` on what an
untrusted worker sends, after checking the header's size, encoding and nesting
(without recursion) and every buffer's dtype (a short whitelist), shape and
size (in Python ints, which do not overflow); :func:`decode` then accepts only
the exact nodes :func:`encode` makes. Anything else is a :class:`WireError`.

Besides arrays, a value may be ``None``, a bool, an int, a float, a short
string, a list, a tuple, a dict with string keys, or a :class:`Handle` (an
opaque object that stays in the worker), or an :class:`Earlier` (part of what
an earlier call returned, in the worker).

This module is imported by the worker too, so it depends on numpy and the
standard library only.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

#: dtypes that may cross; anything else (object arrays above all) is refused.
ALLOWED_DTYPES = frozenset(
    {"float64", "float32", "float16", "int64", "int32", "int16", "int8",
     "uint8", "uint16", "uint32", "uint64", "bool", "complex128"}
)
# By dtype object: ``dtype.name`` is a Python-level property in numpy 2, and looking it up for
# every array took a sixth of a round trip.
_NAMES = {np.dtype(name): name for name in ALLOWED_DTYPES}
_DTYPES = {name: np.dtype(name) for name in ALLOWED_DTYPES}
MAX_HEADER_BYTES = 1 << 20
MAX_MESSAGE_BYTES = 256 << 20
MAX_ARRAY_DIMS = 8
MAX_DEPTH = 16
MAX_STRING = 1 << 16
#: The most a header's JSON nests: a value at :data:`MAX_DEPTH`, two levels per container, and room
#: for the header around it. Checked before parsing, without recursion.
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 16
#: The most code one cell may have (UTF-8 bytes). A cell's code travels as a buffer, not in the
#: header; a larger cell is not run, and the submission is told so. No larger than a whole
#: submission may be (:data:`grader.notebook.MAX_SUBMISSION_BYTES`, outputs included).
MAX_CODE_BYTES = 32 << 20
# An array's extent (its shape's product, zero dimensions counted as one) times its item size:
# far above any real array, far below where numpy's own size arithmetic overflows.
_MAX_EXTENT = 1 << 48
_INT_BOUND = 1 << 63  # ints cross as int64: encode turns a larger one into a float

_LEN = struct.Struct("<Q")
_FLOAT_REPR = re.compile(r"-?(?:inf|nan|[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)")
_NESTING = np.zeros(256, np.int8)  # by byte: +1 opens an array or object, -1 closes one
_NESTING[[ord("["), ord("{")]], _NESTING[[ord("]"), ord("}")]] = 1, -1


class WireError(ValueError):
    """A message that does not follow the format (or breaks a size cap)."""


#: What reading or checking a reply can raise besides ``EOFError`` (the channel closed): a
#: :class:`WireError`, and, defensively, whatever a check missed. Callers of :func:`read_message`,
#: :func:`decode` and :func:`grader.target.outcome_from_reply` on a worker's reply catch all of
#: these, so that no reply, however forged, is an exception in the grader.
REPLY_ERRORS = (WireError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
                OverflowError, MemoryError)
_STRAY = REPLY_ERRORS[1:]
_UNSUPPORTED_KEYS = frozenset({"__unsupported__", "reason"})
_NODE_KEYS = frozenset({"__float__", "__tuple__", "__dict__", "__handle__", "__earlier__"})


@dataclass(frozen=True)
class Handle:
    """An object that stays in the worker (for example a student's cache)."""

    id: int


@dataclass(frozen=True)
class Earlier:
    """Item ``item`` of what the call ``back`` calls before this one returned, in the worker.

    So that a backward function can be called on the cache its forward function made
    before that forward call's reply has arrived (calls sent ahead, :mod:`grader.sandbox`).
    """

    back: int
    item: int


@dataclass(frozen=True)
class Unsupported:
    """What the worker sends instead of a value that cannot cross."""

    type_name: str
    reason: str


def encode(value: Any, subclasses: list[str] | None = None) -> tuple[Any, list[np.ndarray]]:
    """Split ``value`` into a JSON-able tree and a list of contiguous arrays.

    ``subclasses``, when given, collects the names of ndarray subclasses converted on the way.
    """
    buffers: list[np.ndarray] = []

    def enc(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            return {"__unsupported__": type(v).__name__, "reason": "nested too deeply"}
        if isinstance(v, np.ndarray):  # first: most values are arrays
            subclass = None if type(v) is np.ndarray else type(v).__name__
            dtype = v.dtype if v.dtype.isnative else v.dtype.newbyteorder("=")  # sent in this machine's order
            name = _NAMES.get(dtype)
            if name is None:
                return {"__unsupported__": f"ndarray of dtype {v.dtype}",
                        "reason": "only numeric arrays can be graded"}
            if v.ndim > MAX_ARRAY_DIMS:
                return {"__unsupported__": f"ndarray with {v.ndim} dimensions",
                        "reason": "too many dimensions"}
            base = np.asarray(v).view(np.ndarray)
            if dtype != v.dtype:
                base = base.astype(dtype)
            if not base.flags.c_contiguous:  # ascontiguousarray would turn a 0-d array into 1-d
                base = base.copy(order="C")
            buffers.append(base)
            out = {"__array__": len(buffers) - 1, "dtype": name, "shape": list(base.shape)}
            if subclass:
                out["subclass"] = subclass
                if subclasses is not None:
                    subclasses.append(subclass)
            return out
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, (int, np.integer)):
            i = int(v)
            return i if abs(i) < 2**63 else float(i)
        if isinstance(v, (float, np.floating)):
            return {"__float__": repr(float(v))}
        if isinstance(v, str):
            return v[:MAX_STRING]
        if isinstance(v, tuple):
            return {"__tuple__": [enc(x, depth + 1) for x in v]}
        if isinstance(v, list):
            return [enc(x, depth + 1) for x in v]
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                return {"__unsupported__": "dict", "reason": "keys must be strings"}
            return {"__dict__": {k: enc(x, depth + 1) for k, x in v.items()}}
        if isinstance(v, Handle):
            return {"__handle__": v.id}
        if isinstance(v, Earlier):
            return {"__earlier__": [v.back, v.item]}
        if isinstance(v, Unsupported):
            return {"__unsupported__": v.type_name, "reason": v.reason}
        return {"__unsupported__": type(v).__name__, "reason": "not an array, number, tuple or dict"}

    return enc(value, 0), buffers


def decode(tree: Any, buffers: list[np.ndarray]) -> Any:
    """Inverse of :func:`encode` on already-checked buffers; :class:`WireError` on any tree it did not make.

    Every node is checked for exactly the shape :func:`encode` gives it (``{"__tuple__": list}``,
    an array reference to a buffer not used before and matching its dtype and shape, ...), ints are
    int64, strings at most :data:`MAX_STRING` long, floats the ``repr`` of one. The recursion stops
    at :data:`MAX_DEPTH`, before it goes deeper, so no tree can drive it further.
    """
    used = [False] * len(buffers)  # encode makes one buffer per array: a second reference is forged

    def dec(t: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + 1:
            raise WireError("value nested too deeply")
        kind = type(t)
        if kind is list:
            return [dec(x, depth + 1) for x in t]
        if kind is dict:
            i = t.get("__array__")
            if i is not None:  # {"__array__": i, "dtype": ..., "shape": [...]} and perhaps "subclass"
                if type(i) is not int or not 0 <= i < len(used) or used[i]:
                    raise WireError("bad array reference")
                b = buffers[i]
                if t.get("dtype") != _NAMES.get(b.dtype) or t.get("shape") != list(b.shape) \
                        or not (len(t) == 3 or len(t) == 4 and type(t.get("subclass")) is str):
                    raise WireError("an array reference does not match its buffer")
                used[i] = True
                return b
            if len(t) == 1:
                key, x = next(iter(t.items()))
                if key == "__float__" and type(x) is str and len(x) <= 32 and _FLOAT_REPR.fullmatch(x):
                    return float(x)
                if key == "__tuple__" and type(x) is list:
                    return tuple([dec(y, depth + 1) for y in x])
                if key == "__dict__" and type(x) is dict:
                    return {k: dec(y, depth + 1) for k, y in x.items()}
                if key == "__handle__" and type(x) is int and 0 <= x < _INT_BOUND:
                    return Handle(x)
                if key == "__earlier__" and type(x) is list and len(x) == 2 \
                        and all(type(y) is int and -_INT_BOUND <= y < _INT_BOUND for y in x):
                    return Earlier(x[0], x[1])
                if key in _NODE_KEYS:
                    raise WireError(f"malformed {key} node")
            if t.keys() == _UNSUPPORTED_KEYS:
                name, reason = t["__unsupported__"], t["reason"]
                if type(name) is str and type(reason) is str:
                    return Unsupported(name[:MAX_STRING], reason[:MAX_STRING])
            raise WireError(f"unknown node with keys {[k[:40] for k in sorted(t)[:4]]}")
        if t is None or kind is bool or kind is float:
            return t
        if kind is int:
            if not -_INT_BOUND <= t < _INT_BOUND:
                raise WireError("an int out of the int64 range")
            return t
        if kind is str:
            if len(t) > MAX_STRING:
                raise WireError(f"a string over {MAX_STRING} characters")
            return t
        raise WireError(f"unexpected node {kind.__name__}")

    try:
        return dec(tree, 0)
    except WireError:
        raise
    except _STRAY as e:  # a check missed something: still the message's fault
        raise WireError(f"undecodable value ({type(e).__name__}: {e})") from None


def pack_message(header: dict[str, Any], buffers: list[np.ndarray] = ()) -> bytes:
    """One message as bytes: header length, header JSON, then each raw buffer."""
    header = dict(header)
    header["buffers"] = [[_NAMES.get(b.dtype) or b.dtype.name, list(b.shape), b.nbytes] for b in buffers]
    raw = json.dumps(header, allow_nan=True).encode()
    # memoryview cannot cast an empty multi-dimensional view, hence the nbytes test
    return b"".join([_LEN.pack(len(raw)), raw, *(memoryview(b).cast("B") for b in buffers if b.nbytes)])


def write_message(stream: BinaryIO, header: dict[str, Any], buffers: list[np.ndarray] = ()) -> None:
    """Write one message (see :func:`pack_message`)."""
    stream.write(pack_message(header, buffers))
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _nesting(raw: bytes) -> int:
    """How deep the JSON text ``raw`` (valid UTF-8) nests, found without recursion, in linear time.

    Brackets in string literals do not count: a string starts and ends at a quote preceded by an
    even run of backslashes. Where ``raw`` is not JSON, the depth of the part ``json.loads`` reads
    before it fails is still found exactly (that part is the start of a JSON text).
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:  # every header of a real reply: no scan
        return 0
    text = np.frombuffer(raw, np.uint8)
    steps = _NESTING[text]
    quotes = np.flatnonzero(text == ord('"'))
    if len(quotes):
        backslash = text == ord("\\")
        if backslash.any():  # drop the escaped quotes: an odd run of backslashes just before
            last_other = np.maximum.accumulate(np.where(backslash, -1, np.arange(len(text))))
            before = np.maximum(quotes - 1, 0)
            run = np.where(quotes > 0, before - last_other[before], 0)
            quotes = quotes[run % 2 == 0]
        toggles = np.zeros(len(text), np.int8)
        toggles[quotes] = 1
        steps[(np.cumsum(toggles, dtype=np.int64) & 1).astype(bool)] = 0  # inside a string literal
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def _buffer_spec(spec: Any) -> tuple[np.dtype, tuple[int, ...], int]:
    """A buffer's description ``[dtype, shape, nbytes]``, checked with Python ints (nothing overflows)."""
    if type(spec) is not list or len(spec) != 3:
        raise WireError(f"bad buffer description {str(spec)[:100]}")
    dtype_name, shape, nbytes = spec
    dtype = _DTYPES.get(dtype_name) if type(dtype_name) is str else None
    if dtype is None:
        raise WireError(f"dtype {str(dtype_name)[:40]!r} may not cross")
    if type(shape) is not list or len(shape) > MAX_ARRAY_DIMS:
        raise WireError(f"bad shape {str(shape)[:100]}")
    count, extent = 1, dtype.itemsize
    for side in shape:
        if type(side) is not int or side < 0:
            raise WireError(f"bad shape {str(shape)[:100]}")
        count *= side
        extent *= max(side, 1)
        if extent > _MAX_EXTENT:
            raise WireError(f"bad shape {str(shape)[:100]}: too large")
    if type(nbytes) is not int or nbytes != count * dtype.itemsize:
        raise WireError(f"buffer of {str(nbytes)[:40]} bytes does not match {dtype_name}{shape}")
    return dtype, tuple(shape), nbytes


def read_message(stream: BinaryIO, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Read and check one message; raise :class:`WireError` on anything off (``EOFError`` if the stream ends).

    The header's length, encoding (UTF-8), nesting (at most :data:`MAX_JSON_DEPTH`, checked before
    parsing) and buffer descriptions are checked; the values in it are checked by :func:`decode`.
    """
    (n,) = _LEN.unpack(_read_exact(stream, _LEN.size))
    if n > MAX_HEADER_BYTES:
        raise WireError(f"header of {n} bytes is over the {MAX_HEADER_BYTES}-byte cap")
    raw = _read_exact(stream, n)
    try:
        text = raw.decode("utf-8")
        if _nesting(raw) > MAX_JSON_DEPTH:
            raise WireError(f"header nested deeper than {MAX_JSON_DEPTH} levels")
        header = json.loads(text)
    except WireError:
        raise
    except _STRAY as e:  # not UTF-8, not JSON, an int of more than 4300 digits, ...
        raise WireError(f"header is not JSON: {type(e).__name__}: {str(e)[:200]}") from None
    if type(header) is not dict:
        raise WireError("header is not an object")
    specs = header.pop("buffers", [])
    if type(specs) is not list:
        raise WireError("header is not an object with a list of buffers")
    checked = [_buffer_spec(spec) for spec in specs]
    if sum(nbytes for _, _, nbytes in checked) > max_bytes:
        raise WireError(f"message is over the {max_bytes}-byte cap")
    buffers = []
    for dtype, shape, nbytes in checked:
        data = _read_exact(stream, nbytes)
        buffers.append(np.frombuffer(data, dtype=dtype).reshape(shape).copy())
    return header, buffers
