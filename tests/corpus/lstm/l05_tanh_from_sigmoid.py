from __future__ import print_function, division
from builtins import range
import numpy as np


def sigmoid(x):
    """A numerically stable version of the logistic sigmoid function."""
    pos_mask = (x >= 0)
    neg_mask = (x < 0)
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


# tanh(z) = sigmoid(2z) - sigmoid(-2z), only the stable sigmoid needed
tanh = lambda z: sigmoid(2 * z) - sigmoid(-2 * z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    gi = sigmoid(a[:, 0:H])
    gf = sigmoid(a[:, H:2 * H])
    go = sigmoid(a[:, 2 * H:3 * H])
    gg = tanh(a[:, 3 * H:])
    next_c = prev_c * gf + gi * gg
    next_h = tanh(next_c) * go
    cache = (x, prev_h, prev_c, Wx, Wh, b, gi, gf, go, gg, next_c, next_h)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b, gi, gf, go, gg, next_c, next_h = cache
    dgo = dnext_h * tanh(next_c)
    dtanh_c = dnext_h * go
    dc = dnext_c + dtanh_c * (1 - tanh(next_c) ** 2)
    dgf = dc * prev_c
    dprev_c = dc * gf
    dgi = dc * gg
    dgg = dc * gi
    da = np.hstack([dgi * gi * (1 - gi), dgf * gf * (1 - gf), dgo * go * (1 - go), dgg * (1 - gg ** 2)])
    dx = da.dot(Wx.T)
    dWx = x.T.dot(da)
    dprev_h = da.dot(Wh.T)
    dWh = prev_h.T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    N, H = h0.shape
    h = np.zeros((N, T, H))
    ht = h0
    ct = 0  # the cell starts empty; broadcasting does the rest
    cache = []
    for k in range(T):
        ht, ct, step = lstm_step_forward(x[:, k, :], ht, ct, Wx, Wh, b)
        h[:, k, :] = ht
        cache.append(step)
    return h, cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 4 * H))
    dWh = np.zeros((H, 4 * H))
    db = np.zeros((4 * H,))
    dht = 0
    dct = 0
    for k in range(T - 1, -1, -1):
        dht += dh[:, k, :]
        dxt, dht, dct, dWxt, dWht, dbt = lstm_step_backward(dht, dct, cache[k])
        dx[:, k, :] = dxt
        dWx += dWxt
        dWh += dWht
        db += dbt
    dh0 = dht
    return dx, dh0, dWx, dWh, db
