import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2*H]), sigmoid(a[:, 2*H:3*H]), np.tanh(a[:, 3*H:4*H])
    next_c = f*prev_c + i*g
    next_h = o*np.tanh(next_c)
    cache = i, f, o, g, x, prev_c, prev_h, next_c, next_h, Wx, Wh, b
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    i, f, o, g, x, prev_c, prev_h, next_c, next_h, Wx, Wh, b = cache
    yc = np.tanh(next_c)
    do = dnext_h * yc
    dnext_c += dnext_h * o * (1 - yc*yc)  # dc is used many times below
    df = dnext_c * prev_c
    di = dnext_c * g
    dg = dnext_c * i
    dprev_c = dnext_c * f
    da = di * (1 - i) * i
    da = np.append(da, df * (1 - f) * f, axis=1)
    da = np.append(da, do * (1 - o) * o, axis=1)
    da = np.append(da, dg * (1 - g*g), axis=1)
    dprev_h = da.dot(Wh.T).reshape(prev_h.shape)
    dx = da.dot(Wx.T).reshape(x.shape)
    dWx = x.reshape(x.shape[0], -1).T.dot(da)
    dWh = prev_h.reshape(prev_h.shape[0], -1).T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = Wh.shape[0]
    h = np.zeros((N, T, H))
    caches = []
    prev_h, prev_c = h0, np.zeros((N, H))
    for t in range(T):
        prev_h, prev_c, step = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(step)
    return h, caches


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][4].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, 4*H)), np.zeros((H, 4*H)), np.zeros(4*H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c,
                                                                               cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
