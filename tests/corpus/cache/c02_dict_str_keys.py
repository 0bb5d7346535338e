import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(prev_h.dot(Wh) + x.dot(Wx) + b)
    # keep everything by name so the backward pass reads like the math
    cache = {'x': x, 'prev_h': prev_h, 'Wx': Wx, 'Wh': Wh, 'next_h': next_h}
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    # d tanh(u)/du = 1 - tanh(u)^2
    dtanh = dnext_h * (1 - cache['next_h'] ** 2)
    dx = dtanh.dot(cache['Wx'].T)
    dprev_h = dtanh.dot(cache['Wh'].T)
    dWx = cache['x'].T.dot(dtanh)
    dWh = cache['prev_h'].T.dot(dtanh)
    db = np.sum(dtanh, axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    h = np.zeros((x.shape[0], x.shape[1], b.shape[0]))
    cache = []
    for t in range(x.shape[1]):
        h[:, t, :], cache_t = rnn_step_forward(x[:, t, :], h0 if t == 0 else h[:, t - 1, :], Wx, Wh, b)
        cache.append(cache_t)
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0]['x'].shape[1]
    dx = np.zeros((N, T, D))
    dh0 = np.zeros((N, H))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros((H,))
    for t in range(T - 1, -1, -1):
        # dh0 doubles as the running gradient flowing back through time
        dx[:, t, :], dh0, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dh0, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dh0, dWx, dWh, db
