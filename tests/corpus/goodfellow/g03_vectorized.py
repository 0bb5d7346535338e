import numpy as np


def forward(x, h0, b, c, U, V, W):
    h = np.empty((x.shape[0], h0.shape[0]))
    state = h0
    for t in range(x.shape[0]):
        state = np.tanh(b + W @ state + U @ x[t])
        h[t] = state
    o = c + h @ V.T
    o = o - o.max(axis=1, keepdims=True)
    return h, np.exp(o) / np.exp(o).sum(axis=1, keepdims=True)


def softmax_jacobian(y_hat):
    return np.diag(y_hat) - y_hat[:, None] * y_hat[None, :]


def grad_o(y_hat, y):
    onehot = np.eye(y_hat.shape[1])[np.asarray(y)]
    return y_hat - onehot


def grad_h(grad_o, h, V, W):
    g = grad_o @ V            # the direct part V^T grad_o[t], every t at once
    for t in reversed(range(len(h) - 1)):
        g[t] += W.T @ ((1 - h[t + 1] ** 2) * g[t + 1])
    return g


def bptt(x, y, h0, b, c, U, V, W):
    h, y_hat = forward(x, h0, b, c, U, V, W)
    go = grad_o(y_hat, y)
    da = (1 - h ** 2) * grad_h(go, h, V, W)
    h_prev = np.vstack([h0, h[:-1]])
    return {
        "c": go.sum(axis=0),
        "b": da.sum(axis=0),
        "V": np.einsum("tk,th->kh", go, h),
        "W": np.einsum("ti,tj->ij", da, h_prev),
        "U": np.einsum("ti,tj->ij", da, x),
    }
