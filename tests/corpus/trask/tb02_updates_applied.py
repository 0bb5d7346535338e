import copy, numpy as np

alpha = 0.1


def sigmoid(x):
    output = 1 / (1 + np.exp(-x))
    return output


def sigmoid_output_to_derivative(output):
    return output * (1 - output)


def layer_2_delta(y, layer_2):
    return (y - layer_2) * sigmoid_output_to_derivative(layer_2)


def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (future_layer_1_delta.dot(synapse_h.T) + layer_2_delta.dot(synapse_1.T)) * \
        sigmoid_output_to_derivative(layer_1)


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    T, B, _ = X.shape
    hidden_dim = synapse_h.shape[0]
    synapse_0_update = np.zeros_like(synapse_0)
    synapse_1_update = np.zeros_like(synapse_1)
    synapse_h_update = np.zeros_like(synapse_h)
    layer_2_deltas = []
    layer_1_values = [np.zeros((B, hidden_dim))]
    for position in range(T):
        layer_1 = sigmoid(np.dot(X[position], synapse_0) + np.dot(layer_1_values[-1], synapse_h))
        layer_2 = sigmoid(np.dot(layer_1, synapse_1))
        layer_2_deltas.append(layer_2_delta(Y[position], layer_2))
        layer_1_values.append(copy.deepcopy(layer_1))
    future_layer_1_delta = np.zeros((B, hidden_dim))
    for position in range(T):
        x = X[T - position - 1]
        layer_1 = layer_1_values[-position - 1]
        prev_layer_1 = layer_1_values[-position - 2]
        l2 = layer_2_deltas[-position - 1]
        l1 = layer_1_delta(future_layer_1_delta, synapse_h, l2, synapse_1, layer_1)
        synapse_1_update += np.atleast_2d(layer_1).T.dot(l2)
        synapse_h_update += np.atleast_2d(prev_layer_1).T.dot(l1)
        synapse_0_update += x.T.dot(l1)
        future_layer_1_delta = l1
    # apply the updates, as the training loop in the post does after each example
    synapse_0 += synapse_0_update * alpha
    synapse_1 += synapse_1_update * alpha
    synapse_h += synapse_h_update * alpha
    return synapse_0_update, synapse_1_update, synapse_h_update
