import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    h_raw = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    next_h = np.tanh(h_raw)
    cache = (Wx, Wh, x, prev_h, h_raw)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    Wx, Wh, x, prev_h, h_raw = cache
    dh_raw = (1 - np.tanh(h_raw) ** 2) * dnext_h
    dx = np.dot(dh_raw, Wx.T)
    dprev_h = np.dot(dh_raw, Wh.T)
    dWx = np.dot(x.T, dh_raw)
    dWh = np.dot(prev_h.T, dh_raw)
    db = np.sum(dh_raw, axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = Wh.shape[0]
    forward_steps_cache = {}
    h = np.zeros([N, T, H])
    for t in range(T):
        prev = h0 if t == 0 else h[:, t - 1, :]
        h[:, t, :], forward_steps_cache[t] = rnn_step_forward(x[:, t, :], prev, Wx, Wh, b)
    cache = (h0, forward_steps_cache, N, T, D, H)
    return h, cache


def rnn_backward(dh, cache):
    h0, forward_steps_cache, N, T, D, H = cache
    dx = np.zeros([N, T, D])
    dWx = np.zeros([D, H])
    dWh = np.zeros([H, H])
    db = np.zeros([H])
    dprev_h = np.zeros([N, H])
    for t in reversed(range(T)):
        dx_step, dprev_h, dWx_step, dWh_step, db_step = rnn_step_backward(dh[:, t, :], forward_steps_cache[t])
        dWx += dWx_step
        dWh += dWh_step
        db += db_step
        dx[:, t, :] = dx_step
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
