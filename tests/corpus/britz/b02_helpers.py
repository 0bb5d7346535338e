import numpy as np


def forward(x, U, V, W):
    T, H = len(x), W.shape[0]
    s = np.zeros((T + 1, H))   # s[-1] stays zero: the state before the first word
    o = np.zeros((T, V.shape[0]))
    for t in range(T):
        s[t] = np.tanh(U[:, x[t]] + W @ s[t - 1])
        z = V @ s[t]
        e = np.exp(z - z.max())
        o[t] = e / e.sum()
    return o, s


def delta_o(o, y):
    y = np.asarray(y)
    d = o.copy()
    d[np.arange(len(y)), y] -= 1.0
    return d


def delta_t(V, delta_o_t, s_t):
    """dL_t/dz_t: back through V, then through the tanh."""
    return (V.T @ delta_o_t) * (1.0 - s_t ** 2)


def delta_t_prev(W, delta_t, s_prev):
    """One step further back in time."""
    return (W.T @ delta_t) * (1.0 - s_prev ** 2)


def bptt(x, y, U, V, W, bptt_truncate=4):
    x = np.asarray(x)
    T = len(y)
    o, s = forward(x, U, V, W)
    dLdU, dLdV, dLdW = np.zeros_like(U), np.zeros_like(V), np.zeros_like(W)
    d_o = delta_o(o, y)
    for t in reversed(range(T)):
        dLdV += np.outer(d_o[t], s[t])
        delta = delta_t(V, d_o[t], s[t])
        for bptt_step in reversed(range(max(0, t - bptt_truncate), t + 1)):
            dLdW += np.outer(delta, s[bptt_step - 1])
            dLdU[:, x[bptt_step]] += delta
            delta = delta_t_prev(W, delta, s[bptt_step - 1])
    return dLdU, dLdV, dLdW
