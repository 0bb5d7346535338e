"""cache: the step/cache style of most courses (row vectors, tanh, batch first).

A forward function returns ``(value, cache)``; the cache is the student's
own choice and is *opaque*: it stays in the worker (a handle crosses) and is
only ever handed back to the backward function of the submission that made
it, twice (a cache must survive being used twice). Backward functions are
judged as vector-Jacobian products of the forward functions: of the
grader's forward pass (complex step), and of the student's own forward pass
(central differences, real arithmetic only, through student code).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader import strategies as gs
from grader import terms
from grader.authoring import backward_sequence, forward_value, own_forward_check
from grader.oracles.derivative import vjp
from grader.questions import Assignment, Behaviour, CallSequence, Question, Rows
from grader.strategies import Instance, composite, st

STEP = ("x", "prev_h", "Wx", "Wh", "b")
SEQUENCE = ("x", "h0", "Wx", "Wh", "b")


def _pre(p: dict, prev_h: np.ndarray) -> np.ndarray:
    return p["x"] @ p["Wx"] + prev_h @ p["Wh"] + p["b"][..., None, :]


def step_forward(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                 t: int = 0) -> np.ndarray:
    """``tanh(x @ Wx + prev_h @ Wh + b)``; arguments may carry leading perturbation axes.

    The step (step ``t`` of a sequence) goes through :func:`grader.terms.step` (the wrong programs of
    :mod:`grader.terms`).
    """
    return terms.step(t, _pre, {"x": x, "Wx": Wx, "Wh": Wh, "b": b}, prev_h, np.tanh)


def forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Every hidden state, ``(..., N, T, H)``."""
    h, out = h0, []
    for t in range(x.shape[-2]):
        h = step_forward(x[..., t, :], h, Wx, Wh, b, t)
        out.append(h)
    return np.stack(out, axis=-2)


# -- instances -------------------------------------------------------------------------------------

@composite
def _weights(draw: st.DrawFn, D: int, H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = draw(gs.scale())
    return draw(gs.array((D, H), s)), draw(gs.array((H, H), s)), draw(gs.array((H,), s))


@composite
def _step(draw: st.DrawFn) -> Instance:
    N, D, H = draw(st.integers(1, gs.MAX_BATCH)), draw(st.integers(1, 4)), draw(st.integers(1, gs.MAX_H))
    x, prev_h = draw(gs.array((N, D))), np.tanh(draw(gs.array((N, H), 2.0)))
    return Instance(args=(x, prev_h, *draw(_weights(D, H))), sizes={"N": N, "D": D, "H": H})


@composite
def _step_backward(draw: st.DrawFn) -> Instance:
    inst = draw(_step())
    N, H = inst.sizes["N"], inst.sizes["H"]
    return Instance(args=(*inst.args, draw(gs.array((N, H)))), sizes=inst.sizes)


@composite
def _sequence(draw: st.DrawFn) -> Instance:
    N, T = draw(st.integers(1, gs.MAX_BATCH)), draw(gs.sizes())
    D, H = draw(st.integers(1, 4)), draw(st.integers(1, gs.MAX_H))
    x, h0 = draw(gs.array((N, T, D))), np.tanh(draw(gs.array((N, H), 2.0)))
    return Instance(args=(x, h0, *draw(_weights(D, H))), sizes={"N": N, "T": T, "D": D, "H": H})


@composite
def _sequence_backward(draw: st.DrawFn) -> Instance:
    inst = draw(_sequence())
    N, T, H = inst.sizes["N"], inst.sizes["T"], inst.sizes["H"]
    return Instance(args=(*inst.args, draw(gs.array((N, T, H)))), sizes=inst.sizes)


# -- calling a forward/backward pair: grader.authoring's ------------------------------------------------

def _forward_value(name: str) -> CallSequence:
    """Call a forward function; its value is the first element, its cache stays behind as a handle."""
    return forward_value(name)


def _backward(forward_name: str, name: str) -> CallSequence:
    """Run the student's forward (keeping its cache), then the backward on that cache, twice (once for a
    further call of the contract check's)."""
    return backward_sequence(forward_name, name, STEP)  # five arguments (STEP's or SEQUENCE's), one upstream


# -- truths -------------------------------------------------------------------------------------

def _step_truth(inst: Instance) -> np.ndarray:
    return step_forward(*inst.args)


def _sequence_truth(inst: Instance) -> np.ndarray:
    return forward(*inst.args)


def _step_vjp(inst: Instance) -> tuple[np.ndarray, ...]:
    g = vjp(step_forward, dict(zip(STEP, inst.args[:5])), inst.args[5], STEP)
    return tuple(g[k] for k in STEP)


def _sequence_vjp(inst: Instance) -> tuple[np.ndarray, ...]:
    g = vjp(forward, dict(zip(SEQUENCE, inst.args[:5])), inst.args[5], SEQUENCE)
    return tuple(g[k] for k in SEQUENCE)


# -- the true step functions, for a caller's regrade (grader.stand_ins) -------------------------------

def _true_step_forward(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> tuple:
    """``(next_h, cache)``: the cache holds the step's arguments, which is all the true backward needs."""
    args = tuple(np.asarray(a, dtype=float) for a in (x, prev_h, Wx, Wh, b))
    return step_forward(*args), args


def _true_step_backward(dnext_h: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    if not (isinstance(cache, (tuple, list)) and len(cache) == 5):
        raise TypeError("the cache is not one the true rnn_step_forward made")
    return _step_vjp(Instance(args=(*cache, np.asarray(dnext_h, dtype=float))))


# -- the backward against the student's own forward ---------------------------------------------------

def _own_forward_check(forward_name: str, name: str, names: tuple[str, ...], shapes: list[tuple]) -> Any:
    """Central differences of the student's forward against the student's backward, on fixed instances."""
    return own_forward_check(forward_name, name, names, shapes)


ASSIGNMENT = Assignment(
    name="cache",
    title="What the backward pass must store (step/cache style)",
    source="seed 001: do the previous layers have to be stored for BPTT?",
    questions=(
        Question("rnn_step_forward", 1, STEP, _step, _step_truth, axes={"": ("n", "unit")},
                 rows=Rows({0: 0, 1: 0}), sequence=_forward_value("rnn_step_forward"),
                 stand_in=_true_step_forward, stand_in_with=("rnn_step_backward",),
                 truth_name="the forward pass's output",
                 variants=(
                     {"id": "cache-step-prev-h-ignored", "zeros": "prev_h",
                      "says": "the step with prev_h = 0: the previous state is ignored"},
                     {"id": "cache-step-wh-transposed", "transpose": "Wh",
                      "says": "the step with Wh.T in place of Wh: in row form the step is prev_h @ Wh"},
                     {"id": "cache-step-b-left-out", "zeros": "b", "says": "the step with b = 0: the bias is left out"},
                 )),
        Question("rnn_step_backward", 2, (*STEP, "dnext_h"), _step_backward, _step_vjp,
                 parts=("dx", "dprev_h", "dWx", "dWh", "db"),
                 sequence=_backward("rnn_step_forward", "rnn_step_backward"),
                 needs=("rnn_step_forward",), stand_in=_true_step_backward, stand_in_with=("rnn_step_forward",),
                 variants=(
                     {"id": "cache-missing-tanh-derivative", "scale": "dnext_h",
                      "by": lambda inst: np.cosh(inst.args[0] @ inst.args[2] + inst.args[1] @ inst.args[3]
                                                 + inst.args[4]) ** 2,
                      "says": "the gradient for an upstream dnext_h / (1 - next_h**2): the tanh derivative is left "
                              "out (da = dnext_h * (1 - next_h**2) is what every gradient uses)"},
                     {"terms": {"cur": "next_h", "prev": "prev_h", "W": "Wh", "act": "tanh",
                                "kinds": ("no-derivative-in-weights", "derivative-twice", "recurrent-untransposed",
                                          "state-current")}},
                 ),
                 axes={"dx": ("n", "input"), "dprev_h": ("n", "unit"), "dWx": ("input", "unit"),
                       "dWh": ("from unit", "unit"), "db": ("unit",)},
                 behaviours=(Behaviour("backward matches your own forward", 1, _own_forward_check(
                     "rnn_step_forward", "rnn_step_backward", STEP,
                     [((2, 3), (2, 4), (3, 4), (4, 4), (4,), (2, 4))]), needs_right_values=False),)),
        Question("rnn_forward", 1, SEQUENCE, _sequence, _sequence_truth, axes={"": ("n", "t", "unit")},
                 rows=Rows({0: 0, 1: 0}), sequence=_forward_value("rnn_forward"),
                 truth_name="the forward pass's output",
                 variants=(
                     {"id": "cache-forward-h0-ignored", "zeros": "h0",
                      "says": "the states with h0 = 0: the initial state is ignored"},
                     {"id": "cache-forward-wh-transposed", "transpose": "Wh",
                      "says": "the states with Wh.T in place of Wh: in row form each step is prev_h @ Wh"},
                     {"id": "cache-forward-b-left-out", "zeros": "b",
                      "says": "the states with b = 0: the bias is left out"},
                 )),
        Question("rnn_backward", 4, (*SEQUENCE, "dh"), _sequence_backward, _sequence_vjp,
                 parts=("dx", "dh0", "dWx", "dWh", "db"), sequence=_backward("rnn_forward", "rnn_backward"),
                 needs=("rnn_forward",),
                 variants=(
                     {"id": "cache-upstream-last-step-only", "last_only": ("dh", 1),
                      "says": "the gradient with dh kept only at the last step: dh[:, t, :] must be added at every "
                              "step t, to the gradient coming back from step t + 1"},
                     {"terms": {"state": "h[:, {t}]", "W": "Wh", "act": "tanh", "init": "h0",
                                "kinds": tuple(k.id for k in terms.KINDS if not k.id.startswith("loss-"))}},
                 ),
                 axes={"dx": ("n", "t", "input"), "dh0": ("n", "unit"), "dWx": ("input", "unit"),
                       "dWh": ("from unit", "unit"), "db": ("unit",)},
                 behaviours=(Behaviour("backward matches your own forward", 1, _own_forward_check(
                     "rnn_forward", "rnn_backward", SEQUENCE,
                     [((2, 3, 2), (2, 3), (2, 3), (3, 3), (3,), (2, 3, 3))]), needs_right_values=False),)),
    ),
)
