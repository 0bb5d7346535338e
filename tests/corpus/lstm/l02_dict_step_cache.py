import numpy as np


def sigmoid(x):
    """A numerically stable version of the logistic sigmoid function."""
    pos = x >= 0
    neg = ~pos
    e = np.zeros_like(x)
    e[pos] = np.exp(-x[pos])
    e[neg] = np.exp(x[neg])
    num = np.ones_like(x)
    num[neg] = e[neg]
    return num / (1 + e)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    # A.shape: (N, 4H)
    A = x.dot(Wx) + prev_h.dot(Wh) + b
    gate_in = sigmoid(A[:, :H])
    gate_forget = sigmoid(A[:, H:2 * H])
    gate_out = sigmoid(A[:, 2 * H:3 * H])
    cand = np.tanh(A[:, 3 * H:])
    next_c = gate_forget * prev_c + gate_in * cand
    c_tanh = np.tanh(next_c)
    next_h = gate_out * c_tanh
    cache = {
        'x': x, 'prev_h': prev_h, 'prev_c': prev_c, 'Wx': Wx, 'Wh': Wh,
        'i': gate_in, 'f': gate_forget, 'o': gate_out, 'g': cand,
        'next_c': next_c, 'c_tanh': c_tanh,
    }
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    i, f, o, g = cache['i'], cache['f'], cache['o'], cache['g']
    c_tanh = cache['c_tanh']
    N, H = cache['next_c'].shape
    # y = tanh(x) --> dy/dx = (1 + y) * (1 - y);  y = sigmoid(x) --> dy/dx = y * (1 - y)
    do = dnext_h * c_tanh
    dc_via_h = dnext_h * o * (1 + c_tanh) * (1 - c_tanh)
    dc = dnext_c + dc_via_h
    df = dc * cache['prev_c']
    dprev_c = dc * f
    di = dc * g
    dg = dc * i
    dA = np.zeros((N, 4 * H))
    dA[:, :H] = di * i * (1 - i)
    dA[:, H:2 * H] = df * f * (1 - f)
    dA[:, 2 * H:3 * H] = do * o * (1 - o)
    dA[:, 3 * H:] = dg * (1 + g) * (1 - g)
    dx = dA.dot(cache['Wx'].T)
    dWx = cache['x'].T.dot(dA)
    dprev_h = dA.dot(cache['Wh'].T)
    dWh = cache['prev_h'].T.dot(dA)
    db = np.sum(dA, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h = h0
    prev_c = np.zeros_like(h0)  # initial cell state is zero
    steps = []
    for t, x_t in enumerate(x.transpose(1, 0, 2)):
        next_h, next_c, step_cache = lstm_step_forward(x_t, prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = next_h
        prev_h, prev_c = next_h, next_c
        steps.append(step_cache)
    cache = {'N, T, D, H': (N, T, D, H), 'steps': steps}
    return h, cache


def lstm_backward(dh, cache):
    N, T, D, H = cache['N, T, D, H']
    steps = cache['steps']
    dx = np.zeros((N, T, D))
    # one gradient per time step, summed at the end
    dWx_all = np.zeros((T, D, 4 * H))
    dWh_all = np.zeros((T, H, 4 * H))
    db_all = np.zeros((T, 4 * H))
    for t in reversed(range(T)):
        if t == T - 1:
            dh_t = dh[:, T - 1, :]
            dc_t = np.zeros_like(dh_t)  # nothing reaches the last cell from outside
        else:
            dh_t = dh_t + dh[:, t, :]
        dx[:, t, :], dh_t, dc_t, dWx_all[t], dWh_all[t], db_all[t] = lstm_step_backward(dh_t, dc_t, steps[t])
    dh0 = dh_t
    return dx, dh0, dWx_all.sum(axis=0), dWh_all.sum(axis=0), db_all.sum(axis=0)
