from __future__ import division, print_function

import numpy as np

try:
    xrange
except NameError:  # Python 3
    xrange = range

DEBUG = False


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
    if DEBUG:
        print('step forward', x.shape, prev_h.shape, '->', next_h.shape)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    dtanh = (1. - next_h * next_h) * dnext_h
    return (np.dot(dtanh, Wx.T), np.dot(dtanh, Wh.T), np.dot(x.T, dtanh),
            np.dot(prev_h.T, dtanh), dtanh.sum(axis=0))


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = Wx.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    h_t = h0
    for t in xrange(T):
        h_t, c = rnn_step_forward(x[:, t, :], h_t, Wx, Wh, b)
        h[:, t, :] = h_t
        cache.append(c)
    if DEBUG:
        print('rnn_forward: %d steps, mean |h| = %f' % (T, np.abs(h).mean()))
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][2].shape[0]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros((H,))
    dh_next = np.zeros((N, H))
    for t in reversed(xrange(T)):
        dx[:, t, :], dh_next, a, c, d = rnn_step_backward(dh[:, t, :] + dh_next, cache[t])
        dWx, dWh, db = dWx + a, dWh + c, db + d
    return dx, dh_next, dWx, dWh, db
