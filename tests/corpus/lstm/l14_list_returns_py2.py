from __future__ import print_function, division
from builtins import range
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = Wx.shape[1] // 4
    a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2*H])
    o = sigmoid(a[:, 2*H:3*H])
    g = np.tanh(a[:, 3*H:])
    next_c = f*prev_c + i*g
    next_h = o*np.tanh(next_c)
    return [next_h, next_c, [x, prev_h, prev_c, Wx, Wh, b, a, i, f, o, g, next_c, next_h]]


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b, a, i, f, o, g, next_c, next_h = cache
    do = dnext_h * np.tanh(next_c)
    ddnext_c = dnext_c + (1 - np.tanh(next_c) * np.tanh(next_c)) * dnext_h * o
    df = ddnext_c * prev_c
    dprev_c = ddnext_c * f
    di = ddnext_c * g
    dg = ddnext_c * i
    da = np.hstack(((1 - i) * i * di, (1 - f) * f * df, (1 - o) * o * do, (1 - g * g) * dg))
    db = np.sum(da, axis=0)
    dx = np.dot(da, Wx.T)
    dWx = np.dot(x.T, da)
    dprev_h = np.dot(da, Wh.T)
    dWh = np.dot(prev_h.T, da)
    return [dx, dprev_h, dprev_c, dWx, dWh, db]


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cs = {}
    cs[-1] = np.zeros((N, H))
    h_prev = h0
    cache = []
    for t in range(T):
        h[:, t, :], cs[t], cache_sub = lstm_step_forward(x[:, t, :], h_prev, cs[t - 1], Wx, Wh, b)
        h_prev = h[:, t, :]
        cache.append(cache_sub)
    return [h, cache]


def lstm_backward(dh, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache[-1][:6]
    N, D = x.shape
    T, H = dh.shape[1:]
    dx = np.zeros((N, T, D))
    dh0 = np.zeros((N, H))
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros((4 * H, ))
    dc = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dh0, dc, t_dWx, t_dWh, t_db = lstm_step_backward(dh[:, t, :] + dh0, dc, cache[t])
        dWx += t_dWx
        dWh += t_dWh
        db += t_db
    return [dx, dh0, dWx, dWh, db]
