import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, b, a, i, f, o, g, next_c, next_h)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b, a, i, f, o, g, next_c, next_h = cache
    do = dnext_h * np.tanh(next_c)
    dc = dnext_c + (1 - np.tanh(next_c) ** 2) * dnext_h * o
    da = np.hstack(((1 - i) * i * dc * g, (1 - f) * f * dc * prev_c, (1 - o) * o * do, (1 - g * g) * dc * i))
    return np.dot(da, Wx.T), np.dot(da, Wh.T), dc * f, np.dot(x.T, da), np.dot(prev_h.T, da), np.sum(da, axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    c_prev = np.zeros((N, H))
    h_prev = h0
    cache = []
    for t in range(T):
        h_prev, c_prev, step = lstm_step_forward(x[:, t, :], h_prev, c_prev, Wx, Wh, b)
        h[:, t, :] = h_prev
        cache.append(step)
    return h, cache


def lstm_backward(dh, cache):
    x = cache[0][0]
    N, D = x.shape
    T, H = dh.shape[1:]
    dx = np.zeros((N, T, D))
    dh0 = np.zeros((N, H))
    dh_step = np.zeros((N, H))
    dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros((4 * H,))
    dc = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dh_step, dc, t_dWx, t_dWh, t_db = lstm_step_backward(dh[:, t, :] + dh_step, dc, cache[t])
        dh0 += dh_step
        dWx += t_dWx
        dWh += t_dWh
        db += t_db
    return dx, dh0, dWx, dWh, db
