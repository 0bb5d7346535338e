import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2*H]), sigmoid(a[:, 2*H:3*H]), np.tanh(a[:, 3*H:])
    next_c = f*prev_c + i*g
    next_h = o*np.tanh(next_c)
    return next_h, next_c, (i, f, o, g, x, prev_c, prev_h, next_c, next_h, Wx, Wh, b)


def lstm_step_backward(dnext_h, dnext_c, cache):
    i, f, o, g, x, prev_c, prev_h, next_c, next_h, Wx, Wh, b = cache
    tc = np.tanh(next_c)
    do = dnext_h * tc
    dnext_c += dnext_h * o * (1 - tc**2)
    da = np.hstack((dnext_c * g * i * (1 - i), dnext_c * prev_c * f * (1 - f), do * o * (1 - o),
                    dnext_c * i * (1 - g**2)))
    return (da.dot(Wx.T), da.dot(Wh.T), dnext_c * f, x.T.dot(da), prev_h.T.dot(da), np.sum(da, axis=0))


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = Wh.shape[0]
    h = np.zeros((N, T, H))
    c = np.zeros((N, T, H))
    i, f, o, g = np.zeros((N, T, H)), np.zeros((N, T, H)), np.zeros((N, T, H)), np.zeros((N, T, H))
    c0 = np.zeros((N, H))
    # first step: no previous state but h0
    h[:, 0, :], c[:, 0, :], step = lstm_step_forward(x[:, 0, :], h0, c0, Wx, Wh, b)
    i[:, 0, :], f[:, 0, :], o[:, 0, :], g[:, 0, :] = step[:4]
    for t in range(1, T):
        h[:, t, :], c[:, t, :], step = lstm_step_forward(x[:, t, :], h[:, t-1, :], c[:, t-1, :], Wx, Wh, b)
        i[:, t, :], f[:, t, :], o[:, t, :], g[:, t, :] = step[:4]
    cache = i, f, o, g, x, h0, h, c, Wx, Wh, b
    return h, cache


def lstm_backward(dh, cache):
    i, f, o, g, x, h0, h, c, Wx, Wh, b = cache
    N, T, D = x.shape
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dc = np.zeros_like(c)
    dh = dh.copy()  # important for gradient checking
    for t in reversed(range(1, T)):
        step = (i[:, t, :], f[:, t, :], o[:, t, :], g[:, t, :], x[:, t, :], c[:, t-1, :], h[:, t-1, :],
                c[:, t, :], h[:, t, :], Wx, Wh, b)
        dx_, dprev_h, dprev_c, dWx_, dWh_, db_ = lstm_step_backward(dh[:, t, :], dc[:, t, :], step)
        dh[:, t-1, :] += dprev_h
        dc[:, t-1, :] += dprev_c
        dx[:, t, :] = dx_
        dWx += dWx_
        dWh += dWh_
        db += db_
    # the first step, from h0 and an empty cell
    step = (i[:, 0, :], f[:, 0, :], o[:, 0, :], g[:, 0, :], x[:, 0, :], np.zeros_like(h0), h0,
            c[:, 0, :], h[:, 0, :], Wx, Wh, b)
    dx_, dh0, dc0, dWx_, dWh_, db_ = lstm_step_backward(dh[:, 0, :], dc[:, 0, :], step)
    dx[:, 0, :] = dx_
    dWx += dWx_
    dWh += dWh_
    db += db_
    return dx, dh0, dWx, dWh, db
