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


def tanh(v):
    return sigmoid(2 * v) - sigmoid(-2 * v)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    gate_i = sigmoid(a[:, 0:H])
    gate_f = sigmoid(a[:, H:2*H])
    gate_o = sigmoid(a[:, 2*H:3*H])
    gate_g = tanh(a[:, 3*H:])
    next_c = prev_c*gate_f + gate_i*gate_g
    next_h = tanh(next_c)*gate_o
    cache = (x, prev_h, prev_c, Wx, Wh, b, gate_i, gate_f, gate_o, gate_g, next_c, next_h)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b, gate_i, gate_f, gate_o, gate_g, next_c, next_h = cache
    dgate_o = dnext_h*tanh(next_c)
    dtanhnext_c = dnext_h*gate_o
    dnext_c += dtanhnext_c*(1 - tanh(next_c)**2)
    dgate_f = dnext_c*prev_c
    dprev_c = dnext_c*gate_f
    dgate_i = dnext_c*gate_g
    dgate_g = dnext_c*gate_i
    da = np.hstack([dgate_i*gate_i*(1 - gate_i), dgate_f*gate_f*(1 - gate_f), dgate_o*gate_o*(1 - gate_o),
                    dgate_g*(1 - gate_g**2)])
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
    ht, ct = h0, 0
    cache = []
    for t in range(T):
        ht, ct, step = lstm_step_forward(x[:, t, :], ht, ct, Wx, Wh, b)
        h[:, t, :] = ht
        cache.append(step)
    return h, cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 4*H))
    dWh = np.zeros((H, 4*H))
    db = np.zeros((4*H,))
    dht = 0
    dct = 0
    for t in range(T - 1, -1, -1):
        dht += dh[:, t, :]
        dxt, dht, dct, dWxt, dWht, dbt = lstm_step_backward(dht, dct, cache[t])
        dx[:, t, :] = dxt
        dWx += dWxt
        dWh += dWht
        db += dbt
    dh0 = dht
    return dx, dh0, dWx, dWh, db
