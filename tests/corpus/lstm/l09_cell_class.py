import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class LSTMCell:
    """One step of the layer: it keeps its weights and what its backward pass needs."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        N, H = h_prev.shape
        A = np.dot(x, Wx) + np.dot(h_prev, Wh) + b
        i = sigmoid(A[:, :H])
        f = sigmoid(A[:, H:2 * H])
        o = sigmoid(A[:, 2 * H:3 * H])
        g = np.tanh(A[:, 3 * H:])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, b = self.params
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c_next = np.tanh(c_next)
        ds = dc_next + (dh_next * o) * (1 - tanh_c_next ** 2)
        dc_prev = ds * f
        di = ds * g
        df = ds * c_prev
        do = dh_next * tanh_c_next
        dg = ds * i
        di *= i * (1 - i)
        df *= f * (1 - f)
        do *= o * (1 - o)
        dg *= (1 - g ** 2)
        dA = np.hstack((di, df, do, dg))
        dWx = np.dot(x.T, dA)
        dWh = np.dot(h_prev.T, dA)
        db = dA.sum(axis=0)
        dx = np.dot(dA, Wx.T)
        dh_prev = np.dot(dA, Wh.T)
        return dx, dh_prev, dc_prev, dWx, dWh, db


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    cell = LSTMCell(Wx, Wh, b)
    next_h, next_c = cell.forward(x, prev_h, prev_c)
    return next_h, next_c, cell


def lstm_step_backward(dnext_h, dnext_c, cache):
    return cache.backward(dnext_h, dnext_c)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = Wh.shape[0]
    hs = np.empty((N, T, H))
    h, c = h0, np.zeros((N, H))
    layers = []
    for t in range(T):
        h, c, layer = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        hs[:, t, :] = h
        layers.append(layer)
    return hs, layers


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    Wx = cache[0].params[0]
    dxs = np.empty((N, T, Wx.shape[0]))
    dh_prev, dc_prev = 0, 0
    grads = [0, 0, 0]
    for t in reversed(range(T)):
        dx, dh_prev, dc_prev, dWx, dWh, db = lstm_step_backward(dh[:, t, :] + dh_prev, dc_prev, cache[t])
        dxs[:, t, :] = dx
        for k, grad in enumerate((dWx, dWh, db)):
            grads[k] += grad
    return (dxs, dh_prev) + tuple(grads)
