"""Known mistakes in the trask assignment (each imitates one graded function)."""

import numpy as np

from grader.diagnose import mistake


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@mistake("trask-plus-for-times", "layer_1_delta", "`+` where the chain rule multiplies",
         """The sigmoid's derivative multiplies the incoming error: delta = (future_delta @ synapse_h.T +
         layer_2_delta @ synapse_1.T) * layer_1 * (1 - layer_1). Adding it instead (the `+` in a version of this line
         that circulates online) is not the chain rule: each factor of the chain dL/dz = dL/dh * dh/dz is a product.""")
def plus_for_times(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T) + layer_1 * (1 - layer_1)


@mistake("trask-sigmoid-of-output", "sigmoid_output_to_derivative",
         "the derivative applied to the pre-activation formula",
         """sigmoid_output_to_derivative receives the sigmoid's *output* s = sigmoid(z), and the derivative is
         s * (1 - s). Applying sigmoid again, sigmoid(s) * (1 - sigmoid(s)), treats the output as if it were the
         pre-activation z.""")
def sigmoid_of_output(output):
    s = _sigmoid(output)
    return s * (1 - s)


@mistake("trask-sign-convention", "layer_2_delta", "the gradient instead of trask's delta (sign flipped)",
         """In trask's code a delta is the *negative* gradient: (y - layer_2) * layer_2 * (1 - layer_2), so that
         updates are *added* to the weights. (layer_2 - y) * ... is the gradient itself; with it the network
         climbs the loss instead of descending it.""")
def layer_2_gradient_sign(y, layer_2):
    return (layer_2 - y) * layer_2 * (1 - layer_2)


@mistake("trask-transposed-synapse-h", "layer_1_delta", "synapse_h not transposed",
         """The error flows back through synapse_h the opposite way from the forward pass: forward is
         h[t] @ synapse_h, so backward is future_delta @ synapse_h.T. Without the transpose the shapes still fit
         (synapse_h is square), so only the values are wrong.""")
def untransposed_synapse_h(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (future_layer_1_delta @ synapse_h + layer_2_delta @ synapse_1.T) * layer_1 * (1 - layer_1)


@mistake("trask-no-future-delta", "layer_1_delta", "the error from the future step left out",
         """layer_1 at step t feeds both the output at t and the hidden layer at t + 1, so its delta sums both
         errors: future_layer_1_delta @ synapse_h.T is the part that makes this *through time*. Without it the
         network is trained as if each step were on its own.""")
def no_future_delta(future_layer_1_delta, synapse_h, layer_2_delta, synapse_1, layer_1):
    return (layer_2_delta @ synapse_1.T) * layer_1 * (1 - layer_1)


def _forward(X, synapse_0, synapse_1, synapse_h):
    T, B, _ = X.shape
    hs = [np.zeros((B, synapse_h.shape[0]))]
    ys = []
    for t in range(T):
        hs.append(_sigmoid(X[t] @ synapse_0 + hs[-1] @ synapse_h))
        ys.append(_sigmoid(hs[-1] @ synapse_1))
    return hs, ys


def _updates(X, Y, synapse_0, synapse_1, synapse_h, *, sign=1, prev_state=True, carry=True, accumulate=True):
    hs, ys = _forward(X, synapse_0, synapse_1, synapse_h)
    u0, u1, uh = np.zeros_like(synapse_0), np.zeros_like(synapse_1), np.zeros_like(synapse_h)
    future = np.zeros_like(hs[0])
    for t in reversed(range(X.shape[0])):
        l2 = sign * (Y[t] - ys[t]) * ys[t] * (1 - ys[t])
        l1 = ((future @ synapse_h.T if carry else 0) + l2 @ synapse_1.T) * hs[t + 1] * (1 - hs[t + 1])
        h_in = hs[t] if prev_state else hs[t + 1]
        if accumulate or t == X.shape[0] - 1:
            u1 += hs[t + 1].T @ l2
            uh += h_in.T @ l1
            u0 += X[t].T @ l1
        future = l1
    return u0, u1, uh


@mistake("trask-updates-sign", "bptt_updates", "gradients returned instead of updates (sign flipped)",
         """An update is *minus* the gradient, so that adding it to the weights lowers the loss. Returning the
         gradient itself makes training diverge.""")
def updates_sign(X, Y, synapse_0, synapse_1, synapse_h):
    return _updates(X, Y, synapse_0, synapse_1, synapse_h, sign=-1)


@mistake("trask-current-state-for-h", "bptt_updates", "h[t] used where h[t-1] belongs in synapse_h's update",
         """synapse_h multiplies the *previous* hidden state in the forward pass (h[t-1] @ synapse_h), so its update
         at step t is h[t-1].T @ delta[t]. Using h[t] pairs each delta with the wrong state.""")
def current_state_for_h(X, Y, synapse_0, synapse_1, synapse_h):
    return _updates(X, Y, synapse_0, synapse_1, synapse_h, prev_state=False)


@mistake("trask-no-carry", "bptt_updates", "no backpropagation *through time*",
         """Each step's delta must include the delta of the step after it (future_layer_1_delta @ synapse_h.T).
         Dropping it gives every step only its own output error: this is backpropagation without the
         "through time".""")
def no_carry(X, Y, synapse_0, synapse_1, synapse_h):
    return _updates(X, Y, synapse_0, synapse_1, synapse_h, carry=False)


@mistake("trask-not-summed-over-time", "bptt_updates", "updates not summed over time",
         """The same weights are used at every step, so the update is the sum of the contributions of all steps
         (+=). Keeping one step's contribution (= instead of +=, or only the last step) is wrong as soon as T > 1.""")
def not_summed(X, Y, synapse_0, synapse_1, synapse_h):
    return _updates(X, Y, synapse_0, synapse_1, synapse_h, accumulate=False)
