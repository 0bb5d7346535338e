# rtrbm_gradient never fills in r0's gradient (the initial state is a parameter too).
import itertools

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softplus(z):
    return np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0)


def hidden_means(V, W, W_rec, b_h, r0):
    T = V.shape[0]
    R = np.zeros((T, b_h.shape[0]))
    r = r0
    for t in range(T):
        r = sigmoid(W @ V[t] + b_h + W_rec @ r)
        R[t] = r
    return R


def rbm_log_prob_grad(v, W, b_v, c):
    n_v = W.shape[1]
    frames = np.array(list(itertools.product([0.0, 1.0], repeat=n_v)))
    log_weights = frames @ b_v + softplus(frames @ W.T + c).sum(axis=1)
    p = np.exp(log_weights - log_weights.max())
    p /= p.sum()
    h = sigmoid(W @ v + c)
    h_all = sigmoid(frames @ W.T + c)
    dW = np.outer(h, v) - np.einsum("k,kh,kv->hv", p, h_all, frames)
    return {"W": dW, "b_v": v - p @ frames, "c": h - p @ h_all}


def dL_dr(V, R, W, W_rec, b_v, b_h, r0):
    T = V.shape[0]
    prev = np.vstack([r0[None, :], R[:-1]])
    dr = np.zeros_like(R)
    g_next = None
    for t in range(T - 1, -1, -1):
        if g_next is not None:
            dr[t] = W_rec.T @ g_next
        c = b_h + W_rec @ prev[t]
        g_next = rbm_log_prob_grad(V[t], W, b_v, c)["c"] + dr[t] * R[t] * (1 - R[t])
    return dr


def rtrbm_gradient(V, W, W_rec, b_v, b_h, r0):
    R = hidden_means(V, W, W_rec, b_h, r0)
    dr = dL_dr(V, R, W, W_rec, b_v, b_h, r0)
    prev = np.vstack([r0[None, :], R[:-1]])
    grads = {"W": np.zeros_like(W), "W_rec": np.zeros_like(W_rec), "b_v": np.zeros_like(b_v),
             "b_h": np.zeros_like(b_h), "r0": np.zeros_like(r0)}
    for t in range(V.shape[0]):
        c = b_h + W_rec @ prev[t]
        rbm = rbm_log_prob_grad(V[t], W, b_v, c)
        through_r = dr[t] * R[t] * (1 - R[t])
        g = rbm["c"] + through_r
        grads["W"] += rbm["W"] + np.outer(through_r, V[t])
        grads["b_v"] += rbm["b_v"]
        grads["b_h"] += g
        grads["W_rec"] += np.outer(g, prev[t])
    return grads
