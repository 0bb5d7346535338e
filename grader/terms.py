"""Where an assignment's terms are: the steps and outputs of its forward pass, and wrong programs built from them.

The forward passes of the bundled assignments run each step of their
recurrence through :func:`step` and each output through :func:`emit`,
handing over the step's pre-activation as a function of the weights and the
previous state. With nothing active they compute what they always did.

A :class:`Wrong` made active keeps every *value* of the forward pass and
changes only how derivatives flow through it (the imaginary part a complex
step carries: ``np.real`` is a stop-gradient): the tanh derivative left out,
taken at the previous step, ``W`` where ``W.T`` belongs on the way back, the
weights' term paired with ``h[t]`` where ``h[t-1]`` belongs, a sum over time
reduced to one of its terms... The question's own oracle, run on that forward
pass, then computes what the typical wrong backward pass computes, from the
forward pass alone: no reference solution, no catalogue (:mod:`grader.variants`
names it when a wrong answer equals it).

The vocabulary (:data:`KINDS`) is shared by every assignment; an assignment
declares only where its terms are and what they are called (:func:`vocabulary`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Pre = Callable[[Mapping[str, Any], Any], Any]  # (weights and inputs of the step, previous state) -> pre-activation


@dataclass(frozen=True)
class Wrong:
    """How a wrong backward pass lets derivatives flow through the forward pass (each field: "exact" is right).

    ``derivative``: the activation's derivative ``"none"`` (left out), left out of the ``"weights"``'
    terms only or of the ``"states"``' gradients only, left out ``"stepping-back"`` (of the error passed
    to the previous step) or taken there at the step it comes from (``"stepping-back-later"``), taken at
    the ``"previous"`` or ``"next"`` step (at the first / last step: see ``first``), applied ``"twice"``.
    ``recurrence``: ``"untransposed"`` (``W`` where ``W.T`` belongs on the way back) or ``"dropped"``.
    ``state``: the state paired with the weights in their term at step t: ``"current"`` (``h[t]``),
    ``"last"`` (``h[T-1]`` at every step), ``"initial-zero"`` (zeros at t = 0), ``"wrapped"``
    (``h[T-1]`` at t = 0). ``only``: the weights' terms kept only at the ``"first"`` or ``"last"`` step;
    ``loss_only``: the outputs' derivative kept only there. ``recurrent``: the recurrent weight's name.
    ``first``: what ``"previous"`` and ``"current"`` take at t = 0: the step's ``"own"`` (its own
    derivative; its own state ``h[0]``) or the ``"initial"`` state's (its derivative, as ``s[t-1]`` read
    at t = 0 gives; the initial state itself, as ``h[t] if t else h0`` gives).
    """

    derivative: str = "exact"
    recurrence: str = "exact"
    state: str = "exact"
    only: str | None = None
    loss_only: str | None = None
    recurrent: str = ""
    first: str = "own"

    @property
    def whole(self) -> bool:
        """A mistake in how the error flows back, which changes every part it reaches: it is named only where
        it leaves the right parts of the answer right. The others are mistakes in one term of one part (a sum
        over time reduced to one term, the state a weight's term pairs with), named of each part that is what
        they compute."""
        return self.derivative not in ("exact", "weights", "states") or self.recurrence != "exact"

    @property
    def needs_future(self) -> bool:
        """Whether a step needs states after it (recorded by a first, exact pass)."""
        return (self.derivative == "next" or self.state in ("last", "wrapped") or "last" in (self.only, self.loss_only))


EXACT = Wrong()

_ACTIVE: ContextVar[Any] = ContextVar("bptt_grader_wrong_terms", default=None)


def step(t: int, pre: Pre, params: Mapping[str, Any], prev: Any, act: Callable[[Any], Any]) -> Any:
    """The state of step ``t``: ``act(pre(params, prev))``, unless a :class:`Wrong` is active."""
    run = _ACTIVE.get()
    return act(pre(params, prev)) if run is None else run.step(t, pre, params, prev, act)


def emit(t: int, out: Pre, params: Mapping[str, Any], state: Any) -> Any:
    """The output of step ``t``: ``out(params, state)``, unless a :class:`Wrong` is active."""
    run = _ACTIVE.get()
    return out(params, state) if run is None else run.emit(t, out, params, state)


def active() -> bool:
    """Whether a :class:`Wrong` is active (a forward pass may then take its step-by-step form)."""
    return _ACTIVE.get() is not None


@contextmanager
def _running(run: _Run) -> Iterator[None]:
    token = _ACTIVE.set(run)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def truth_with(truth: Callable[[Any], Any], instance: Any, wrong: Wrong,
               states: dict[int, tuple[Any, dict[int, np.ndarray]]] | None = None) -> Any:
    """``truth(instance)`` computed through the forward pass as ``wrong`` lets derivatives flow.

    ``states``: the states of instances seen before (by ``id``), which a wrong program that reads later
    steps needs; filled in here.
    """
    future: dict[int, np.ndarray] = {}
    if wrong.needs_future:
        known = (states or {}).get(id(instance))
        if known is not None and known[0] is instance:
            future = known[1]
        else:
            recorder = _Run(EXACT, {}, recording=True)
            with _running(recorder):
                truth(instance)
            future = recorder.now
            if states is not None:
                states[id(instance)] = (instance, future)
    with _running(_Run(wrong, future)):
        return truth(instance)


def derivative_of(act: Callable[[Any], Any], y: np.ndarray) -> np.ndarray:
    """The activation's derivative from its output ``y`` (tanh and sigmoid)."""
    kind = getattr(act, "__name__", "")
    if kind == "tanh":
        return 1 - y * y
    if kind == "sigmoid":
        return y * (1 - y)
    raise ValueError(f"no derivative known for the activation {kind!r}")


def _fit(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A recorded real state, its perturbation axes cut to broadcast with ``like`` (every copy holds the same)."""
    a = np.asarray(a)
    shape = np.shape(like)
    while a.ndim > len(shape):
        a = a[0]
    tail = shape[len(shape) - a.ndim:]
    return a[tuple(slice(None) if n in (1, m) else slice(0, 1) for n, m in zip(a.shape, tail))]


def _imag(z: Any) -> Any:
    return np.imag(z) if np.iscomplexobj(z) else 0.0


@dataclass
class _Run:
    """One evaluation of a truth through the edited forward pass: the states it has seen, and the carries."""

    wrong: Wrong
    future: dict[int, np.ndarray]
    recording: bool = False  # exact, keeping the states only
    now: dict[int, np.ndarray] = field(default_factory=dict)
    carry: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # t -> (the state returned, its tangent before
    # the activation's derivative), for a next step that receives that very state

    def _last(self) -> int:
        if not self.future:
            raise ValueError("the last step is not known")
        return max(self.future)

    def _at(self, which: str) -> int:
        return 0 if which == "first" else self._last()

    def step(self, t: int, pre: Pre, params: Mapping[str, Any], prev: Any, act: Callable[[Any], Any]) -> Any:
        w = self.wrong
        rprev = np.real(prev)
        self.now.setdefault(t - 1, rprev)
        if self.recording:
            out = act(pre(params, prev))
            self.now[t] = np.real(out)
            return out
        real = {k: np.real(v) for k, v in params.items()}
        weights_complex = any(np.iscomplexobj(v) for v in params.values())
        a = pre(params, rprev)  # the value, and the derivative through the weights with the previous state
        y = act(np.real(a))
        self.now[t] = y
        if not weights_complex and not np.iscomplexobj(prev):
            return y
        paired = self._weights_state(t, rprev, y)
        through_weights = (_imag(a if paired is rprev else pre(params, paired))) if weights_complex else 0.0
        if w.only is not None and t != self._at(w.only):
            through_weights = 0.0
        d = derivative_of(act, y)
        through_state = self._through_state(t, pre, real, prev, rprev, d)
        if w.derivative == "none":
            tangent = through_weights + through_state
        elif w.derivative == "weights":
            tangent = through_weights + d * through_state
        elif w.derivative == "states":
            tangent = d * through_weights + through_state
        elif w.derivative in ("previous", "next", "twice"):
            tangent = self._factor(t, act, y, d) * (through_weights + through_state)
        else:  # exact, stepping-back
            tangent = d * (through_weights + through_state)
        out = y + 1j * tangent
        if w.derivative.startswith("stepping-back"):
            self.carry[t] = (out, through_weights + through_state)
        return out

    def _weights_state(self, t: int, rprev: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The state the weights' term of step t pairs the error with."""
        s = self.wrong.state
        if s == "current":
            return rprev if t == 0 and self.wrong.first == "initial" else y
        if s == "last":
            return _fit(self.future[self._last()], rprev)
        if s == "initial-zero" and t == 0:
            return np.zeros_like(rprev)
        if s == "wrapped" and t == 0:
            return _fit(self.future[self._last()], rprev)
        return rprev

    def _through_state(self, t: int, pre: Pre, real: dict[str, Any], prev: Any, rprev: np.ndarray,
                       d: np.ndarray) -> Any:
        """The imaginary part of the pre-activation that comes through the previous state (``d``: this step's
        derivative)."""
        w = self.wrong
        if w.recurrence == "dropped" or not np.iscomplexobj(prev):
            return 0.0
        if w.derivative.startswith("stepping-back") and t - 1 in self.carry and self.carry[t - 1][0] is prev:
            # the previous step's tangent without its own derivative: with none, or with this step's
            prev = rprev + 1j * self.carry[t - 1][1] * (d if w.derivative == "stepping-back-later" else 1.0)
        if w.recurrence == "untransposed":
            real = {**real, w.recurrent: np.swapaxes(real[w.recurrent], -1, -2)}
        return np.imag(pre(real, prev))

    def _factor(self, t: int, act: Callable[[Any], Any], y: np.ndarray, d: np.ndarray) -> np.ndarray:
        w = self.wrong
        if w.derivative == "twice":
            return d * d
        if w.derivative == "previous":
            other = self.now.get(t - 1) if t > 0 or w.first == "initial" else None
        else:
            other = self.future.get(t + 1) if t < self._last() else None
        return d if other is None else derivative_of(act, _fit(other, y))

    def emit(self, t: int, out: Pre, params: Mapping[str, Any], state: Any) -> Any:
        w = self.wrong
        if w.loss_only is not None and t != self._at(w.loss_only):
            return np.real(out(params, state))
        if w.only is not None and t != self._at(w.only):
            return out({k: np.real(v) for k, v in params.items()}, state)
        return out(params, state)


# -- the vocabulary: each wrong program once, its sentence filled with the assignment's names -----------------

@dataclass(frozen=True)
class Kind:
    """A generic wrong program: how derivatives flow in it, and what it says ("your dLdW equals ...")."""

    id: str
    wrong: Wrong
    says: str  # a template over the names of :func:`names`
    needs: tuple[str, ...] = ()  # names it needs declared (the initial state's)


KINDS: tuple[Kind, ...] = (
    Kind("no-derivative", Wrong(derivative="none"),
         "{what} with the {act} derivative left out: the error reaching {cur} is not multiplied by {d_cur} "
         "before it goes into the weights' gradients and back to {prev}"),
    Kind("no-derivative-in-weights", Wrong(derivative="weights"),
         "{what} with the {act} derivative {d_cur} left out of the weights' terms: they take the error reaching "
         "{cur} where that error times {d_cur} belongs (the walk back applies it)"),
    Kind("no-derivative-in-state-gradients", Wrong(derivative="states"),
         "{what} with the {act} derivative left out of the gradients of the states: the error reaching {cur} "
         "goes back to {prev} through {W}.T without {d_cur}, which only the weights' terms take"),
    Kind("no-derivative-stepping-back", Wrong(derivative="stepping-back"),
         "{what} with the {act} derivative left out stepping back: the error passed back to {prev} through "
         "{W}.T is not multiplied by {d_prev}"),
    Kind("derivative-of-later-step-stepping-back", Wrong(derivative="stepping-back-later"),
         "{what} with the {act} derivative of the later step stepping back: the error passed back to {prev} "
         "through {W}.T is multiplied by {d_cur} where {d_prev} belongs"),
    Kind("derivative-of-previous-step", Wrong(derivative="previous"),
         "{what} with the {act} derivative of the previous step: the error reaching {cur} is multiplied by "
         "{d_prev} where {d_cur}, its own step's, belongs"),
    Kind("derivative-of-next-step", Wrong(derivative="next"),
         "{what} with the {act} derivative of the next step: the error reaching {cur} is multiplied by "
         "{d_next} where {d_cur}, its own step's, belongs"),
    Kind("derivative-twice", Wrong(derivative="twice"),
         "{what} with the {act} derivative applied twice: the error reaching {cur} is multiplied by {d_cur} "
         "once too often"),
    Kind("recurrent-untransposed", Wrong(recurrence="untransposed"),
         "{what} with {W} where {W}.T belongs on the way back: the error reaches {prev} through {W}.T"),
    Kind("no-recurrence", Wrong(recurrence="dropped"),
         "{what} without the path through later steps: the error that reaches {cur} from the next step "
         "(through {W}) is left out"),
    Kind("state-current", Wrong(state="current"),
         "{what} with {cur} where {prev} belongs in {W}'s term: {W} multiplies the previous state, so each term "
         "of its gradient pairs the error with {prev}"),
    Kind("state-overwritten", Wrong(state="last"),
         "{what} with the last state {last} in {W}'s term at every step: the term of step t needs the state "
         "that entered it, {prev} (a state kept by reference and overwritten later gives this)"),
    Kind("initial-ignored-in-weights", Wrong(state="initial-zero"),
         "{what} with zeros in place of {init} in {W}'s term at t = 0: the state entering the first step is "
         "{init}", needs=("init",)),
    Kind("initial-wrapped", Wrong(state="wrapped"),
         "{what} with the last state {last} in {W}'s term at t = 0: the index t - 1 = -1 wraps around to the "
         "last step, where the state entering the first step is {init}", needs=("init",)),
    Kind("first-step-only", Wrong(only="first"),
         "{what} with only the first step's term (t = 0) of each sum over time: a sum is assigned (=) where it "
         "must accumulate (+=), in a loop that ends at t = 0"),
    Kind("last-step-only", Wrong(only="last"),
         "{what} with only the last step's term (t = T - 1) of each sum over time: a sum is assigned (=) where "
         "it must accumulate (+=), or only the last step is added"),
    Kind("loss-first-step-only", Wrong(loss_only="first"),
         "{what} of the loss at t = 0 alone: every later step's contribution is lost, as when the sums are "
         "assigned (=) where they must accumulate (+=), in loops that end at t = 0"),
    Kind("loss-last-step-only", Wrong(loss_only="last"),
         "{what} of the last step's loss alone: the upstream gradient of every earlier step is left out"),
)

_FORMULA = {"tanh": "(1 - {s}**2)", "sigmoid": "{s} * (1 - {s})"}


def names(declaration: Mapping[str, Any]) -> dict[str, str]:
    """The names a template is filled with, from a declaration such as
    ``{"state": "s[{t}]", "W": "W", "act": "tanh", "init": None, "what": "the gradient"}`` (``state``: the state
    at step ``{t}``; a name given itself, ``"prev": "prev_h"``, wins over the one made from it)."""
    state = declaration.get("state", "h[{t}]")
    act = declaration.get("act", "tanh")
    steps = {"cur": "t", "prev": "t-1", "next": "t+1", "last": "T-1"}
    out = {k: declaration.get(k) or state.format(t=t) for k, t in steps.items()}
    out |= {f"d_{k}": _FORMULA[act].format(s=out[k]) for k in ("cur", "prev", "next")}
    return {**out, "what": declaration.get("what", "the gradient"), "act": act, "W": declaration["W"],
            "init": declaration.get("init") or ""}


#: Kinds that read "the step before" at t = 0 too: tried both ways there (:attr:`Wrong.first`).
_EDGES = {"derivative-of-previous-step": ("own", "initial"), "state-current": ("own", "initial")}


def vocabulary(declaration: Mapping[str, Any]) -> list[tuple[str, Wrong, str]]:
    """``(id, wrong, says)`` of every kind the declaration's ``kinds`` lists (default: all it has names for);
    a kind that reads the step before is listed once for each way of reading it at t = 0."""
    filled = names(declaration)
    wanted = declaration.get("kinds")
    out = []
    for kind in KINDS:
        if (wanted is not None and kind.id not in wanted) or any(not filled[n] for n in kind.needs):
            continue
        for first in _EDGES.get(kind.id, ("own",)):
            wrong = Wrong(**{**kind.wrong.__dict__, "recurrent": declaration.get("recurrent", declaration["W"]),
                             "first": first})
            out.append((kind.id, wrong, kind.says.format(**filled)))
    return out
