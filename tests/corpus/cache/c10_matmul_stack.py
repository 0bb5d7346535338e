import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    D = Wx.shape[0]
    a = b + prev_h @ Wh + x @ Wx
    next_h = np.tanh(a)
    cache = (x, prev_h, Wx, Wh, b, next_h, D)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, b, next_h, D = cache
    da = dnext_h * (1 - next_h ** 2)  # (N, H)
    db = da.sum(0)                    # (H,)
    dprev_h = da @ Wh.T               # (N, H)
    dWh = prev_h.T @ da               # (H, H)
    dx = da @ Wx.T                    # (N, D)
    dWx = x.T @ da                    # (D, H)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    _, T, _ = x.shape
    h = []
    cache = []
    h_prev = h0
    for t in range(T):
        h_next, cache_t = rnn_step_forward(x[:, t, :], h_prev, Wx, Wh, b)
        h.append(h_next)
        cache.append(cache_t)
        h_prev = h_next
    h = np.stack(h, axis=1)
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][-1]
    dx = []
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros((H,))
    dh0 = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dh0, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dh0, cache[t])
        dx.insert(0, dx_t)
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dx = np.stack(dx, axis=1)
    return dx, dh0, dWx, dWh, db
