"""trask, handed in as a Python file: correct.

Keeps every step's deltas in arrays and sums the updates over time and batch rows with einsum.
"""

import numpy as np


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def sigmoid_output_to_derivative(output):
    return output - output ** 2


def layer_2_delta(y, layer_2):
    return (y - layer_2) * layer_2 * (1 - layer_2)


def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    back = np.dot(future_layer_1_delta, synapse_h.T) + np.dot(layer_2_delta, synapse_1.T)
    return back * layer_1 * (1 - layer_1)


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    T, B, _ = X.shape
    H = synapse_h.shape[1]
    h = np.zeros((T + 1, B, H))  # h[0] is the initial state, h[t + 1] the state after step t
    yhat = np.zeros((T, B, synapse_1.shape[1]))
    for t in range(T):
        h[t + 1] = _sigmoid(X[t] @ synapse_0 + h[t] @ synapse_h)
        yhat[t] = _sigmoid(h[t + 1] @ synapse_1)
    d2 = layer_2_delta(Y, yhat)  # every step at once: (T, B, n_out)
    d1 = np.zeros((T, B, H))
    future = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        d1[t] = layer_1_delta(future, synapse_h, d2[t], synapse_1, h[t + 1])
        future = d1[t]
    return (np.einsum("tbi,tbj->ij", X, d1),       # sum_t X[t].T @ d1[t]
            np.einsum("tbi,tbj->ij", h[1:], d2),   # sum_t h[t].T @ d2[t]
            np.einsum("tbi,tbj->ij", h[:-1], d1))  # sum_t h[t-1].T @ d1[t]
