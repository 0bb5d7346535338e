"""goodfellow: grad_h leaves the tanh derivative out of the walk back, and bptt keeps only the last step's term of V."""

import numpy as np


def softmax(o):
    e = np.exp(o - o.max())
    return e / e.sum()


def forward(x, h0, b, c, U, V, W):
    T = x.shape[0]
    h = np.zeros((T, len(h0)))
    y_hat = np.zeros((T, len(c)))
    prev = h0
    for t in range(T):
        a = b + W @ prev + U @ x[t]
        prev = np.tanh(a)
        h[t] = prev
        y_hat[t] = softmax(c + V @ prev)
    return h, y_hat


def softmax_jacobian(y_hat):
    return np.diag(y_hat) - np.outer(y_hat, y_hat)


def grad_o(y_hat, y):
    g = y_hat.copy()
    for t in range(len(y)):
        g[t, y[t]] -= 1
    return g


def grad_h(grad_o, h, V, W):
    T = h.shape[0]
    g = np.zeros_like(h)
    g[T - 1] = V.T @ grad_o[T - 1]
    for t in reversed(range(T - 1)):
        g[t] = V.T @ grad_o[t] + W.T @ g[t + 1]
    return g


def bptt(x, y, h0, b, c, U, V, W):
    h, y_hat = forward(x, h0, b, c, U, V, W)
    go = grad_o(y_hat, y)
    gh = grad_h(go, h, V, W)
    ga = (1 - h ** 2) * gh
    prev = np.vstack([h0[None], h[:-1]])
    return {"b": ga.sum(0), "c": go.sum(0), "U": ga.T @ x, "V": np.outer(go[-1], h[-1]), "W": ga.T @ prev}
