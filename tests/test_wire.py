"""The worker-to-grader format: round trips, and refuses what must not cross."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from grader import wire

DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.bool_])


def roundtrip(value):
    tree, buffers = wire.encode(value)
    stream = io.BytesIO()
    wire.write_message(stream, {"tree": tree}, buffers)
    stream.seek(0)
    header, bufs = wire.read_message(stream)
    return wire.decode(header["tree"], bufs)


@given(arrays(DTYPES, array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)))
def test_arrays_round_trip_exactly(a):
    back = roundtrip(a)
    assert type(back) is np.ndarray and back.dtype == a.dtype and back.shape == a.shape
    assert back.tobytes() == np.ascontiguousarray(a).tobytes()


def test_structures_round_trip():
    value = {"t": (1, 2.5, float("nan"), None, True, "s"), "l": [np.eye(2), [3]], "h": wire.Handle(4)}
    back = roundtrip(value)
    assert back["t"][:2] == (1, 2.5) and np.isnan(back["t"][2]) and back["t"][3:] == (None, True, "s")
    assert isinstance(back["t"], tuple) and isinstance(back["l"], list)
    assert np.array_equal(back["l"][0], np.eye(2)) and back["h"] == wire.Handle(4)


def test_object_arrays_and_unknown_objects_do_not_cross():
    back = roundtrip((np.array([1, "a"], dtype=object), object()))
    assert all(isinstance(x, wire.Unsupported) for x in back)


def test_subclasses_cross_as_plain_arrays_and_are_reported():
    found: list[str] = []
    tree, buffers = wire.encode((np.eye(2), [np.asmatrix(np.eye(2))]), found)
    assert found == ["matrix"]
    assert type(wire.decode(tree, buffers)[1][0]) is np.ndarray


def test_a_returned_subclass_reaches_the_grader_from_the_worker():
    from grader.target import LocalTarget

    out = LocalTarget({"f": lambda: (np.eye(2), np.asmatrix(np.eye(2)))}).call("f", [])
    assert out.subclasses == ["matrix"] and type(out.value[1]) is np.ndarray


def _raw(header: dict, payload: bytes = b"") -> io.BytesIO:
    raw = json.dumps(header).encode()
    return io.BytesIO(struct.pack("<Q", len(raw)) + raw + payload)


@pytest.mark.parametrize("header, payload, complaint", [
    ({"buffers": [["object", [1], 8]]}, b"\0" * 8, "may not cross"),
    ({"buffers": [["float64", [2], 8]]}, b"\0" * 8, "does not match"),
    ({"buffers": [["float64", [-1], 8]]}, b"\0" * 8, "bad shape"),
    ({"buffers": [["float64", [1 << 30], 8 << 30]]}, b"", "cap"),
    ({"buffers": "x"}, b"", "not an object"),
    ({"buffers": [["float64", [2**62, 4], 0]]}, b"", "too large"),  # np.prod would overflow to 0 here
    ({"buffers": [["float64", [True], 8]]}, b"\0" * 8, "bad shape"),
])
def test_malformed_messages_are_refused(header, payload, complaint):
    with pytest.raises(wire.WireError, match=complaint):
        wire.read_message(_raw(header, payload))


def test_oversized_header_and_non_json_are_refused():
    with pytest.raises(wire.WireError, match="cap"):
        wire.read_message(io.BytesIO(struct.pack("<Q", 1 << 40)))
    with pytest.raises(wire.WireError, match="not JSON"):
        wire.read_message(io.BytesIO(struct.pack("<Q", 3) + b"\xff\xfe{"))
    with pytest.raises(EOFError):
        wire.read_message(io.BytesIO(struct.pack("<Q", 10) + b"{}"))


def test_decode_refuses_forged_array_references():
    with pytest.raises(wire.WireError):
        wire.decode({"__array__": 3}, [])


def test_byte_swapped_arrays_cross_in_native_order():
    swapped = np.arange(6, dtype=">f8").reshape(2, 3) if np.little_endian else np.arange(6, dtype="<f8").reshape(2, 3)
    back = roundtrip(swapped)
    assert back.dtype == np.float64 and back.dtype.isnative
    np.testing.assert_array_equal(back, np.arange(6.0).reshape(2, 3))
