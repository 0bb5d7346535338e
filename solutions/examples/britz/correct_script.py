"""britz, handed in as a Python file: correct.

dLdV is summed over time in one matrix product; the truncated walk back stops stepping the delta once
it has reached the oldest step of the window.
"""

import numpy as np


def _forward(x, U, V, W):
    T, H = len(x), W.shape[0]
    s = np.zeros((T + 1, H))  # s[-1] = s[T] stays zero: the initial state
    o = np.zeros((T, V.shape[0]))
    for t in range(T):
        s[t] = np.tanh(U[:, x[t]] + W.dot(s[t - 1]))
        v = V.dot(s[t])
        e = np.exp(v - np.max(v))
        o[t] = e / np.sum(e)
    return o, s


def delta_o(o, y):
    d = o.copy()
    for t, word in enumerate(y):
        d[t, word] -= 1.0
    return d


def delta_t(V, delta_o_t, s_t):
    return V.T.dot(delta_o_t) * (1 - s_t * s_t)


def delta_t_prev(W, delta_t, s_prev):
    return W.T.dot(delta_t) * (1 - s_prev * s_prev)


def bptt(x, y, U, V, W, bptt_truncate=4):
    x = [int(word) for word in x]
    y = [int(word) for word in y]
    T = len(x)
    o, s = _forward(x, U, V, W)
    g = delta_o(o, y)
    dLdV = g.T.dot(s[:T])  # sum over t of outer(g[t], s[t])
    dLdU = np.zeros(U.shape)
    dLdW = np.zeros(W.shape)
    for t in range(T):
        d = delta_t(V, g[t], s[t])
        first = max(0, t - bptt_truncate)
        for k in range(t, first - 1, -1):
            dLdW += np.outer(d, s[k - 1])
            dLdU[:, x[k]] += d
            if k > first:
                d = delta_t_prev(W, d, s[k - 1])
    return dLdU, dLdV, dLdW
