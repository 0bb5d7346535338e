"""britz: a word-level tanh RNN with truncated BPTT (Britz's WildML tutorial).

Column vectors; ``s`` has ``T + 1`` rows and its last row, ``s[-1]``, is the
zero initial state, so ``s[t - 1]`` at ``t = 0`` reads it (as the source does).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader import strategies as gs
from grader.oracles.derivative import complex_step_gradient, log_softmax, mv, softmax
from grader.questions import Assignment, Question, Rows
from grader.strategies import Instance


def forward(x: np.ndarray, U: np.ndarray, V: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(o, s)``: softmax outputs ``(T, word_dim)`` and states ``(T + 1, H)`` (``s[-1] = 0``).

    Weights may carry extra leading axes (the derivative oracle's perturbations).
    """
    x = np.asarray(x, dtype=int)
    T, H = len(x), W.shape[-1]
    lead = np.broadcast_shapes(U.shape[:-2], V.shape[:-2], W.shape[:-2])
    s = np.zeros(lead + (T + 1, H), dtype=np.result_type(U, W))
    for t in range(T):
        s[..., t, :] = np.tanh(U[..., :, x[t]] + mv(W, s[..., t - 1, :]))
    return softmax(np.stack([mv(V, s[..., t, :]) for t in range(T)], axis=-2)), s


def surrogate_loss(x: np.ndarray, y: np.ndarray, U: np.ndarray, V: np.ndarray, W: np.ndarray,
                   bptt_truncate: int) -> np.ndarray:
    """The loss whose exact gradient truncated BPTT computes.

    For each output step ``t`` the state ``s[t - bptt_truncate - 1]`` is a
    constant (its real part: a stop-gradient for the complex step); with
    ``bptt_truncate >= T - 1`` this is the plain loss ``-sum_t log o[t, y[t]]``.
    """
    x, y = np.asarray(x, dtype=int), np.asarray(y, dtype=int)
    _, s = forward(x, U, V, W)
    total = 0
    for t in range(len(x)):
        start = max(0, t - bptt_truncate)
        h = np.real(s[..., start - 1, :])  # s[-1] (the zero initial state) when start == 0
        for k in range(start, t + 1):
            h = np.tanh(U[..., :, x[k]] + mv(W, h))
        total = total - log_softmax(mv(V, h))[..., y[t]]
    return total


# -- instances ------------------------------------------------------------------------------

@st.composite
def _outputs(draw: st.DrawFn) -> Instance:
    T, K = draw(gs.sizes()), draw(st.integers(2, gs.MAX_CLASSES))
    z = draw(gs.array((T, K), 3 * draw(gs.scale())))
    return Instance(args=(softmax(z), draw(gs.labels(T, K))), sizes={"T": T, "word_dim": K}, context={"z": z})


@st.composite
def _delta_t(draw: st.DrawFn) -> Instance:
    H, K = draw(st.integers(1, gs.MAX_H)), draw(st.integers(2, gs.MAX_CLASSES))
    s = draw(gs.scale())
    V, z = draw(gs.array((K, H), s)), draw(gs.array((H,), 3 * s))
    delta_o_t = draw(gs.array((K,)))
    return Instance(args=(V, delta_o_t, np.tanh(z)), sizes={"H": H, "word_dim": K}, context={"z": z})


@st.composite
def _delta_t_prev(draw: st.DrawFn) -> Instance:
    H = draw(st.integers(1, gs.MAX_H))
    s = draw(gs.scale())
    W, z, delta = draw(gs.array((H, H), s)), draw(gs.array((H,), 3 * s)), draw(gs.array((H,)))
    return Instance(args=(W, delta, np.tanh(z)), sizes={"H": H}, context={"z": z})


@st.composite
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
    g = complex_step_gradient(lambda p: surrogate_loss(x, y, p["U"], p["V"], p["W"], k),
                              {"U": U, "V": V, "W": W}, ["U", "V", "W"])
    return g["U"], g["V"], g["W"]


ASSIGNMENT = Assignment(
    name="britz",
    title="Truncated BPTT for a word-level RNN (Britz, WildML)",
    source="seed 004: the bptt method of Britz's RNN tutorial",
    questions=(
        Question("delta_o", 1, ("o", "y"), _outputs, _delta_o_truth, axes={"": ("t", "word")},
                 rows=Rows({0: 0, 1: 0})),
        Question("delta_t", 1, ("V", "delta_o_t", "s_t"), _delta_t, _delta_t_truth, axes={"": ("unit",)}),
        Question("delta_t_prev", 1, ("W", "delta_t", "s_prev"), _delta_t_prev, _delta_t_prev_truth,
                 axes={"": ("unit",)}),
        Question("bptt", 4, ("x", "y", "U", "V", "W", "bptt_truncate"), _sequences, _bptt_truth,
                 parts=("dLdU", "dLdV", "dLdW"),
                 axes={"dLdU": ("unit", "word"), "dLdV": ("word", "unit"), "dLdW": ("unit", "from unit")},
                 examples=40),
    ),
)
