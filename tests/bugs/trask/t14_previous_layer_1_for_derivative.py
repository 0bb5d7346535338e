"""trask: bptt_updates hands layer_1_delta the previous step's layer_1, so the sigmoid derivative is the wrong step's."""

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
    layer_1_values = [np.zeros((B, hidden_dim))]
    layer_2_values = []
    for position in range(T):
        layer_1 = sigmoid(np.dot(X[position], synapse_0) + np.dot(layer_1_values[-1], synapse_h))
        layer_1_values.append(layer_1)
        layer_2_values.append(sigmoid(np.dot(layer_1, synapse_1)))
    synapse_0_update = np.zeros_like(synapse_0)
    synapse_1_update = np.zeros_like(synapse_1)
    synapse_h_update = np.zeros_like(synapse_h)
    future_layer_1_delta = np.zeros((B, hidden_dim))
    for position in range(T):
        layer_1 = layer_1_values[-position - 1]
        prev_layer_1 = layer_1_values[-position - 2]
        l2_delta = layer_2_delta(Y[-position - 1], layer_2_values[-position - 1])
        l1_delta = layer_1_delta(future_layer_1_delta, synapse_h, l2_delta, synapse_1, prev_layer_1)
        synapse_1_update += layer_1.T.dot(l2_delta)
        synapse_h_update += prev_layer_1.T.dot(l1_delta)
        synapse_0_update += X[-position - 1].T.dot(l1_delta)
        future_layer_1_delta = l1_delta
    return synapse_0_update, synapse_1_update, synapse_h_update
