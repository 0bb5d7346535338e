import numpy as np


def forward(x, U, V, W):
    T, H = len(x), W.shape[0]
    s = np.zeros((T + 1, H))
    o = np.zeros((T, V.shape[0]))
    for t in range(T):
        s[t] = np.tanh(U[:, x[t]] + np.dot(W, s[t - 1]))
        v = np.dot(V, s[t])
        o[t] = np.exp(v - v.max()) / np.exp(v - v.max()).sum()
    return o, s


def delta_o(o, y):
    d = o.copy()
    d[range(len(y)), y] -= 1
    return d


def delta_t(V, delta_o_t, s_t):
    return np.dot(V.T, delta_o_t) * (1 - s_t ** 2)


def delta_t_prev(W, delta_t, s_prev):
    return np.dot(W.T, delta_t) * (1 - s_prev ** 2)


def bptt(x, y, U, V, W, bptt_truncate=4):
    o, s = forward(x, U, V, W)
    # 'f' keeps the gradient buffers small (float32), as in the book's layers
    dLdU = np.zeros(U.shape, dtype='f')
    dLdV = np.zeros(V.shape, dtype='f')
    dLdW = np.zeros(W.shape, dtype='f')
    d_o = delta_o(o, y)
    for t in range(len(y))[::-1]:
        dLdV += np.outer(d_o[t], s[t])
        d = delta_t(V, d_o[t], s[t])
        for step in range(max(0, t - bptt_truncate), t + 1)[::-1]:
            dLdW += np.outer(d, s[step - 1])
            dLdU[:, x[step]] += d
            d = delta_t_prev(W, d, s[step - 1])
    return dLdU, dLdV, dLdW
