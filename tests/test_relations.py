"""Relations before numbers (grader.relations): each is named for a known-wrong implementation, never for a
correct one, and only of parts that are wrong."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import checks, says

from grader.assignments import get
from grader.oracles.derivative import COMPLEX_STEP_TOL
from grader.relations import Case, relations
from grader.strategies import Instance

# -- known-wrong implementations, one relation each ------------------------------------------------


def delta_t_negated(V, delta_o_t, s_t):
    return -(V.T @ delta_o_t) * (1 - s_t**2)


def delta_t_no_derivative(V, delta_o_t, s_t):
    return V.T @ delta_o_t


def delta_t_zero(V, delta_o_t, s_t):
    return np.zeros(len(s_t))


def delta_t_ones(V, delta_o_t, s_t):
    return np.ones(len(s_t))


def delta_t_fixed(V, delta_o_t, s_t):  # the same numbers whatever the inputs
    return np.random.RandomState(0).uniform(-1, 1, len(s_t))


def delta_o_copy(o, y):
    return np.array(o, dtype=float)


def delta_o_last_only(o, y):
    d = np.array(o, dtype=float)
    d[-1, y[-1]] -= 1
    return d


def grad_o_not_first(y_hat, y):  # the loop starts at 1: row 0 is left as y_hat
    g = np.array(y_hat, dtype=float)
    for t in range(1, len(y)):
        g[t, y[t]] -= 1
    return g


def grad_o_not_last(y_hat, y):  # range(T - 1): the last row is left as y_hat
    g = np.array(y_hat, dtype=float)
    for t in range(len(y) - 1):
        g[t, y[t]] -= 1
    return g


def grad_o_first_only(y_hat, y):
    g = np.array(y_hat, dtype=float)
    g[0, y[0]] -= 1
    return g


def grad_o_half(y_hat, y):
    g = np.array(y_hat, dtype=float)
    g[np.arange(len(y)), y] -= 1
    return 0.5 * g


def grad_h_times_derivative(grad_o, h, V, W):  # returns dL/da, not dL/dh
    g = np.zeros_like(h)
    g[-1] = V.T @ grad_o[-1]
    for t in range(len(h) - 2, -1, -1):
        g[t] = V.T @ grad_o[t] + W.T @ ((1 - h[t + 1] ** 2) * g[t + 1])
    return g * (1 - h**2)


def jacobian_diagonal(y_hat):
    return np.diag(y_hat)


def jacobian_sigmoid_style(y_hat):
    return np.outer(y_hat, 1 - y_hat)


def jacobian_no_diagonal(y_hat):
    return -np.outer(y_hat, y_hat)


def layer_2_delta_times_b(y, layer_2):
    return (y - layer_2) * layer_2 * (1 - layer_2) * len(y)


def layer_1_delta_no_derivative(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T


def step_backward_db_mean(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.mean(axis=0)


def rnn_forward_previous_states(x, h0, Wx, Wh, b):  # stores the state *before* each step: h[t] is h[t-1]
    N, T, _ = x.shape
    h, prev, cache = np.zeros((N, T, Wh.shape[0])), h0, []
    for t in range(T):
        h[:, t, :] = prev
        prev = np.tanh(x[:, t, :] @ Wx + prev @ Wh + b)
        cache.append((x[:, t, :], h[:, t, :], Wx, Wh, prev))
    return h, cache


def rnn_forward_next_states(x, h0, Wx, Wh, b):  # stores the state *after* the next step: h[t] is h[t+1]
    N, T, _ = x.shape
    states, prev, cache = [], h0, []
    for t in range(T):
        prev = np.tanh(x[:, t, :] @ Wx + prev @ Wh + b)
        states.append(prev)
        cache.append((x[:, t, :], prev, Wx, Wh, prev))
    h = np.stack(states[1:] + states[-1:], axis=1)
    return h, cache


def bptt_dw_transposed(x, y, h0, b, c, U, V, W):
    from grader.assignments.goodfellow import PARAMS, loss
    from grader.oracles.derivative import complex_step_gradient

    g = complex_step_gradient(lambda p: loss(x, y, h0, **p), dict(zip(PARAMS, (b, c, U, V, W))), PARAMS)
    out = {k: g[k] for k in PARAMS}
    out["W"] = out["W"].T
    return out


def bptt_matrix_wyh_transposed(X, H, h0, dY, Whh, Wyh):
    T = H.shape[1]
    dT = np.zeros_like(H)
    for i in range(T - 1, -1, -1):
        dT[:, i] = (Wyh.T @ dY[:, i] + (Whh.T @ dT[:, i + 1] if i + 1 < T else 0)) * (1 - H[:, i] ** 2)
    H_prev = np.column_stack([h0, H[:, :-1]])
    return {"Whx": dT @ X.T, "Whh": dT @ H_prev.T, "Wyh": H @ dY.T, "bh": dT.sum(axis=1), "by": dY.sum(axis=1)}


def layer_1_delta_plus(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T + layer_1 * (1 - layer_1)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_of_output_derivative(output):
    s = _sigmoid(output)
    return s * (1 - s)


def layer_2_delta_sigmoid_again(y, layer_2):
    return (y - layer_2) * sigmoid_of_output_derivative(layer_2)


def layer_1_delta_sigmoid_again(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T) * sigmoid_of_output_derivative(layer_1)


def delta_t_tanh_again(V, delta_o_t, s_t):
    return V.T @ delta_o_t * (1 - np.tanh(s_t) ** 2)


def delta_t_prev_tanh_again(W, delta_t, s_prev):
    return W.T @ delta_t * (1 - np.tanh(s_prev) ** 2)


CASES = [
    ("negated", "britz", "delta_t", delta_t_negated),
    ("lacks:s_t", "britz", "delta_t", delta_t_no_derivative),
    ("zero", "britz", "delta_t", delta_t_zero),
    ("constant", "britz", "delta_t", delta_t_ones),
    ("same-for-all-inputs", "britz", "delta_t", delta_t_fixed),
    ("argument:o", "britz", "delta_o", delta_o_copy),
    ("right-last-only", "britz", "delta_o", delta_o_last_only),
    ("wrong-first-only", "goodfellow", "grad_o", grad_o_not_first),
    ("wrong-last-only", "goodfellow", "grad_o", grad_o_not_last),
    ("right-first-only", "goodfellow", "grad_o", grad_o_first_only),
    ("factor:0.5", "goodfellow", "grad_o", grad_o_half),
    ("extra:h", "goodfellow", "grad_h", grad_h_times_derivative),
    ("zero-off-diagonal", "goodfellow", "softmax_jacobian", jacobian_diagonal),
    ("right-diagonal-only", "goodfellow", "softmax_jacobian", jacobian_sigmoid_style),
    ("wrong-diagonal-only", "goodfellow", "softmax_jacobian", jacobian_no_diagonal),
    ("multiplied-by:B", "trask", "layer_2_delta", layer_2_delta_times_b),
    ("lacks:layer_1", "trask", "layer_1_delta", layer_1_delta_no_derivative),
    ("added:layer_1", "trask", "layer_1_delta", layer_1_delta_plus),
    ("reapplied:output", "trask", "sigmoid_output_to_derivative", sigmoid_of_output_derivative),
    ("reapplied:layer_2", "trask", "layer_2_delta", layer_2_delta_sigmoid_again),
    ("reapplied:layer_1", "trask", "layer_1_delta", layer_1_delta_sigmoid_again),
    ("reapplied:s_t", "britz", "delta_t", delta_t_tanh_again),
    ("reapplied:s_prev", "britz", "delta_t_prev", delta_t_prev_tanh_again),
    ("divided-by:N:db", "cache", "rnn_step_backward", step_backward_db_mean),
    ("shifted:late", "cache", "rnn_forward", rnn_forward_previous_states),
    ("shifted:early", "cache", "rnn_forward", rnn_forward_next_states),
    ("transposed:W", "goodfellow", "bptt", bptt_dw_transposed),
    ("transposed:Wyh", "martens", "bptt_matrix", bptt_matrix_wyh_transposed),
]


@pytest.mark.parametrize("relation, assignment, function, impl", CASES, ids=[c[0] for c in CASES])
def test_a_known_wrong_implementation_is_named(load, relation, assignment, function, impl):
    results = checks(load, assignment, function, impl)
    assert not results["derivative"].passed
    ids = set(results["derivative"].findings)
    assert says(ids, relation), ids
    # the sentence is in the message, after the instance and before the numbers
    message = results["derivative"].message
    lines = message.splitlines()
    assert lines[0].startswith(f"{function} fails on this instance")
    first_number = next(i for i, line in enumerate(lines) if "differs from" in line or "should" in line)
    assert any(not line.startswith("    ") for line in lines[1:first_number]), message


def test_the_parts_relation_names_the_one_wrong_part(load):
    reference = load("britz").reference.functions["bptt"]

    def bptt(x, y, U, V, W, bptt_truncate=4):
        dU, dV, dW = reference(x, y, U, V, W, bptt_truncate)
        return dU, 2 * dV, dW

    results = checks(load, "britz", "bptt", bptt)
    assert "only:dLdV" in results["derivative"].findings
    assert "dLdV is wrong; dLdU and dLdW are right" in results["derivative"].message
    assert says(set(results["derivative"].findings), "factor:2")


@pytest.mark.parametrize("assignment, function", sorted({(c[1], c[2]) for c in CASES}))
def test_a_correct_implementation_is_never_named(load, assignment, function):
    results = checks(load, assignment, function, load(assignment).reference.functions[function])
    assert all(r.passed and not r.findings for r in results.values()), {k: r.message for k, r in results.items()}


# -- the pure functions ------------------------------------------------------------------------------

def _cases(q, answers):
    return [Case(Instance(args=args, sizes=sizes), truth, answer) for args, sizes, truth, answer in answers]


def test_a_relation_must_hold_on_every_failing_instance():
    q = get("britz").question("delta_t")
    rng = np.random.default_rng(0)
    rows = []
    for n in (2, 3, 4):
        V, d, s = rng.uniform(-1, 1, (3, n)), rng.uniform(-1, 1, 3), np.tanh(rng.uniform(-1, 1, n))
        truth = V.T @ d * (1 - s**2)
        rows.append(((V, d, s), {"H": n, "word_dim": 3}, truth, -truth))
    assert [f.id for f in relations(q, _cases(q, rows), COMPLEX_STEP_TOL, q.truth_name)] == ["negated"]
    # one failing instance that is wrong in another way: no relation is claimed
    V, d, s = rows[0][0]
    rows.append(((V, d, s), {"H": 2, "word_dim": 3}, rows[0][2], rows[0][2] + 1))
    assert relations(q, _cases(q, rows), COMPLEX_STEP_TOL, q.truth_name) == []


def test_a_right_part_is_never_named():
    q = get("britz").question("bptt")
    rng = np.random.default_rng(1)
    dU, dV, dW = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, (2, 2))
    case = Case(Instance(args=(), sizes={"T": 2, "H": 2}), (dU, dV, dW), (dU, -dV, dW))
    ids = [f.id for f in relations(q, [case], COMPLEX_STEP_TOL, q.truth_name)]
    assert ids == ["only:dLdV", "negated:dLdV"]
    right = Case(case.instance, (dU, dV, dW), (dU, dV, dW))
    assert relations(q, [right], COMPLEX_STEP_TOL, q.truth_name) == []


def test_the_tolerance_follows_the_question():
    q = get("britz").question("delta_t")
    truth = np.array([0.5, -0.25])
    near = -truth * (1 + 1e-9)  # minus the truth within the tolerance
    off = -truth * (1 + 1e-4)  # not within it
    make = lambda g: [Case(Instance(args=(np.eye(2), truth, np.zeros(2)), sizes={"H": 2}), truth, g)]  # noqa: E731
    assert [f.id for f in relations(q, make(near), COMPLEX_STEP_TOL, "t")] == ["negated"]
    assert "negated" not in [f.id for f in relations(q, make(off), COMPLEX_STEP_TOL, "t")]
