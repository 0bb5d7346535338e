import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return np.dot(da, Wx.T), np.dot(da, Wh.T), np.dot(x.T, da), np.dot(prev_h.T, da), np.sum(da, axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = {}
    state = h0.copy()          # one state buffer, updated as we go
    for t in range(T):
        next_h, cache[t] = rnn_step_forward(x[:, t, :], state, Wx, Wh, b)
        h[:, t, :] = next_h
        state[:] = next_h
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dprev = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev, g1, g2, g3 = rnn_step_backward(dh[:, t, :] + dprev, cache[t])
        dWx += g1
        dWh += g2
        db += g3
    return dx, dprev, dWx, dWh, db
