"""Known mistakes in the britz assignment (each imitates one graded function)."""

import numpy as np

from grader.diagnose import mistake


@mistake("britz-delta-o-aliasing", "delta_o", "`delta_o = o` changes o",
         """`delta_o = o` does not copy: both names refer to the same array, so `delta_o[...] -= 1` also changes o,
         which the rest of the backward pass still needs. Make a copy first: delta_o = o.copy().""")
def delta_o_aliasing(o, y):
    d = o
    d[np.arange(len(y)), y] -= 1.0
    return d


@mistake("britz-delta-o-last-step-only", "delta_o", "1 subtracted at one step only",
         """The loss has a term at every step, so 1 is subtracted at [t, y[t]] for every t (delta_o[np.arange(T), y]),
         not just at one step.""")
def delta_o_one_step(o, y):
    d = np.array(o, dtype=float)
    d[-1, y[-1]] -= 1.0
    return d


@mistake("britz-missing-tanh-derivative", "delta_t", "the (1 - s_t**2) factor left out",
         """delta_t is dL/dz_t with s_t = tanh(z_t), so the chain rule multiplies by tanh'(z_t) = 1 - s_t**2. Without
         it you have dL/ds_t, the gradient with respect to the state, not the pre-activation.""")
def delta_t_no_derivative(V, delta_o_t, s_t):
    return V.T @ delta_o_t


@mistake("britz-transposed-w", "delta_t_prev", "W where W.T belongs",
         """z_t = ... + W @ s[t-1], so the error goes back through W transposed: W.T @ delta_t. W is square, so W @
         delta_t runs without error and is only wrong in its values (unless W happens to be symmetric).""")
def delta_t_prev_untransposed(W, delta_t, s_prev):
    return W @ delta_t * (1 - s_prev**2)


@mistake("britz-tanh-derivative-wrong-step", "delta_t_prev", "(1 - s**2) of the wrong step",
         """Going one step back, the tanh derivative is that of the *previous* state: (1 - s_prev**2). Using the
         current step's state (here: applying the derivative to delta_t itself) mixes up the steps.""")
def delta_t_prev_wrong_derivative(W, delta_t, s_prev):
    return W.T @ (delta_t * (1 - s_prev**2))


def _forward(x, U, V, W):
    T, H = len(x), W.shape[0]
    s = np.zeros((T + 1, H))
    o = np.zeros((T, V.shape[0]))
    for t in range(T):
        s[t] = np.tanh(U[:, x[t]] + W @ s[t - 1])
        z = V @ s[t]
        e = np.exp(z - z.max())
        o[t] = e / e.sum()
    return o, s


def _bptt(x, y, U, V, W, bptt_truncate=4, *, shift=1, low_offset=0, derivative=True, transpose=True,
          accumulate=True):
    x, y = np.asarray(x, dtype=int), np.asarray(y, dtype=int)
    T = len(y)
    o, s = _forward(x, U, V, W)
    dU, dV, dW = np.zeros(U.shape), np.zeros(V.shape), np.zeros(W.shape)
    d_o = o.copy()
    d_o[np.arange(T), y] -= 1.0
    for t in range(T)[::-1]:
        dV += np.outer(d_o[t], s[t])
        d = V.T @ d_o[t] * ((1 - s[t] ** 2) if derivative else 1)
        for step in range(max(0, t - bptt_truncate + low_offset), t + 1)[::-1]:
            if accumulate:
                dW += np.outer(d, s[step - shift])
                dU[:, x[step]] += d
            else:
                dW = np.outer(d, s[step - shift])
                dU = np.zeros(U.shape)
                dU[:, x[step]] = d
            d = (W.T if transpose else W) @ d * ((1 - s[step - 1] ** 2) if derivative else 1)
    return dU, dV, dW


@mistake("britz-s-t-for-s-t-minus-1", "bptt", "s[t] where s[t-1] belongs in dLdW",
         """W multiplies the *previous* state: z_t = U[:, x[t]] + W @ s[t-1], so each step adds outer(delta, s[t-1])
         to dLdW. Pairing delta with s[t] (the state it produced) uses the wrong step.""")
def bptt_current_state(x, y, U, V, W, bptt_truncate=4):
    return _bptt(x, y, U, V, W, bptt_truncate, shift=0)


@mistake("britz-truncation-off-by-one", "bptt", "truncation one step short",
         """The walk back goes from bptt_step = t down to max(0, t - bptt_truncate) *inclusive*: that is
         bptt_truncate + 1 steps. Stopping one step earlier drops the oldest contribution.""")
def bptt_truncation_short(x, y, U, V, W, bptt_truncate=4):
    return _bptt(x, y, U, V, W, bptt_truncate, low_offset=1)


@mistake("britz-missing-tanh-derivative-bptt", "bptt", "the (1 - s**2) factors left out",
         """Every delta is a gradient with respect to a pre-activation, so each one carries tanh' = 1 - s**2: both
         the first delta at step t and every step back in time.""")
def bptt_no_derivative(x, y, U, V, W, bptt_truncate=4):
    return _bptt(x, y, U, V, W, bptt_truncate, derivative=False)


@mistake("britz-transposed-w-bptt", "bptt", "W where W.T belongs when stepping back",
         """Stepping delta back in time multiplies by W.T (the forward pass multiplies by W). With W the shapes fit
         and only the values are wrong.""")
def bptt_untransposed(x, y, U, V, W, bptt_truncate=4):
    return _bptt(x, y, U, V, W, bptt_truncate, transpose=False)


@mistake("britz-not-summed-over-time", "bptt", "dLdU and dLdW not summed over steps",
         """U and W are shared by every step, so their gradients are sums over all steps (+=). Assigning (=) keeps
         only the last contribution.""")
def bptt_not_summed(x, y, U, V, W, bptt_truncate=4):
    return _bptt(x, y, U, V, W, bptt_truncate, accumulate=False)
