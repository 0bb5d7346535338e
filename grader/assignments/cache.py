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
from grader.diagnose import same_values
from grader.oracles.derivative import CENTRAL_TOL, central_difference_gradient, vjp
from grader.questions import Assignment, Behaviour, CallSequence, Question, Rows
from grader.strategies import Instance, composite, st
from grader.target import Outcome, call_all
from grader.wire import Earlier, Handle

STEP = ("x", "prev_h", "Wx", "Wh", "b")
SEQUENCE = ("x", "h0", "Wx", "Wh", "b")
REPEAT_TOL = CENTRAL_TOL.__class__(rtol=1e-12, atol=1e-14)


def step_forward(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``tanh(x @ Wx + prev_h @ Wh + b)``; arguments may carry leading perturbation axes."""
    return np.tanh(x @ Wx + prev_h @ Wh + b[..., None, :])


def forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Every hidden state, ``(..., N, T, H)``."""
    h, out = h0, []
    for t in range(x.shape[-2]):
        h = step_forward(x[..., t, :], h, Wx, Wh, b)
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


# -- calling a forward/backward pair -------------------------------------------------------------------

def _forward_value(name: str) -> CallSequence:
    """Call a forward function; its value is the first element, its cache stays behind as a handle."""

    def combine(outs: list[Outcome]) -> Outcome:
        (out,) = outs
        if out.ok and not (isinstance(out.value, tuple) and len(out.value) == 2):
            return Outcome(error=f"{name} should return a tuple (value, cache)", stdout=out.stdout)
        if out.ok:
            out.value = out.value[0]
        return out

    return CallSequence(lambda args, kwargs: [(name, args, kwargs, (1,))], combine)


def _backward(forward_name: str, name: str) -> CallSequence:
    """Run the student's forward (keeping its cache), then the backward on that cache, twice (once for a
    further call of the contract check's)."""

    def calls(args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
        # the backward takes the cache the forward just returned (1 and 2 calls back), still in the worker
        return [(forward_name, args[:5], {}, (1,)), (name, [args[5], Earlier(1, 1)], {}, ()),
                (name, [args[5], Earlier(2, 1)], {}, ())]

    def once(args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
        return calls(args, kwargs)[:2]  # a further call: the cache's reuse was checked by the first

    def combine(outs: list[Outcome]) -> Outcome:
        fwd = outs[0]
        if not fwd.ok:
            fwd.error = f"{forward_name} (run first, to make the cache) failed: {fwd.error}"
            return fwd
        if not (isinstance(fwd.value, tuple) and len(fwd.value) == 2 and isinstance(fwd.value[1], Handle)):
            return Outcome(error=f"{forward_name} should return a tuple (value, cache)")
        out = outs[1]
        if not out.ok:
            return out
        again = outs[2] if len(outs) > 2 else out  # two outcomes, the second ok: a further call (``once``)
        if not again.ok or not same_values(out.value, again.value, REPEAT_TOL):
            what = f"raised {again.error}" if not again.ok else "gave a different result"
            return Outcome(error=f"using the same cache a second time {what}: the backward pass must not change "
                                 "its cache (or the arrays in it)", fatal=again.fatal)
        # positions: the forward's arguments keep theirs; the upstream gradient is argument 5 here
        out.mutated = {**fwd.mutated, **{("5" if k == "0" else f"cache {k}"): v for k, v in out.mutated.items()}}
        out.aliased = sorted(set(fwd.aliased) | {5 for i in out.aliased if i == 0})
        return out

    return CallSequence(calls, combine, further=once)


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


# -- the backward against the student's own forward ---------------------------------------------------

def _own_forward_check(forward_name: str, name: str, names: tuple[str, ...], shapes: list[tuple]) -> Any:
    """Central differences of the student's forward against the student's backward, on fixed instances."""

    def run(target: Any) -> tuple[bool, str]:
        rng = np.random.default_rng(7)
        for shape_set in shapes:
            args = [rng.uniform(-1, 1, s) for s in shape_set[:5]]
            upstream = rng.uniform(-1, 1, shape_set[5])
            back = _backward(forward_name, name).run(target, [*args, upstream])
            if not back.ok:
                return False, f"{name} failed: {back.error}"

            def loss(p: dict) -> np.ndarray:  # <upstream, your forward(p)>, one student call per perturbation
                P = max(v.shape[0] for v in p.values())
                forward = _forward_value(forward_name)
                calls = [c for i in range(P)
                         for c in forward.calls([np.array(p[k][min(i, p[k].shape[0] - 1)]) for k in names], {})]
                outs = call_all(target, calls)  # independent calls: sent ahead all at once
                out = np.empty(P)
                for i in range(P):
                    f = forward.combine(outs[i:i + 1]) if i < len(outs) else Outcome(error="not called")
                    if not f.ok:
                        raise ValueError(f"{forward_name} failed: {f.error}")
                    out[i] = float(np.sum(np.asarray(f.value, dtype=float) * upstream))
                return out

            try:
                numeric = central_difference_gradient(loss, dict(zip(names, args)), names)
            except ValueError as e:
                return False, str(e)
            got = back.value
            if not (isinstance(got, (tuple, list)) and len(got) == 5):
                return False, f"{name} should return a tuple of five gradients"
            if all(not np.any(np.asarray(g, dtype=float)) for g in got):
                # the derivative of a forward that ignores its inputs: no backward pass to reward
                return False, (f"every gradient {name} returns is zero; it matches only a {forward_name} that "
                               "ignores its inputs")
            for k, g in zip(names, got):
                g = np.asarray(g, dtype=float)
                if g.shape != numeric[k].shape or not CENTRAL_TOL.close(g, numeric[k]).all():
                    return False, (f"the gradient for {k} is not the derivative of your own {forward_name} "
                                   f"(checked by central differences on shapes {shape_set})")
        return True, f"{name} is the vector-Jacobian product of your own {forward_name}"

    return run


ASSIGNMENT = Assignment(
    name="cache",
    title="What the backward pass must store (step/cache style)",
    source="seed 001: do the previous layers have to be stored for BPTT?",
    questions=(
        Question("rnn_step_forward", 1, STEP, _step, _step_truth, axes={"": ("n", "unit")},
                 rows=Rows({0: 0, 1: 0}), sequence=_forward_value("rnn_step_forward")),
        Question("rnn_step_backward", 2, (*STEP, "dnext_h"), _step_backward, _step_vjp,
                 parts=("dx", "dprev_h", "dWx", "dWh", "db"), sequence=_backward("rnn_step_forward", "rnn_step_backward"), needs=("rnn_step_forward",),
                 axes={"dx": ("n", "input"), "dprev_h": ("n", "unit"), "dWx": ("input", "unit"),
                       "dWh": ("from unit", "unit"), "db": ("unit",)},
                 behaviours=(Behaviour("backward matches your own forward", 1, _own_forward_check(
                     "rnn_step_forward", "rnn_step_backward", STEP,
                     [((2, 3), (2, 4), (3, 4), (4, 4), (4,), (2, 4))]), needs_right_values=False),)),
        Question("rnn_forward", 1, SEQUENCE, _sequence, _sequence_truth, axes={"": ("n", "t", "unit")},
                 rows=Rows({0: 0, 1: 0}), sequence=_forward_value("rnn_forward")),
        Question("rnn_backward", 4, (*SEQUENCE, "dh"), _sequence_backward, _sequence_vjp,
                 parts=("dx", "dh0", "dWx", "dWh", "db"), sequence=_backward("rnn_forward", "rnn_backward"), needs=("rnn_forward",),
                 axes={"dx": ("n", "t", "input"), "dh0": ("n", "unit"), "dWx": ("input", "unit"),
                       "dWh": ("from unit", "unit"), "db": ("unit",)},
                 behaviours=(Behaviour("backward matches your own forward", 1, _own_forward_check(
                     "rnn_forward", "rnn_backward", SEQUENCE,
                     [((2, 3, 2), (2, 3), (2, 3), (3, 3), (3,), (2, 3, 3))]), needs_right_values=False),)),
    ),
)
