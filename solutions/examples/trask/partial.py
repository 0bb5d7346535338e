"""trask, unfinished: one function missing, one that raises.

layer_2_delta is defined under another name (layer2_delta), so the grader finds no layer_2_delta;
layer_1_delta calls a helper that was never defined, so every call raises NameError.
sigmoid_output_to_derivative and bptt_updates (which computes its deltas inline) are right.
"""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_output_to_derivative(output):
    return output * (1 - output)


def layer2_delta(y, layer_2):
    return (y - layer_2) * sigmoid_output_to_derivative(layer_2)


def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T) * sigmoid_derivative(layer_1)


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    T, B = X.shape[0], X.shape[1]
    hidden = synapse_h.shape[0]
    layer_1_values = [np.zeros((B, hidden))]
    layer_2_values = []
    for t in range(T):
        layer_1 = sigmoid(X[t] @ synapse_0 + layer_1_values[-1] @ synapse_h)
        layer_1_values.append(layer_1)
        layer_2_values.append(sigmoid(layer_1 @ synapse_1))
    synapse_0_update = np.zeros_like(synapse_0)
    synapse_1_update = np.zeros_like(synapse_1)
    synapse_h_update = np.zeros_like(synapse_h)
    future = np.zeros((B, hidden))
    for t in reversed(range(T)):
        d2 = (Y[t] - layer_2_values[t]) * sigmoid_output_to_derivative(layer_2_values[t])
        d1 = (future @ synapse_h.T + d2 @ synapse_1.T) * sigmoid_output_to_derivative(layer_1_values[t + 1])
        synapse_1_update += layer_1_values[t + 1].T @ d2
        synapse_h_update += layer_1_values[t].T @ d1
        synapse_0_update += X[t].T @ d1
        future = d1
    return synapse_0_update, synapse_1_update, synapse_h_update
