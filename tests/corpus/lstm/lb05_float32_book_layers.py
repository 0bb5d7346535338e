import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class LSTM:
    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        N, H = h_prev.shape
        A = np.dot(x, Wx) + np.dot(h_prev, Wh) + b
        i = sigmoid(A[:, :H])
        f = sigmoid(A[:, H:2*H])
        o = sigmoid(A[:, 2*H:3*H])
        g = np.tanh(A[:, 3*H:])
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
        di = ds * g * i * (1 - i)
        df = ds * c_prev * f * (1 - f)
        do = dh_next * tanh_c_next * o * (1 - o)
        dg = ds * i * (1 - g ** 2)
        dA = np.hstack((di, df, do, dg))
        return np.dot(dA, Wx.T), np.dot(dA, Wh.T), dc_prev, np.dot(x.T, dA), np.dot(h_prev.T, dA), dA.sum(axis=0)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    layer = LSTM(Wx, Wh, b)
    next_h, next_c = layer.forward(x, prev_h, prev_c)
    return next_h, next_c, layer


def lstm_step_backward(dnext_h, dnext_c, cache):
    return cache.backward(dnext_h, dnext_c)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = Wh.shape[0]
    layers = []
    hs = np.empty((N, T, H), dtype='f')
    h = h0
    c = np.zeros((N, H), dtype='f')
    for t in range(T):
        layer = LSTM(Wx, Wh, b)
        h, c = layer.forward(x[:, t, :], h, c)
        hs[:, t, :] = h
        layers.append(layer)
    return hs, layers


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    Wx, Wh, b = cache[0].params
    D = Wx.shape[0]
    dxs = np.empty((N, T, D), dtype='f')
    dh_t, dc_t = 0, 0
    grads = [0, 0, 0]
    for t in reversed(range(T)):
        dx, dh_t, dc_t, dWx, dWh, db = cache[t].backward(dh[:, t, :] + dh_t, dc_t)
        dxs[:, t, :] = dx
        for k, grad in enumerate((dWx, dWh, db)):
            grads[k] += grad
    return dxs, dh_t, grads[0], grads[1], grads[2]
