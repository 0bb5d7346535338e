import numpy as np


class RNNStepCache:
    """Everything one step's backward needs, as attributes."""

    def __init__(self, x, prev_h, Wx, Wh, next_h):
        self.x = x
        self.prev_h = prev_h
        self.Wx = Wx
        self.Wh = Wh
        self.next_h = next_h

    def local_grad(self, dnext_h):
        # gradient w.r.t. the pre-activation
        return dnext_h * (1 - self.next_h * self.next_h)

    def __repr__(self):
        return 'RNNStepCache(N=%d, D=%d, H=%d)' % (self.x.shape[0], self.x.shape[1], self.next_h.shape[1])


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
    return next_h, RNNStepCache(x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    da = cache.local_grad(dnext_h)
    dx = np.dot(da, cache.Wx.T)
    dprev_h = np.dot(da, cache.Wh.T)
    dWx = np.dot(cache.x.T, da)
    dWh = np.dot(cache.prev_h.T, da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    layers = []
    state = h0
    for t in range(T):
        state, step = rnn_step_forward(x[:, t, :], state, Wx, Wh, b)
        h[:, t, :] = state
        layers.append(step)
    return h, layers


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0].x.shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dstate = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dstate, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dstate, cache[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dstate, dWx, dWh, db
