# A toy RNN following the "anyone can code an LSTM" post, wrapped in a class
import numpy as np


class RNNModel(object):

    def __init__(self, synapse_0, synapse_1, synapse_h):
        self.synapse_0 = synapse_0
        self.synapse_1 = synapse_1
        self.synapse_h = synapse_h

    @staticmethod
    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    @staticmethod
    def dsigmoid(output):
        return output * (1.0 - output)

    def forward(self, X):
        hidden = [np.zeros((X.shape[1], self.synapse_h.shape[0]))]
        outputs = []
        for t in range(X.shape[0]):
            hidden.append(self.sigmoid(X[t] @ self.synapse_0 + hidden[-1] @ self.synapse_h))
            outputs.append(self.sigmoid(hidden[-1] @ self.synapse_1))
        return hidden, outputs

    def backprop(self, X, Y):
        hidden, outputs = self.forward(X)
        up0 = np.zeros_like(self.synapse_0)
        up1 = np.zeros_like(self.synapse_1)
        uph = np.zeros_like(self.synapse_h)
        future = np.zeros_like(hidden[0])
        for t in reversed(range(X.shape[0])):
            out_delta = (Y[t] - outputs[t]) * self.dsigmoid(outputs[t])
            hid_delta = (future @ self.synapse_h.T + out_delta @ self.synapse_1.T) * self.dsigmoid(hidden[t + 1])
            up1 += hidden[t + 1].T @ out_delta
            uph += hidden[t].T @ hid_delta
            up0 += X[t].T @ hid_delta
            future = hid_delta
        return up0, up1, uph


def sigmoid_output_to_derivative(output):
    return RNNModel.dsigmoid(output)


def layer_2_delta(y, layer_2):
    return (y - layer_2) * RNNModel.dsigmoid(layer_2)


def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T) * RNNModel.dsigmoid(layer_1)


def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    return RNNModel(synapse_0, synapse_1, synapse_h).backprop(X, Y)
