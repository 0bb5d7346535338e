"""martens: the shifted state matrix starts with zeros, not h0."""

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
    H_prev = np.hstack([np.zeros((n_hid, 1)), H[:, :-1]])
    return {"Whx": dT @ X.T, "Whh": dT @ H_prev.T, "Wyh": dY @ H.T,
            "bh": dT.sum(axis=1), "by": dY.sum(axis=1)}
