"""lstm: the step/cache questions again, for a long short-term memory network (row vectors, batch first).

One step takes the input `x (N, D)`, the previous hidden state `prev_h (N, H)` and the previous cell
state `prev_c (N, H)`, with `Wx (D, 4H)`, `Wh (H, 4H)` and `b (4H,)`:

    a      = x @ Wx + prev_h @ Wh + b                    (N, 4H)
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2H]), sigmoid(a[:, 2H:3H])    input, forget, output gates
    g      = tanh(a[:, 3H:])                             the candidate cell
    next_c = f * prev_c + i * g
    next_h = o * tanh(next_c)

A sequence `x (N, T, D)` runs the step for `t = 0..T-1` from `h0 (N, H)` and a zero cell state. Each
forward function returns its values and a cache of your choice; each backward function takes upstream
gradients and that cache, and returns the gradients of `sum(upstream * value)` with respect to every
argument of its forward. Never change an argument: the upstream gradients are the caller's arrays.
"""

import numpy as np

from grader.authoring import (
    Assignment,
    Behaviour,
    Instance,
    Question,
    Rows,
    array,
    backward_sequence,
    batch,
    composite,
    forward_value,
    hidden,
    own_forward_check,
    scale,
    sigmoid,
    size,
    state,
    steps,
    tanh,
    true_pair,
    vjp,
)

STEP = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
SEQUENCE = ("x", "h0", "Wx", "Wh", "b")
GRADS = {"dx": ("n", "input"), "dprev_h": ("n", "unit"), "dprev_c": ("n", "unit"), "dWx": ("input", "gate unit"),
         "dWh": ("from unit", "gate unit"), "db": ("gate unit",)}
VALUES = ("next_h", "next_c")  # what lstm_step_forward returns before its cache
OWN = "backward matches your own forward"


def step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """`(next_h, next_c)`; the arguments may carry leading (perturbation) axes."""
    H = prev_h.shape[-1]
    a = x @ Wx + prev_h @ Wh + b[..., None, :]
    i, f, o = sigmoid(a[..., :H]), sigmoid(a[..., H:2 * H]), sigmoid(a[..., 2 * H:3 * H])
    next_c = f * prev_c + i * tanh(a[..., 3 * H:])
    return o * tanh(next_c), next_c


def forward(x, h0, Wx, Wh, b):
    """Every hidden state, `(..., N, T, H)`; the cell state starts at zero."""
    h, c, out = h0, np.zeros(h0.shape[-2:]), []
    for t in range(x.shape[-2]):
        h, c = step_forward(x[..., t, :], h, c, Wx, Wh, b)
        out.append(h)
    return np.stack(out, axis=-2)


# -- instances -------------------------------------------------------------------------------------

@composite
def _weights(draw, D, H):
    s = draw(scale())  # one scale for every weight: from near-linear gates to saturated ones
    return draw(array((D, 4 * H), s)), draw(array((H, 4 * H), s)), draw(array((4 * H,), s))


@composite
def _step(draw, upstream=False):
    N, D, H = draw(batch()), draw(size(1, 3)), draw(hidden(4))
    args = (draw(array((N, D))), draw(state((N, H))), draw(array((N, H), 2.0)), *draw(_weights(D, H)))
    ups = (draw(array((N, H))), draw(array((N, H)))) if upstream else ()
    return Instance(args=(*args, *ups), sizes={"N": N, "D": D, "H": H})


@composite
def _sequence(draw, upstream=False):
    N, T, D, H = draw(batch()), draw(steps()), draw(size(1, 3)), draw(hidden(4))
    args = (draw(array((N, T, D))), draw(state((N, H))), *draw(_weights(D, H)))
    ups = (draw(array((N, T, H))),) if upstream else ()
    return Instance(args=(*args, *ups), sizes={"N": N, "T": T, "D": D, "H": H})


# -- questions -------------------------------------------------------------------------------------

TRUE_STEP_FORWARD, TRUE_STEP_BACKWARD = true_pair(step_forward, "lstm_step_forward", outputs=2)

ASSIGNMENT = Assignment(
    name="lstm",
    title="The step/cache questions for an LSTM",
    source="the LSTM of most courses after the vanilla RNN, in the step/cache style of cache",
    questions=(
        Question("lstm_step_forward", 1, STEP, _step, lambda inst: step_forward(*inst.args),
                 parts=VALUES, axes={"next_h": ("n", "unit"), "next_c": ("n", "unit")},
                 rows=Rows({0: 0, 1: 0, 2: 0}), sequence=forward_value("lstm_step_forward", VALUES),
                 stand_in=TRUE_STEP_FORWARD, stand_in_with=("lstm_step_backward",),
                 doc="""Compute the gates, `next_c` and `next_h` of one step, and return the tuple
                 `(next_h, next_c, cache)`, with in `cache` whatever your backward pass will need."""),
        Question("lstm_step_backward", 3, (*STEP, "dnext_h", "dnext_c"), lambda: _step(upstream=True),
                 lambda inst: vjp(step_forward, inst.args[:6], inst.args[6:]), parts=tuple(GRADS), axes=GRADS,
                 arguments=("dnext_h", "dnext_c", "cache"),
                 sequence=backward_sequence("lstm_step_forward", "lstm_step_backward", STEP, 2, VALUES),
                 needs=("lstm_step_forward",), stand_in=TRUE_STEP_BACKWARD, stand_in_with=("lstm_step_forward",),
                 behaviours=(Behaviour(OWN, 1, own_forward_check(
                     "lstm_step_forward", "lstm_step_backward", STEP,
                     [((2, 3), (2, 2), (2, 2), (3, 8), (2, 8), (8,), (2, 2), (2, 2))], 2, VALUES),
                     needs_right_values=False),),
                 doc="""`dnext_h` and `dnext_c` are the upstream gradients of `next_h` and `next_c`. The cell
                 state's gradient has two sources: `dnext_c`, and `next_h = o * tanh(next_c)`. Return the tuple
                 `(dx, dprev_h, dprev_c, dWx, dWh, db)`, shaped like `x, prev_h, prev_c, Wx, Wh, b`. Leave
                 `dnext_c` unchanged: `dnext_c += ...` changes the caller's array."""),
        Question("lstm_forward", 1, SEQUENCE, _sequence, lambda inst: forward(*inst.args),
                 axes={"": ("n", "t", "unit")}, rows=Rows({0: 0, 1: 0}), sequence=forward_value("lstm_forward"),
                 doc="""Run the step for `t = 0..T-1` from `h0` and a zero cell state; return `(h, cache)` with
                 `h (N, T, H)` the hidden state after every step, and a cache for every step."""),
        Question("lstm_backward", 4, (*SEQUENCE, "dh"), lambda: _sequence(upstream=True),
                 lambda inst: vjp(forward, inst.args[:5], inst.args[5]), parts=("dx", "dh0", "dWx", "dWh", "db"),
                 axes={"dx": ("n", "t", "input"), "dh0": ("n", "unit"), **{k: GRADS[k] for k in ("dWx", "dWh", "db")}},
                 arguments=("dh", "cache"), sequence=backward_sequence("lstm_forward", "lstm_backward", SEQUENCE),
                 needs=("lstm_forward",),
                 behaviours=(Behaviour(OWN, 1, own_forward_check(
                     "lstm_forward", "lstm_backward", SEQUENCE,
                     [((2, 3, 2), (2, 2), (2, 8), (2, 8), (8,), (2, 3, 2))]), needs_right_values=False),),
                 doc="""`dh (N, T, H)` is the upstream gradient of every hidden state; none arrives at the cell
                 states from outside. Walking back from the last step, carry both the hidden state's and the
                 cell state's gradient into the step before; sum the weight gradients over steps. Return the
                 tuple `(dx, dh0, dWx, dWh, db)`."""),
    ),
)
