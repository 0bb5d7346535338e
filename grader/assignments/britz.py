"""britz: a word-level tanh RNN with truncated BPTT (Britz's WildML tutorial).

Column vectors; ``s`` has ``T + 1`` rows and its last row, ``s[-1]``, is the
zero initial state, so ``s[t - 1]`` at ``t = 0`` reads it (as the source does).
"""

from __future__ import annotations

import numpy as np

from grader import strategies as gs
from grader import terms
from grader.oracles.derivative import complex_step_gradient, log_softmax, matmul_t, mv, nll, softmax, tanh
from grader.questions import Assignment, Question, Rows
from grader.strategies import Instance, composite, st


def states(x: np.ndarray, U: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``s``: ``(T + 1, H)``, ``s[t] = tanh(U[:, x[t]] + W @ s[t - 1])``, last row the zero initial state.

    Weights may carry extra leading axes (the derivative oracle's perturbations).
    """
    x = np.asarray(x, dtype=int)
    T, H = len(x), W.shape[-1]
    lead = np.broadcast_shapes(U.shape[:-2], W.shape[:-2])
    s = np.zeros(lead + (T + 1, H), dtype=np.result_type(U, W))
    for t in range(T):
        s[..., t, :] = tanh(U[..., :, x[t]] + mv(W, s[..., t - 1, :]))
    return s


def forward(x: np.ndarray, U: np.ndarray, V: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(o, s)``: softmax outputs ``(T, word_dim)`` and states ``(T + 1, H)`` (``s[-1] = 0``).

    Weights may carry extra leading axes (the derivative oracle's perturbations); ``s``
    has only those of ``U`` and ``W`` (it does not depend on ``V``).
    """
    s = states(x, U, W)
    return softmax(matmul_t(s[..., :len(x), :], V)), s


def surrogate_loss(x: np.ndarray, y: np.ndarray, U: np.ndarray, V: np.ndarray, W: np.ndarray,
                   bptt_truncate: int) -> np.ndarray:
    """The loss whose exact gradient truncated BPTT computes.

    For each output step ``t`` the state ``s[t - bptt_truncate - 1]`` is a
    constant (its real part: a stop-gradient for the complex step), and the
    ``bptt_truncate + 1`` steps after it are run again from that constant;
    with ``bptt_truncate >= T - 1`` this is the plain loss ``-sum_t log o[t, y[t]]``.

    Computed without a loop over ``t``: an output step ``t <= bptt_truncate``
    starts from the zero initial state, so its re-run is the forward pass
    itself (``s[t]``); the later steps' re-runs all take their ``j``-th step
    together, ``bptt_truncate + 1`` vectorised steps in all.
    """
    x, y = np.asarray(x, dtype=int), np.asarray(y, dtype=int)
    if terms.active():
        return _surrogate_by_step(x, y, U, V, W, int(bptt_truncate))
    T = len(x)
    s = states(x, U, W)
    k = min(int(bptt_truncate), T - 1)
    if k < 0:  # no step is run again: every output reads a constant state
        return nll(matmul_t(np.real(s[..., np.arange(T) - k - 1, :]), V), y)
    h = s[..., :k + 1, :]
    later = T - k - 1  # output steps t = k + 1 .. T - 1, which start from s[t - k - 1] = s[0 .. later - 1]
    if later > 0:
        c = np.real(s[..., :later, :])
        for j in range(k + 1):  # step j of every re-run reads the input x[t - k + j]
            c = tanh(np.swapaxes(U[..., :, x[j + 1:j + 1 + later]], -1, -2) + matmul_t(c, W))
        h = np.concatenate([h, np.broadcast_to(c, h.shape[:-2] + c.shape[-2:])], axis=-2)
    return nll(matmul_t(h, V), y)


def _surrogate_by_step(x: np.ndarray, y: np.ndarray, U: np.ndarray, V: np.ndarray, W: np.ndarray,
                       bptt_truncate: int) -> np.ndarray:
    """:func:`surrogate_loss` one output and one step at a time, each through :mod:`grader.terms`
    (its wrong programs): output ``t`` re-runs steps ``t - bptt_truncate .. t`` from the constant state before."""
    T = len(x)
    s = np.real(states(x, U, W))
    k = min(bptt_truncate, T - 1)
    weights, total = {"U": U, "W": W}, 0
    for t in range(T):
        start = t + 1 if k < 0 else max(0, t - k)
        h = s[..., t - k - 1 if k < 0 else start - 1, :]  # s[-1] is the zero initial state
        for j in range(start, t + 1):
            h = terms.step(j, lambda p, h, j=j: p["U"][..., :, x[j]] + mv(p["W"], h), weights, h, tanh)
        z = terms.emit(t, lambda p, h: mv(p["V"], h), {"V": V}, h)
        total = total - log_softmax(z)[..., y[t]]
    return total


# -- instances ------------------------------------------------------------------------------

@composite
def _outputs(draw: st.DrawFn) -> Instance:
    T, K = draw(gs.sizes()), draw(st.integers(2, gs.MAX_CLASSES))
    z = draw(gs.array((T, K), 3 * draw(gs.scale())))
    return Instance(args=(softmax(z), draw(gs.labels(T, K))), sizes={"T": T, "word_dim": K}, context={"z": z})


@composite
def _delta_t(draw: st.DrawFn) -> Instance:
    H, K = draw(st.integers(1, gs.MAX_H)), draw(st.integers(2, gs.MAX_CLASSES))
    s = draw(gs.scale())
    V, z = draw(gs.array((K, H), s)), draw(gs.array((H,), 3 * s))
    delta_o_t = draw(gs.array((K,)))
    return Instance(args=(V, delta_o_t, np.tanh(z)), sizes={"H": H, "word_dim": K}, context={"z": z})


@composite
def _delta_t_prev(draw: st.DrawFn) -> Instance:
    H = draw(st.integers(1, gs.MAX_H))
    s = draw(gs.scale())
    W, z, delta = draw(gs.array((H, H), s)), draw(gs.array((H,), 3 * s)), draw(gs.array((H,)))
    return Instance(args=(W, delta, np.tanh(z)), sizes={"H": H}, context={"z": z})


@composite
def _sequences(draw: st.DrawFn) -> Instance:
    T, H, K = draw(gs.sizes()), draw(st.integers(1, gs.MAX_H)), draw(st.integers(2, gs.MAX_CLASSES))
    s = draw(gs.scale())
    x, y = draw(gs.labels(T, K)), draw(gs.labels(T, K))
    U, V, W = draw(gs.array((H, K), s)), draw(gs.array((K, H), s)), draw(gs.array((H, H), s))
    truncate = draw(st.one_of(st.just(T - 1), st.integers(0, max(0, T - 2)), st.integers(T, T + 3), st.none()))
    sizes = {"T": T, "H": H, "word_dim": K, "bptt_truncate": 4 if truncate is None else truncate}
    args = (x, y, U, V, W) if truncate is None else (x, y, U, V, W, truncate)  # None: the default, 4
    return Instance(args=args, sizes=sizes)


# -- truths ------------------------------------------------------------------------------------

def _delta_o_truth(inst: Instance) -> np.ndarray:
    y = np.asarray(inst.args[1], dtype=int)
    rows = np.arange(len(y))
    return complex_step_gradient(lambda p: -log_softmax(p["z"])[:, rows, y].sum(axis=1),
                                 {"z": inst.context["z"]}, ["z"])["z"]


def _delta_t_truth(inst: Instance) -> np.ndarray:
    V, delta_o_t, _ = inst.args
    return complex_step_gradient(lambda p: mv(V, np.tanh(p["z"])) @ delta_o_t, {"z": inst.context["z"]}, ["z"])["z"]


def _delta_t_prev_truth(inst: Instance) -> np.ndarray:
    W, delta, _ = inst.args
    return complex_step_gradient(lambda p: mv(W, np.tanh(p["z"])) @ delta, {"z": inst.context["z"]}, ["z"])["z"]


def _bptt_truth(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, U, V, W = inst.args[:5]
    k = inst.sizes["bptt_truncate"]
    # U enters the loss only as U[:, x[t]]: the columns of words not in x have a derivative of exactly
    # zero, and need no perturbation (at T = 50, word_dim = 64 that is about 45 % of them).
    used, x_used = np.unique(np.asarray(x, dtype=int), return_inverse=True)
    g = complex_step_gradient(lambda p: surrogate_loss(x_used, y, p["U"], p["V"], p["W"], k),
                              {"U": U[:, used], "V": V, "W": W}, ["U", "V", "W"])
    dU = np.zeros_like(U, dtype=np.float64)
    dU[:, used] = g["U"]
    return dU, g["V"], g["W"]


# -- instances from bare arguments (a helper's truth where the student's bptt calls it) ---------------

def _from_outputs(args: tuple) -> Instance:
    """``delta_o(o, y)``: softmax is unchanged by a shift, so ``log o`` is a pre-activation of ``o``."""
    return Instance(args=args, context={"z": np.log(np.asarray(args[0], dtype=float))})


def _from_state(position: int):
    """The pre-activation of the tanh state at ``position``: ``arctanh(s)``."""
    def rebuild(args: tuple) -> Instance:
        return Instance(args=args, context={"z": np.arctanh(np.asarray(args[position], dtype=float))})

    return rebuild


#: The wrong programs of grader.terms that bptt may be: all but no-recurrence (a walk back of no step is
#: britz-no-walk-back); the zero initial state s[-1] leaves none about an initial state.
BPTT_KINDS = tuple(k.id for k in terms.KINDS if k.id != "no-recurrence")

ASSIGNMENT = Assignment(
    name="britz",
    title="Truncated BPTT for a word-level RNN (Britz, WildML)",
    source="seed 004: the bptt method of Britz's RNN tutorial",
    questions=(
        Question("delta_o", 1, ("o", "y"), _outputs, _delta_o_truth, axes={"": ("t", "word")},
                 rows=Rows({0: 0, 1: 0}), instance_from_args=_from_outputs),
        Question("delta_t", 1, ("V", "delta_o_t", "s_t"), _delta_t, _delta_t_truth, axes={"": ("unit",)},
                 instance_from_args=_from_state(2), activations=(("s_t", "tanh"),)),
        Question("delta_t_prev", 1, ("W", "delta_t", "s_prev"), _delta_t_prev, _delta_t_prev_truth,
                 axes={"": ("unit",)}, instance_from_args=_from_state(2), activations=(("s_prev", "tanh"),),
                 variants=({"id": "britz-w-untransposed", "transpose": "W",
                            "says": "the result for W.T in place of W: W where W.T belongs (the error goes back "
                                    "through W transposed)"},
                           {"derivative_first": ("delta_t", "s_prev"), "what": "the delta"})),
        Question("bptt", 4, ("x", "y", "U", "V", "W", "bptt_truncate"), _sequences, _bptt_truth,
                 parts=("dLdU", "dLdV", "dLdW"),
                 axes={"dLdU": ("unit", "word"), "dLdV": ("word", "unit"), "dLdW": ("unit", "from unit")},
                 examples=40,
                 truth_names=(("T > bptt_truncate + 1",
                               "the truncated BPTT gradient with bptt_truncate = {bptt_truncate}"),),
                 variants=(
                     {"id": "britz-truncation-short", "set": "bptt_truncate", "to": "bptt_truncate - 1",
                      "says": "the truncated BPTT gradient with bptt_truncate one smaller: the walk back stops one "
                              "step short (from t it goes down to max(0, t - bptt_truncate) inclusive, "
                              "bptt_truncate + 1 steps)"},
                     {"id": "britz-truncation-long", "set": "bptt_truncate", "to": "bptt_truncate + 1",
                      "says": "the truncated BPTT gradient with bptt_truncate one larger: the walk back goes one "
                              "step too far (it ends at max(0, t - bptt_truncate), inclusive)"},
                     {"id": "britz-truncation-ignored", "set": "bptt_truncate", "to": "T + 10",
                      "says": "the full gradient, as if bptt_truncate were at least T - 1: the truncation is not "
                              "applied (each output's error is followed back bptt_truncate steps, no further)"},
                     {"id": "britz-truncation-fixed", "set": "bptt_truncate", "to": "4",
                      "says": "the truncated BPTT gradient with bptt_truncate = 4, the default: the bptt_truncate "
                              "it is called with is not used"},
                     {"id": "britz-no-walk-back", "set": "bptt_truncate", "to": "0",
                      "says": "the gradient with bptt_truncate = 0: no output's error is followed back in time "
                              "(the inner loop over earlier steps is missing)"},
                     {"terms": {"state": "s[{t}]", "W": "W", "act": "tanh", "kinds": BPTT_KINDS}},
                 )),
    ),
)
