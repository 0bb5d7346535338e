"""britz: bptt walks back from the last output only (the loss of the last step), not from every output."""

import numpy as np


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


def forward_propagation(x, U, V, W):
    T = len(x)
    H = W.shape[0]
    s = np.zeros((T + 1, H))
    o = np.zeros((T, V.shape[0]))
    for t in np.arange(T):
        s[t] = np.tanh(U[:, x[t]] + W.dot(s[t - 1]))
        o[t] = softmax(V.dot(s[t]))
    return o, s


def delta_o(o, y):
    d = o.copy()
    d[np.arange(len(y)), y] -= 1.
    return d


def delta_t(V, delta_o_t, s_t):
    return V.T.dot(delta_o_t) * (1 - (s_t ** 2))


def delta_t_prev(W, delta_t, s_prev):
    return W.T.dot(delta_t) * (1 - s_prev ** 2)


def bptt(x, y, U, V, W, bptt_truncate=4):
    T = len(y)
    o, s = forward_propagation(x, U, V, W)
    dLdU = np.zeros(U.shape)
    dLdV = np.zeros(V.shape)
    dLdW = np.zeros(W.shape)
    d_o = delta_o(o, y)
    for t in [T - 1]:
        dLdV += np.outer(d_o[t], s[t].T)
        d_t = delta_t(V, d_o[t], s[t])
        for bptt_step in np.arange(max(0, t - bptt_truncate), t + 1)[::-1]:
            dLdW += np.outer(d_t, s[bptt_step - 1])
            dLdU[:, x[bptt_step]] += d_t
            d_t = delta_t_prev(W, d_t, s[bptt_step - 1])
    return dLdU, dLdV, dLdW
