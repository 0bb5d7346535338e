import numpy as np


def bptt_matrix(X, H, h0, dY, Whh, Wyh):
    n_hid, T = H.shape
    d_Wyh = dY @ H.T
    d_by = dY.sum(axis=1)
    d_Whx = np.zeros((n_hid, X.shape[0]))
    d_Whh = np.zeros_like(Whh)
    d_bh = np.zeros(n_hid)
    d_h = np.zeros(n_hid)
    for i in reversed(range(T)):
        h_prev = H[:, i - 1] if i > 0 else h0
        temp = (1 - H[:, i] ** 2) * (Wyh.T @ dY[:, i] + d_h)
        d_bh += temp
        d_Whh = np.outer(temp, h_prev)
        d_Whx += np.outer(temp, X[:, i])
        d_h = Whh.T @ temp
    return {"Whx": d_Whx, "Whh": d_Whh, "Wyh": d_Wyh, "bh": d_bh, "by": d_by}
