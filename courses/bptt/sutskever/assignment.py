"""sutskever: BPTT in a generative sigmoid RNN, the recurrent temporal RBM (Sutskever's thesis, eqs. 3.24-3.25).

A deterministic sigmoid RNN `r_t` sets the hidden biases of a restricted Boltzmann machine over each binary
frame `v_t`. Column vectors; `V (T, n_v)` holds the frames (`V[t-1]` is `v_t`, entries 0.0 or 1.0),
`W (n_h, n_v)`, `W_rec (n_h, n_h)` (the thesis' `W'`), `b_v (n_v,)`, `b_h (n_h,)`, and `r0 (n_h,)`, the
state before the first frame. With `softplus(z) = log(1 + exp(z))`, for `t = 1..T`:

    c_t = b_h + W_rec @ r_{t-1}                 the RBM's hidden bias at step t
    r_t = sigmoid(W @ v_t + c_t)                row t-1 of R
    log P(v_t | r_{t-1}) = b_v . v_t + sum_j softplus(W @ v_t + c_t)_j - log Z(c_t)
    log Z(c) = log of the sum, over every binary u of n_v entries, of exp(b_v . u + sum_j softplus(W @ u + c)_j)
    L = sum over t of log P(v_t | r_{t-1})      the log-likelihood, maximised

Frames are small (`n_v <= 5`: at most 32 to enumerate), so `log Z` and every gradient are exact (no
contrastive divergence). Every gradient is of `L` itself, the ascent direction. Compute `log Z` with the
largest exponent subtracted first (log-sum-exp).
"""

import itertools

import numpy as np

from grader.authoring import (
    Assignment,
    Instance,
    Question,
    array,
    binary,
    composite,
    gradient,
    hidden,
    probabilities,
    scale,
    sigmoid,
    size,
    steps,
)

PARAMS = ("W", "W_rec", "b_v", "b_h", "r0")
ITSELF = lambda args: Instance(args=tuple(args))  # an instance is its arguments: the truth of any call


def _mv(m, v):
    return np.einsum("...ij,...j->...i", m, v)


def softplus(z):
    m = np.maximum(np.real(z), 0)  # a real constant: log(1 + e^z) = m + log(e^-m + e^(z - m)), exactly
    return m + np.log(np.exp(-m) + np.exp(z - m))


def rbm_log_prob(v, W, b_v, c):
    """`log P(v)` of one RBM with hidden bias `c`; the arguments may carry leading axes."""
    n_v = v.shape[-1]
    U = np.array(list(itertools.product((0.0, 1.0), repeat=n_v)))  # every binary frame, (2^n_v, n_v)
    scores = np.einsum("...v,kv->...k", b_v, U) + softplus(np.einsum("...hv,kv->...kh", W, U)
                                                           + c[..., None, :]).sum(axis=-1)
    shift = np.max(np.real(scores), axis=-1, keepdims=True)
    log_z = shift[..., 0] + np.log(np.exp(scores - shift).sum(axis=-1))
    return (b_v * v).sum(axis=-1) + softplus(_mv(W, v) + c).sum(axis=-1) - log_z


def run(V, W, W_rec, b_v, b_h, r0, delta=None):
    """`(L, R)`: the log-likelihood and every `r_t`; `delta[t-1]` is added to `r_t` (a variable of its own)."""
    r, L, R = r0, 0, []
    for t in range(V.shape[-2]):
        c = b_h + _mv(W_rec, r)
        v = V[..., t, :]
        L = L + rbm_log_prob(v, W, b_v, c)
        r = sigmoid(_mv(W, v) + c) + (0 if delta is None else delta[..., t, :])
        R.append(r)
    return L, np.stack(R, axis=-2)


# -- instances -------------------------------------------------------------------------------------

@composite
def _problem(draw):
    T, n_v, n_h = draw(steps(1, 6)), draw(size(1, 5)), draw(hidden(4))
    s = draw(scale())
    V = draw(binary((T, n_v)))
    W, W_rec = draw(array((n_h, n_v), s)), draw(array((n_h, n_h), s))
    b_v, b_h, r0 = draw(array((n_v,), s)), draw(array((n_h,), s)), draw(probabilities((n_h,)))
    return Instance(args=(V, W, W_rec, b_v, b_h, r0), sizes={"T": T, "n_v": n_v, "n_h": n_h})


def _means_instances():
    return _problem().map(lambda p: Instance(args=(p.args[0], p.args[1], p.args[2], p.args[4], p.args[5]),
                                             sizes=p.sizes))


@composite
def _rbm(draw):
    n_v, n_h = draw(size(1, 5)), draw(hidden(4))
    s = draw(scale())
    args = (draw(binary((n_v,))), draw(array((n_h, n_v), s)), draw(array((n_v,), s)), draw(array((n_h,), s)))
    return Instance(args=args, sizes={"n_v": n_v, "n_h": n_h})


def _with_states(p):
    V, W, W_rec, b_v, b_h, r0 = p.args
    return Instance(args=(V, run(*p.args)[1], W, W_rec, b_v, b_h, r0), sizes=p.sizes)


# -- truths ------------------------------------------------------------------------------------------

def _means(inst):
    V, W, W_rec, b_h, r0 = inst.args
    return run(V, W, W_rec, np.zeros(V.shape[-1]), b_h, r0)[1]  # b_v changes L, not R


def _dl_dr(inst):
    V, _, W, W_rec, b_v, b_h, r0 = inst.args
    delta = np.zeros((V.shape[0], W.shape[0]))
    # + 0 * delta: one loss per perturbed copy, also where no r_t reaches L (T = 1)
    (g,) = gradient(lambda delta: run(V, W, W_rec, b_v, b_h, r0, delta)[0] + 0 * delta.sum(axis=(-2, -1)),
                    {"delta": delta}).values()
    return g


ASSIGNMENT = Assignment(
    name="sutskever",
    title="BPTT in a recurrent temporal RBM (Sutskever's thesis, eqs. 3.24-3.25)",
    source="Sutskever's PhD thesis (2013), the RTRBM, eqs. 3.24-3.25: the layer_1_delta question answered",
    questions=(
        Question("hidden_means", 1, ("V", "W", "W_rec", "b_h", "r0"), _means_instances, _means,
                 axes={"": ("t", "unit")}, truth_name="the hidden means of the forward pass", instance_from_args=ITSELF,
                 doc="""Return `R (T, n_h)`, row `t-1` holding `r_t`, from `r0` on."""),
        Question("rbm_log_prob_grad", 2, ("v", "W", "b_v", "c"), _rbm,
                 lambda inst: gradient(rbm_log_prob, dict(zip(("v", "W", "b_v", "c"), inst.args)), ("W", "b_v", "c")),
                 parts=("W", "b_v", "c"), axes={"W": ("unit", "visible"), "b_v": ("visible",), "c": ("unit",)},
                 instance_from_args=ITSELF,
                 doc="""One RBM with hidden bias `c`: return a dict with exactly the keys `"W"`, `"b_v"`, `"c"`,
                 the gradient of `log P(v)` with respect to each (the data's term minus the model's expectation
                 over every binary frame)."""),
        Question("dL_dr", 3, ("V", "R", "W", "W_rec", "b_v", "b_h", "r0"), lambda: _problem().map(_with_states),
                 _dl_dr, axes={"": ("t", "unit")}, instance_from_args=ITSELF,
                 doc="""`R` holds the hidden means (`hidden_means`' result). Return `(T, n_h)`: row `t-1` is the
                 gradient of `L` with respect to `r_t`, through every later step (one backward pass, eq. 3.24).
                 `r_T` influences nothing, so the last row is zero."""),
        Question("rtrbm_gradient", 4, ("V", *PARAMS), _problem,
                 lambda inst: gradient(lambda **p: run(inst.args[0], **p)[0], dict(zip(PARAMS, inst.args[1:]))),
                 parts=PARAMS, axes={"W": ("unit", "visible"), "W_rec": ("unit", "from unit"), "b_v": ("visible",),
                                     "b_h": ("unit",), "r0": ("unit",)},
                 doc="""Return a dict with exactly the keys `"W"`, `"W_rec"`, `"b_v"`, `"b_h"`, `"r0"`: the gradient
                 of `L` with respect to each (eq. 3.25 and its companions), through the recursion."""),
    ),
)
