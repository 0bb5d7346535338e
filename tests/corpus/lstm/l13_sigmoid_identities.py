import numpy as np


def sigmoid(x):
    """Numerically stable logistic sigmoid."""
    pos_x = x >= 0
    neg_x = x < 0
    bottom = np.zeros_like(x)
    bottom[pos_x] = np.exp(-x[pos_x])
    bottom[neg_x] = np.exp(x[neg_x])
    top = bottom.copy()
    top[pos_x] = 1
    return top / (1 + bottom)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    _, h = prev_h.shape
    a = x @ Wx + prev_h @ Wh + b
    ai, af, ao, ag = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:4 * h]
    i, f, o = sigmoid(ai), sigmoid(af), sigmoid(ao)
    g = 2 * sigmoid(2 * ag) - 1          # tanh, written with the sigmoid
    next_c = f * prev_c + i * g
    next_h = o * (2 * sigmoid(2 * next_c) - 1)
    cache = (x, Wx, prev_h, Wh, prev_c, a, ai, af, ao, ag, i, f, o, g, next_c, next_h)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, Wx, prev_h, Wh, prev_c, a, ai, af, ao, ag, i, f, o, g, next_c, next_h = cache
    _, h = prev_h.shape
    # d tanh(z)/dz = 4 sigmoid(2z)^2 e^(-2z);  d sigmoid(z)/dz = sigmoid(z)^2 e^(-z)
    dc = dnext_c + dnext_h * o * 4 * sigmoid(2 * next_c) ** 2 * np.exp(-2 * next_c)
    do = dnext_h * next_h / o
    df = dc * prev_c
    dprev_c = dc * f
    di = dc * g
    dg = dc * i
    da = np.zeros_like(a)
    da[:, :h] = di * sigmoid(ai) ** 2 * np.exp(-ai)
    da[:, h:2 * h] = df * sigmoid(af) ** 2 * np.exp(-af)
    da[:, 2 * h:3 * h] = do * sigmoid(ao) ** 2 * np.exp(-ao)
    da[:, 3 * h:4 * h] = dg * 4 * sigmoid(2 * ag) ** 2 * np.exp(-2 * ag)
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = np.sum(da, axis=0)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    (N, T, D), H = x.shape, b.shape[0] // 4
    h = np.zeros((N, T, H))
    cache = []
    prev_h = h0
    prev_c = np.zeros((N, H))
    for t_i in range(T):
        prev_h, prev_c, cache_i = lstm_step_forward(x[:, t_i], prev_h, prev_c, Wx, Wh, b)
        h[:, t_i] = prev_h
        cache.append(cache_i)
    return h, cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dh0 = np.zeros((N, H))
    dWx = np.zeros((D, 4 * H))
    dWh = np.zeros((H, 4 * H))
    db = np.zeros(4 * H)
    dprev_hi = np.zeros_like(dh0)
    dprev_ci = np.zeros_like(dh0)
    for t_i in range(T - 1, -1, -1):
        dht = dh[:, t_i] + dprev_hi
        dxi, dprev_hi, dprev_ci, dWxi, dWhi, dbi = lstm_step_backward(dht, dprev_ci, cache[t_i])
        dx[:, t_i] = dxi
        dh0 = dprev_hi
        dWx += dWxi
        dWh += dWhi
        db += dbi
    return dx, dh0, dWx, dWh, db
