import numpy as np


def sigmoid(z):
    # the logistic function through tanh: never overflows
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    pre = np.einsum('nd,dk->nk', x, Wx) + np.einsum('nh,hk->nk', prev_h, Wh) + b
    H = pre.shape[1] // 4
    i, f, o = sigmoid(pre[:, :H]), sigmoid(pre[:, H:2 * H]), sigmoid(pre[:, 2 * H:3 * H])
    next_c = f * prev_c + i * np.tanh(pre[:, 3 * H:])
    next_h = o * np.tanh(next_c)
    # only the pre-activation and the inputs: the gates are recomputed in the backward pass
    return next_h, next_c, (pre, x, prev_h, prev_c, Wx, Wh)


def lstm_step_backward(dnext_h, dnext_c, cache):
    pre, x, prev_h, prev_c, Wx, Wh = cache
    H = pre.shape[1] // 4
    zi, zf, zo, zg = pre[:, :H], pre[:, H:2 * H], pre[:, 2 * H:3 * H], pre[:, 3 * H:]
    i, f, o, g = sigmoid(zi), sigmoid(zf), sigmoid(zo), np.tanh(zg)
    c = f * prev_c + i * g
    dc = dnext_c + dnext_h * o / np.cosh(c) ** 2
    dpre = np.concatenate((dc * g * i * (1 - i),
                           dc * prev_c * f * (1 - f),
                           dnext_h * np.tanh(c) * o * (1 - o),
                           dc * i / np.cosh(zg) ** 2), axis=1)
    dx = np.einsum('nk,dk->nd', dpre, Wx)
    dprev_h = np.einsum('nk,hk->nh', dpre, Wh)
    dWx = np.einsum('nd,nk->dk', x, dpre)
    dWh = np.einsum('nh,nk->hk', prev_h, dpre)
    return dx, dprev_h, dc * f, dWx, dWh, dpre.sum(0)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches = [None] * T
    state = (h0, np.zeros_like(h0))
    for t in range(T):
        *state, caches[t] = lstm_step_forward(x[:, t], *state, Wx, Wh, b)
        h[:, t] = state[0]
    return h, caches


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][1].shape[1]
    dx = np.zeros((N, T, D))
    sums = [np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)]
    carry_h, carry_c = np.zeros((N, H)), np.zeros((N, H))
    for t in np.arange(T)[::-1]:
        dx[:, t], carry_h, carry_c, *g = lstm_step_backward(dh[:, t] + carry_h, carry_c, cache[t])
        sums = [s + d for s, d in zip(sums, g)]
    return (dx, carry_h, *sums)
