"""Known mistakes in the cache assignment (they read the reference's cache: (x, prev_h, Wx, Wh, next_h))."""

import numpy as np

from grader.diagnose import mistake


def _step_back(dnext_h, cache, derivative=True, transpose=True, sum_b=True):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2) if derivative else dnext_h
    db = da.sum(axis=0) if sum_b else da.mean(axis=0)
    return da @ Wx.T, da @ (Wh.T if transpose else Wh), x.T @ da, prev_h.T @ da, db


def _back(dh, cache, every_step=True, carry=True, accumulate=True, dh0=True, derivative_step=0):
    x0, _, Wx, Wh, _ = cache[0]
    N, T, H = dh.shape
    dx = np.zeros((N, T, x0.shape[1]))
    dWx, dWh, db, dprev = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H), np.zeros((N, H))
    for t in reversed(range(T)):
        up = dh[:, t, :] if every_step or t == T - 1 else 0
        x, prev_h, _, _, next_h = cache[t]
        h_for_derivative = cache[max(t - derivative_step, 0)][4]
        da = (up + (dprev if carry else 0)) * (1 - h_for_derivative**2)
        dx[:, t, :], dprev = da @ Wx.T, da @ Wh.T
        if accumulate:
            dWx, dWh, db = dWx + x.T @ da, dWh + prev_h.T @ da, db + da.sum(axis=0)
        elif t == T - 1:
            dWx, dWh, db = x.T @ da, prev_h.T @ da, da.sum(axis=0)
    return dx, dprev if dh0 else np.zeros((N, H)), dWx, dWh, db


def _overwriting_forward(x, h0, Wx, Wh, b):
    """Keeps one state buffer and overwrites it every step: every cached prev_h is the same array."""
    N, T, _ = x.shape
    h = np.zeros((N, T, Wh.shape[0]))
    state = np.array(h0, dtype=float)
    caches = []
    for t in range(T):
        next_h = np.tanh(x[:, t, :] @ Wx + state @ Wh + b)
        caches.append((x[:, t, :], state, Wx, Wh, next_h))
        state[:] = next_h  # in place: the array just stored in the cache changes too
        h[:, t, :] = next_h
    return h, caches


@mistake("cache-overwritten-state", "rnn_backward", "the cache holds a state that is later overwritten",
         """A cache must keep the values the backward pass needs *as they were* at that step. Storing a reference to
         a buffer that the forward loop then updates in place (state[:] = next_h) leaves every step's cache
         pointing at the final state. Yes, the previous layers must be stored, and stored as copies (or as new
         arrays each step).""", companions={"rnn_forward": _overwriting_forward})
def overwritten_state(dh, cache):
    return _back(dh, cache)


@mistake("cache-missing-tanh-derivative", "rnn_step_backward", "(1 - next_h**2) left out",
         """next_h = tanh(a), so the gradient with respect to the pre-activation a is dnext_h * (1 - next_h**2); every
         weight gradient uses that, not dnext_h itself.""")
def step_no_derivative(dnext_h, cache):
    return _step_back(dnext_h, cache, derivative=False)


@mistake("cache-untransposed-wh", "rnn_step_backward", "dprev_h = da @ Wh instead of da @ Wh.T",
         """The forward pass computes prev_h @ Wh, so the gradient flows back through Wh.T. Wh is square, so the
         mistake runs and only the values are wrong.""")
def step_untransposed(dnext_h, cache):
    return _step_back(dnext_h, cache, transpose=False)


@mistake("cache-bias-averaged", "rnn_step_backward", "db averaged over the batch instead of summed",
         """The bias is added to every row of the batch, so its gradient is the *sum* of the rows' gradients
         (da.sum(axis=0)), like dWx = x.T @ da, which also sums over rows.""")
def step_bias_mean(dnext_h, cache):
    return _step_back(dnext_h, cache, sum_b=False)


@mistake("cache-upstream-last-step-only", "rnn_backward", "dh used only at the last step",
         """dh[:, t, :] is the upstream gradient of every hidden state, because every state feeds a loss term (through
         an output). At each step add dh[:, t, :] to the gradient coming back from step t + 1.""")
def last_step_only(dh, cache):
    return _back(dh, cache, every_step=False)


@mistake("cache-no-carry", "rnn_backward", "the gradient from step t + 1 is not carried back",
         """h[t] feeds step t + 1, so its gradient is dh[:, t, :] plus the dprev_h returned by step t + 1's backward.
         Dropping the carried term makes every step independent: no backpropagation through time.""")
def no_carry(dh, cache):
    return _back(dh, cache, carry=False)


@mistake("cache-not-summed-over-time", "rnn_backward", "weight gradients not summed over time",
         """Wx, Wh and b are shared by every step, so their gradients are sums over t of each step's gradient;
         assigning instead of adding keeps a single step.""")
def not_summed(dh, cache):
    return _back(dh, cache, accumulate=False)


@mistake("cache-h0-ignored", "rnn_backward", "dh0 returned as zeros",
         """h0 feeds the first step, so it has a gradient: the dprev_h that comes out of step 0's backward.""")
def no_dh0(dh, cache):
    return _back(dh, cache, dh0=False)


@mistake("cache-tanh-derivative-wrong-step", "rnn_backward", "(1 - h**2) of the previous step",
         """Step t's pre-activation produced h[t], so its tanh derivative is 1 - h[t]**2; using the previous state's
         values differentiates the wrong step.""")
def wrong_step(dh, cache):
    return _back(dh, cache, derivative_step=1)


@mistake("cache-forward-transposed-wh", "rnn_step_forward", "prev_h @ Wh.T in the forward pass",
         """In row-vector form the step is x @ Wx + prev_h @ Wh + b, with Wh of shape (H, H) mapping the previous state
         (rows) to the next. Transposing it runs (it is square) but computes a different network.""")
def forward_transposed(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh.T + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)
