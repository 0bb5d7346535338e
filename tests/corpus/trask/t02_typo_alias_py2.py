from __future__ import division, print_function
import numpy as np

np.random.seed(0)
VERBOSE = False


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_ouput_to_derivative(output):
    return output * (1 - output)


# the notebook asks for the correctly spelled name
sigmoid_output_to_derivative = sigmoid_ouput_to_derivative


def layer_2_delta(y, layer_2):
    return (y - layer_2) * sigmoid_ouput_to_derivative(layer_2)


def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    hidden_error = np.dot(future_layer_1_delta, synapse_h.T) + np.dot(layer_2_delta, synapse_1.T)
    return hidden_error * sigmoid_ouput_to_derivative(layer_1)


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    T, B, _ = X.shape
    H = synapse_h.shape[0]
    layer_1_values = [np.zeros((B, H))]   # layer_1_values[t + 1] is the hidden layer at step t
    layer_2_values = []
    for t in range(T):
        layer_1 = sigmoid(np.dot(X[t], synapse_0) + np.dot(layer_1_values[-1], synapse_h))
        layer_1_values.append(layer_1)
        layer_2_values.append(sigmoid(np.dot(layer_1, synapse_1)))
    updates = [np.zeros(synapse_0.shape), np.zeros(synapse_1.shape), np.zeros(synapse_h.shape)]
    future = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        d2 = layer_2_delta(Y[t], layer_2_values[t])
        d1 = layer_1_delta(future, synapse_h, d2, synapse_1, layer_1_values[t + 1])
        updates[0] += np.dot(X[t].T, d1)
        updates[1] += np.dot(layer_1_values[t + 1].T, d2)
        updates[2] += np.dot(layer_1_values[t].T, d1)
        future = d1
    if VERBOSE:
        print("updates:", [u.shape for u in updates])
    return tuple(updates)
