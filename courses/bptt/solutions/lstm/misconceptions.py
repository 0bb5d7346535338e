"""Known mistakes in lstm (they read the reference's cache: (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c))."""

import numpy as np

from grader.authoring import mistake


def _step_back(dnext_h, dnext_c, cache, in_place=False, tanh_derivative=True, forget=True):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    through_h = dnext_h * o * ((1 - tanh_c**2) if tanh_derivative else 1)
    if in_place:
        dnext_c += through_h  # the caller's array changes
        dc = dnext_c
    else:
        dc = dnext_c + through_h
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tanh_c, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)])
    return da @ Wx.T, da @ Wh.T, dc * f if forget else dc, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def _sequence_back(dh, cache, carry_c=True, every_step=True):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx, dWx, dWh, db = np.zeros((N, T, D)), np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        up = dh[:, t, :] if every_step or t == T - 1 else 0
        dc = dprev_c if carry_c else np.zeros((N, H))
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = _step_back(up + dprev_h, dc, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


@mistake("lstm-dnext-c-in-place", "lstm_step_backward", "dnext_c += ... adds into the caller's array",
         """The values are right: the cell state's gradient is dnext_c plus what reaches it through
         next_h = o * tanh(next_c). But dnext_c += ... changes the caller's array; write dc = dnext_c + ... instead
         (lstm_backward, or whoever called, still holds dnext_c and reads it afterwards).""")
def dnext_c_in_place(dnext_h, dnext_c, cache):
    return _step_back(dnext_h, dnext_c, cache, in_place=True)


@mistake("lstm-missing-tanh-c-derivative", "lstm_step_backward", "(1 - tanh(next_c)**2) left out",
         """next_h = o * tanh(next_c), so the gradient next_h sends to the cell state is
         dnext_h * o * (1 - tanh(next_c)**2): the tanh's derivative belongs there, as in a vanilla RNN's step.""")
def missing_tanh_c_derivative(dnext_h, dnext_c, cache):
    return _step_back(dnext_h, dnext_c, cache, tanh_derivative=False)


@mistake("lstm-dprev-c-without-forget-gate", "lstm_step_backward", "dprev_c = dc instead of dc * f",
         """next_c = f * prev_c + i * g, so the previous cell state's gradient is dc * f: the forget gate scales
         what flows back along the cell, exactly as it scales what flows forward.""")
def dprev_c_without_forget(dnext_h, dnext_c, cache):
    return _step_back(dnext_h, dnext_c, cache, forget=False)


@mistake("lstm-cell-gradient-not-carried", "lstm_backward", "the cell state's gradient is not carried back",
         """Step t's cell state feeds step t + 1, so the dnext_c handed to step t's backward is the dprev_c that
         came out of step t + 1's. Passing zeros there keeps only the hidden state's path: the long-range path
         an LSTM exists for is cut.""")
def cell_not_carried(dh, cache):
    return _sequence_back(dh, cache, carry_c=False)


@mistake("lstm-upstream-last-step-only", "lstm_backward", "dh used only at the last step",
         """dh[:, t, :] is the upstream gradient of every hidden state: at each step add it to the dprev_h coming
         back from step t + 1.""")
def last_step_only(dh, cache):
    return _sequence_back(dh, cache, every_step=False)
