import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    gates = np.matmul(x, Wx) + np.matmul(prev_h, Wh) + b
    ifo = sigmoid(gates[:, :3 * H])
    i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
    g = np.tanh(gates[:, 3 * H:])
    next_c = np.multiply(f, prev_c) + np.multiply(i, g)
    next_h = np.multiply(o, np.tanh(next_c))
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, ifo, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, ifo, g, next_c = cache
    H = g.shape[1]
    i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
    t = np.tanh(next_c)
    dc = dnext_c + np.multiply(dnext_h, o) * (1 - t ** 2)
    d_ifo = np.hstack([dc * g, dc * prev_c, dnext_h * t]) * ifo * (1 - ifo)
    d_gates = np.hstack([d_ifo, dc * i * (1 - g ** 2)])
    return (np.matmul(d_gates, Wx.T), np.matmul(d_gates, Wh.T), dc * f,
            np.matmul(x.T, d_gates), np.matmul(prev_h.T, d_gates), d_gates.sum(axis=0))


def lstm_forward(x, h0, Wx, Wh, b):
    xs = x.transpose(1, 0, 2)  # time first: (T, N, D)
    T = xs.shape[0]
    hs = np.zeros((T,) + h0.shape)
    caches = []
    h, c = h0, np.zeros_like(h0)
    for t in range(T):
        h, c, cache_t = lstm_step_forward(xs[t], h, c, Wx, Wh, b)
        hs[t] = h
        caches.append(cache_t)
    return hs.transpose(1, 0, 2), caches


def lstm_backward(dh, cache):
    dhs = dh.transpose(1, 0, 2)  # (T, N, H), read only
    T, N, H = dhs.shape
    D = cache[0][0].shape[1]
    dxs = np.zeros((T, N, D))
    dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dh_carry, dc_carry = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dxs[t], dh_carry, dc_carry, dWx_t, dWh_t, db_t = lstm_step_backward(dhs[t] + dh_carry, dc_carry, cache[t])
        dWx = dWx + dWx_t
        dWh = dWh + dWh_t
        db = db + db_t
    return dxs.transpose(1, 0, 2), dh_carry, dWx, dWh, db
