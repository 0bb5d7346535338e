import numpy as np


def sigmoid(x):
    return np.exp(x) / (1 + np.exp(x))


def d_sigmoid(s):
    """derivative of the sigmoid, from its output"""
    return s * (1 - s)


def d_tanh(t):
    """derivative of tanh, from its output"""
    return 1 - t ** 2


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    z = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    i_gate = sigmoid(z[:, :H])
    f_gate = sigmoid(z[:, H:2 * H])
    o_gate = sigmoid(z[:, 2 * H:3 * H])
    g_gate = np.tanh(z[:, 3 * H:])
    next_c = f_gate * prev_c + i_gate * g_gate
    next_h = o_gate * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, b, i_gate, f_gate, o_gate, g_gate, next_c, next_h)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b, i_gate, f_gate, o_gate, g_gate, next_c, next_h = cache
    # the cell's gradient: what came from outside and the part through next_h
    dc = dnext_c + dnext_h * o_gate * d_tanh(np.tanh(next_c))
    dz = np.concatenate((dc * g_gate * d_sigmoid(i_gate),
                         dc * prev_c * d_sigmoid(f_gate),
                         dnext_h * np.tanh(next_c) * d_sigmoid(o_gate),
                         dc * i_gate * d_tanh(g_gate)), axis=1)
    dx = np.dot(dz, Wx.T)
    dprev_h = np.dot(dz, Wh.T)
    dprev_c = dc * f_gate
    dWx = np.dot(x.T, dz)
    dWh = np.dot(prev_h.T, dz)
    db = np.sum(dz, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    h_t, c_t = h0, np.zeros((N, H))
    for t in range(T):
        h_t, c_t, step = lstm_step_forward(x[:, t, :], h_t, c_t, Wx, Wh, b)
        h[:, t, :] = h_t
        cache.append(step)
    return h, cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    x, prev_h, prev_c, Wx, Wh, b = cache[0][:6]
    dx = np.zeros((N, T, x.shape[1]))
    dh0 = np.zeros((N, H))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_hi = np.zeros_like(dh0)
    dprev_ci = np.zeros_like(dh0)
    for t_i in range(T - 1, -1, -1):
        dht = dh[:, t_i] + dprev_hi
        dxi, dprev_hi, dprev_ci, dWxi, dWhi, dbi = lstm_step_backward(dht, dprev_ci, cache[t_i])
        dx[:, t_i] = dxi
        dh0 = dprev_hi
        dWx += dWxi
        dWh += dWhi
        db += dbi
    return dx, dh0, dWx, dWh, db
