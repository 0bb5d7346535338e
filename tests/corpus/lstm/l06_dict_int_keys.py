import numpy as np


def sigmoid(x):
    return 1. / (1. + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b  # (N, 4H)
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = prev_c * f + i * g
    tan_c = np.tanh(next_c)
    next_h = o * tan_c
    cache = tan_c, i, f, o, g, prev_c, Wx, Wh, x, prev_h
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    tan_c, i, f, o, g, prev_c, Wx, Wh, x, prev_h = cache
    do = dnext_h * tan_c
    dct = dnext_h * o * (1 - tan_c * tan_c) + dnext_c
    di = dct * g
    dg = dct * i
    df = dct * prev_c
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g * g)])
    dprev_c = dct * f
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    db = da.sum(axis=0)
    dWh = prev_h.T.dot(da)
    dWx = x.T.dot(da)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h = h0
    prev_c = np.zeros_like(h0)
    cache = {}
    for t in range(T):
        prev_h, prev_c, cache[t] = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
    return h, cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    tan_c, i, f, o, g, prev_c, Wx, Wh, x, prev_h = cache[T - 1]
    dx = np.zeros((N, T, x.shape[1]))
    dprev_h = np.zeros_like(prev_h)
    dprev_c = np.zeros_like(prev_c)
    dWh = np.zeros_like(Wh)
    dWx = np.zeros_like(Wx)
    db = np.zeros(4 * H,)
    for t in reversed(range(T)):
        dnext_h = dh[:, t, :] + dprev_h
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dnext_h, dprev_c, cache[t])
        dWh += dWh_t
        dWx += dWx_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
