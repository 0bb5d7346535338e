import numpy as np


def bptt_matrix(X, H, h0, dY, Whh, Wyh):
    n_in, T = X.shape
    grads = {"Whx": np.zeros((H.shape[0], n_in)), "Whh": np.zeros(Whh.shape),
             "Wyh": np.zeros(Wyh.shape), "bh": np.zeros(H.shape[0]), "by": np.zeros(dY.shape[0])}
    dh_next = np.zeros(H.shape[0])
    for i in range(T - 1, -1, -1):
        h_i = H[:, i]
        h_before = H[:, i - 1] if i > 0 else h0
        grads["Wyh"] += np.outer(dY[:, i], h_i)
        grads["by"] += dY[:, i]
        dh = np.dot(Wyh.T, dY[:, i]) + dh_next
        dt = dh * (1 - h_i * h_i)
        grads["Whx"] += np.outer(dt, X[:, i])
        grads["Whh"] += np.outer(dt, h_before)
        grads["bh"] += dt
        dh_next = np.dot(Whh.T, dt)
    return grads
