"""Everything an assignment module needs, in one import: the face of the grader for course authors.

An assignment is one Python module, ``<course>/<name>/assignment.py``, that declares ``ASSIGNMENT``
with what this module offers and nothing else of the grader's:

- the declarations: :class:`Assignment`, :class:`Question`, :class:`Rows`, :class:`Behaviour`,
  :class:`Instance` (and :func:`mistake`, for the instructor's ``misconceptions.py``);
- instances: Hypothesis strategies at the level of shapes (:func:`size`, :func:`steps`,
  :func:`batch`, :func:`hidden`, :func:`scale`, :func:`array`, :func:`state`, :func:`sequence`,
  :func:`labels`, :func:`one_hot`, :func:`binary`, :func:`probabilities`), composed with
  :func:`composite` and :data:`st`;
- true answers from the forward pass: :func:`gradient` (of a loss) and :func:`vjp` (of a forward
  function against an upstream gradient), exact to rounding (complex step), and the analytic
  building blocks that keep a forward pass differentiable that way (:func:`tanh`, :func:`sigmoid`,
  :func:`softmax`, :func:`log_softmax`);
- the step/cache style (a forward returns its values and a cache, a backward takes upstream
  gradients and that cache): :func:`forward_value`, :func:`backward_sequence`,
  :func:`own_forward_check` and :func:`true_pair`, for any number of arguments, values and gradients.

A forward pass given to :func:`gradient` or :func:`vjp` receives every argument with one extra
leading axis (a stack of perturbed copies, or one copy), so it is written for leading axes:
``x @ W`` and ``a[..., :H]`` work as they are, a bias is added as ``b[..., None, :]``, and a sum
names its axes from the end. The same function, called without leading axes, gives the truth.

``bptt-grader new NAME`` writes a working example of such a module (:func:`write_skeleton`), and
``bptt-grader notebook NAME`` the student notebook of one (:func:`build_notebook`);
``docs/authoring.md`` walks from there to a graded class.

Examples
--------
>>> from grader.authoring import Assignment, Question, vjp
>>> import numpy as np
>>> def forward(x, W):
...     return np.tanh(x @ W)
>>> dx, dW = vjp(forward, (np.ones((1, 2)), np.eye(2)), np.ones((1, 2)))
>>> np.round(dx, 4)
array([[0.42, 0.42]])
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grader import diagnose as _diagnose
from grader import strategies as _gs
from grader.diagnose import same_values
from grader.oracles import derivative as _derivative
from grader.oracles.derivative import CENTRAL_TOL, REPEAT_TOL, central_difference_gradient
from grader.questions import Assignment, Behaviour, CallSequence, Question, Rows
from grader.strategies import Instance, st
from grader.target import Outcome, call_all
from grader.wire import Earlier, Handle

__all__ = [
    # declarations
    "Assignment", "Question", "Rows", "Behaviour", "Instance", "mistake",
    # instances
    "st", "composite", "size", "steps", "batch", "hidden", "scale", "array", "state", "sequence", "labels",
    "one_hot", "binary", "probabilities",
    # true answers
    "gradient", "vjp", "tanh", "sigmoid", "softmax", "log_softmax",
    # forward/backward pairs
    "forward_value", "backward_sequence", "own_forward_check", "true_pair",
    # tools
    "write_skeleton", "build_notebook",
]

_COUNT = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count(n: int) -> str:
    return _COUNT[n] if n < len(_COUNT) else str(n)


def mistake(id: str, function: str, name: str, explanation: str,
            companions: Mapping[str, Callable[..., Any]] | None = None) -> Callable[[Callable[..., Any]], Any]:
    """Declare a known wrong way to compute a graded function (in ``solutions/<name>/misconceptions.py``).

    Parameters
    ----------
    id
        A short stable name, shown in results and summaries (``"cache-no-carry"``).
    function
        The graded function it imitates.
    name
        What the mistake is, in a few words (feedback's "This looks like a known mistake: ...").
    explanation
        Why it is wrong and how to write it instead (for the student; whitespace is folded).
    companions
        Other functions of the reference replaced while this mistake is tried (a backward pass that
        reads its own forward's cache).

    Returns
    -------
    callable
        A decorator: the decorated function becomes the :class:`~grader.diagnose.Mistake`, matched when
        it reproduces a student's outcome (values and any changed argument) on every failing instance.

    Examples
    --------
    >>> @mistake("demo-plus", "double", "x + 1 instead of 2 * x", "Doubling is 2 * x.")
    ... def plus_one(x):
    ...     return x + 1
    >>> plus_one.id, plus_one(1)
    ('demo-plus', 2)
    """
    return _diagnose.mistake(id, function, name, explanation, dict(companions) if companions else None)


def composite(draw_instance: Callable[..., Any]) -> Callable[..., Any]:
    """Make a strategy of a function that draws one instance (``hypothesis.strategies.composite``, built lazily).

    ``draw_instance(draw, *args)`` draws sizes first, then arrays of those sizes, and returns an
    :class:`Instance`; extra arguments are the strategy's own (``_step(upstream=True)``).

    Examples
    --------
    >>> from hypothesis import find
    >>> @composite
    ... def pairs(draw):
    ...     n = draw(size(1, 3))
    ...     return Instance(args=(draw(array((n,))), draw(array((n,)))), sizes={"n": n})
    >>> find(pairs(), lambda inst: inst.sizes["n"] == 2).args
    (array([0., 0.]), array([0., 0.]))
    """
    return _gs.composite(draw_instance)


# -- instances ---------------------------------------------------------------------------------------

def size(low: int = 1, high: int = 4) -> Any:
    """A size from ``low`` to ``high``: an input width, a vocabulary, a number of classes.

    Shrinking moves it to ``low``: keep ``low = 1`` wherever the contract allows one.

    Examples
    --------
    >>> size(1, 4)
    integers(min_value=1, max_value=4)
    """
    return st.integers(low, high)


def steps(low: int = 1, high: int = _gs.MAX_T) -> Any:
    """A sequence length ``T`` (default 1 to 8: one step is an edge every loop must handle).

    Examples
    --------
    >>> steps()
    integers(min_value=1, max_value=8)
    """
    return _gs.sizes(high, low_T=low)


def batch(high: int = _gs.MAX_BATCH) -> Any:
    """A number of batch rows ``N``, 1 to 4.

    Examples
    --------
    >>> batch()
    integers(min_value=1, max_value=4)
    """
    return st.integers(1, high)


def hidden(high: int = _gs.MAX_H) -> Any:
    """A number of hidden units ``H``, 1 to 6.

    Examples
    --------
    >>> hidden(3)
    integers(min_value=1, max_value=3)
    """
    return st.integers(1, high)


def scale() -> Any:
    """A weight scale, from near-linear (0.1) to saturating (4.0): draw it once per instance, for every weight.

    Examples
    --------
    >>> scale()
    sampled_from((0.1, 0.6, 1.5, 4.0))
    """
    return _gs.scale()


def array(shape: Sequence[int], scale: float = 1.0) -> Any:
    """A float64 array of ``shape``, every entry drawn on its own from a grid of tenths of ``[-scale, scale]``.

    (No entry is tied to another: a symmetric matrix would hide a transpose.)

    Examples
    --------
    >>> from hypothesis import find
    >>> find(array((2, 2)), lambda a: True)  # the simplest: shrinking goes to zeros
    array([[0., 0.],
           [0., 0.]])
    """
    return _gs.array(tuple(shape), scale)


def state(shape: Sequence[int], scale: float = 2.0) -> Any:
    """A hidden state of ``shape``: ``tanh`` of an :func:`array`, so in ``(-1, 1)`` as a tanh layer's is.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(state((1, 2)), lambda h: h[0, 0] > 0.5)
    array([[0.53704957, 0.        ]])
    """
    return _gs.array(tuple(shape), scale).map(np.tanh)


def sequence(T: int, shape: Sequence[int], scale: float = 1.0, axis: int = 0) -> Any:
    """An :func:`array` of ``T`` steps of ``shape``, time on ``axis`` (``axis=1``: batch first, ``(N, T, D)``).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(sequence(3, (2, 4), axis=1), lambda x: True).shape
    (2, 3, 4)
    """
    full = list(shape)
    full.insert(axis if axis >= 0 else len(full) + 1 + axis, T)
    return _gs.array(tuple(full), scale)


def labels(n: int, classes: int) -> Any:
    """``n`` class indices below ``classes``, as an int array or as a plain list (a function must take both).

    Examples
    --------
    >>> from hypothesis import find
    >>> [int(v) for v in find(labels(3, 5), lambda y: sum(y) >= 2)]
    [0, 0, 2]
    """
    return _gs.labels(n, classes)


def one_hot(n: int, classes: int) -> Any:
    """``n`` one-hot rows of ``classes`` columns, ``(n, classes)`` float64 (each row a drawn label).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(one_hot(2, 3), lambda y: True)
    array([[1., 0., 0.],
           [1., 0., 0.]])
    """
    return st.lists(st.integers(0, classes - 1), min_size=n, max_size=n).map(
        lambda v: np.eye(classes)[np.asarray(v, dtype=np.int64)])


def binary(shape: Sequence[int]) -> Any:
    """An array of 0.0 and 1.0 entries (binary digits, binary frames).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(binary((3,)), lambda v: v.sum() == 2)
    array([0., 1., 1.])
    """
    return _gs.one_hot_targets(tuple(shape))


def probabilities(shape: Sequence[int]) -> Any:
    """Entries in ``[0, 1]``, on a grid of tenths (targets of a sigmoid output need not be 0 or 1).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(probabilities((2,)), lambda p: p.sum() > 1.5)
    array([0.6, 1. ])
    """
    return _gs.probabilities(tuple(shape))


# -- true answers ------------------------------------------------------------------------------------

def _names(function: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(p.name for p in inspect.signature(function).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _primals(function: Callable[..., Any], args: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(args, Mapping):
        return dict(args)
    names = _names(function)
    if len(args) != len(names):
        raise TypeError(f"{function.__name__} takes {len(names)} arguments ({', '.join(names)}), "
                        f"{len(args)} were given")
    return dict(zip(names, args))


def gradient(loss: Callable[..., Any], args: Sequence[Any] | Mapping[str, Any],
             wrt: Sequence[str] | None = None) -> Any:
    """The exact gradient of a scalar ``loss`` of the arguments ``args``, by complex step.

    Parameters
    ----------
    loss
        A forward pass ending in a scalar per copy: called by keyword with every argument carrying one
        leading axis (``P`` perturbed copies or 1), it returns ``P`` values. Written with analytic
        operations only (no ``abs``, comparisons or ``.real``; ``np.real(x)`` stops the gradient).
    args
        The arguments, in ``loss``'s order (a tuple), or by name (a dict).
    wrt
        The names to differentiate with respect to (default: every argument).

    Returns
    -------
    tuple or dict
        A gradient per name of ``wrt``, shaped like its argument: a tuple when ``args`` is a sequence, a
        dict when it is a mapping.

    Examples
    --------
    >>> def loss(w, x):  # 0.5 * |x @ w|^2, one value per leading index
    ...     return 0.5 * ((x @ w) ** 2).sum(axis=(-2, -1))
    >>> gradient(loss, (np.array([[1.0], [2.0]]), np.array([[1.0, 1.0]])), wrt=["w"])
    (array([[3.],
           [3.]]),)
    """
    primals = _primals(loss, args)
    names = tuple(wrt) if wrt is not None else tuple(primals)
    g = _derivative.complex_step_gradient(lambda p: loss(**p), primals, names)
    return {k: g[k] for k in names} if isinstance(args, Mapping) else tuple(g[k] for k in names)


def vjp(forward: Callable[..., Any], args: Sequence[Any] | Mapping[str, Any], upstream: Any,
        wrt: Sequence[str] | None = None) -> Any:
    """The vector-Jacobian product of ``forward`` at ``args``: what a backward function returns.

    The gradient of ``sum(upstream * forward(*args))`` (for a tuple of values, the sum over them of
    each with its own upstream gradient) with respect to each argument, exact to rounding.

    Parameters
    ----------
    forward
        The forward pass, written for leading axes (see the module notes); it returns an array or a
        tuple of arrays.
    args
        Its arguments in order (a tuple: their names come from ``forward``'s signature), or by name.
    upstream
        The upstream gradient of the value, or a tuple of one per value returned (in their order).
    wrt
        The names to differentiate with respect to (default: every argument).

    Returns
    -------
    tuple or dict
        A gradient per name of ``wrt``: a tuple for a sequence of ``args``, a dict for a mapping.

    Examples
    --------
    A forward with two values, each with its upstream gradient:

    >>> def forward(x, w):
    ...     return x * w, x + w
    >>> vjp(forward, (np.array([2.0]), np.array([3.0])), (np.array([1.0]), np.array([10.0])))
    (array([13.]), array([12.]))
    """
    primals = _primals(forward, args)
    names = tuple(wrt) if wrt is not None else tuple(primals)
    cotangent = tuple(upstream) if isinstance(upstream, (tuple, list)) else upstream
    g = _derivative.vjp(forward, primals, cotangent, names)
    return {k: g[k] for k in names} if isinstance(args, Mapping) else tuple(g[k] for k in names)


def tanh(z: Any) -> Any:
    """``np.tanh``, faster on the complex-step inputs :func:`gradient` and :func:`vjp` pass.

    Examples
    --------
    >>> tanh(np.array([0.0, 1.0]))
    array([0.        , 0.76159416])
    """
    return _derivative.tanh(z)


def sigmoid(z: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-z))``, analytic (no clipping, which would stop the complex step).

    Examples
    --------
    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    return _derivative.sigmoid(z)


def softmax(z: Any) -> Any:
    """Softmax over the last axis, shifted by the real part of its maximum (a constant for derivatives).

    Examples
    --------
    >>> softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
    """
    return _derivative.softmax(z)


def log_softmax(z: Any) -> Any:
    """The logarithm of :func:`softmax`, over the last axis, without forming the softmax.

    Examples
    --------
    >>> np.round(log_softmax(np.array([0.0, 0.0])), 4)
    array([-0.6931, -0.6931])
    """
    return _derivative.log_softmax(z)


# -- forward/backward pairs (the step/cache style) ---------------------------------------------------

def _outputs(outputs: Sequence[str] | int) -> tuple[str, ...]:
    return tuple(f"value {i}" for i in range(outputs)) if isinstance(outputs, int) else tuple(outputs)


def forward_value(name: str, outputs: Sequence[str] | int = ("value",)) -> CallSequence:
    """How to call a forward function that returns its values and a cache: the cache stays in the worker.

    Parameters
    ----------
    name
        The forward function.
    outputs
        The names of the values before the cache (``("next_h", "next_c")``: the function returns
        ``(next_h, next_c, cache)``). One value is graded as an array, several as a tuple.

    Returns
    -------
    CallSequence
        For :attr:`Question.sequence`.

    Examples
    --------
    >>> seq = forward_value("rnn_step_forward")
    >>> seq.calls_for(["x", "prev_h"], {})
    [('rnn_step_forward', ['x', 'prev_h'], {}, (1,))]
    """
    names = _outputs(outputs)
    n = len(names)
    shape = f"({', '.join((*names, 'cache'))})"

    def combine(outs: list[Outcome]) -> Outcome:
        (out,) = outs
        if out.ok and not (isinstance(out.value, tuple) and len(out.value) == n + 1):
            return Outcome(error=f"{name} should return a tuple {shape}", stdout=out.stdout)
        if out.ok:
            out.value = out.value[0] if n == 1 else tuple(out.value[:n])
        return out

    return CallSequence(lambda args, kwargs: [(name, args, kwargs, (n,))], combine)


def backward_sequence(forward: str, name: str, signature: Sequence[str], upstream: Sequence[str] | int = 1,
                      outputs: Sequence[str] | int = ("value",)) -> CallSequence:
    """How to call a backward function: the student's forward first (its cache kept), then the backward on
    that cache, twice (a backward must not change its cache); once for a further call of the contract's.

    The question's instance holds the forward's arguments, then the upstream gradients: its
    ``signature`` is ``(*signature, *upstream)``; the backward is called as ``name(*upstream, cache)``.

    Parameters
    ----------
    forward, name
        The forward function and the backward function.
    signature
        The forward's argument names, in order.
    upstream
        The upstream gradients' names (or their number), one per value of the forward's.
    outputs
        The forward's values before its cache, as in :func:`forward_value`.

    Returns
    -------
    CallSequence
        For :attr:`Question.sequence`; arguments the calls modify are named by their place in the
        question's signature (an upstream gradient) or as ``cache ...``.

    Examples
    --------
    >>> seq = backward_sequence("f", "f_backward", ("x", "w"), ("dout",))
    >>> [call[0] for call in seq.calls_for(["x", "w", "dout"], {})]
    ['f', 'f_backward', 'f_backward']
    """
    n_args, n_out = len(signature), len(_outputs(outputs))
    n_up = upstream if isinstance(upstream, int) else len(upstream)
    shape = f"({', '.join((*_outputs(outputs), 'cache'))})"

    def calls(args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
        # the backward takes the cache the forward just returned (1 and 2 calls back), still in the worker
        up = args[n_args:n_args + n_up]
        return [(forward, args[:n_args], {}, (n_out,)), (name, [*up, Earlier(1, n_out)], {}, ()),
                (name, [*up, Earlier(2, n_out)], {}, ())]

    def once(args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
        return calls(args, kwargs)[:2]  # a further call: the cache's reuse was checked by the first

    def combine(outs: list[Outcome]) -> Outcome:
        return _backward_outcome(outs, forward, shape, n_args, n_out, n_up)

    return CallSequence(calls, combine, further=once)


def _backward_outcome(outs: list[Outcome], forward: str, shape: str, n_args: int, n_out: int, n_up: int) -> Outcome:
    """The backward's outcome from a forward, a backward and (on a first call) the backward again on the cache."""
    fwd = outs[0]
    if not fwd.ok:
        # "rnn_step_forward, run first to make the cache, raised NotImplementedError: ..." (its own exception),
        # "... failed: did not return within 5 s" (a hang, a missing function)
        verb = "raised" if fwd.traceback and not fwd.fatal else "failed:"
        fwd.error = f"{forward}, run first to make the cache, {verb} {fwd.error}"
        fwd.named = True
        return fwd
    if not (isinstance(fwd.value, tuple) and len(fwd.value) == n_out + 1 and isinstance(fwd.value[n_out], Handle)):
        return Outcome(error=f"{forward} should return a tuple {shape}")
    out = outs[1]
    if not out.ok:
        return out
    again = outs[2] if len(outs) > 2 else out  # two outcomes, the second ok: a further call (``once``)
    if not again.ok or not same_values(out.value, again.value, REPEAT_TOL):
        what = f"raised {again.error}" if not again.ok else "gave a different result"
        return Outcome(error=f"using the same cache a second time {what}: the backward pass must not change "
                             "its cache (or the arrays in it)", fatal=again.fatal, named=True)
    # positions: the forward's arguments keep theirs; the upstream gradients follow them
    out.mutated = {**fwd.mutated, **{(str(n_args + int(k)) if k.isdigit() and int(k) < n_up else "cache"): v
                                     for k, v in out.mutated.items()}}
    out.aliased = sorted(set(fwd.aliased) | {n_args + i for i in out.aliased if i < n_up})
    return out


class _TooCoarse(Exception):
    """The student's forward returns float32 or coarser: its central differences are rounding noise."""


def _coarser_than_float64(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and dtype.kind == "f" and dtype.itemsize < 8


def own_forward_check(forward: str, name: str, signature: Sequence[str], shapes: Sequence[Sequence[tuple]],
                      upstream: Sequence[str] | int = 1, outputs: Sequence[str] | int = ("value",),
                      wrt: Sequence[str] | None = None) -> Callable[[Any], tuple[bool, str]]:
    """A behaviour's ``run``: the student's backward is the vector-Jacobian product of the student's *own*
    forward, measured by central differences through the student's code on fixed random instances.

    Parameters
    ----------
    forward, name, signature, upstream, outputs
        As in :func:`backward_sequence`.
    shapes
        Instances to try, each a list of shapes: the forward's arguments', then the upstream gradients'.
    wrt
        The arguments the backward returns gradients for, in its order (default: all of ``signature``).

    Returns
    -------
    callable
        ``run(target) -> (passed, explanation)``, for
        ``Behaviour("backward matches your own forward", 1, run, needs_right_values=False)``.

    Examples
    --------
    >>> run = own_forward_check("f", "f_backward", ("x", "w"), [((2, 3), (3, 4), (2, 4))])
    >>> callable(run)
    True
    """
    names = tuple(signature)
    grads = tuple(wrt) if wrt is not None else names
    n_args, n_up = len(names), upstream if isinstance(upstream, int) else len(upstream)
    sequence = backward_sequence(forward, name, names, n_up, outputs)

    def run(target: Any) -> tuple[bool, str]:
        rng = np.random.default_rng(7)
        for shape_set in shapes:
            args = [rng.uniform(-1, 1, s) for s in shape_set[:n_args]]
            ups = [rng.uniform(-1, 1, s) for s in shape_set[n_args:n_args + n_up]]
            back = sequence.run(target, [*args, *ups])
            if not back.ok:
                return False, f"{name} failed: {back.error}"
            loss = _upstream_loss(target, forward, outputs, names, ups)
            try:
                numeric = central_difference_gradient(loss, dict(zip(names, args)), grads)
            except _TooCoarse as e:  # its rounding swamps any difference quotient: the contract check names it
                return True, (f"not judged: {e}, too coarse to differentiate numerically (the contract check "
                              "says what to return instead)")
            except ValueError as e:
                return False, str(e)
            problem = _not_the_vjp(back.value, numeric, grads, name, forward, shape_set)
            if problem:
                return False, problem
        return True, f"{name} is the vector-Jacobian product of your own {forward}"

    return run


def _upstream_loss(target: Any, forward: str, outputs: Sequence[str] | int, names: tuple[str, ...],
                   ups: list[np.ndarray]) -> Callable[[dict], np.ndarray]:
    """``p -> <upstream, the student's forward(p)>``, for each of the stacked points ``p`` holds."""
    n_out = len(_outputs(outputs))
    value = forward_value(forward, outputs)

    def loss(p: dict) -> np.ndarray:
        P = max(v.shape[0] for v in p.values())
        points = [[np.array(p[k][min(i, p[k].shape[0] - 1)]) for k in names] for i in range(P)]
        calls = [c for point in points for c in value.calls(point, {})]
        outs = call_all(target, calls)  # independent calls: sent ahead all at once
        out = np.empty(P)
        for i in range(P):
            f = value.combine(outs[i:i + 1]) if i < len(outs) else Outcome(error="not called")
            if not f.ok:
                raise ValueError(f"{forward} failed: {f.error}")
            values = (f.value,) if n_out == 1 else tuple(f.value)
            if any(_coarser_than_float64(v) for v in values):
                raise _TooCoarse(f"{forward} returns {np.asarray(values[0]).dtype}")
            out[i] = float(sum(np.sum(np.asarray(v, dtype=float) * u) for v, u in zip(values, ups)))
        return out

    return loss


def _not_the_vjp(got: Any, numeric: dict[str, np.ndarray], grads: tuple[str, ...], name: str, forward: str,
                 shape_set: Sequence[tuple]) -> str | None:
    """Why the backward's gradients are not the central differences of the student's forward, or ``None``."""
    if not (isinstance(got, (tuple, list)) and len(got) == len(grads)):
        return f"{name} should return a tuple of {_count(len(grads))} gradients"
    if all(not np.any(np.asarray(g, dtype=float)) for g in got):
        # the derivative of a forward that ignores its inputs: no backward pass to reward
        return f"every gradient {name} returns is zero; it matches only a {forward} that ignores its inputs"
    for k, g in zip(grads, got):
        g = np.asarray(g, dtype=float)
        if g.shape != numeric[k].shape or not CENTRAL_TOL.close(g, numeric[k]).all():
            return (f"the gradient for {k} is not the derivative of your own {forward} "
                    f"(checked by central differences on shapes {shape_set})")
    return None


def true_pair(forward_pass: Callable[..., Any], forward: str, outputs: int = 1,
              ) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The true forward and backward functions of a pair, to stand in for the student's (``Question.stand_in``).

    When a student's function calls their own wrong step functions (``rnn_backward`` calling
    ``rnn_step_backward``), it is graded again with these in their place (:mod:`grader.stand_ins`);
    both of a pair are replaced together (``stand_in_with``), since the true backward reads only
    the true forward's cache: the forward's arguments.

    Parameters
    ----------
    forward_pass
        The grader's forward pass of the step (its values, without a cache).
    forward
        The student's name for the forward function (for the error on a foreign cache).
    outputs
        How many values the forward returns before its cache.

    Returns
    -------
    (callable, callable)
        ``forward(*args) -> (*values, cache)`` and ``backward(*upstream, cache) -> gradients``.

    Examples
    --------
    >>> def step(x, w):
    ...     return np.tanh(x * w)
    >>> f, b = true_pair(step, "step_forward")
    >>> value, cache = f(np.array([0.0]), np.array([2.0]))
    >>> b(np.array([1.0]), cache)
    (array([2.]), array([0.]))
    """
    n = len(_names(forward_pass))

    def true_forward(*args: Any) -> tuple:
        arrays = tuple(np.asarray(a, dtype=float) for a in args)
        values = forward_pass(*arrays)
        return (*(values if outputs > 1 else (values,)), arrays)

    def true_backward(*args: Any) -> tuple[np.ndarray, ...]:
        *up, cache = args
        if not (isinstance(cache, (tuple, list)) and len(cache) == n):
            raise TypeError(f"the cache is not one the true {forward} made")
        ups = tuple(np.asarray(u, dtype=float) for u in up)
        return vjp(forward_pass, tuple(cache), ups if len(ups) > 1 else ups[0])

    return true_forward, true_backward


# -- tools: a course assignment's skeleton, and its student notebook -------------------------------------

SKELETON = '''"""NAME: one step of a tanh layer, backward (replace this text: it opens the student notebook).

A layer computes `h = tanh(x @ W + b)` for a batch of `N` rows: `x (N, D)`, `W (D, H)`, `b (H,)`.
Its backward pass takes the upstream gradient `dh (N, H)` of some loss with respect to `h`, and
returns the gradients of that loss with respect to `x`, `W` and `b`.
"""

from grader.authoring import Assignment, Instance, Question, array, batch, composite, hidden, scale, size, tanh, vjp

ARGS = ("x", "W", "b")


def forward(x, W, b):
    """The forward pass, `tanh(x @ W + b)`: yours goes here.

    Written for leading axes (the grader differentiates it on a stack of perturbed copies): the bias is
    added as `b[..., None, :]`. Use analytic operations (tanh, sigmoid, exp, @): no abs or comparisons.
    """
    return tanh(x @ W + b[..., None, :])


@composite
def _instances(draw):
    N, D, H = draw(batch()), draw(size(1, 4)), draw(hidden())
    s = draw(scale())  # one weight scale per instance, from near-linear to saturated
    x, W, b = draw(array((N, D))), draw(array((D, H), s)), draw(array((H,), s))
    return Instance(args=(x, W, b, draw(array((N, H)))), sizes={"N": N, "D": D, "H": H})


def _truth(instance):
    x, W, b, dh = instance.args
    return vjp(forward, (x, W, b), dh)


ASSIGNMENT = Assignment(
    name="NAME",
    title="One step of a tanh layer, backward",
    source="replace: where the notation comes from",
    questions=(
        Question("layer_backward", 2, (*ARGS, "dh"), _instances, _truth, parts=("dx", "dW", "db"),
                 axes={"dx": ("n", "input"), "dW": ("input", "unit"), "db": ("unit",)},
                 doc="""With `a = x @ W + b` and `h = tanh(a)`, the gradient reaching `a` is
                 `da = dh * (1 - h**2)`. Return the tuple `(dx, dW, db)`, shaped like `x`, `W` and `b`."""),
    ),
)
'''

SKELETON_REFERENCE = '''"""The reference solution of NAME (instructor only: never give this folder to students)."""

import numpy as np


def layer_backward(x, W, b, dh):
    h = np.tanh(x @ W + b)
    da = dh * (1 - h**2)  # the gradient reaching the pre-activation
    return da @ W.T, x.T @ da, da.sum(axis=0)
'''

SKELETON_MISCONCEPTIONS = '''"""Known mistakes in NAME: each computes a graded function the wrong way a student would.

`bptt-grader validate NAME` checks that each one fails a check and is diagnosed as itself; feedback
names the one a student's function reproduces, with its explanation.
"""

from grader.authoring import mistake


@mistake("NAME-missing-tanh-derivative", "layer_backward", "(1 - h**2) left out",
         """h = tanh(a), so the gradient reaching a is dh * (1 - h**2); every gradient (dx, dW, db) is computed
         from that, not from dh itself.""")
def missing_tanh_derivative(x, W, b, dh):
    return dh @ W.T, x.T @ dh, dh.sum(axis=0)
'''

COURSE_FILE_TEXT = '''# bptt-grader finds this course's assignments here when run from this folder
# (or pass --assignments DIR, or set BPTT_GRADER_ASSIGNMENTS).
assignments = ["."]
'''


#: The course folder's ``.gitignore``: what the commands write there. Not ``solutions/``: the course folder is
#: the instructor's (private) repository (docs/authoring.md).
COURSE_GITIGNORE = """# What bptt-grader's commands write in a course folder: keep it out of git.
# Results, shards and copies of students' work (names, grades: personal data)
results/
out/
shards/
submissions/
handout/
# Autograders: the Gradescope zip and ag/, and otter's folders (their master/ holds the solutions)
*.zip
ag/
otter-*/
# Rosters and gradebook files (students' names and grades)
roster.csv
canvas*.csv
moodle*.csv
*-report.txt
# Hypothesis' files, should any tool write them here
.hypothesis/
# This folder is meant as your private repository, with the reference solutions in it. If it is public,
# keep solutions/ in a private repository instead, and uncomment this line:
# solutions/
"""


def write_skeleton(name: str, course: str | Path = ".") -> list[Path]:
    """Write a course assignment's folders: a working example to start from (``bptt-grader new``).

    ``<course>/<name>/assignment.py`` (the public part: a forward pass and one question),
    ``<course>/solutions/<name>/reference.py`` and ``misconceptions.py`` (the instructor's part), and
    ``<course>/bptt-course.toml`` and ``<course>/.gitignore`` (:data:`COURSE_GITIGNORE`) when there are
    none. As written, it passes ``bptt-grader validate``.

    Parameters
    ----------
    name
        The assignment's name: lower-case letters, digits and underscores, starting with a letter.
    course
        The course folder (made if needed).

    Returns
    -------
    list of Path
        The files written. Nothing is overwritten: an existing file is an error, before anything is written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [str(p.relative_to(d)) for p in write_skeleton("demo", d)]
    ['demo/assignment.py', 'solutions/demo/reference.py', 'solutions/demo/misconceptions.py', 'bptt-course.toml', \
'.gitignore']
    """
    from grader.assignments import valid_name

    if not valid_name(name):
        raise ValueError(f"{name!r} cannot name an assignment: use lower-case letters, digits and underscores, "
                         "starting with a letter")
    course = Path(course)
    solutions = course / "solutions" / name
    files = {course / name / "assignment.py": SKELETON, solutions / "reference.py": SKELETON_REFERENCE,
             solutions / "misconceptions.py": SKELETON_MISCONCEPTIONS}
    existing = [p for p in files if p.exists()]
    if existing:
        raise FileExistsError(f"{existing[0]} exists: not overwritten (choose another name, or remove it)")
    for extra, text in ((course / "bptt-course.toml", COURSE_FILE_TEXT), (course / ".gitignore", COURSE_GITIGNORE)):
        if not extra.exists():
            files[extra] = text
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if path.name == ".gitignore" else text.replace("NAME", name))
    return list(files)


def _student_arguments(q: Question) -> tuple[str, ...]:
    return q.arguments or q.signature


def _summary(q: Question, width: int = 100) -> str:
    """The skeleton's docstring: what the function returns, from its ``doc`` (its "return ..." sentence)."""
    text = " ".join(q.doc.split())
    found = re.search(r"\b[Rr]eturns? (.*?)(\.(\s|$)|$)", text)
    if found:
        text = "Return " + found.group(1)
    elif q.parts:
        text = f"Return ({', '.join(q.parts)})"
    text = text.split(". ")[0].rstrip(".") or q.function
    if len(text) > width:
        text = text[:width].rsplit(" ", 1)[0] + " ..."
    return text.replace('"""', "'''").replace("\\", "\\\\") + "."


def _where_check_finds(name: str) -> str:
    """Where ``check`` finds the assignment: a course's next to its ``assignment.py``; a bundled one anywhere."""
    from grader.assignments import course_of

    terminal = f"`bptt-grader check {name} {name}.ipynb`"
    if course_of(name) is None:
        return (f"`{name}` is bundled with the grader: `check` finds it wherever this notebook is, with "
                f"bptt-grader installed. From a terminal, in the notebook's folder: {terminal}.")
    return (f"Keep this notebook in the folder it came in, next to `assignment.py`: that is where `check` finds "
            f"the assignment `{name}`. From a terminal, in that folder: {terminal}.")


def _question_text(q: Question) -> str:
    """What the student reads above a function: its ``doc``; without one, its contract (:mod:`grader.contract`)."""
    if q.doc:
        return inspect.cleandoc(q.doc)
    from grader.contract import contract_lines

    return "\n".join(contract_lines(q, _student_arguments(q)))


def build_notebook(name: str) -> Any:
    """The student notebook of an assignment, from its public part alone (``bptt-grader notebook``).

    Markdown from the assignment module's docstring, then for each question its call, points and
    ``doc``, a skeleton cell (the function, raising ``NotImplementedError``) and a ``check`` cell;
    last, a cell checking everything. Edit it by hand from there (the notation, figures, hints).

    Parameters
    ----------
    name
        The assignment (bundled or a course's, see :func:`grader.assignments.get`).

    Returns
    -------
    nbformat.NotebookNode
        A version 4 notebook without outputs (write it with ``nbformat.write``).

    Examples
    --------
    >>> nb = build_notebook("cache")
    >>> nb.cells[-1].source
    'check("cache", globals())'
    """
    import nbformat

    from grader.assignments import get, module

    a = get(name)
    doc = inspect.cleandoc(module(name).__doc__ or "")
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    notation = f"*Notation: {a.source.rstrip('.')}.*\n\n" if a.source else ""
    cells = [md(f"# {a.title}\n\n{notation}{doc}".rstrip()), md(
        "## Checking your work\n\n"
        "After each function, run its check cell: `check(...)` runs your function on many small generated "
        "problems and compares it with the derivative of the forward pass, which the grader computes itself. "
        "It needs no answer key; when something is wrong it shows the smallest problem your function fails on, "
        "expected against got, and where the error sits.\n\n"
        f"{_where_check_finds(a.name)}"),
        code("import numpy as np\n\nfrom grader import check\n\n"
             "np.set_printoptions(precision=4, suppress=True)  # arrays as you will read them")]
    for k, q in enumerate(a.questions, 1):
        args = _student_arguments(q)
        points = q.points + sum(b.points for b in q.behaviours)
        extra = "".join(f" + {b.points:g} (*{b.name}*)" for b in q.behaviours)
        head = f"## {k}. `{q.function}({', '.join(args)})`\n\nPoints: {points:g}" + (
            f" = {q.points:g}{extra}" if q.behaviours else "") + "."
        cells.append(md(f"{head}\n\n{_question_text(q)}".rstrip()))
        cells.append(code(f'def {q.function}({", ".join(args)}):\n    """{_summary(q)}"""\n'
                          f'    raise NotImplementedError("{q.function}")'))
        cells.append(code(f'check("{a.name}", {q.function})'))
    cells += [md("## Everything at once"), code(f'check("{a.name}", globals())')]
    for i, cell in enumerate(cells):
        cell.id = f"{a.name}-{i}"  # not random: the same notebook again is the same file
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.validate(nb)
    return nb
