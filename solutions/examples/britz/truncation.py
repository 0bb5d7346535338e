"""britz, with the truncated walk back one step short: only bptt is wrong.

The inner loop starts at max(0, t - bptt_truncate + 1) ("bptt_truncate steps, counting step t"), so
for each output step it drops the oldest step of the window, max(0, t - bptt_truncate). The other
three functions are right.
"""

import numpy as np


def forward_propagation(x, U, V, W):
    T, H = len(x), W.shape[0]
    s = np.zeros((T + 1, H))
    o = np.zeros((T, V.shape[0]))
    for t in range(T):
        s[t] = np.tanh(U[:, x[t]] + W.dot(s[t - 1]))
        z = V.dot(s[t])
        z = z - z.max()
        o[t] = np.exp(z) / np.exp(z).sum()
    return o, s


def delta_o(o, y):
    d = np.copy(o)
    d[np.arange(len(y)), y] -= 1.
    return d


def delta_t(V, delta_o_t, s_t):
    return V.T.dot(delta_o_t) * (1 - s_t ** 2)


def delta_t_prev(W, delta_t, s_prev):
    return W.T.dot(delta_t) * (1 - s_prev ** 2)


def bptt(x, y, U, V, W, bptt_truncate=4):
    T = len(y)
    o, s = forward_propagation(x, U, V, W)
    dLdU, dLdV, dLdW = np.zeros(U.shape), np.zeros(V.shape), np.zeros(W.shape)
    d_o = delta_o(o, y)
    for t in np.arange(T)[::-1]:
        dLdV += np.outer(d_o[t], s[t])
        d = delta_t(V, d_o[t], s[t])
        for bptt_step in np.arange(max(0, t - bptt_truncate + 1), t + 1)[::-1]:
            dLdW += np.outer(d, s[bptt_step - 1])
            dLdU[:, x[bptt_step]] += d
            d = delta_t_prev(W, d, s[bptt_step - 1])
    return dLdU, dLdV, dLdW
