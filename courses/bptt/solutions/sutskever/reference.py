"""Reference solution for sutskever: the RTRBM's exact gradients, by one backward pass (instructor only)."""

import itertools

import numpy as np


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softplus(z):
    return np.logaddexp(0, z)


def _model(W, b_v, c):
    """Every binary frame and its probability under the RBM with hidden bias c."""
    U = np.array(list(itertools.product((0.0, 1.0), repeat=W.shape[1])))
    scores = U @ b_v + _softplus(U @ W.T + c).sum(axis=1)
    p = np.exp(scores - scores.max())
    return U, p / p.sum()


def rbm_log_prob_grad(v, W, b_v, c):
    U, p = _model(W, b_v, c)
    h_data, h_model = _sigmoid(W @ v + c), _sigmoid(U @ W.T + c)  # (n_h,), (2^n_v, n_h)
    return {"W": np.outer(h_data, v) - (p[:, None] * h_model).T @ U, "b_v": v - p @ U, "c": h_data - p @ h_model}


def hidden_means(V, W, W_rec, b_h, r0):
    R, r = np.zeros((len(V), len(b_h))), r0
    for t in range(len(V)):
        r = _sigmoid(W @ V[t] + b_h + W_rec @ r)
        R[t] = r
    return R


def _backward(V, R, W, W_rec, b_v, b_h, r0):
    """dL/dr_t for every t, and g_t = dL/dc_t (the total gradient of each step's hidden bias)."""
    T = len(V)
    prev = np.vstack([r0, R[:-1]])
    dr, g = np.zeros_like(R), np.zeros_like(R)
    for t in reversed(range(T)):
        if t < T - 1:
            dr[t] = W_rec.T @ g[t + 1]
        g[t] = rbm_log_prob_grad(V[t], W, b_v, b_h + W_rec @ prev[t])["c"] + dr[t] * R[t] * (1 - R[t])
    return dr, g, prev


def dL_dr(V, R, W, W_rec, b_v, b_h, r0):
    return _backward(V, R, W, W_rec, b_v, b_h, r0)[0]


def rtrbm_gradient(V, W, W_rec, b_v, b_h, r0):
    R = hidden_means(V, W, W_rec, b_h, r0)
    dr, g, prev = _backward(V, R, W, W_rec, b_v, b_h, r0)
    dW, db_v = np.zeros_like(W), np.zeros_like(b_v)
    for t in range(len(V)):
        rbm = rbm_log_prob_grad(V[t], W, b_v, b_h + W_rec @ prev[t])
        dW += rbm["W"] + np.outer(dr[t] * R[t] * (1 - R[t]), V[t])  # r_t = sigmoid(W v_t + c_t) depends on W
        db_v += rbm["b_v"]
    return {"W": dW, "W_rec": g.T @ prev, "b_v": db_v, "b_h": g.sum(axis=0), "r0": W_rec.T @ g[0]}
