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
        dh[t] = np.dot(V.T, grad_o[t]) + dhnext
        dhnext = np.dot(W.T, (1 - h[t] * h[t]) * dh[t])
    return dh


def bptt(x, y, h0, b, c, U, V, W):
    xs, hs, ps = {}, {}, {}
    hs[-1] = np.copy(h0)
    for t in range(len(x)):
        xs[t] = x[t]
        hs[t] = np.tanh(np.dot(U, xs[t]) + np.dot(W, hs[t - 1]) + b)  # hidden state
        o = np.dot(V, hs[t]) + c  # unnormalized log probabilities for next chars
        ps[t] = np.exp(o - np.max(o)) / np.sum(np.exp(o - np.max(o)))  # probabilities for next chars
    dU, dW, dV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    db, dc = np.zeros_like(b), np.zeros_like(c)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(x))):
        dy = np.copy(ps[t])
        dy[y[t]] -= 1  # backprop into y
        dV += np.outer(dy, hs[t])
        dc += dy
        dh = np.dot(V.T, dy) + dhnext  # backprop into h
        dhraw = (1 - hs[t] * hs[t]) * dh  # backprop through tanh nonlinearity
        db += dhraw
        dU += np.outer(dhraw, xs[t])
        dW += np.outer(dhraw, hs[t - 1])
        dhnext = np.dot(W.T, dhraw)
    for dparam in [dU, dW, dV, db, dc]:
        np.clip(dparam, -5, 5, out=dparam)  # clip to mitigate exploding gradients
    return {"b": db, "c": dc, "U": dU, "V": dV, "W": dW}
