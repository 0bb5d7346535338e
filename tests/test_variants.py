"""Argument-edit variants (grader.variants): every variant the bundled assignments declare names the wrong
program it stands for, and never a correct one."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import checks, says

from grader import terms
from grader.assignments import NAMES, get
from grader.oracles.derivative import COMPLEX_STEP_TOL
from grader.relations import Case
from grader.variants import declared, edited, variant_findings

# -- britz ---------------------------------------------------------------------------------------------


def _britz_bptt(window):
    """The tutorial's loop, walking back from t down to ``window(t, bptt_truncate)`` (inclusive)."""
    def bptt(x, y, U, V, W, bptt_truncate=4):
        x, y = np.asarray(x, dtype=int), np.asarray(y, dtype=int)
        T, H = len(x), W.shape[0]
        s = np.zeros((T + 1, H))
        o = np.zeros((T, V.shape[0]))
        for t in range(T):
            s[t] = np.tanh(U[:, x[t]] + W @ s[t - 1])
            e = np.exp(V @ s[t] - (V @ s[t]).max())
            o[t] = e / e.sum()
        d_o = o.copy()
        d_o[np.arange(T), y] -= 1
        dU, dV, dW = np.zeros(U.shape), np.zeros(V.shape), np.zeros(W.shape)
        for t in range(T)[::-1]:
            dV += np.outer(d_o[t], s[t])
            d = V.T @ d_o[t] * (1 - s[t] ** 2)
            for k in range(max(0, window(t, bptt_truncate)), t + 1)[::-1]:
                dW += np.outer(d, s[k - 1])
                dU[:, x[k]] += d
                d = W.T @ d * (1 - s[k - 1] ** 2)
        return dU, dV, dW

    return bptt


def delta_t_prev_untransposed(W, delta_t, s_prev):
    return W @ delta_t * (1 - s_prev**2)


# -- goodfellow ----------------------------------------------------------------------------------------

def _grad_h(W_back=lambda W: W.T, recurrence=True, every_output=True):
    def grad_h(grad_o, h, V, W):
        g = np.zeros_like(h)
        g[-1] = V.T @ grad_o[-1]
        for t in range(len(h) - 2, -1, -1):
            g[t] = (V.T @ grad_o[t] if every_output else 0) + (
                W_back(W) @ ((1 - h[t + 1] ** 2) * g[t + 1]) if recurrence else 0)
        return g

    return grad_h


def _goodfellow_bptt(edit):
    def bptt(x, y, h0, b, c, U, V, W):
        from grader.assignments.goodfellow import PARAMS, loss
        from grader.oracles.derivative import complex_step_gradient

        h0, b = edit(h0, b)
        g = complex_step_gradient(lambda p: loss(x, y, h0, **p), dict(zip(PARAMS, (b, c, U, V, W))), PARAMS)
        return {k: g[k] for k in PARAMS}

    return bptt


# -- martens ---------------------------------------------------------------------------------------------

def bptt_matrix_last_column(X, H, h0, dY, Whh, Wyh):
    T = H.shape[1]
    dT = np.zeros_like(H)
    for i in range(T - 1, -1, -1):
        up = Wyh.T @ dY[:, i] if i == T - 1 else 0
        dT[:, i] = (up + (Whh.T @ dT[:, i + 1] if i + 1 < T else 0)) * (1 - H[:, i] ** 2)
    H_prev = np.column_stack([h0, H[:, :-1]])
    return {"Whx": dT @ X.T, "Whh": dT @ H_prev.T, "Wyh": dY @ H.T, "bh": dT.sum(axis=1), "by": dY.sum(axis=1)}


# -- cache ------------------------------------------------------------------------------------------------

def _step_forward(edit):
    def rnn_step_forward(x, prev_h, Wx, Wh, b):
        prev, Wh2, b2 = edit(prev_h, Wh, b)
        next_h = np.tanh(x @ Wx + prev @ Wh2 + b2)
        return next_h, (x, prev_h, Wx, Wh, next_h)

    return rnn_step_forward


def _forward(edit, first=lambda h0: h0):
    def rnn_forward(x, h0, Wx, Wh, b):
        N, T, _ = x.shape
        h, prev, cache = np.zeros((N, T, Wh.shape[0])), first(h0), []
        for t in range(T):
            _, Wh2, b2 = edit(prev, Wh, b)
            nxt = np.tanh(x[:, t, :] @ Wx + prev @ Wh2 + b2)
            cache.append((x[:, t, :], prev, Wx, Wh, nxt))
            h[:, t, :], prev = nxt, nxt
        return h, cache

    return rnn_forward


def rnn_backward_last_only(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache[0][0].shape[1]))
    dWx, dWh, db, dprev = np.zeros_like(cache[0][2]), np.zeros((H, H)), np.zeros(H), np.zeros((N, H))
    for t in reversed(range(T)):
        x, prev_h, Wx, Wh, next_h = cache[t]
        da = ((dh[:, t, :] if t == T - 1 else 0) + dprev) * (1 - next_h**2)
        dx[:, t, :], dprev = da @ Wx.T, da @ Wh.T
        dWx, dWh, db = dWx + x.T @ da, dWh + prev_h.T @ da, db + da.sum(axis=0)
    return dx, dprev, dWx, dWh, db


def rnn_step_backward_no_derivative(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    return dnext_h @ Wx.T, dnext_h @ Wh.T, x.T @ dnext_h, prev_h.T @ dnext_h, dnext_h.sum(axis=0)


# -- trask ------------------------------------------------------------------------------------------------

def _layer_1_delta(future=True, transpose=True, output=True):
    def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
        back = (future_layer_1_delta @ (synapse_h.T if transpose else synapse_h)) if future else 0
        return (back + (layer_2_delta @ synapse_1.T if output else 0)) * layer_1 * (1 - layer_1)

    return layer_1_delta


def _zeros(a):
    return np.zeros_like(a)


# -- the derivative applied before a product -------------------------------------------------------------------

def delta_t_prev_derivative_first(W, delta_t, s_prev):
    return W.T @ (delta_t * (1 - s_prev**2))


CASES = [
    ("britz", "delta_t_prev", "britz-w-untransposed", delta_t_prev_untransposed),
    ("britz", "bptt", "britz-truncation-short", _britz_bptt(lambda t, k: t - k + 1)),
    ("britz", "bptt", "britz-truncation-long", _britz_bptt(lambda t, k: t - k - 1)),
    ("britz", "bptt", "britz-truncation-ignored", _britz_bptt(lambda t, k: 0)),
    ("britz", "bptt", "britz-truncation-fixed", _britz_bptt(lambda t, k: t - 4)),
    ("britz", "bptt", "britz-no-walk-back", _britz_bptt(lambda t, k: t)),
    ("goodfellow", "grad_h", "goodfellow-grad-h-w-untransposed", _grad_h(W_back=lambda W: W)),
    ("goodfellow", "grad_h", "goodfellow-grad-h-no-recurrence", _grad_h(recurrence=False)),
    ("goodfellow", "grad_h", "goodfellow-grad-h-last-output-only", _grad_h(every_output=False)),
    ("goodfellow", "bptt", "goodfellow-h0-ignored", _goodfellow_bptt(lambda h0, b: (_zeros(h0), b))),
    ("goodfellow", "bptt", "goodfellow-b-left-out", _goodfellow_bptt(lambda h0, b: (h0, _zeros(b)))),
    ("martens", "bptt_matrix", "martens-last-column-only", bptt_matrix_last_column),
    ("cache", "rnn_step_forward", "cache-step-prev-h-ignored", _step_forward(lambda p, Wh, b: (_zeros(p), Wh, b))),
    ("cache", "rnn_step_forward", "cache-step-wh-transposed", _step_forward(lambda p, Wh, b: (p, Wh.T, b))),
    ("cache", "rnn_step_forward", "cache-step-b-left-out", _step_forward(lambda p, Wh, b: (p, Wh, _zeros(b)))),
    ("cache", "rnn_forward", "cache-forward-h0-ignored", _forward(lambda p, Wh, b: (p, Wh, b), first=_zeros)),
    ("cache", "rnn_forward", "cache-forward-wh-transposed", _forward(lambda p, Wh, b: (p, Wh.T, b))),
    ("cache", "rnn_forward", "cache-forward-b-left-out", _forward(lambda p, Wh, b: (p, Wh, _zeros(b)))),
    ("cache", "rnn_backward", "cache-upstream-last-step-only", rnn_backward_last_only),
    ("cache", "rnn_step_backward", "cache-missing-tanh-derivative", rnn_step_backward_no_derivative),
    ("trask", "layer_1_delta", "trask-no-future-delta", _layer_1_delta(future=False)),
    ("trask", "layer_1_delta", "trask-synapse-h-untransposed", _layer_1_delta(transpose=False)),
    ("trask", "layer_1_delta", "trask-no-output-delta", _layer_1_delta(output=False)),
    ("britz", "delta_t_prev", "derivative-before-product", delta_t_prev_derivative_first),
]


def test_every_declared_variant_is_tested():
    """Every variant an assignment declares (the shared vocabulary of grader.terms: tests/test_terms.py)."""
    shared = {k.id for k in terms.KINDS}
    declared_ids = {v.id for name in NAMES for q in get(name).questions for v in declared(q)} - shared
    assert declared_ids == {c[2] for c in CASES}


@pytest.mark.parametrize("assignment, function, variant, impl", CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_a_known_wrong_program_is_named_by_its_variant(load, assignment, function, variant, impl):
    r = checks(load, assignment, function, impl)["derivative"]
    assert not r.passed
    assert says(set(r.findings), f"variant:{variant}"), (r.findings, r.message)
    v = next(v for v in declared(get(assignment).question(function)) if v.id == variant)
    assert v.says in r.message


@pytest.mark.parametrize("assignment, function", sorted({(c[0], c[1]) for c in CASES}))
def test_a_correct_program_is_never_named(load, assignment, function):
    results = checks(load, assignment, function, load(assignment).reference.functions[function])
    assert all(r.passed and not r.findings for r in results.values())


def test_a_variant_is_never_named_where_it_equals_the_truth():
    """On an instance where the edit changes nothing (bptt_truncate + 1 >= T - 1 already), an answer equal to the
    edited truth is the truth: a wrong answer there cannot be the variant, and a right one is never named."""
    from grader.drawn import passing_draws

    q = get("britz").question("bptt")
    long = next(v for v in declared(q) if v.id == "britz-truncation-long")
    full = [i for i in passing_draws(q) if i.sizes["bptt_truncate"] >= i.sizes["T"] - 1][:3]
    assert full
    for inst in full:
        assert all(np.allclose(a, b) for a, b in zip(q.truth(edited(q, long, inst)), q.truth(inst)))
    right = [Case(i, q.truth(i), q.truth(i)) for i in full]
    assert variant_findings(q, right, COMPLEX_STEP_TOL, q.truth_name) == ([], frozenset())
    wrong = [Case(i, q.truth(i), tuple(2 * a for a in q.truth(i))) for i in full]
    assert variant_findings(q, wrong, COMPLEX_STEP_TOL, q.truth_name)[0] == []
