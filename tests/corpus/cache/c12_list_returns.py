import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    enhanced_grads = dnext_h * (1 - np.square(next_h))
    out_grads = [
        np.dot(enhanced_grads, Wx.transpose()),       # dx
        np.dot(enhanced_grads, Wh.transpose()),       # dprev_h
        np.dot(np.transpose(x), enhanced_grads),      # dWx
        np.dot(np.transpose(prev_h), enhanced_grads), # dWh
        np.sum(enhanced_grads, axis=0),               # db
    ]
    return out_grads


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    outputs = np.zeros((N, T, h0.shape[1]))
    caches = []
    for t in range(T):
        prev = h0 if t == 0 else outputs[:, t - 1, :]
        outputs[:, t, :], c = rnn_step_forward(x[:, t, :], prev, Wx, Wh, b)
        caches.append(c)
    return outputs, caches


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][2].shape[0]
    out_grads = np.zeros((N, T, D))
    grads = [np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)]
    dprev = np.zeros((N, H))
    for t in reversed(range(T)):
        g = rnn_step_backward(dh[:, t, :] + dprev, cache[t])
        out_grads[:, t, :] = g[0]
        dprev = g[1]
        for k in range(3):
            grads[k] = grads[k] + g[2 + k]
    return [out_grads, dprev] + grads
