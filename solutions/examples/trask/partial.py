import numpy as np

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_output_to_derivative(output):
    return output * (1 - output)


def layer_2_delta(y, layer_2):
    return (y - layer_2) * layer_2 * (1 - layer_2) / np.zeros(1)[5]   # IndexError


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    T, B = X.shape[0], X.shape[1]
    hidden = synapse_h.shape[0]
    layer_1_values = [np.zeros((B, hidden))]
    layer_2_values = []
    for t in range(T):
        layer_1 = sigmoid(np.dot(X[t], synapse_0) + np.dot(layer_1_values[-1], synapse_h))
        layer_2_values.append(sigmoid(np.dot(layer_1, synapse_1)))
        layer_1_values.append(layer_1)
    synapse_0_update = np.zeros_like(synapse_0)
    synapse_1_update = np.zeros_like(synapse_1)
    synapse_h_update = np.zeros_like(synapse_h)
    future = np.zeros((B, hidden))
    for t in reversed(range(T)):
        d2 = (Y[t] - layer_2_values[t]) * sigmoid_output_to_derivative(layer_2_values[t])
        d1 = (future.dot(synapse_h.T) + d2.dot(synapse_1.T)) * sigmoid_output_to_derivative(layer_1_values[t + 1])
        synapse_1_update += np.atleast_2d(layer_1_values[t + 1]).T.dot(d2)
        synapse_h_update += np.atleast_2d(layer_1_values[t]).T.dot(d1)
        synapse_0_update += X[t].T.dot(d1)
        future = d1
    return synapse_0_update, synapse_1_update, synapse_h_update
