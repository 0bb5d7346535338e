import numpy as np


def softmax(x):
    xt = np.exp(x - np.max(x))
    return xt / np.sum(xt)


def forward_propagation(x, U, V, W):
    # The total number of time steps
    T = len(x)
    hidden_dim, word_dim = U.shape
    # We add one additional element for the initial hidden, which we set to 0
    s = np.zeros((T + 1, hidden_dim))
    s[-1] = np.zeros(hidden_dim)
    o = np.zeros((T, word_dim))
    for t in np.arange(T):
        # Indexing U by x[t] is the same as multiplying U with a one-hot vector.
        s[t] = np.tanh(U[:, x[t]] + W.dot(s[t - 1]))
        o[t] = softmax(V.dot(s[t]))
    return [o, s]


def delta_o(o, y):
    delta = np.copy(o)
    delta[np.arange(len(y)), y] -= 1.
    return delta


def delta_t(V, delta_o_t, s_t):
    return V.T.dot(delta_o_t) * (1 - (s_t ** 2))


def delta_t_prev(W, delta_t, s_prev):
    return W.T.dot(delta_t) * (1 - s_prev ** 2)


def bptt(x, y, U, V, W, bptt_truncate=4):
    T = len(y)
    # Perform forward propagation
    o, s = forward_propagation(x, U, V, W)
    # We accumulate the gradients in these variables
    dLdU = np.zeros(U.shape)
    dLdV = np.zeros(V.shape)
    dLdW = np.zeros(W.shape)
    delta_o = o
    delta_o[np.arange(len(y)), y] -= 1.
    # For each output backwards...
    for t in np.arange(T)[::-1]:
        dLdV += np.outer(delta_o[t], s[t].T)
        # Initial delta calculation
        delta_t = V.T.dot(delta_o[t]) * (1 - (s[t] ** 2))
        # Backpropagation through time (for at most bptt_truncate steps)
        for bptt_step in np.arange(max(0, t - bptt_truncate), t + 1)[::-1]:
            # print("Backpropagation step t=%d bptt step=%d " % (t, bptt_step))
            dLdW += np.outer(delta_t, s[bptt_step - 1])
            dLdU[:, x[bptt_step]] += delta_t
            # Update delta for next step
            delta_t = W.T.dot(delta_t) * (1 - s[bptt_step - 1] ** 2)
    return [dLdU, dLdV, dLdW]
