"""Known mistakes in the martens assignment."""

import numpy as np

from grader.diagnose import mistake


def _bptt(X, H, h0, dY, Whh, Wyh, derivative=True, shift=True, use_h0=True, transpose=True, step=0,
          every_output=True, sum_bh=True, sum_by=True):
    T = H.shape[1]
    dH = Wyh.T @ dY
    dT = np.zeros_like(H)
    for i in range(T - 1, -1, -1):
        up = dH[:, i] if every_output or i == T - 1 else 0
        back = ((Whh.T if transpose else Whh) @ dT[:, i + 1]) if i + 1 < T else 0
        j = min(i + step, T - 1)
        dT[:, i] = (up + back) * ((1 - H[:, j] ** 2) if derivative else 1)
    first = h0 if use_h0 else np.zeros_like(h0)
    H_prev = np.column_stack([first, H[:, :-1]]) if shift else H
    return {"Whx": dT @ X.T, "Whh": dT @ H_prev.T, "Wyh": dY @ H.T,
            "bh": dT.sum(axis=1) if sum_bh else dT[:, -1], "by": dY.sum(axis=1) if sum_by else dY[:, -1]}


@mistake("martens-dh-for-dt", "bptt_matrix", "the gradient w.r.t. h used where the one w.r.t. t belongs",
         """Whx, Whh and bh enter through the pre-activation t_i, and h_i = tanh(t_i), so their gradients use
         dT[:, i] = dH[:, i] * (1 - h_i**2). Without the tanh derivative you multiply by the gradient with respect
         to the hidden state h_i instead.""")
def dh_for_dt(X, H, h0, dY, Whh, Wyh):
    return _bptt(X, H, h0, dY, Whh, Wyh, derivative=False)


@mistake("martens-unshifted-states", "bptt_matrix", "dWhh = dT @ H.T (states not shifted)",
         """t_i uses the *previous* state h_{i-1}, so dWhh = dT @ [h0, h_1 .. h_{T-1}].T: the matrix of states shifted
         one column right, with h0 in front. dT @ H.T pairs each step with its own output state.""")
def unshifted(X, H, h0, dY, Whh, Wyh):
    return _bptt(X, H, h0, dY, Whh, Wyh, shift=False)


@mistake("martens-h0-ignored", "bptt_matrix", "h0 left out of dWhh",
         """The first step's pre-activation is Whx x_1 + Whh h0 + bh, so the shifted state matrix starts with h0, not
         with zeros.""")
def no_h0(X, H, h0, dY, Whh, Wyh):
    return _bptt(X, H, h0, dY, Whh, Wyh, use_h0=False)


@mistake("martens-untransposed-whh", "bptt_matrix", "Whh where Whh^T belongs in the recursion",
         """Going back one step multiplies by the transpose of the forward matrix: dH_{i-1} gets Whh^T dT_i. Whh is
         square, so the untransposed product runs and is wrong.""")
def untransposed(X, H, h0, dY, Whh, Wyh):
    return _bptt(X, H, h0, dY, Whh, Wyh, transpose=False)


@mistake("martens-tanh-derivative-wrong-step", "bptt_matrix", "(1 - h**2) of the next step",
         """dT[:, i] needs the derivative of h_i = tanh(t_i), i.e. (1 - h_i**2) of the same column i. Using column
         i + 1 mixes up which step's tanh is being differentiated.""")
def wrong_step(X, H, h0, dY, Whh, Wyh):
    return _bptt(X, H, h0, dY, Whh, Wyh, step=1)


@mistake("martens-upstream-last-step-only", "bptt_matrix", "the output gradient used only at the last step",
         """Every column of dY is the gradient of an output that exists at every step, so Wyh^T dY[:, i] enters at
         every i, not only at the last one.""")
def last_only(X, H, h0, dY, Whh, Wyh):
    return _bptt(X, H, h0, dY, Whh, Wyh, every_output=False)


@mistake("martens-bh-not-summed", "bptt_matrix", "dbh not summed over time",
         """bh is added at every step, so its gradient is the sum of the columns of dT (dT @ 1), not the last
         column.""")
def bh_last(X, H, h0, dY, Whh, Wyh):
    return _bptt(X, H, h0, dY, Whh, Wyh, sum_bh=False)


@mistake("martens-by-not-summed", "bptt_matrix", "dby not summed over time",
         """by is added to every output, so its gradient is the sum of the columns of dY, not the last column.""")
def by_last(X, H, h0, dY, Whh, Wyh):
    return _bptt(X, H, h0, dY, Whh, Wyh, sum_by=False)


@mistake("martens-wyh-transposed", "bptt_matrix", "dWyh = H @ dY.T (transposed)",
         """s_i = Wyh h_i, so dWyh = sum_i dY[:, i] h_i^T = dY @ H.T, of Wyh's shape (n_out, n_hid). H @ dY.T is its
         transpose; it only has the right shape when n_out == n_hid.""")
def wyh_transposed(X, H, h0, dY, Whh, Wyh):
    out = _bptt(X, H, h0, dY, Whh, Wyh)
    out["Wyh"] = H @ dY.T
    return out
