"""Reference solution for trask (row vectors, sigmoid, Trask's sign convention)."""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_output_to_derivative(output):
    return output * (1 - output)


def layer_2_delta(y, layer_2):
    return (y - layer_2) * sigmoid_output_to_derivative(layer_2)


def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T) * sigmoid_output_to_derivative(layer_1)


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    T, B, _ = X.shape
    H = synapse_h.shape[0]
    layer_1_values = [np.zeros((B, H))]
    layer_2_values = []
    for t in range(T):
        layer_1 = sigmoid(X[t] @ synapse_0 + layer_1_values[-1] @ synapse_h)
        layer_1_values.append(layer_1)
        layer_2_values.append(sigmoid(layer_1 @ synapse_1))
    synapse_0_update = np.zeros_like(synapse_0)
    synapse_1_update = np.zeros_like(synapse_1)
    synapse_h_update = np.zeros_like(synapse_h)
    future = np.zeros((B, H))
    for t in reversed(range(T)):
        l2 = layer_2_delta(Y[t], layer_2_values[t])
        l1 = layer_1_delta(future, synapse_h, l2, synapse_1, layer_1_values[t + 1])
        synapse_1_update += layer_1_values[t + 1].T @ l2
        synapse_h_update += layer_1_values[t].T @ l1
        synapse_0_update += X[t].T @ l1
        future = l1
    return synapse_0_update, synapse_1_update, synapse_h_update
