"""
Vanilla RNN gradients, adapted from the min-char-rnn lossFun to the book's notation
(a = b + W h + U x, o = c + V h, softmax + cross-entropy).
"""
import numpy as np


def softmax_jacobian(y_hat):
    return np.diag(y_hat) - np.outer(y_hat, y_hat)


def grad_o(y_hat, y):
    g = np.copy(y_hat)
    for t in range(len(y)):
        g[t, y[t]] -= 1  # backprop into y, see cs231n neural-networks-case-study
    return g


def grad_h(grad_o, h, V, W):
    T = h.shape[0]
    dh = np.zeros_like(h)
    dhnext = np.zeros(h.shape[1])
    for t in reversed(range(T)):
        dh[t] = np.dot(V.T, grad_o[t]) + dhnext
        dhraw = (1 - h[t] * h[t]) * dh[t]
        dhnext = np.dot(W.T, dhraw)
    return dh


def bptt(x, y, h0, b, c, U, V, W):
    xs, hs, os, ps = {}, {}, {}, {}
    hs[-1] = np.copy(h0).reshape(-1, 1)
    bh, by = b.reshape(-1, 1), c.reshape(-1, 1)
    loss = 0
    # forward pass
    for t in range(len(x)):
        xs[t] = np.asarray(x[t], dtype=float).reshape(-1, 1)
        hs[t] = np.tanh(np.dot(U, xs[t]) + np.dot(W, hs[t - 1]) + bh)  # hidden state
        os[t] = np.dot(V, hs[t]) + by  # unnormalized log probabilities
        ps[t] = np.exp(os[t] - np.max(os[t])) / np.sum(np.exp(os[t] - np.max(os[t])))
        loss += -np.log(ps[t][y[t], 0])
    # backward pass: compute gradients going backwards
    dU, dW, dV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(x))):
        dy = np.copy(ps[t])
        dy[y[t]] -= 1
        dV += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(V.T, dy) + dhnext  # backprop into h
        dhraw = (1 - hs[t] * hs[t]) * dh  # backprop through tanh nonlinearity
        dbh += dhraw
        dU += np.dot(dhraw, xs[t].T)
        dW += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(W.T, dhraw)
    # (no clipping here: we want the exact gradient)
    return {"b": dbh.ravel(), "c": dby.ravel(), "U": dU, "V": dV, "W": dW}
