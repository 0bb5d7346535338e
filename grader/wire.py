"""The checked format in which values cross between the grader and a worker.

A message is a JSON header followed by raw array buffers. Nothing is pickled:
the trusted side only ever runs ``json.loads`` and ``np.frombuffer`` on what an
untrusted worker sends, after checking every buffer's dtype (a short
whitelist), shape and size. Besides arrays, a value may be ``None``, a bool,
an int, a float, a short string, a list, a tuple, a dict with string keys, or
a :class:`Handle` (an opaque object that stays in the worker), or an
:class:`Earlier` (part of what an earlier call returned, in the worker).

This module is imported by the worker too, so it depends on numpy and the
standard library only.
"""

from __future__ import annotations

import json
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
MAX_HEADER_BYTES = 1 << 20
MAX_MESSAGE_BYTES = 256 << 20
MAX_ARRAY_DIMS = 8
MAX_DEPTH = 16
MAX_STRING = 1 << 16

_LEN = struct.Struct("<Q")


class WireError(ValueError):
    """A message that does not follow the format (or breaks a size cap)."""


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
    """Inverse of :func:`encode` on already-checked buffers."""

    def dec(t: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + 1:
            raise WireError("value nested too deeply")
        if t is None or isinstance(t, (bool, int, float, str)):
            return t
        if isinstance(t, list):
            return [dec(x, depth + 1) for x in t]
        if not isinstance(t, dict) or len(t) == 0:
            raise WireError(f"unexpected node {type(t).__name__}")
        if "__array__" in t:
            i = t["__array__"]
            if not isinstance(i, int) or not 0 <= i < len(buffers):
                raise WireError("bad array reference")
            return buffers[i]
        if "__float__" in t:
            return float(t["__float__"])
        if "__tuple__" in t:
            return tuple(dec(x, depth + 1) for x in t["__tuple__"])
        if "__dict__" in t:
            return {str(k): dec(x, depth + 1) for k, x in t["__dict__"].items()}
        if "__handle__" in t:
            return Handle(int(t["__handle__"]))
        if "__earlier__" in t:
            back, item = t["__earlier__"]
            return Earlier(int(back), int(item))
        if "__unsupported__" in t:
            return Unsupported(str(t["__unsupported__"]), str(t.get("reason", "")))
        raise WireError("unknown node")

    return dec(tree, 0)


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


def read_message(stream: BinaryIO, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Read and check one message; raise :class:`WireError` on anything off."""
    (n,) = _LEN.unpack(_read_exact(stream, _LEN.size))
    if n > MAX_HEADER_BYTES:
        raise WireError(f"header of {n} bytes is over the {MAX_HEADER_BYTES}-byte cap")
    try:
        header = json.loads(_read_exact(stream, n))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WireError(f"header is not JSON: {e}") from None
    if not isinstance(header, dict) or not isinstance(header.get("buffers", []), list):
        raise WireError("header is not an object")
    specs = header.pop("buffers", [])
    total, buffers = 0, []
    for spec in specs:
        try:
            dtype_name, shape, nbytes = spec
            dtype = np.dtype(dtype_name) if dtype_name in ALLOWED_DTYPES else None
            shape = tuple(int(s) for s in shape)
        except (TypeError, ValueError):
            raise WireError(f"bad buffer description {spec!r}") from None
        if dtype is None:
            raise WireError(f"dtype {dtype_name!r} may not cross")
        if len(shape) > MAX_ARRAY_DIMS or any(s < 0 for s in shape):
            raise WireError(f"bad shape {shape}")
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes != expected:
            raise WireError(f"buffer of {nbytes} bytes does not match {dtype_name}{list(shape)}")
        total += nbytes
        if total > max_bytes:
            raise WireError(f"message is over the {max_bytes}-byte cap")
        data = _read_exact(stream, nbytes)
        buffers.append(np.frombuffer(data, dtype=dtype).reshape(shape).copy())
    return header, buffers
