"""Hypothesis building blocks for problem instances.

An assignment composes these into one strategy per question that draws a
whole consistent instance: sizes first, then weights and inputs, then the
forward-pass states computed from them (so a ``layer_1`` handed to a student
really is the sigmoid of its inputs).

Draws are chosen not to hide bugs: every matrix entry is drawn on its own
(``hypothesis.extra.numpy.arrays`` with its default ``fill`` makes many
matrices constant or symmetric, and a symmetric matrix hides a transpose),
and a weight *scale* is drawn separately so instances range from near-linear
to saturated activations. Shrinking moves towards the smallest sizes and
simplest numbers, which is what a student should see first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class _Strategies:
    """``hypothesis.strategies``, imported at the first use of one of its names.

    Importing Hypothesis takes 0.2 s, most of grading a correct submission
    judged on remembered instances (:mod:`grader.drawn`), which draws none.
    Assignment modules use this ``st`` and :func:`composite` for that reason.
    """

    def __getattr__(self, name: str) -> Any:
        from hypothesis import strategies

        return getattr(strategies, name)


st: Any = _Strategies()


def composite(draw_instance: Callable[..., Any]) -> Callable[..., Any]:
    """``hypothesis.strategies.composite``, applied when the strategy is first asked for."""
    built: list[Callable[..., Any]] = []

    @functools.wraps(draw_instance)
    def strategy(*args: Any, **kwargs: Any) -> Any:
        if not built:
            built.append(st.composite(draw_instance))
        return built[0](*args, **kwargs)

    return strategy


#: Sizes reach past every edge the contract has: T = 1, H = 1, one batch row.
MAX_T = 8
MAX_H = 6
MAX_BATCH = 4
MAX_CLASSES = 7

#: Weight scales from near-linear (tanh'(z) ~ 1) to saturated (|z| of several units).
SCALES = (0.1, 0.6, 1.5, 4.0)

#: Entries on a grid of tenths in [-1, 1], so feedback shows numbers a student
#: can follow by hand (0.3, not 0.30000000000000004 or 2.2250738585072014e-308).
#: An array is drawn as byte strings of ``CHUNK`` bytes, one byte per entry:
#: Hypothesis draws and shrinks each string as a single choice, about three
#: times faster than an integer choice per entry, and still shrinks entry by
#: entry towards 0. A byte ``b`` is the ``b % 21``-th grid value in the order 0,
#: 0.1, -0.1, 0.2, -0.2, ..., so that smaller bytes are simpler numbers (the
#: modulo's slight bias towards the first four values does not matter here).
#: All strings have the same size because Hypothesis' generator copies one
#: drawn string over another to make duplicates, and a copy that does not fit
#: the target's size becomes the simplest string: with a string per array,
#: a third of the weight matrices came out all zero.
GRID = 10
CHUNK = 8
_ZIGZAG = np.array([0] + [sign * k for k in range(1, GRID + 1) for sign in (1, -1)], dtype=np.float64) / GRID
_HALF = np.arange(GRID + 1, dtype=np.float64) / GRID


@functools.lru_cache(maxsize=4096)
def _grid_array(shape: tuple[int, ...], values: tuple[float, ...]) -> st.SearchStrategy[np.ndarray]:
    # Cached: Hypothesis validates every new strategy object on its first draw,
    # which cost more than the drawing itself.
    n = int(np.prod(shape, dtype=np.int64))
    table = np.array(values, dtype=np.float64)

    def build(chunks: tuple[bytes, ...]) -> np.ndarray:
        codes = np.frombuffer(b"".join(chunks), dtype=np.uint8)[:n]
        return table[codes % len(table)].reshape(shape)

    chunk = st.binary(min_size=CHUNK, max_size=CHUNK)
    return st.tuples(*[chunk] * -(-n // CHUNK)).map(build)


@dataclass
class Instance:
    """One problem instance: what the student's function receives, and what the oracles need.

    ``args`` are passed positionally (``kwargs`` by name); ``context`` holds
    what the student does not see (pre-activations, the whole problem);
    ``sizes`` is shown in feedback (``T = 2, H = 1``).
    """

    args: tuple[Any, ...]
    sizes: dict[str, int] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: The grader's content hash of ``args`` and ``kwargs``, computed once (see :func:`grader.answers.instance_key`).
    memo_key: bytes | None = field(default=None, repr=False, compare=False)


def sizes(T: int = MAX_T, H: int = MAX_H, low_T: int = 1) -> st.SearchStrategy[int]:
    """Sequence lengths from ``low_T`` up; use ``st.integers(1, H)`` for the rest."""
    return st.integers(low_T, T)


def scale() -> st.SearchStrategy[float]:
    return st.sampled_from(SCALES)


def array(shape: tuple[int, ...], scale: float = 1.0) -> st.SearchStrategy[np.ndarray]:
    """Float64 entries in ``[-scale, scale]``, each drawn on its own."""
    return _grid_array(tuple(shape), tuple(_ZIGZAG * scale))


@functools.lru_cache(maxsize=1024)
def labels(n: int, classes: int) -> st.SearchStrategy[Any]:
    """``n`` class indices below ``classes``, as an int array or as a plain list of ints."""
    values = st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)
    return st.one_of(values.map(lambda v: np.array(v, dtype=np.int64)), values)


def one_hot_targets(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """0/1 targets (trask's binary digits)."""
    return _grid_array(tuple(shape), (0.0, 1.0))


def probabilities(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Targets in ``[0, 1]`` (a sigmoid output's target need not be a hard label)."""
    return _grid_array(tuple(shape), tuple(_HALF))
