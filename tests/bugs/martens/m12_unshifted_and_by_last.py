"""martens: dWhh from unshifted states, and dby the last column only."""

import numpy as np


def bptt_matrix(X, H, h0, dY, Whh, Wyh):
    n_hid, T = H.shape
    dH = Wyh.T @ dY
    dT = np.zeros((n_hid, T))
    for i in range(T - 1, -1, -1):
        if i == T - 1:
            dT[:, i] = dH[:, i] * (1 - H[:, i] ** 2)
        else:
            dT[:, i] = (dH[:, i] + Whh.T @ dT[:, i + 1]) * (1 - H[:, i] ** 2)
    return {"Whx": dT @ X.T, "Whh": dT @ H.T, "Wyh": dY @ H.T, "bh": dT.sum(axis=1), "by": dY[:, -1]}
