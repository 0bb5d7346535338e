import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, Wx, prev_h, Wh, i, f, o, g, prev_c, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    (x, Wx, prev_h, Wh, i, f, o, g, prev_c, tanh_c) = cache
    do = tanh_c * dnext_h                       # 6
    dtanh_c = o * dnext_h
    dc = dnext_c + (1 - tanh_c ** 2) * dtanh_c  # 5
    df = prev_c * dc                            # 4
    dprev_c = f * dc
    di = g * dc
    dg = i * dc
    dai = (1 - i) * i * di                      # 3
    daf = (1 - f) * f * df
    dao = (1 - o) * o * do
    dag = (1 - g ** 2) * dg
    da = np.hstack((dai, daf, dao, dag))        # 2
    dx = da.dot(Wx.T)                           # 1
    dWx = x.T.dot(da)
    dprev_h = da.dot(Wh.T)
    dWh = prev_h.T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    c = np.zeros((N, T, H))
    # every step's gates, kept whole for the backward pass
    i, f = np.zeros((N, T, H)), np.zeros((N, T, H))
    o, g = np.zeros((N, T, H)), np.zeros((N, T, H))
    tanh_c = np.zeros((N, T, H))
    prev_h, prev_c = h0, np.zeros(h0.shape)
    for t in range(T):
        h[:, t, :], c[:, t, :], step = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        prev_h, prev_c = h[:, t, :], c[:, t, :]  # this step's state feeds the next
        _, _, _, _, i[:, t, :], f[:, t, :], o[:, t, :], g[:, t, :], _, tanh_c[:, t, :] = step
    cache = (x, Wx, h0, Wh, b, i, f, o, g, c, tanh_c, h)
    return h, cache


def lstm_backward(dh, cache):
    (x, Wx, h0, Wh, b, i, f, o, g, c, tanh_c, h) = cache
    N, T, H = dh.shape
    dx, dWx = np.zeros(x.shape), np.zeros(Wx.shape)
    dWh, db = np.zeros(Wh.shape), np.zeros(b.shape)
    dhori = np.zeros((N, H))  # the gradient arriving from the step after
    dprev_c = np.zeros((N, H))
    for t in reversed(range(T)):
        if t == 0:
            prev_h, prev_c = h0, np.zeros(h0.shape)
        else:
            prev_h, prev_c = h[:, t - 1, :], c[:, t - 1, :]
        step = (x[:, t, :], Wx, prev_h, Wh, i[:, t, :], f[:, t, :], o[:, t, :], g[:, t, :], prev_c,
                tanh_c[:, t, :])
        _dx, dhori, dprev_c, _dWx, _dWh, _db = lstm_step_backward(dh[:, t, :] + dhori, dprev_c, step)
        dx[:, t, :] = _dx
        dWx += _dWx
        dWh += _dWh
        db += _db
    dh0 = dhori
    return dx, dh0, dWx, dWh, db
