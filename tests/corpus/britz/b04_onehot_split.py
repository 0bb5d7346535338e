'''
Simple RNN in Numpy (derived from the WildML tutorial).
model structure:
    s_t = tanh(U x_t + W s_{t-1})
    o_t = softmax(V s_t)
'''
import numpy as np


def one_hot(x, word_dim):
    m = np.zeros((len(x), word_dim))
    m[np.arange(len(x)), x] = 1.
    return m


def forward_propagation(x_onehot, U, V, W):
    T = len(x_onehot)
    hidden_dim = W.shape[0]
    s = np.zeros((T + 1, hidden_dim))
    spx = np.zeros((T + 1, hidden_dim))  # spx_t = W.s_{t-1} + U.x_t
    p = np.zeros((T, V.shape[0]))
    o = np.zeros((T, V.shape[0]))
    for t in np.arange(T):
        spx[t] = U.dot(x_onehot[t]) + W.dot(s[t - 1])
        s[t] = np.tanh(spx[t])
        o[t] = V.dot(s[t])
        e = np.exp(o[t] - o[t].max())
        p[t] = e / e.sum()
    return [o, p, s, spx]


def delta_o(o, y):
    dL = 1.
    do = o * dL          # a new array, o itself is left alone
    do[np.arange(len(y)), y] -= 1.
    return do


def delta_t(V, delta_o_t, s_t):
    ds_t = V.T.dot(delta_o_t)           # backward gate o_t = V.s_t
    dspx_t = ds_t * (1 - s_t ** 2)       # backward gate s_t = tanh(spx_t)
    return dspx_t


def delta_t_prev(W, delta_t, s_prev):
    ds_t_minus_1 = W.T.dot(delta_t)      # backward gate spx_t = W.s_{t-1} + U.x_t
    return ds_t_minus_1 * (1 - s_prev ** 2)


def bptt(x, y, U, V, W, bptt_truncate=4):
    T = len(x)
    word_dim = U.shape[1]
    o, p, s, spx = forward_propagation(one_hot(x, word_dim), U, V, W)
    dLdU = np.zeros(U.shape)
    dLdV = np.zeros(V.shape)
    dLdW = np.zeros(W.shape)
    do = delta_o(p, y)
    for t in np.arange(T)[::-1]:
        dLdV += np.outer(do[t], s[t].T)
        dspx_t = delta_t(V, do[t], s[t])
        for bptt_step in np.arange(max(0, t - bptt_truncate), t + 1)[::-1]:
            dLdW += np.outer(dspx_t, s[bptt_step - 1])
            dLdU[:, x[bptt_step]] += dspx_t
            dspx_t = delta_t_prev(W, dspx_t, s[bptt_step - 1])
    return [dLdU, dLdV, dLdW]
