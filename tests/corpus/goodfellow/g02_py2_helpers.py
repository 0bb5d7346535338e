from __future__ import division

import numpy as np

try:
    xrange
except NameError:
    xrange = range


def softmax_jacobian(y_hat):
    K = len(y_hat)
    J = np.zeros((K, K))
    for i in xrange(K):
        for j in xrange(K):
            if i == j:
                J[i, j] = y_hat[i] * (1 - y_hat[j])
            else:
                J[i, j] = -y_hat[i] * y_hat[j]
    return J


def grad_o(y_hat, y):
    out = y_hat.copy()
    out[np.arange(len(y)), y] -= 1.
    return out


def grad_h(grad_o, h, V, W):
    T = len(h)
    g = np.zeros(h.shape)
    g[T - 1] = V.T.dot(grad_o[T - 1])                        # eq. 10.19
    for t in xrange(T - 2, -1, -1):                          # eq. 10.21
        g[t] = W.T.dot((1 - h[t + 1] ** 2) * g[t + 1]) + V.T.dot(grad_o[t])
    return g


def bptt(x, y, h0, b, c, U, V, W):
    T = len(x)
    h = np.zeros((T, len(h0)))
    y_hat = np.zeros((T, len(c)))
    prev = h0
    for t in xrange(T):
        prev = np.tanh(b + W.dot(prev) + U.dot(x[t]))
        h[t] = prev
        o = c + V.dot(prev)
        y_hat[t] = np.exp(o - o.max()) / np.exp(o - o.max()).sum()
    go = grad_o(y_hat, y)
    gh = grad_h(go, h, V, W)
    grads = {"b": np.zeros_like(b), "c": np.zeros_like(c), "U": np.zeros_like(U),
             "V": np.zeros_like(V), "W": np.zeros_like(W)}
    for t in xrange(T):
        da = (1 - h[t] ** 2) * gh[t]
        h_before = h[t - 1] if t > 0 else h0
        grads["c"] += go[t]                          # 10.22
        grads["b"] += da                             # 10.23
        grads["V"] += np.outer(go[t], h[t])          # 10.24
        grads["W"] += np.outer(da, h_before)         # 10.26
        grads["U"] += np.outer(da, x[t])             # 10.28
    return grads
