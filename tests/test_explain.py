"""Presentation of a failed derivative or reference check (grader.explain, grader.diagnose): the sentences come
before the numbers, the numbers never print alike nor as -0, the truth is named as what it is, and a
reference check that fails the same way says so in a line."""

from __future__ import annotations

import numpy as np
from explain_helpers import checks

from grader import explain
from grader.diagnose import distinct_digits, fmt_array, fmt_number, locate
from grader.oracles.derivative import COMPLEX_STEP_TOL
from grader.relations import Case
from grader.strategies import Instance


def test_no_minus_zero():
    assert fmt_number(-0.0) == "0" and fmt_number(0.0) == "0"
    assert "-0" not in fmt_array(np.array([-0.0, 0.0, 1.5]))
    assert fmt_array(np.array([-0.0, 0.25])) == "[0, 0.25]"
    assert fmt_number(-1e-20) == "-1e-20"  # a small number is not zero


def test_expected_and_got_never_print_alike():
    e, g = np.array([0.123456789012, 1.0]), np.array([0.123456700000, 1.0])
    assert fmt_array(e) == fmt_array(g)  # at 6 digits they would
    d = distinct_digits(e, g)
    assert 6 < d <= 12 and fmt_array(e, d) != fmt_array(g, d)
    text = locate(e, g, COMPLEX_STEP_TOL, ("t",))
    lines = dict(line.split(" ", 1) for line in text.splitlines()[-2:])
    assert lines["expected"].strip() != lines["got"].strip()
    first = text.splitlines()[0]
    assert first.endswith(f"expected {fmt_number(e[0], d)}, got {fmt_number(g[0], d)}")
    assert fmt_number(e[0], d) != fmt_number(g[0], d)


def test_a_forward_function_is_compared_with_the_forward_pass(load):
    def rnn_step_forward(x, prev_h, Wx, Wh, b):
        next_h = np.tanh(x @ Wx + prev_h @ Wh)  # b left out
        return next_h, (x, prev_h, Wx, Wh, next_h)

    r = checks(load, "cache", "rnn_step_forward", rnn_step_forward)["derivative"]
    assert "differs from the forward pass's output" in r.message
    assert "derivative" not in r.message


def test_the_truncated_gradient_is_named_as_such(load):
    reference = load("britz").reference.functions["bptt"]

    def bptt(x, y, U, V, W, bptt_truncate=4):  # ignores the truncation
        return reference(x, y, U, V, W, len(x))

    r = checks(load, "britz", "bptt", bptt)["derivative"]
    shown = r.message.splitlines()[1]
    sizes = dict(part.split(" = ") for part in shown.strip().split(", "))
    assert int(sizes["T"]) > int(sizes["bptt_truncate"]) + 1  # it fails only where the truncation matters
    assert f"differs from the truncated BPTT gradient with bptt_truncate = {sizes['bptt_truncate']}" in r.message
    assert "the derivative of the forward pass" not in r.message.split("truncated BPTT gradient", 1)[1]


def test_one_block_per_failure(load):
    def delta_t(V, delta_o_t, s_t):
        return V.T @ delta_o_t

    results = checks(load, "britz", "delta_t", delta_t, with_solutions=True)
    derivative, reference = results["derivative"], results["reference"]
    assert not derivative.passed and not reference.passed
    assert reference.message == ("delta_t fails the reference check on the same instances, the same way: there the "
                                 "reference solution agrees with the derivative of the forward pass (see the "
                                 "derivative check).")
    assert reference.findings == derivative.findings == ("lacks:s_t",)
    assert reference.misconception is not None and reference.misconception.id == "britz-missing-tanh-derivative"


def test_sentences_come_after_the_instance_and_before_the_numbers(load):
    def delta_t(V, delta_o_t, s_t):
        return -(V.T @ delta_o_t) * (1 - s_t**2)

    lines = checks(load, "britz", "delta_t", delta_t)["derivative"].message.splitlines()
    assert lines[0] == "delta_t fails on this instance (the smallest found):"
    instance_end = next(i for i, line in enumerate(lines[1:], 1) if not line.startswith("    "))
    assert lines[instance_end].startswith("Your delta_t is exactly minus the derivative of the forward pass")
    assert lines[instance_end + 1].startswith("differs from the derivative of the forward pass")


def test_the_shown_instance_has_a_visible_error():
    small = Instance(args=(np.zeros(2),), sizes={"H": 2})
    other = Instance(args=(np.zeros(3),), sizes={"H": 3})
    big = Instance(args=(np.zeros(30),), sizes={"H": 30})
    truth = np.ones(2)
    cases = {id(small): Case(small, truth, truth * (1 + 1e-6)),  # an error too small to see
             id(other): Case(other, np.ones(3), np.ones(3) * 2),
             id(big): Case(big, np.ones(30), np.ones(30) * 5)}
    assert explain.choose(small, cases, [small, other, big], ()) is other  # small, and the largest error
    cases[id(small)] = Case(small, truth, truth * 1.5)
    assert explain.choose(small, cases, [small, other, big], ()) is small  # visible: the smallest stays


def test_feedback_that_fails_leaves_the_plain_message(load, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the feedback")

    monkeypatch.setattr(explain, "relations", broken)

    def delta_t(V, delta_o_t, s_t):
        return V.T @ delta_o_t

    r = checks(load, "britz", "delta_t", delta_t)["derivative"]
    assert not r.passed and r.findings == ()
    assert r.message.startswith("delta_t fails on this instance (the smallest found):")
    assert "differs from the derivative of the forward pass" in r.message


def test_an_answer_written_into_the_function_is_said_to_be_the_same_whatever_the_inputs(load):
    """A bptt returning the gradients of one worked example (the notebook's sizes), whatever it is given."""
    rng = np.random.default_rng(0)
    fixed = {k: rng.normal(size=s) for k, s in {"b": (5,), "c": (6,), "U": (5, 3), "V": (6, 5), "W": (5, 5)}.items()}

    def bptt(x, y, h0, b, c, U, V, W):
        return {k: v.copy() for k, v in fixed.items()}

    r = checks(load, "goodfellow", "bptt", bptt)["derivative"]
    assert "same-answer-always" in r.findings
    assert "gives the same answer on all" in r.message and "whatever their sizes and values" in r.message


def test_an_answer_of_the_wrong_shape_that_follows_its_inputs_is_not_said_to_be_fixed(load):
    reference = load("goodfellow").reference.functions["bptt"]

    def bptt(x, y, h0, b, c, U, V, W):  # dW transposed: the wrong shape where n_in != H, not a fixed answer
        g = dict(reference(x, y, h0, b, c, U, V, W))
        g["U"] = g["U"].T
        return g

    r = checks(load, "goodfellow", "bptt", bptt)["derivative"]
    assert not r.passed and "same-answer-always" not in r.findings
