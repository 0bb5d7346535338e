"""trask: bptt_updates returns the gradients (own deltas with the other sign)."""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_output_to_derivative(output):
    return output * (1 - output)


def layer_2_delta(y, layer_2):
    layer_2_error = y - layer_2
    return layer_2_error * sigmoid_output_to_derivative(layer_2)


def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (future_layer_1_delta.dot(synapse_h.T) + layer_2_delta.dot(synapse_1.T)) * \
        sigmoid_output_to_derivative(layer_1)


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    T, B, _ = X.shape
    hidden_dim = synapse_h.shape[0]
    hs = [np.zeros((B, hidden_dim))]
    outs = []
    for t in range(T):
        hs.append(sigmoid(X[t] @ synapse_0 + hs[-1] @ synapse_h))
        outs.append(sigmoid(hs[-1] @ synapse_1))
    g0, g1, gh = np.zeros_like(synapse_0), np.zeros_like(synapse_1), np.zeros_like(synapse_h)
    future = np.zeros((B, hidden_dim))
    for t in reversed(range(T)):
        d2 = (outs[t] - Y[t]) * outs[t] * (1 - outs[t])  # dL/dz2
        d1 = (future @ synapse_h.T + d2 @ synapse_1.T) * hs[t + 1] * (1 - hs[t + 1])
        g1 += hs[t + 1].T @ d2
        gh += hs[t].T @ d1
        g0 += X[t].T @ d1
        future = d1
    return g0, g1, gh
