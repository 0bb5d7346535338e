"""Hypothesis building blocks for problem instances.

An assignment composes these into one strategy per question that draws a
whole consistent instance: sizes first, then weights and inputs, then the
forward-pass states computed from them (so a ``layer_1`` handed to a student
really is the sigmoid of its inputs).

Draws are chosen not to hide bugs: matrix entries are drawn one by one
(``fill=st.nothing()``: the default fill makes many matrices constant or
symmetric, and a symmetric matrix hides a transpose), and a weight *scale* is
drawn separately so instances range from near-linear to saturated
activations. Shrinking moves towards the smallest sizes and simplest numbers,
which is what a student should see first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

#: Sizes reach past every edge the contract has: T = 1, H = 1, one batch row.
MAX_T = 8
MAX_H = 6
MAX_BATCH = 4
MAX_CLASSES = 7

#: Weight scales from near-linear (tanh'(z) ~ 1) to saturated (|z| of several units).
SCALES = (0.1, 0.6, 1.5, 4.0)

#: Entries on a grid of tenths in [-1, 1]: one integer choice each, which Hypothesis
#: shrinks far faster than a float, and feedback shows numbers a student can
#: follow by hand (0.3, not 0.30000000000000004 or 2.2250738585072014e-308).
GRID = 10
_unit = st.integers(-GRID, GRID).map(lambda k: k / GRID)


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


def sizes(T: int = MAX_T, H: int = MAX_H, low_T: int = 1) -> st.SearchStrategy[int]:
    """Sequence lengths from ``low_T`` up; use ``st.integers(1, H)`` for the rest."""
    return st.integers(low_T, T)


def scale() -> st.SearchStrategy[float]:
    return st.sampled_from(SCALES)


def array(shape: tuple[int, ...], scale: float = 1.0) -> st.SearchStrategy[np.ndarray]:
    """Float64 entries in ``[-scale, scale]``, each drawn on its own."""
    return arrays(np.float64, shape, elements=_unit, fill=st.nothing()).map(lambda a: a * scale)




def labels(n: int, classes: int) -> st.SearchStrategy[Any]:
    """``n`` class indices below ``classes``, as an int array or as a plain list of ints."""
    values = st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)
    return st.one_of(values.map(lambda v: np.array(v, dtype=np.int64)), values)


def one_hot_targets(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """0/1 targets (trask's binary digits)."""
    return arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]), fill=st.nothing())


def probabilities(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Targets in ``[0, 1]`` (a sigmoid output's target need not be a hard label)."""
    return arrays(np.float64, shape, elements=st.integers(0, GRID).map(lambda k: k / GRID), fill=st.nothing())
