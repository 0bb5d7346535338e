import numpy as np


def sigmoid_f(z):
    return 1 / (1 + np.exp(-z))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    (N, D) = x.shape
    (N, H) = prev_h.shape
    scores = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    gate_i = sigmoid_f(scores[:, 0:H])
    gate_f = sigmoid_f(scores[:, H:(2 * H)])
    gate_o = sigmoid_f(scores[:, (2 * H):(3 * H)])
    gate_g = np.tanh(scores[:, (3 * H):(4 * H)])
    next_c = gate_f * prev_c + gate_i * gate_g
    next_h = gate_o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, b, gate_i, gate_f, gate_o, gate_g, next_h, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    (x, prev_h, prev_c, Wx, Wh, b, gate_i, gate_f, gate_o, gate_g, next_h, next_c) = cache
    (N, D) = x.shape
    dc = dnext_c + dnext_h * gate_o * (1 - np.power(np.tanh(next_c), 2))
    dgate_o = dnext_h * np.tanh(next_c)
    dprev_c = dc * gate_f
    dgate_f = dc * prev_c
    dgate_i = dc * gate_g
    dgate_g = dc * gate_i
    dscores = np.column_stack((dgate_i * gate_i * (1 - gate_i),
                               dgate_f * gate_f * (1 - gate_f),
                               dgate_o * gate_o * (1 - gate_o),
                               dgate_g * (1 - np.power(gate_g, 2))))
    # one product for both weight matrices: [x, prev_h] @ [[Wx], [Wh]]
    W = np.vstack((Wx, Wh))
    x_h = np.column_stack((x, prev_h))
    dW = np.dot(np.transpose(x_h), dscores)
    dWx = dW[0:D, :]
    dWh = dW[D:, :]
    db = dscores.sum(axis=0)
    dx_h = np.dot(dscores, np.transpose(W))
    dx = dx_h[:, 0:D]
    dprev_h = dx_h[:, D:]
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    (N, T, D) = x.shape
    (N, H) = h0.shape
    cache = []
    h = np.zeros((N, T, H))
    next_c = np.zeros(h0.shape)
    next_h = h0
    for t in range(T):
        c_ = next_c.copy()
        h_ = next_h.copy()
        next_h, next_c, cache_ = lstm_step_forward(x[:, t, :], h_, c_, Wx, Wh, b)
        cache = cache + [cache_]
        h[:, t, :] = next_h.copy()
    return h, cache


def lstm_backward(dh, cache):
    (N, T, H) = dh.shape
    (N, D) = cache[0][0].shape
    dx = np.zeros((N, T, D))
    dWx = np.zeros((T, D, 4 * H))
    dWh = np.zeros((T, H, 4 * H))
    db = np.zeros((T, 4 * H))
    dprev_c = np.zeros((N, H))
    dprev_h = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dh_ = dh[:, t, :] + dprev_h.copy()
        dc_ = dprev_c.copy()
        dx_, dprev_h, dprev_c, dWx_, dWh_, db_ = lstm_step_backward(dh_, dc_, cache[t])
        dWx[t, :, :] = dWx_
        dWh[t, :, :] = dWh_
        db[t, :] = db_
        dx[:, t, :] = dx_
    dh0 = dprev_h.copy()
    return dx, dh0, dWx.sum(axis=0), dWh.sum(axis=0), db.sum(axis=0)
