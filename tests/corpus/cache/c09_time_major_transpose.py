import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    mid_h = x.dot(Wx) + prev_h.dot(Wh) + b
    next_h = np.tanh(mid_h)
    cache = (x, prev_h, Wx, Wh, b, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, b, next_h = cache
    dmid_h = dnext_h * (1 - next_h ** 2)
    db = np.sum(dmid_h, axis=0)
    dx = dmid_h.dot(Wx.T)
    dWx = x.T.dot(dmid_h)
    dprev_h = dmid_h.dot(Wh.T)
    dWh = prev_h.T.dot(dmid_h)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H, = b.shape
    x = x.transpose((1, 0, 2))  # (T, N, D)
    h = np.zeros((T, N, H))
    cache = []
    for t in range(T):
        h0, cache_t = rnn_step_forward(x[t], h0, Wx, Wh, b)  # h0 now holds the latest state
        h[t] = h0
        cache.append(cache_t)
    h = h.transpose((1, 0, 2))  # (N, T, H)
    return h, cache


def rnn_backward(dh, cache):
    x, prev_h, Wx, Wh, b, next_h = cache[0]
    (N, D), T = x.shape, len(cache)
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros_like(b)
    dx = np.zeros((T, N, D))
    dh = dh.transpose((1, 0, 2))  # (T, N, H)
    dprev_h = np.zeros_like(dh[0])
    for t in range(-1, -T - 1, -1):
        dnext_h = dprev_h + dh[t]
        dx[t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dx = dx.transpose((1, 0, 2))  # (N, T, D)
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
