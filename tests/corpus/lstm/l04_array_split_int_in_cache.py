import numpy as np


def sigmoid(x):
    """A numerically stable version of the logistic sigmoid function."""
    pos_mask = x >= 0
    neg_mask = x < 0
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    D = Wx.shape[0]
    pre = x @ Wx + prev_h @ Wh + b
    p_i, p_f, p_o, p_g = np.array_split(pre, 4, axis=1)
    i, f, o, g = sigmoid(p_i), sigmoid(p_f), sigmoid(p_o), np.tanh(p_g)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    # the input width rides along at the end, for the sequence backward
    cache = (i, f, o, g, x, Wx, Wh, b, prev_c, prev_h, next_c, next_h, D)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    i, f, o, g, x, Wx, Wh, b, prev_c, prev_h, next_c, next_h, D = cache
    tc = np.tanh(next_c)
    dc = dnext_c + o * (1 - tc ** 2) * dnext_h
    d_pre = np.concatenate([dc * g * i * (1 - i),
                            dc * prev_c * f * (1 - f),
                            dnext_h * tc * o * (1 - o),
                            dc * i * (1 - np.square(g))], axis=1)
    dx = d_pre @ Wx.T
    dWx = x.T @ d_pre
    dprev_h = d_pre @ Wh.T
    dWh = prev_h.T @ d_pre
    dprev_c = dc * f
    db = d_pre.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    _, T, _ = x.shape
    hs, cache = [], []
    h_prev, c_prev = h0, np.zeros_like(h0)
    for t in range(T):
        h_t, c_t, cache_t = lstm_step_forward(x[:, t, :], h_prev, c_prev, Wx, Wh, b)
        hs.append(h_t)
        cache.append(cache_t)
        h_prev, c_prev = h_t, c_t
    return np.stack(hs, axis=1), cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][-1]
    dx = []
    dWx = np.zeros((D, 4 * H))
    dWh = np.zeros((H, 4 * H))
    db = np.zeros((4 * H,))
    dh0 = np.zeros((N, H))
    dprev_c = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dh0, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dh0, dprev_c, cache[t])
        dx.insert(0, dx_t)
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return np.stack(dx, axis=1), dh0, dWx, dWh, db
