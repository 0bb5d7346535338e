import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    a_next = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
    cache = (a_next, prev_h, x, Wx, Wh)
    return a_next, cache


def rnn_step_backward(dnext_h, cache):
    a_next, a_prev, xt, Wx, Wh = cache
    dz = (1 - a_next ** 2) * dnext_h
    dxt = np.dot(dz, Wx.T)
    dWx = np.dot(xt.T, dz)
    da_prev = np.dot(dz, Wh.T)
    dWh = np.dot(a_prev.T, dz)
    db = np.sum(dz, axis=0, keepdims=True)
    return dxt, da_prev, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches = []
    a_next = h0
    for t in range(T):
        a_next, cache = rnn_step_forward(x[:, t, :], a_next, Wx, Wh, b)
        h[:, t, :] = a_next
        caches.append(cache)
    return h, (caches, x)


def rnn_backward(dh, cache):
    caches, x = cache
    N, T, D = x.shape
    H = dh.shape[2]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    da_prevt = np.zeros((N, H))
    for t in reversed(range(T)):
        dxt, da_prevt, dWxt, dWht, dbt = rnn_step_backward(dh[:, t, :] + da_prevt, caches[t])
        dx[:, t, :] = dxt
        dWx += dWxt
        dWh += dWht
        db += dbt
    return dx, da_prevt, dWx, dWh, db
