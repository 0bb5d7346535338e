from collections import namedtuple

import numpy as np

StepCache = namedtuple('StepCache', ['x', 'prev_h', 'next_h', 'Wx', 'Wh'])
SequenceCache = namedtuple('SequenceCache', ['steps', 'D'])
Gradients = namedtuple('Gradients', ['dx', 'dprev_h', 'dWx', 'dWh', 'db'])


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, StepCache(x, prev_h, next_h, Wx, Wh)


def rnn_step_backward(dnext_h, cache):
    da = dnext_h * (1.0 - cache.next_h ** 2)
    return Gradients(dx=da @ cache.Wx.T,
                     dprev_h=da @ cache.Wh.T,
                     dWx=cache.x.T @ da,
                     dWh=cache.prev_h.T @ da,
                     db=da.sum(axis=0))


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, Wh.shape[0]))
    steps = []
    prev_h = h0
    for t in range(T):
        prev_h, c = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        steps.append(c)
    return h, SequenceCache(steps=tuple(steps), D=D)


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache.D))
    dWx = np.zeros((cache.D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    carry = np.zeros((N, H))
    for t in reversed(range(T)):
        g = rnn_step_backward(dh[:, t, :] + carry, cache.steps[t])
        dx[:, t, :] = g.dx
        carry = g.dprev_h
        dWx += g.dWx
        dWh += g.dWh
        db += g.db
    return dx, carry, dWx, dWh, db
