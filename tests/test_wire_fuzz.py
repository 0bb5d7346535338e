"""Forged and garbled replies from a worker: each is a WireError on the trusted side, never another exception.

Student code shares the worker's process, so it can write to the reply pipe itself (found through
/proc/self/fd) or wrap the worker's functions: every byte from a worker is hostile input. The
readers (:func:`grader.wire.read_message`, then :func:`grader.target.outcome_from_reply`,
``status_from_reply`` and ``names_from_reply``) must return a well-formed result or raise
:class:`grader.wire.WireError` (or ``EOFError`` where the bytes run out), whatever the bytes are:
random bytes, random JSON, honest replies with a byte flipped, cut short, lengths changed, buffer
descriptions wrong, nesting deepened, or any field given a value of the wrong type. The end-to-end
tests write such frames from a submission's own function, in the worker, under both sandbox modes.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import SOLUTIONS
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from grader import wire
from grader.calls import Handles, invoke
from grader.target import Availability, Outcome, names_from_reply, outcome_from_reply, status_from_reply

N_ARGS, KWARGS = 3, ("k",)  # the call every reply below is read as the reply to
MAX_BYTES = 1 << 20


def frame(header: bytes, payload: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + payload


def frame_json(header: object, payload: bytes = b"") -> bytes:
    return frame(json.dumps(header).encode(), payload)


def _check_outcome(out: Outcome) -> None:
    """What an Outcome read from any bytes at all may hold."""
    assert isinstance(out, Outcome)
    assert out.error is None or type(out.error) is str
    assert type(out.traceback) is str and type(out.stdout) is str
    assert all(type(n) is str and len(n) <= 100 for n in out.subclasses)
    assert set(out.mutated) <= {"0", "1", "2", "k"}
    assert all(type(i) is int and 0 <= i < N_ARGS for i in out.aliased)
    stack = [out.value, *out.mutated.values()]
    while stack:
        v = stack.pop()
        if isinstance(v, np.ndarray):
            assert type(v) is np.ndarray and v.dtype.name in wire.ALLOWED_DTYPES and v.ndim <= wire.MAX_ARRAY_DIMS
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            assert all(type(k) is str for k in v)
            stack.extend(v.values())
        elif type(v) is int:
            assert -(2**63) <= v < 2**63
        else:
            assert v is None or type(v) in (bool, float, str, wire.Handle, wire.Earlier, wire.Unsupported), type(v)


def read(data: bytes) -> Outcome | None:
    """Read ``data`` as the reply to a call: its Outcome, or None where it was refused as it must be.

    Any exception other than WireError (or EOFError, only once every byte was read) fails the test.
    """
    stream = io.BytesIO(data)
    try:
        header, buffers = wire.read_message(stream, MAX_BYTES)
    except wire.WireError:
        return None
    except EOFError:
        assert stream.tell() == len(data), "EOFError before the bytes ran out"
        return None
    assert type(header) is dict and all(type(b) is np.ndarray for b in buffers)
    for reader in (status_from_reply, lambda h: names_from_reply(h, ["f", "g"])):
        try:
            checked = reader(header)
        except wire.WireError:
            continue
        if isinstance(checked, dict):
            assert set(checked) == {"f", "g"} and all(type(v) is str for v in checked.values())
        else:
            _check_outcome(checked)
    try:
        out = outcome_from_reply(header, buffers, N_ARGS, KWARGS)
    except wire.WireError:
        return None
    _check_outcome(out)
    return out


# -- honest replies, the raw material of the mutations -----------------------------------------------

DTYPES = st.sampled_from(sorted(wire.ALLOWED_DTYPES))
LEAVES = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
          | arrays(DTYPES, array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@st.composite
def honest_replies(draw) -> bytes:
    """A worker's reply to a call of three arguments (one may be modified in place, or returned)."""
    value = draw(VALUES)
    args = [np.zeros(2), np.ones(3), 1.0]
    mutate, alias = draw(st.booleans()), draw(st.booleans())

    def fn(a, b, c, k=None):
        if mutate:
            a += 1.0
        return (value, b[1:]) if alias else value

    kwargs = {"k": np.zeros(1)} if draw(st.booleans()) else {}
    header, buffers = invoke(fn, args, kwargs, [], Handles())
    return wire.pack_message(header, buffers)


@given(honest_replies())
@settings(max_examples=150)
def test_honest_replies_are_read(data):
    assert read(data) is not None


def test_the_deepest_honest_value_is_read():
    deepest = np.eye(2)
    for i in range(wire.MAX_DEPTH + 4):  # nested past the cap: the encoder itself stops there
        deepest = {"d": deepest} if i % 3 == 0 else (deepest, 1.5) if i % 3 == 1 else [deepest]
    header, buffers = invoke(lambda a, b, c: deepest, [0, 0, 0], {}, [], Handles())
    out = read(wire.pack_message(header, buffers))
    assert out is not None and out.ok


def test_brackets_in_strings_do_not_count_as_nesting():
    out = read(wire.pack_message(*invoke(lambda a, b, c: "[{" * 5000 + '\\"[', [0, 0, 0], {}, [], Handles())))
    assert out is not None and out.value == "[{" * 5000 + '\\"['


@given(st.recursive(st.text(alphabet='[]{}"\\a', max_size=6) | st.integers(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text('[{"\\', max_size=3), inner,
                                                                                 max_size=3), max_leaves=10),
       st.integers(wire.MAX_JSON_DEPTH + 1, wire.MAX_JSON_DEPTH + 3))
@settings(max_examples=200)
def test_the_nesting_scan_is_exact_on_json_and_ignores_brackets_in_strings(value, wrap):
    def depth(v):
        return 1 + max(map(depth, v.values() if isinstance(v, dict) else v), default=0) \
            if isinstance(v, (list, dict)) else 0

    for _ in range(wrap):  # deep enough that the scan runs
        value = [value]
    assert wire._nesting(json.dumps(value).encode()) == depth(value)


# -- random and mutated frames ------------------------------------------------------------------------

KEYS = ["ok", "error", "traceback", "stdout", "result", "aliased", "subclasses", "names", "buffers", "value",
        "mutated", "__array__", "__float__", "__tuple__", "__dict__", "__handle__", "__earlier__",
        "__unsupported__", "reason", "dtype", "shape", "subclass", "0", "9", "k"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() | st.sampled_from(KEYS)
    | st.text(max_size=6) | st.sampled_from(sorted(wire.ALLOWED_DTYPES) + ["object", "float64 "]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3),
                                                                 inner, max_size=4),
    max_leaves=16)


@given(st.binary(max_size=400))
@settings(max_examples=200)
def test_random_bytes(data):
    read(data)


@given(st.binary(max_size=300), st.binary(max_size=64))
@settings(max_examples=200)
def test_random_header_bytes_in_a_frame(header, payload):
    read(frame(header, payload))


@given(st.dictionaries(st.sampled_from(KEYS), JSON, max_size=6), st.binary(max_size=64))
@settings(max_examples=300)
def test_random_json_headers(header, payload):
    read(frame_json(header, payload))


def _paths(tree: object, path: tuple = ()) -> list[tuple]:
    """Every path of keys and indices into a JSON tree."""
    out = [path]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*path, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, (*path, i))
    return out


def _replace(tree: object, path: tuple, new: object) -> object:
    if not path:
        return new
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return tree


def _split(data: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


@given(honest_replies(), st.data())
@settings(max_examples=400)
def test_mutated_honest_replies(data, draw):
    kind = draw.draw(st.sampled_from(["flip", "truncate", "length", "insert", "delete", "field", "spec", "deepen"]))
    where = draw.draw(st.integers(0, max(0, len(data) - 1)))
    if kind == "flip":
        data = data[:where] + bytes([data[where] ^ draw.draw(st.integers(1, 255))]) + data[where + 1:]
    elif kind == "truncate":
        data = data[:where]
    elif kind == "length":
        data = struct.pack("<Q", draw.draw(st.integers(0, 2**64 - 1) | st.integers(0, len(data)))) + data[8:]
    elif kind == "insert":
        data = data[:where] + draw.draw(st.binary(min_size=1, max_size=16)) + data[where:]
    elif kind == "delete":
        data = data[:where] + data[where + draw.draw(st.integers(1, 16)):]
    else:
        header, payload = _split(data)
        if kind == "field":  # any field, however deep, given any value (a wrong type, a huge int, ...)
            path = draw.draw(st.sampled_from(_paths(header)[1:]))
            header = _replace(header, path, draw.draw(JSON))
        elif kind == "spec" and header["buffers"]:
            spec = draw.draw(st.sampled_from(header["buffers"]))
            which = draw.draw(st.integers(0, 2))
            spec[which] = draw.draw(
                [st.sampled_from(["object", "float128", "<f8", "", "int64"]) | JSON,
                 st.lists(st.integers(-2, 2**63) | st.sampled_from([2**62, 2**31, 0]), max_size=10) | JSON,
                 st.integers(-1, 2**64) | JSON][which])
        elif kind == "deepen":  # wrap a part of the header in many levels of lists or tuples
            path = draw.draw(st.sampled_from(_paths(header)))
            depth = draw.draw(st.integers(1, 3000))
            inner = json.dumps(_replace(header, path, "@@"))
            wrap = draw.draw(st.sampled_from([("[", "]"), ('{"__tuple__": [', "]}"), ('{"__dict__": {"a": ', "}}")]))
            text = inner.replace('"@@"', wrap[0] * depth + json.dumps(path[-1] if path else 0) + wrap[1] * depth)
            data = frame(text.encode(), payload)
            read(data)
            return
        data = frame_json(header, payload)
    read(data)


# -- the named adversarial cases ----------------------------------------------------------------------

def _reply(value: object, mutated: object = None, **fields: object) -> dict:
    result = {"__dict__": {"value": value, "mutated": {"__dict__": {} if mutated is None else mutated}}}
    return {"ok": True, "result": result, **fields}


def _array(i: int = 0, shape: list | None = None) -> dict:
    return {"__array__": i, "dtype": "float64", "shape": [2] if shape is None else shape}


FORGED: dict[str, bytes] = {
    # json.loads raises ValueError on more than 4300 digits (Python 3.11 on)
    "int_of_5000_digits": frame(b'{"ok": true, "result": ' + b"1" * 5000 + b"}"),
    "int_of_5000_digits_in_a_value": frame(b'{"ok": true, "result": {"__dict__": {"value": -' + b"9" * 5000 + b"}}}"),
    "int_past_int64": frame_json(_reply(2**64)),
    "handle_past_int64": frame_json(_reply({"__handle__": 2**70})),
    "nested_200000_deep": frame(b"[" * 200000 + b"]" * 200000),
    "tuples_nested_50000_deep": frame(b'{"ok": true, "result": ' + b'{"__tuple__": [' * 50000 + b"]}" * 50000
                                      + b"}"),  # under the header's size cap
    "deep_and_unclosed": frame(b"[" * 300000),
    # a string that never ends, of escaped quotes: a backtracking scan of it would take hours
    "escaped_quotes_unclosed": frame(b"[" * 60 + b'"' + b'\\"' * 400000),
    "shape_that_overflows_np_prod": frame_json({**_reply(_array(0, [2**62, 4])),
                                                "buffers": [["float64", [2**62, 4], 0]]}),
    "zero_sized_but_too_big_for_numpy": frame_json({**_reply(_array(0, [0, 2**62])),
                                                    "buffers": [["float64", [0, 2**62], 0]]}),
    "shape_of_bools": frame_json({"ok": True, "buffers": [["float64", [True, True], 8]]}, b"\0" * 8),
    "nbytes_a_float": frame_json({"ok": True, "buffers": [["float64", [1], 8.0]]}, b"\0" * 8),
    "spec_of_two": frame_json({"ok": True, "buffers": [["float64", [1]]]}),
    "dtype_a_list": frame_json({"ok": True, "buffers": [[["float64"], [1], 8]]}, b"\0" * 8),
    "names_a_list": frame_json({"ok": True, "names": ["f", "g"]}),
    "mutated_past_the_arguments": frame_json(_reply(None, {"9": 1.0})),
    "mutated_negative": frame_json(_reply(None, {"-1": 1.0})),
    "mutated_unicode_digit": frame_json(_reply(None, {"\u00b2": 1.0})),
    "mutated_leading_zero": frame_json(_reply(None, {"01": 1.0})),
    "mutated_keyword_not_sent": frame_json(_reply(None, {"other": 1.0})),
    "mutated_not_a_dict": frame_json({"ok": True, "result": {"__dict__": {"value": 1, "mutated": [1]}}}),
    "aliased_past_the_arguments": frame_json(_reply(None, aliased=[9])),
    "aliased_huge": frame_json(_reply(None, aliased=[10**30])),
    "aliased_bool": frame_json(_reply(None, aliased=[True])),
    "aliased_repeated": frame_json(_reply(None, aliased=[0, 0])),
    "aliased_a_dict": frame_json(_reply(None, aliased={"0": 0})),
    "float_of_a_non_number": frame_json(_reply({"__float__": "[/x]"})),
    "float_with_underscores": frame_json(_reply({"__float__": "1_000"})),
    "float_not_a_string": frame_json(_reply({"__float__": 1.5})),
    "float_with_spaces": frame_json(_reply({"__float__": " 1.5"})),
    "tuple_of_a_string": frame_json(_reply({"__tuple__": "abc"})),
    "dict_of_a_list": frame_json(_reply({"__dict__": [1, 2]})),
    "earlier_of_one": frame_json(_reply({"__earlier__": [1]})),
    "earlier_of_strings": frame_json(_reply({"__earlier__": ["a", "b"]})),
    "handle_negative": frame_json(_reply({"__handle__": -1})),
    "node_with_extra_keys": frame_json(_reply({"__tuple__": [], "x": 1})),
    "unknown_node": frame_json(_reply({"x": 1})),
    "empty_node": frame_json(_reply({})),
    "unsupported_of_ints": frame_json(_reply({"__unsupported__": 1, "reason": 2})),
    "array_out_of_range": frame_json(_reply(_array(3))),
    "array_twice": frame_json({**_reply([_array(0), _array(0)]), "buffers": [["float64", [2], 16]]}, b"\0" * 16),
    "array_of_another_shape": frame_json({**_reply(_array(0, [4])), "buffers": [["float64", [2], 16]]}, b"\0" * 16),
    "array_with_extra_keys": frame_json({**_reply({**_array(0), "x": 1}), "buffers": [["float64", [2], 16]]},
                                        b"\0" * 16),
    "string_too_long": frame_json(_reply("x" * (wire.MAX_STRING + 1))),
    "ok_a_string": frame_json({**_reply(1), "ok": "yes"}),
    "ok_missing": frame_json({"result": 1}),
    "no_result": frame_json({"ok": True}),
    "error_a_number": frame_json({"ok": False, "error": 5}),
    "traceback_a_list": frame_json({"ok": False, "error": "x", "traceback": ["a"]}),
    "stdout_a_dict": frame_json({**_reply(1), "stdout": {}}),
    "subclasses_of_ints": frame_json(_reply(1, subclasses=[1, 2])),
    "payload_without_value": frame_json({"ok": True, "result": {"__dict__": {"mutated": {"__dict__": {}}}}}),
    "payload_a_list": frame_json({"ok": True, "result": [1]}),
    "header_a_list": frame_json([1, 2]),
    "buffers_a_string": frame_json({"ok": True, "buffers": "x"}),
    "not_utf8": frame(b'{"ok": true, "x": "\xff"}'),
    "utf16": frame('{"ok": true}'.encode("utf-16")),
    "header_over_the_cap": struct.pack("<Q", wire.MAX_HEADER_BYTES + 1) + b"{" * 64,
    "nan_as_ok": frame(b'{"ok": NaN}'),
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_forged_replies_are_wire_errors(case):
    assert read(FORGED[case]) is None
    stream = io.BytesIO(FORGED[case])
    with pytest.raises(wire.WireError):  # refused by one reader or the other: nothing else escapes
        header, buffers = wire.read_message(stream, MAX_BYTES)
        if case == "names_a_list":
            names_from_reply(header, ["f"])
        outcome_from_reply(header, buffers, N_ARGS, KWARGS)


def test_no_forged_header_takes_long_to_refuse():
    import time

    slowest = 0.0
    for data in FORGED.values():
        start = time.perf_counter()
        read(data)
        slowest = max(slowest, time.perf_counter() - start)
    assert slowest < 2.0  # linear checks: about 0.05 s for the largest (under 1 MiB) here


def test_the_edges_of_what_is_accepted():
    assert read(frame_json(_reply(-(2**63)))).value == -(2**63)
    assert read(frame_json(_reply(None, {"2": 1.0, "k": 2.0}, aliased=[0, 2]))).aliased == [0, 2]
    for text in ("nan", "-inf", "inf", "1e+300", "-0.0", "5e-324", "1.5"):
        assert str(read(frame_json(_reply({"__float__": text}))).value) == str(float(text))
    zero = read(frame_json({**_reply(_array(0, [0, 2**20])), "buffers": [["float64", [0, 2**20], 0]]}))
    assert zero.value.shape == (0, 2**20)
    assert read(frame_json({"ok": False, "error": "E" * 10**5})).error.startswith("E" * 100)  # long: cut, not refused
    assert names_from_reply({"ok": True, "names": {"f": "function"}}, ["f", "g"]) == {
        "f": Availability("function"), "g": Availability("missing")}


# -- end to end: a submission's own function writes each forged frame to its reply pipe ----------------

FORGER = '''
import functools as _functools
import os as _os
import sys as _sys

_FRAME = bytes.fromhex("{frame}")


def _forge():
    """Write _FRAME to the worker's reply pipe: the writable one of the pipes it has open."""
    for fd in sorted(_os.listdir("/proc/self/fd"), key=int):
        try:
            if not _os.readlink(f"/proc/self/fd/{{fd}}").startswith("pipe:"):
                continue
            data = _FRAME
            while data:
                data = data[_os.write(int(fd), data):]
            return
        except OSError:  # the read end of the request pipe, or an fd already closed
            continue
'''

WRAP = '''

@_functools.wraps({name})
def {name}(*args, _honest={name}, **kwargs):
    if _sys._getframe(1).f_code.co_name != "bptt":  # called by the grader, not by the submission's bptt
        _forge()
    return _honest(*args, **kwargs)
'''

E2E = ["int_of_5000_digits", "nested_200000_deep", "shape_that_overflows_np_prod", "names_a_list",
       "mutated_past_the_arguments", "float_of_a_non_number"]
FULL = {"delta_o": 1.0, "delta_t": 1.0, "delta_t_prev": 1.0, "bptt": 4.0}
CORRECT = (SOLUTIONS / "examples" / "britz" / "correct_script.py").read_text()


def _modes() -> list:
    from grader.sandbox import bwrap_works

    return ["none", pytest.param("bwrap", marks=pytest.mark.skipif(not bwrap_works(), reason="bwrap cannot run"))]


def _grade(path: Path, mode: str):
    from grader.assignments import get
    from grader.grading import grade
    from grader.notebook import read_submission
    from grader.oracles.reference import load_solutions
    from grader.sandbox import Limits
    from grader.worker_target import WorkerTarget

    target = WorkerTarget(read_submission(path), Limits(call_seconds=2.0, cell_seconds=5.0), mode)
    try:
        result = grade(get("britz"), target, load_solutions("britz", SOLUTIONS), examples=8)
    finally:
        target.close()
    return result, target


@pytest.mark.parametrize("mode", _modes())
@pytest.mark.parametrize("case", E2E)
def test_a_frame_forged_by_the_submission_fails_that_function_only(tmp_path, mode, case):
    path = tmp_path / f"{case}.py"
    path.write_text(CORRECT + FORGER.format(frame=FORGED[case].hex()) + WRAP.format(name="delta_t"))
    result, _ = _grade(path, mode)  # no exception escapes
    assert _by_function(result) == {**FULL, "delta_t": 0.0}
    messages = "\n".join(c.message for c in result.checks if c.function == "delta_t")
    assert "the worker's reply could not be read" in messages, messages


NAMES_FORGER = '''
class _Key(str):
    """A namespace key whose comparison runs while the worker answers ``names``: it forges the reply."""

    def __eq__(self, other):
        _forge()
        return str.__eq__(self, other)

    __hash__ = str.__hash__


globals()[_Key("delta_t_prev")] = globals().pop("delta_t_prev")
'''


@pytest.mark.parametrize("mode", _modes())
def test_a_forged_reply_to_names_is_a_clear_message(tmp_path, mode):
    path = tmp_path / "names.py"
    path.write_text(CORRECT + FORGER.format(frame=FORGED["names_a_list"].hex()) + NAMES_FORGER)
    result, _ = _grade(path, mode)  # no exception escapes
    assert result.score == 0.0
    assert all("the worker's reply could not be read" in c.message for c in result.checks), \
        [c.message for c in result.checks]


# -- large cells: the code travels as a buffer ----------------------------------------------------------

@pytest.mark.parametrize("mode", _modes())
def test_a_correct_file_with_a_2_mib_literal_gets_full_marks(tmp_path, mode):
    path = tmp_path / "big.py"
    path.write_text(CORRECT + "\n\nWORDS = '" + "lorem ipsum " * ((2 << 20) // 12 + 1) + "'\n")
    assert path.stat().st_size > (2 << 20) > wire.MAX_HEADER_BYTES
    result, target = _grade(path, mode)
    assert _by_function(result) == FULL and not target.problems


def test_a_cell_over_the_code_limit_is_not_run_and_says_so():
    from grader.notebook import MAX_SUBMISSION_BYTES, Cell, Submission
    from grader.worker_target import WorkerTarget

    assert wire.MAX_CODE_BYTES <= MAX_SUBMISSION_BYTES
    cells = [Cell("code cell 1", "def f():\n    return 1\n"),
             Cell("code cell 2", "def g():\n    return 2\n# " + "x" * wire.MAX_CODE_BYTES + "\n")]
    target = WorkerTarget(Submission(Path("big.ipynb"), cells), mode="none")
    try:
        assert target.available(["f", "g"]) == {"f": Availability("function"), "g": Availability("missing")}
        assert target.call("f", []).value == 1
    finally:
        target.close()
    assert len(target.problems) == 1 and "code cell 2 is 32.0 MiB of code, over the 32 MiB limit" \
        in target.problems[0]


def _by_function(result) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in result.checks:
        out[c.function] = out.get(c.function, 0.0) + c.score
    return out
