import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def forward(X, synapse_0, synapse_1, synapse_h):
    """Run the network over all steps.

    X (T, B, n_in) -> layer_1 (T, B, H): the hidden layer h[t] at every step,
                      layer_2 (T, B, n_out): the output yhat[t] at every step.
    """
    T, B, _ = X.shape
    H = synapse_h.shape[0]
    layer_1 = np.zeros((T, B, H))
    layer_2 = np.zeros((T, B, synapse_1.shape[1]))
    h_prev = np.zeros((B, H))  # h[-1]: the state before the first step
    for t in range(T):
        layer_1[t] = sigmoid(X[t] @ synapse_0 + h_prev @ synapse_h)
        layer_2[t] = sigmoid(layer_1[t] @ synapse_1)
        h_prev = layer_1[t]
    return layer_1, layer_2


def to_bits(n, width=8):
    """Bit t of n at position t: least significant bit first, the order the network reads them."""
    return np.array([(n >> t) & 1 for t in range(width)], dtype=float)


a, b = 3, 5
X_example = np.stack([to_bits(a), to_bits(b)], axis=1)[:, None, :]  # (T=8, B=1, n_in=2)
Y_example = to_bits(a + b)[:, None, None]                            # (8, 1, 1)
rng = np.random.default_rng(0)
synapse_0 = 2 * rng.random((2, 16)) - 1
synapse_1 = 2 * rng.random((16, 1)) - 1
synapse_h = 2 * rng.random((16, 16)) - 1
layer_1_example, layer_2_example = forward(X_example, synapse_0, synapse_1, synapse_h)
print("layer_1:", layer_1_example.shape, " layer_2:", layer_2_example.shape)
print("predicted bits:", (layer_2_example[:, 0, 0] > 0.5).astype(int), " target bits:", Y_example[:, 0, 0].astype(int))
def sigmoid_output_to_derivative(output):
    """The sigmoid's derivative, given the sigmoid's output.

    output: any shape, output = sigmoid(a). Returns d sigmoid / d a, the same shape.
    """
    return output * (1.0 - output)
from grader import check

check("trask", sigmoid_output_to_derivative)
def layer_2_delta(y, layer_2):
    """Trask's output delta: minus dL/d(pre-activation of layer_2) at one step.

    y (B, n_out): targets; layer_2 (B, n_out): outputs. Returns (B, n_out).
    """
    return (y - layer_2) * sigmoid_output_to_derivative(layer_2)
from grader import check

check("trask", layer_2_delta)
def layer_1_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    """Trask's hidden delta: minus dL/d(pre-activation of layer_1) at one step t.

    future_layer_1_delta (B, H): the hidden delta of step t + 1 (zeros after the last step)
    synapse_h (H, H), layer_2_delta (B, n_out): the output delta of step t,
    synapse_1 (H, n_out), layer_1 (B, H): the hidden layer at step t.
    Returns (B, H).
    """
    minus_dL_dh = future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T  # both paths, added
    return minus_dL_dh * sigmoid_output_to_derivative(layer_1)                      # through the sigmoid: times
from grader import check

check("trask", layer_1_delta)
def bptt_updates(X, Y, synapse_0, synapse_1, synapse_h):
    """Minus the gradient of L with respect to each weight matrix, summed over all steps and batch rows.

    X (T, B, n_in), Y (T, B, n_out), synapse_0 (n_in, H), synapse_1 (H, n_out), synapse_h (H, H).
    Returns the tuple (synapse_0_update, synapse_1_update, synapse_h_update), shaped like the synapses.
    """
    T, B, _ = X.shape
    H = synapse_h.shape[0]
    layer_1, layer_2 = forward(X, synapse_0, synapse_1, synapse_h)  # every h[t] is kept: the updates need them
    synapse_0_update = np.zeros(synapse_0.shape)
    synapse_1_update = np.zeros(synapse_1.shape)
    synapse_h_update = np.zeros(synapse_h.shape)
    future = np.zeros((B, H))  # nothing comes back from after the last step
    for t in reversed(range(T)):
        d2 = layer_2_delta(Y[t], layer_2[t])
        d1 = layer_1_delta(future, synapse_h, d2, synapse_1, layer_1[t])
        h_before = layer_1[t - 1] if t > 0 else np.zeros((B, H))  # the state that entered step t
        synapse_1_update += layer_1[t].T @ d2
        synapse_h_update += h_before.T @ d1
        synapse_0_update += X[t].T @ d1
        future = d1
    return [synapse_0_update, synapse_1_update, synapse_h_update]
from grader import check

check("trask", bptt_updates)
from grader import check

check("trask", globals())