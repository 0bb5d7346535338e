import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    a = prev_h.dot(Wh) + x.dot(Wx) + b
    next_h = np.tanh(a)
    cache = (next_h, prev_h, x, Wx, Wh)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    next_h, prev_h, x, Wx, Wh = cache
    da = dnext_h * (1 - next_h * next_h)  # (N, H)
    dx = da.dot(Wx.T)
    dWx = x.T.dot(da)
    db = da.sum(axis=0)
    dprev_h = da.dot(Wh.T)
    dWh = prev_h.T.dot(da)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h = h0
    for t in range(T):
        prev_h, cache_t = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
    cache = (h, h0, x, Wx, Wh)
    return h, cache


def rnn_backward(dh, cache):
    h, h0, x, Wx, Wh = cache
    N, T, H = dh.shape
    D = Wx.shape[0]
    dx = np.zeros((N, T, D))
    dWh = np.zeros((H, H))
    dWx = np.zeros((D, H))
    db = np.zeros((H,))
    dprev_h = 0
    for t in reversed(range(T)):
        prev_h = h[:, t, :] if t else h0
        cache_t = (h[:, t, :], prev_h, x[:, t, :], Wx, Wh)
        dnext_h = dh[:, t, :] + dprev_h
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, cache_t)
        dx[:, t, :] = dx_t
        db += db_t
        dWx += dWx_t
        dWh += dWh_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
