"""martens: dT keeps only each step's own output error (no Whh.T @ dT[:, i + 1]), and dby is averaged over time."""

import numpy as np


def bptt_matrix(X, H, h0, dY, Whh, Wyh):
    n_hid, T = H.shape
    dH = Wyh.T @ dY
    dT = dH * (1 - H ** 2)  # the error of each step
    H_prev = np.hstack([h0.reshape(-1, 1), H[:, :-1]])
    return {"Whx": dT @ X.T, "Whh": dT @ H_prev.T, "Wyh": dY @ H.T,
            "bh": dT.sum(axis=1), "by": dY.mean(axis=1)}
