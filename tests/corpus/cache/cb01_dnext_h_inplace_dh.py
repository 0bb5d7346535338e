import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
    cache = (x, prev_h, next_h, Wx, Wh, b)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, next_h, Wx, Wh, b = cache
    dnext_h_preact = dnext_h * (1 - next_h ** 2)
    dx = dnext_h_preact.dot(Wx.T)
    dWx = x.T.dot(dnext_h_preact)
    dWh = prev_h.T.dot(dnext_h_preact)
    dprev_h = dnext_h_preact.dot(Wh.T)
    db = dnext_h_preact.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    _, H = h0.shape
    cache = []
    h = np.zeros([N, T, H])
    prev_h = h0
    for t in range(T):
        next_h, curr_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        prev_h = next_h
        cache.append(curr_cache)
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros([N, T, D])
    dWx = np.zeros([D, H])
    dWh = np.zeros([H, H])
    db = np.zeros(H)
    dprev_h = np.zeros([N, H])
    for t in list(range(T))[::-1]:
        # upstream gradient = gradient from the loss + gradient from the step to the right
        dnext_h = dh[:, t, :]
        dnext_h += dprev_h
        curr_dx, dprev_h, curr_dWx, curr_dWh, curr_db = rnn_step_backward(dnext_h, cache[t])
        dx[:, t, :] = curr_dx
        dWx += curr_dWx
        dWh += curr_dWh
        db += curr_db
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
