import numpy as np


def bptt_matrix(X, H, h0, dY, Whh, Wyh):
    n_hid, T = H.shape
    dH = Wyh.T @ dY                      # what each h_i gets from its own output
    dT = np.zeros((n_hid, T))            # column i: dE/dt_i
    carry = np.zeros(n_hid)              # what h_i gets from t_{i+1}
    for i in reversed(range(T)):
        dT[:, i] = (dH[:, i] + carry) * (1 - H[:, i] ** 2)
        carry = Whh.T @ dT[:, i]
    H_prev = np.hstack([h0[:, None], H[:, :-1]])   # [h_0, h_1 .. h_{T-1}]
    return {
        "Whx": dT @ X.T,
        "Whh": dT @ H_prev.T,
        "Wyh": dY @ H.T,
        "bh": dT.sum(axis=1),
        "by": dY.sum(axis=1),
    }
