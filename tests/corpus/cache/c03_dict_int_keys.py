import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    unact = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    next_h = np.tanh(unact)
    cache = x, prev_h, Wx, Wh, unact
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, unact = cache
    d_unact = np.multiply(dnext_h, 1.0 - np.tanh(unact) ** 2)
    db = np.sum(d_unact, axis=0)
    dWh = np.dot(prev_h.transpose(), d_unact)
    dWx = np.dot(x.transpose(), d_unact)
    dprev_h = np.dot(d_unact, Wh.transpose())
    dx = np.dot(d_unact, Wx.transpose())
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    _, H = h0.shape
    cache = {}
    h = np.zeros((N, T, H))
    h[:, 0, :], cache[0] = rnn_step_forward(x[:, 0, :], h0, Wx, Wh, b)
    for t in range(1, T):
        h[:, t, :], cache[t] = rnn_step_forward(x[:, t, :], h[:, t - 1, :], Wx, Wh, b)
    cache['size'] = (N, T, H, D)   # so the backward pass knows the shapes
    return h, cache


def rnn_backward(dh, cache):
    (N, T, H, D) = cache['size']
    dprev_h = np.zeros((N, H))
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros((H,))
    for t in reversed(range(0, T)):
        dnext_h = dprev_h + dh[:, t, :]
        dx[:, t, :], dprev_h, d_Wx, d_Wh, d_b = rnn_step_backward(dnext_h, cache[t])
        dWx += d_Wx
        dWh += d_Wh
        db += d_b
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
