import copy, numpy as np


# compute sigmoid nonlinearity
def sigmoid(x):
    output = 1 / (1 + np.exp(-x))
    return output


# convert output of sigmoid function to its derivative
def sigmoid_output_to_derivative(output):
    return output * (1 - output)


def layer_2_delta(y, layer_2):
    # did we miss?... if so, by how much?
    layer_2_error = y - layer_2
    return layer_2_error * sigmoid_output_to_derivative(layer_2)


def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    # error at hidden layer: from the future hidden layer and from the current output
    return (future_layer_1_delta.dot(synapse_h.T) + layer_2_delta.dot(synapse_1.T)) * \
        sigmoid_output_to_derivative(layer_1)


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    binary_dim = X.shape[0]
    hidden_dim = synapse_h.shape[0]

    synapse_0_update = np.zeros_like(synapse_0)
    synapse_1_update = np.zeros_like(synapse_1)
    synapse_h_update = np.zeros_like(synapse_h)

    layer_2_deltas = list()
    layer_1_values = list()
    layer_1_values.append(np.zeros((X.shape[1], hidden_dim)))

    # moving along the positions in the binary encoding
    for position in range(binary_dim):
        x = X[position]
        y = Y[position]
        # hidden layer (input ~+ prev_hidden)
        layer_1 = sigmoid(np.dot(x, synapse_0) + np.dot(layer_1_values[-1], synapse_h))
        # output layer (new binary representation)
        layer_2 = sigmoid(np.dot(layer_1, synapse_1))
        layer_2_deltas.append(layer_2_delta(y, layer_2))
        # store hidden layer so we can use it in the next timestep
        layer_1_values.append(copy.deepcopy(layer_1))

    future_layer_1_delta = np.zeros((X.shape[1], hidden_dim))

    for position in range(binary_dim):
        x = X[binary_dim - position - 1]
        layer_1 = layer_1_values[-position - 1]
        prev_layer_1 = layer_1_values[-position - 2]

        # error at output layer
        l2_delta = layer_2_deltas[-position - 1]
        # error at hidden layer
        l1_delta = layer_1_delta(future_layer_1_delta, synapse_h, l2_delta, synapse_1, layer_1)

        # let's update all our weights so we can try again
        synapse_1_update += np.atleast_2d(layer_1).T.dot(l2_delta)
        synapse_h_update += np.atleast_2d(prev_layer_1).T.dot(l1_delta)
        synapse_0_update += x.T.dot(l1_delta)

        future_layer_1_delta = l1_delta

    return synapse_0_update, synapse_1_update, synapse_h_update
