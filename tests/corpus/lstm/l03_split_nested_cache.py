import numpy as np


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    ai, af, ao, ag = np.split(a, 4, axis=1)
    i, f, o = sigmoid(ai), sigmoid(af), sigmoid(ao)
    g = np.tanh(ag)
    next_c = f * prev_c + i * g
    tanh_next_c = np.tanh(next_c)
    next_h = o * tanh_next_c
    inputs = (x, prev_h, prev_c, Wx, Wh, b)
    temps = (i, f, o, g, tanh_next_c)
    outputs = (next_h, next_c)
    return next_h, next_c, (inputs, temps, outputs)


def lstm_step_backward(dnext_h, dnext_c, cache):
    (x, prev_h, prev_c, Wx, Wh, b), (i, f, o, g, tanh_next_c), _ = cache
    dc_from_h = dnext_h * o * (1 - tanh_next_c ** 2)
    dc_total = dnext_c + dc_from_h
    dai = dc_total * g * i * (1 - i)
    daf = dc_total * prev_c * f * (1 - f)
    dao = dnext_h * tanh_next_c * o * (1 - o)
    dag = dc_total * i * (1 - g ** 2)
    da = np.concatenate([dai, daf, dao, dag], axis=1)
    dx = np.dot(da, Wx.T)
    dprev_h = np.dot(da, Wh.T)
    dprev_c = dc_total * f
    dWx = np.dot(x.T, da)
    dWh = np.dot(prev_h.T, da)
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    hs, caches = np.zeros((N, T, h0.shape[1])), []
    h, c = h0, np.zeros(h0.shape)
    for t in range(T):
        h, c, ch = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        hs[:, t, :] = h
        caches.append(ch)
    return hs, caches


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    (x0, _, _, Wx, Wh, b), _, _ = cache[0]
    dx = np.zeros((N, T, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        grads = lstm_step_backward(dh[:, t, :] + dh_next, dc_next, cache[t])
        dx[:, t, :], dh_next, dc_next = grads[0], grads[1], grads[2]
        dWx += grads[3]
        dWh += grads[4]
        db += grads[5]
    return dx, dh_next, dWx, dWh, db
