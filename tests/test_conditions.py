"""Conditions, not just cases (grader.conditions): which sizes make a function fail, claimed only when a simple
rule separates every failing instance judged from every passing one; the shapes of a crash about shapes."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import checks, says

from grader.conditions import condition, crash_note, evaluate, holds
from grader.strategies import Instance


def delta_t_wrong_for_one_unit(V, delta_o_t, s_t):
    d = V.T @ delta_o_t * (1 - s_t**2)
    return d + 1 if len(s_t) == 1 else d  # a special case for H == 1, written wrong


def delta_t_prev_offset(W, delta_t, s_prev):
    return W.T @ delta_t * (1 - s_prev**2) + np.arange(len(s_prev))  # right only for one unit


def bptt_untruncated(x, y, U, V, W, bptt_truncate=4):
    from grader.assignments.britz import surrogate_loss
    from grader.oracles.derivative import complex_step_gradient

    g = complex_step_gradient(lambda p: surrogate_loss(x, y, p["U"], p["V"], p["W"], len(x)),
                              {"U": U, "V": V, "W": W}, ["U", "V", "W"])
    return g["U"], g["V"], g["W"]


def bptt_square_u(x, y, h0, b, c, U, V, W):  # dU accumulated in an (H, H) array: only works when n_in == H
    from grader.assignments.goodfellow import PARAMS, loss
    from grader.oracles.derivative import complex_step_gradient

    g = complex_step_gradient(lambda p: loss(x, y, h0, **p), dict(zip(PARAMS, (b, c, U, V, W))), PARAMS)
    dU = np.zeros((len(b), len(b)))
    dU += g["U"]
    return {"b": g["b"], "c": g["c"], "U": dU, "V": g["V"], "W": g["W"]}


CASES = [
    ("when:H == 1", "britz", "delta_t", delta_t_wrong_for_one_unit),
    ("when:H > 1", "britz", "delta_t_prev", delta_t_prev_offset),
    ("when:T > bptt_truncate + 1", "britz", "bptt", bptt_untruncated),
    ("when:H != n_in", "goodfellow", "bptt", bptt_square_u),
]


@pytest.mark.parametrize("condition_id, assignment, function, impl", CASES, ids=[c[0] for c in CASES])
def test_a_condition_is_said_when_it_separates_exactly(load, condition_id, assignment, function, impl):
    results = checks(load, assignment, function, impl)
    r = results["derivative"]
    assert not r.passed and condition_id in r.findings, (r.findings, r.message)
    text = condition_id.split(":", 1)[1]
    assert f"It is wrong exactly when {text}" in r.message


def test_a_crash_about_shapes_names_the_shapes(load):
    r = checks(load, "goodfellow", "bptt", bptt_square_u)["derivative"]
    assert says(set(r.findings), "crash:shapes"), r.findings
    assert "The error is about shapes. Here the arguments are" in r.message
    assert "U (1, 2) = (H, n_in)" in r.message and "W (1, 1) = (H, H)" in r.message  # axes named from every instance


@pytest.mark.parametrize("assignment, function", sorted({(c[1], c[2]) for c in CASES}))
def test_a_correct_implementation_gets_no_condition(load, assignment, function):
    results = checks(load, assignment, function, load(assignment).reference.functions[function])
    assert all(r.passed and not r.findings for r in results.values())


# -- the pure functions ------------------------------------------------------------------------------

def _verdicts(rule, sizes_list):
    return [(s, not rule(s)) for s in sizes_list]


SIZES = [{"T": t, "H": h, "n_in": n} for t in (1, 2, 5) for h in (1, 2, 3) for n in (1, 3)]


def test_the_simplest_exact_rule_is_said():
    found = condition(_verdicts(lambda s: s["H"] == 1, SIZES))
    assert found is not None and found.id == "when:H == 1"
    assert condition(_verdicts(lambda s: s["H"] != s["n_in"], SIZES)).id == "when:H != n_in"
    assert condition(_verdicts(lambda s: s["T"] > s["H"] + 1, SIZES)).id == "when:T > H + 1"


def test_no_rule_is_claimed_that_misclassifies_one_instance():
    verdicts = _verdicts(lambda s: s["H"] == 1, SIZES)
    sizes, passed = verdicts[-1]
    verdicts[-1] = (sizes, not passed)  # one instance the other way
    found = condition(verdicts)
    assert found is None or all(  # whatever is said must still separate every instance exactly
        holds(found.id[5:], s) != p for s, p in verdicts)


def test_too_few_on_either_side_says_nothing():
    assert condition([(s, s["H"] != 3 or s["T"] != 5 or s["n_in"] != 3) for s in SIZES]) is None  # one failure
    assert condition([(s, True) for s in SIZES]) is None
    assert condition([(s, False) for s in SIZES]) is None


def test_declared_expressions_are_evaluated_safely():
    assert evaluate("bptt_truncate - 1", {"bptt_truncate": 3}) == 2
    assert holds("T > bptt_truncate + 1", {"T": 5, "bptt_truncate": 2})
    assert not holds("T > bptt_truncate + 1", {"T": 3, "bptt_truncate": 2})
    assert not holds("__import__('os')", {"T": 1})
    with pytest.raises(ValueError):
        evaluate("T * 2", {"T": 1})


def test_the_crash_note_says_which_sizes_the_numbers_are():
    inst = Instance(args=(np.zeros((3, 2)), np.zeros(3), np.zeros(2)), sizes={"H": 2, "word_dim": 3})
    note = crash_note(inst, ("V", "delta_o_t", "s_t"),
                      "ValueError: matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
                      "signature (n?,k),(k,m?)->(n?,m?) (size 3 is different from 2)")
    assert note is not None and note.id == "crash:shapes"
    assert "V (3, 2) = (word_dim, H)" in note.sentence and "s_t (2,) = (H,)" in note.sentence
    assert "3 is word_dim" in note.sentence and "2 is H" in note.sentence
    assert crash_note(inst, ("V", "delta_o_t", "s_t"), "ZeroDivisionError: division by zero") is None


def test_a_crash_on_a_0_d_array_says_which_size_of_1_squeezed_it_away():
    inst = Instance(args=(np.ones((2, 1)), np.ones(2), np.ones(1)), sizes={"H": 1, "word_dim": 2})
    error = "IndexError: too many indices for array: array is 0-dimensional, but 1 were indexed"
    note = crash_note(inst, ("V", "delta_o_t", "s_t"), error)
    assert note is not None and "An array became 0-d, here where H = 1" in note.sentence
    other = crash_note(inst, ("V", "delta_o_t", "s_t"), "ValueError: shapes (2,) and (3,) not aligned")
    assert other is not None and "0-d" not in other.sentence
