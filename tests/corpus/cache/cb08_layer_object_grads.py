# coding: utf-8
import numpy as np


class RNN:
    """One time step, as in the book: parameters, gradients and cache live on the layer."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        t = np.dot(h_prev, Wh) + np.dot(x, Wx) + b
        h_next = np.tanh(t)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, h_prev, h_next = self.cache
        dt = dh_next * (1 - h_next ** 2)
        db = np.sum(dt, axis=0)
        dWh = np.dot(h_prev.T, dt)
        dh_prev = np.dot(dt, Wh.T)
        dWx = np.dot(x.T, dt)
        dx = np.dot(dt, Wx.T)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        return dx, dh_prev


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    layer = RNN(Wx, Wh, b)
    next_h = layer.forward(x, prev_h)
    return next_h, layer          # the layer object is the cache


def rnn_step_backward(dnext_h, cache):
    dx, dprev_h = cache.backward(dnext_h)
    dWx, dWh, db = cache.grads
    return dx, dprev_h, dWx.copy(), dWh.copy(), db.copy()


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    D, H = Wx.shape
    layers = []
    hs = np.empty((N, T, H))
    h = h0
    for t in range(T):
        h, layer = rnn_step_forward(x[:, t, :], h, Wx, Wh, b)
        hs[:, t, :] = h
        layers.append(layer)
    return hs, layers


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0].params[0].shape[0]
    dxs = np.empty((N, T, D))
    dnext = 0
    grads = [0, 0, 0]
    for t in reversed(range(T)):
        dx, dnext, dWx, dWh, db = rnn_step_backward(dh[:, t, :] + dnext, cache[t])
        dxs[:, t, :] = dx
        for i, grad in enumerate((dWx, dWh, db)):
            grads[i] += grad
    return dxs, dnext, grads[0], grads[1], grads[2]
