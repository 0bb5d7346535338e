"""How an assignment is declared: data, not machinery.

An assignment module in :mod:`grader.assignments` gives its forward pass and
a tuple of :class:`Question` s. A question names the student's function, its
points, a strategy that draws whole instances, and how the true answer
follows from the forward pass. Everything else (calling the student's code
in a worker, comparing, shrinking, diagnosing, scoring) is shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.oracles.derivative import COMPLEX_STEP_TOL, Tolerance
from grader.strategies import Instance

if TYPE_CHECKING:
    from hypothesis import strategies as st


@dataclass(frozen=True)
class Rows:
    """Batch rows are independent: the answer for a subset of rows is the same subset of the answer.

    ``args`` maps argument positions to their batch axis; ``out`` is the
    batch axis of the result (or of each part of a tuple). With
    ``summed=True`` the result is a sum over rows instead (``bptt_updates``):
    the answer for all rows equals the sum of the answers for a split.

    Examples
    --------
    Arguments 0 and 1 (``x (N, D)``, ``prev_h (N, H)``) have their rows on axis 0, as has the result:

    >>> Rows({0: 0, 1: 0})
    Rows(args={0: 0, 1: 0}, out=0, summed=False)
    """

    args: dict[int, int]
    out: int = 0
    summed: bool = False


@dataclass(frozen=True)
class Behaviour:
    """A graded property beyond a single call (trask's network must learn to add).

    ``run(target)`` returns ``(passed, explanation)``; ``target`` calls the student's functions by
    name (``target.call(name, args)`` gives an :class:`~grader.target.Outcome`).

    Examples
    --------
    >>> import numpy as np
    >>> def finite(target):
    ...     out = target.call("step", [np.ones((1, 2))])
    ...     return out.ok and bool(np.isfinite(out.value).all()), "step returns finite values"
    >>> Behaviour("finite on ones", 1, finite).points
    1
    """

    name: str
    points: float
    run: Callable[[Any], tuple[bool, str]]  # target -> (passed, explanation)
    #: Run in a second worker of its own, on a thread, alongside the other checks (on a second core).
    #: For a long behaviour with no Hypothesis search (not thread-safe); its calls should be few
    #: (trask's loop runs inside the worker, grader.target.run_near), as the thread shares the GIL.
    parallel: bool = False
    #: Earns its points only when the function's values are right on most instances (:mod:`grader.credit`).
    #: False for a behaviour that is itself about values (a backward checked against its own forward).
    needs_right_values: bool = True


#: One call: ``(function name, positional args, keyword args, positions of a returned tuple kept in the worker)``.
Call = tuple[str, list[Any], dict[str, Any], tuple[int, ...]]


@dataclass(frozen=True)
class CallSequence:
    """How to call a function that needs other calls first (a backward needs its forward's cache).

    ``calls(args, kwargs)`` lists the calls, made in order in one go (a later call refers to an
    earlier call's result with :class:`grader.wire.Earlier`, so none waits for a reply);
    ``combine(outcomes)`` makes the question's outcome of theirs (fewer of them after a fatal one).
    """

    calls: Callable[[list[Any], dict[str, Any]], list[Call]]
    combine: Callable[[list[Any]], Any]
    #: The calls of a *further* call (the contract check's repeat and batch-row calls), where they can be
    #: fewer: what only the first call needs to check (a backward run twice on one cache) is not run again.
    #: ``combine`` takes their outcomes too. Default: ``calls``.
    further: Callable[[list[Any], dict[str, Any]], list[Call]] | None = None

    def calls_for(self, args: list[Any], kwargs: dict[str, Any], further: bool = False) -> list[Call]:
        return (self.further if further and self.further is not None else self.calls)(list(args), dict(kwargs))

    def run(self, target: Any, args: list[Any], kwargs: dict[str, Any] | None = None, further: bool = False) -> Any:
        from grader.target import call_all

        return self.combine(call_all(target, self.calls_for(args, kwargs or {}, further)))


@dataclass(frozen=True)
class Question:
    """One graded function.

    Parameters
    ----------
    function
        The name the student defines (the contract: ``docs/contract.md`` for the bundled assignments).
    points
        Marks for the function, split between its checks (see :mod:`grader.grading`).
    signature
        Argument names in order, for feedback.
    instances
        A function of no arguments that returns a strategy drawing :class:`~grader.strategies.Instance` s
        (a ``@composite`` function, or ``lambda: _step(upstream=True)``), not the strategy itself.
    truth
        The true answer of an instance, computed from the forward pass by
        the derivative oracle.
    parts
        Names of the parts of a tuple or dict answer (``("dLdU", "dLdV", "dLdW")``).
    axes
        Axis names of each part (``{"": ("t", "k")}`` for a single array), so
        feedback can say where in time or in which rows an answer is wrong.
    rows
        Batch-row independence, where the contract has batch rows.
    keep
        Positions of a returned tuple that stay opaque in the worker (caches).
    sequence
        How to call the function when it needs other calls first (see :class:`CallSequence`).
    needs
        Other functions of the student's that ``sequence`` calls.
    doc
        What the function computes, for the student (Markdown): ``bptt-grader notebook`` writes it above
        the function's skeleton.
    arguments
        The student's own argument names, where they are not ``signature`` (a backward pass takes its
        upstream gradient and a cache: ``("dnext_h", "cache")``); for the notebook's skeleton.
    tolerance
        How close an answer must be to the truth (default: the complex step's, ``rtol = 1e-7``).
    examples
        How many instances each check judges (default 40): the list every submission shares.
    behaviours
        Checks of what the function does beyond its value (trask's network learning to add; a backward
        against the student's own forward), each with points of its own.
    truth_name, truth_names
        How feedback names the true answer ("the derivative of the forward pass", "the forward pass's
        output"), and names that depend on an instance's sizes, as ``(condition, name)`` pairs.
    instance_from_args, stand_in, stand_in_with
        How the truth can stand in for the student's function when another graded function calls it
        (one mistake costs once, :mod:`grader.stand_ins`): an instance rebuilt from bare arguments, or
        the true function itself, and the functions replaced together with it.
    activations, variants
        For feedback (:mod:`grader.relations`, :mod:`grader.variants`): the activations whose derivative an
        answer may lack or carry twice, and the edits of an instance whose truth is a typical wrong answer.

    Examples
    --------
    A function of one array, whose true answer is the derivative of ``tanh``:

    >>> import numpy as np
    >>> from grader.authoring import Instance, array, composite
    >>> @composite
    ... def _instances(draw):
    ...     return Instance(args=(draw(array((2, 3))),), sizes={"N": 2, "H": 3})
    >>> q = Question("tanh_derivative", 1, ("z",), _instances, lambda inst: 1 - np.tanh(inst.args[0]) ** 2,
    ...              doc="The derivative of `tanh` at every entry of `z`.")
    >>> q.points, q.signature
    (1, ('z',))
    """

    function: str
    points: float
    signature: tuple[str, ...]
    instances: Callable[[], st.SearchStrategy[Instance]]
    truth: Callable[[Instance], Any]
    parts: tuple[str, ...] = ()
    axes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rows: Rows | None = None
    keep: tuple[int, ...] = ()
    tolerance: Tolerance = COMPLEX_STEP_TOL
    examples: int = 40
    behaviours: tuple[Behaviour, ...] = ()
    sequence: CallSequence | None = None
    needs: tuple[str, ...] = ()  # other student functions ``sequence`` calls (a backward needs its forward)
    truth_name: str = "the derivative of the forward pass"  # how feedback names the true answer
    #: An instance rebuilt from bare arguments (its context recovered from them: pre-activations from
    #: activations, ...), so the truth can stand in for the student's function when another graded
    #: function calls it (:mod:`grader.stand_ins`). ``None``: the function cannot be replaced (an opaque cache).
    instance_from_args: Callable[[tuple[Any, ...]], Instance] | None = None
    #: Or the true function itself, for one whose answer is more than its truth (a forward that also
    #: returns a cache: the cache of the true forward is what the true backward reads).
    stand_in: Callable[..., Any] | None = None
    #: Other functions replaced together with this one (a backward that reads its forward's cache).
    stand_in_with: tuple[str, ...] = ()
    doc: str = ""  # for the student: the notebook's text above the function's skeleton
    arguments: tuple[str, ...] = ()  # the student's argument names, where they are not ``signature``
    #: How feedback names the true answer where it depends on the instance's sizes: ``(condition, name)``
    #: pairs, the first whose condition holds wins (else ``truth_name``); the name may use the sizes:
    #: ``("T > bptt_truncate + 1", "the truncated BPTT gradient with bptt_truncate = {bptt_truncate}")``.
    truth_names: tuple[tuple[str, str], ...] = ()
    #: Activations whose derivative an answer may lack or carry once too often (:mod:`grader.relations`):
    #: ``("s_t", "tanh")``, the argument holding the activation's outputs (shaped like the answer) and
    #: ``"tanh"`` or ``"sigmoid"``.
    activations: tuple[tuple[str, ...], ...] = ()
    #: Edits of an instance whose truth is what a typical wrong program computes (:mod:`grader.variants`),
    #: as data: ``{"id": "h0-ignored", "zeros": "h0", "says": "the gradient with h0 = 0: ..."}``.
    variants: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not callable(self.instances) or hasattr(self.instances, "example"):  # a strategy is not what is asked
            raise TypeError(f"Question {self.function!r}: instances must be a function returning a strategy "
                            "(instances=_step, or instances=lambda: _step(upstream=True)), not a strategy")

    def truth_name_for(self, instance: Instance | None) -> str:
        """How feedback names the true answer of ``instance`` (see ``truth_names``)."""
        if instance is not None and self.truth_names:
            from grader.conditions import holds

            for when, name in self.truth_names:
                if holds(when, instance.sizes):
                    return name.format(**instance.sizes)
        return self.truth_name

    def invoke(self, target: Any, args: list[Any], kwargs: dict[str, Any] | None = None,
               further: bool = False) -> Any:
        """Call this question's function on ``target`` and return its :class:`~grader.target.Outcome`.

        ``further``: a further call on an instance already called (see :class:`CallSequence`).
        """
        if self.sequence is not None:
            return self.sequence.run(target, args, kwargs, further)
        return target.call(self.function, list(args), kwargs or {}, self.keep)

    def calls(self, args: list[Any], kwargs: dict[str, Any] | None = None, further: bool = False) -> list[Call]:
        """The calls :meth:`invoke` makes (their outcomes make one with :meth:`combine`)."""
        if self.sequence is not None:
            return self.sequence.calls_for(args, kwargs or {}, further)
        return [(self.function, list(args), dict(kwargs or {}), self.keep)]

    def combine(self, outcomes: list[Any]) -> Any:
        return self.sequence.combine(outcomes) if self.sequence is not None else outcomes[0]


@dataclass(frozen=True)
class Assignment:
    """A whole assignment: its questions, and where the student meets it.

    Parameters
    ----------
    name
        What commands and ``check`` call it (a course assignment: the name of its folder).
    title
        One line, for lists and reports.
    source
        Where the notation comes from (the generated notebook says so under its title).
    questions
        The graded functions, in the order the student meets them.

    Examples
    --------
    >>> a = Assignment("demo", "A one-step tanh layer", "course notes, week 3", ())
    >>> a.points
    0
    """

    name: str
    title: str
    source: str
    questions: tuple[Question, ...]

    def question(self, function: str) -> Question:
        for q in self.questions:
            if q.function == function:
                return q
        raise KeyError(f"{self.name} has no function {function!r}; it has "
                       + ", ".join(q.function for q in self.questions))

    @property
    def points(self) -> float:
        return sum(q.points + sum(b.points for b in q.behaviours) for q in self.questions)
