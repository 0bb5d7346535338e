from __future__ import print_function, division
from builtins import range
import numpy as np

"""Vanilla RNN layers, assignment 3 (step/cache style)."""


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    # a = x Wx + h Wh + b, squashed
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    next_h = np.tanh(a)
    cache = (next_h, Wx, Wh, x, prev_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    next_h, Wx, Wh, x, prev_h = cache
    dtanh = (1 - next_h ** 2) * dnext_h      # local grad of tanh from its output
    dx = dtanh.dot(Wx.T)
    dWx = x.T.dot(dtanh)
    dprev_h = dtanh.dot(Wh.T)
    dWh = prev_h.T.dot(dtanh)
    db = np.sum(dtanh, axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = b.shape[0]
    h = np.zeros((N, T, H))
    # first step by hand, then the rest in the loop
    next_h, step_cache = rnn_step_forward(x[:, 0, :], h0, Wx, Wh, b)
    h[:, 0, :] = next_h
    cache = [step_cache]
    for i in range(T - 1):
        next_h, step_cache = rnn_step_forward(x[:, i + 1, :], next_h, Wx, Wh, b)
        h[:, i + 1, :] = next_h
        cache.append(step_cache)
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    N, D = cache[0][3].shape
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros((H,))
    dprev_h = 0
    for i in range(T - 1, -1, -1):
        dnext_h = dprev_h + dh[:, i, :]
        dxt, dprev_h, dWxt, dWht, dbt = rnn_step_backward(dnext_h, cache[i])
        dx[:, i, :] = dxt
        dWx += dWxt
        dWh += dWht
        db += dbt
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
