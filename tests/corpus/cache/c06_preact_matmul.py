import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    z = (np.matmul(x, Wx) + np.matmul(prev_h, Wh)) + b
    next_h = np.tanh(z)
    # print(next_h)
    cache = (Wx, x, Wh, prev_h, b, z)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    Wx, x, Wh, prev_h, b, z = cache
    # print(z.shape)
    dnext_h_dz = dnext_h * (1 - np.tanh(z) ** 2)
    dx = np.matmul(dnext_h_dz, Wx.T)
    dWx = np.matmul(x.T, dnext_h_dz)
    dWh = np.matmul(prev_h.T, dnext_h_dz)
    dprev_h = np.matmul(dnext_h_dz, Wh.T)
    db = np.sum(dnext_h_dz, axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    N, H = h0.shape
    # rearrange x to time-major so that x_r[i] is the input at step i
    x_r = np.zeros((T, N, D))
    for i in range(T):
        for j in range(N):
            x_r[i, j] = x[j, i]
    h_r = np.zeros((T, N, H))
    cache = {}
    next_h = h0
    for i in range(T):
        next_h, cache[i] = rnn_step_forward(x_r[i], next_h, Wx, Wh, b)
        h_r[i] += next_h
    # back to batch-major
    h = np.zeros((N, T, H))
    for i in range(N):
        h[i] += h_r[:, i, :]
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    Wx, x, Wh, prev_h, b, z = cache[0]
    N, D = x.shape
    dx_r = np.zeros((T, N, D))
    dh0 = np.zeros((N, H))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    dh_r = np.zeros((T, N, H))
    for i in range(T):
        for j in range(N):
            dh_r[i, j] += dh[j, i]
    dh_ = np.zeros((N, H))
    for i in range(T - 1, -1, -1):
        dx_, dh_, dWx_, dWh_, db_ = rnn_step_backward(dh_ + dh_r[i, :, :], cache[i])
        dx_r[i] += dx_
        dWx += dWx_
        dWh += dWh_
        db += db_
    dh0 += dh_
    dx = np.zeros((N, T, D))
    for i in range(N):
        dx[i] += dx_r[:, i, :]
    return dx, dh0, dWx, dWh, db
