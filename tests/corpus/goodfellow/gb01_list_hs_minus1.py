import numpy as np


def softmax_jacobian(y_hat):
    return np.diag(y_hat) - np.outer(y_hat, y_hat)


def grad_o(y_hat, y):
    dy = np.copy(y_hat)
    dy[np.arange(len(y)), y] -= 1
    return dy


def grad_h(grad_o, h, V, W):
    dh = np.zeros_like(h)
    dhnext = np.zeros(h.shape[1])
    for t in reversed(range(len(h))):
        dh[t] = V.T @ grad_o[t] + dhnext
        dhnext = W.T @ ((1 - h[t] ** 2) * dh[t])
    return dh


def bptt(x, y, h0, b, c, U, V, W):
    num_inputs = len(x)
    # preallocate the per-step lists (typed, so they are easy to read)
    ps = [np.empty([]) for _ in range(num_inputs)]
    hs = [np.empty([]) for _ in range(num_inputs)]
    hs[-1] = np.copy(h0)
    for t in range(num_inputs):
        hs[t] = np.tanh(np.dot(U, x[t]) + np.dot(W, hs[t - 1]) + b)
        o = np.dot(V, hs[t]) + c
        exp_o = np.exp(o - o.max())
        ps[t] = exp_o / np.sum(exp_o)
    dU, dW, dV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    db, dc = np.zeros_like(b), np.zeros_like(c)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(num_inputs)):
        dy = np.copy(ps[t])
        dy[y[t]] -= 1
        dV += np.outer(dy, hs[t])
        dc += dy
        dh = np.dot(V.T, dy) + dhnext
        dhraw = (1 - hs[t] * hs[t]) * dh
        db += dhraw
        dU += np.outer(dhraw, x[t])
        dW += np.outer(dhraw, hs[t - 1])
        dhnext = np.dot(W.T, dhraw)
    return {"b": db, "c": dc, "U": dU, "V": dV, "W": dW}
