import numpy as np


def sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _block(M, k, H):
    """Columns of gate k (0 = input, 1 = forget, 2 = output, 3 = candidate)."""
    return M[..., k * H:(k + 1) * H]


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    # each gate on its own, with its own block of the weights
    i = sig(x.dot(_block(Wx, 0, H)) + prev_h.dot(_block(Wh, 0, H)) + _block(b, 0, H))
    f = sig(x.dot(_block(Wx, 1, H)) + prev_h.dot(_block(Wh, 1, H)) + _block(b, 1, H))
    o = sig(x.dot(_block(Wx, 2, H)) + prev_h.dot(_block(Wh, 2, H)) + _block(b, 2, H))
    g = np.tanh(x.dot(_block(Wx, 3, H)) + prev_h.dot(_block(Wh, 3, H)) + _block(b, 3, H))
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    H = prev_h.shape[1]
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc * tc)
    dgates = [dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tc * o * (1 - o), dc * i * (1 - g * g)]
    dx = np.zeros(x.shape)
    dprev_h = np.zeros(prev_h.shape)
    dWx = np.zeros(Wx.shape)
    dWh = np.zeros(Wh.shape)
    db = np.zeros(4 * H)
    for k, dz in enumerate(dgates):
        dx += dz.dot(_block(Wx, k, H).T)
        dprev_h += dz.dot(_block(Wh, k, H).T)
        dWx[:, k * H:(k + 1) * H] = x.T.dot(dz)
        dWh[:, k * H:(k + 1) * H] = prev_h.T.dot(dz)
        db[k * H:(k + 1) * H] = dz.sum(axis=0)
    return dx, dprev_h, dc * f, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    caches = []
    hh, cc = h0, np.zeros((N, H))
    for t in range(T):
        hh, cc, ca = lstm_step_forward(x[:, t, :], hh, cc, Wx, Wh, b)
        h[:, t, :] = hh
        caches.append(ca)
    return h, caches


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dnh, dnc = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dx[:, t, :], dnh, dnc, a, bb, c = lstm_step_backward(dnh + dh[:, t, :], dnc, cache[t])
        dWx, dWh, db = dWx + a, dWh + bb, db + c
    return dx, dnh, dWx, dWh, db
