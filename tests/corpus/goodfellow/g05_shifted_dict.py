import numpy as np


def softmax_jacobian(y_hat):
    K = y_hat.shape[0]
    return y_hat[:, None] * (np.eye(K) - y_hat[None, :])


def grad_o(y_hat, y):
    return y_hat - np.eye(y_hat.shape[1])[list(y)]


def grad_h(grad_o, h, V, W):
    T = h.shape[0]
    d_h = np.zeros_like(h)
    d_h[-1] = V.T @ grad_o[-1]
    for t in range(T - 2, -1, -1):
        d_h[t] = V.T @ grad_o[t] + W.T @ ((1 - h[t + 1] ** 2) * d_h[t + 1])
    return d_h


def bptt(x, y, h0, b, c, U, V, W):
    # last_hs[0] is h0 and last_hs[t + 1] is the state after input t
    last_hs = {0: h0}
    probs = {}
    h = h0
    for i, x_t in enumerate(x):
        h = np.tanh(U @ x_t + W @ h + b)
        last_hs[i + 1] = h
        o = V @ h + c
        e = np.exp(o - o.max())
        probs[i] = e / e.sum()
    n = len(x)
    d_U, d_W, d_V = np.zeros(U.shape), np.zeros(W.shape), np.zeros(V.shape)
    d_b, d_c = np.zeros(b.shape), np.zeros(c.shape)
    d_h = np.zeros(h0.shape)
    for t in reversed(range(n)):
        d_y = probs[t].copy()
        d_y[y[t]] -= 1
        d_V += np.outer(d_y, last_hs[t + 1])
        d_c += d_y
        temp = (1 - last_hs[t + 1] ** 2) * (V.T @ d_y + d_h)
        d_b += temp
        d_W += np.outer(temp, last_hs[t])
        d_U += np.outer(temp, x[t])
        d_h = W.T @ temp
    return {"b": d_b, "c": d_c, "U": d_U, "V": d_V, "W": d_W}
