"""Reference solution for goodfellow (column vectors, eqs. 10.16-10.28 of Deep Learning)."""

import numpy as np


def forward(x, h0, b, c, U, V, W):
    T, H = len(x), len(h0)
    h = np.zeros((T, H))
    prev = np.zeros_like(h0)
    for t in range(T):
        prev = np.tanh(b + W @ prev + U @ x[t])
        h[t] = prev
    o = c + h @ V.T
    e = np.exp(o - o.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def softmax_jacobian(y_hat):
    return np.diag(y_hat) - np.outer(y_hat, y_hat)


def grad_o(y_hat, y):
    g = np.array(y_hat, dtype=float, copy=True)
    g[np.arange(len(y)), np.asarray(y, dtype=int)] -= 1.0
    return g


def grad_h(grad_o, h, V, W):
    T = len(h)
    g = np.zeros_like(h)
    g[T - 1] = V.T @ grad_o[T - 1]
    for t in range(T - 2, -1, -1):
        g[t] = V.T @ grad_o[t] + W.T @ ((1 - h[t + 1] ** 2) * g[t + 1])
    return g


def bptt(x, y, h0, b, c, U, V, W):
    h, y_hat = forward(x, h0, b, c, U, V, W)
    go = grad_o(y_hat, y)
    gh = grad_h(go, h, V, W)
    ga = (1 - h**2) * gh  # dL/da[t]
    prev = np.vstack([h0[None], h[:-1]])
    return {"b": ga.sum(axis=0), "c": go.sum(axis=0), "U": ga.T @ x, "V": go.T @ h, "W": ga.T @ prev}
