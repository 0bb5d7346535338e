import numpy as np


def run_forward(x, U, V, W):
    H = W.shape[0]
    states = []          # states[t] = s_t
    probs = []
    prev = np.zeros(H)
    for word in x:
        prev = np.tanh(U[:, word] + W.dot(prev))
        states.append(prev)
        scores = V.dot(prev)
        scores = scores - scores.max()
        probs.append(np.exp(scores) / np.exp(scores).sum())
    return np.array(probs), np.array(states)


def delta_o(o, y):
    out = o - 0.0
    for t, target in enumerate(y):
        out[t, target] = out[t, target] - 1.0
    return out


def delta_t(V, delta_o_t, s_t):
    return np.dot(V.T, delta_o_t) * (1 - s_t * s_t)


def delta_t_prev(W, delta_t, s_prev):
    return np.dot(W.T, delta_t) * (1 - s_prev * s_prev)


def bptt(x, y, U, V, W, bptt_truncate=4):
    o, s = run_forward(x, U, V, W)
    H = W.shape[0]
    dLdU = np.zeros_like(U)
    dLdV = np.zeros_like(V)
    dLdW = np.zeros_like(W)
    d_o = delta_o(o, y)
    T = len(y)
    for t in range(T - 1, -1, -1):
        dLdV += d_o[t][:, None] * s[t][None, :]
        delta = delta_t(V, d_o[t], s[t])
        step = t
        stop = max(0, t - bptt_truncate)
        while step >= stop:
            s_prev = s[step - 1] if step > 0 else np.zeros(H)
            dLdW += delta[:, None] * s_prev[None, :]
            dLdU[:, x[step]] += delta
            delta = delta_t_prev(W, delta, s_prev)
            step -= 1
    return dLdU, dLdV, dLdW
