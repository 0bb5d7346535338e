import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2*H]), sigmoid(a[:, 2*H:3*H]), np.tanh(a[:, 3*H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = {'x': x, 'prev_h': prev_h, 'prev_c': prev_c, 'Wx': Wx, 'Wh': Wh, 'a': a,
             'i': i, 'f': f, 'o': o, 'g': g, 'next_c': next_c}
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    i, f, o, g, next_c = cache['i'], cache['f'], cache['o'], cache['g'], cache['next_c']
    H = i.shape[1]
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc**2)
    da = cache['a']  # same shape as the gradient we need: reuse it
    da[:, :H] = dc * g * i * (1 - i)
    da[:, H:2*H] = dc * cache['prev_c'] * f * (1 - f)
    da[:, 2*H:3*H] = dnext_h * tc * o * (1 - o)
    da[:, 3*H:] = dc * i * (1 - g**2)
    dx = da.dot(cache['Wx'].T)
    dprev_h = da.dot(cache['Wh'].T)
    dWx = cache['x'].T.dot(da)
    dWh = cache['prev_h'].T.dot(da)
    db = da.sum(axis=0)
    return dx, dprev_h, dc * f, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    steps = []
    hh, cc = h0, np.zeros((N, H))
    for t in range(T):
        hh, cc, st = lstm_step_forward(x[:, t, :], hh, cc, Wx, Wh, b)
        h[:, t, :] = hh
        steps.append(st)
    return h, steps


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0]['x'].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, 4*H)), np.zeros((H, 4*H)), np.zeros(4*H)
    dhn, dcn = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dhn, dcn, a, b_, c = lstm_step_backward(dh[:, t, :] + dhn, dcn, cache[t])
        dWx += a
        dWh += b_
        db += c
    return dx, dhn, dWx, dWh, db
