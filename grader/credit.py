"""What a function's values earn: the rules that make credit follow correctness.

Two rules, both read off the same list of instances every submission is
judged on (the derivative check's list, :func:`grader.drawn.passing_draws`):

**Form follows values.** The contract check and the behaviours reward form
(new float64 arrays of the right shape, arguments left alone, ...). A stub
that returns ``np.zeros_like(...)``, a copy of an argument or random numbers
of the right shape has perfect form and no BPTT in it, so form earns its
points only when the values are right on at least half of the instances
judged. A function wrong only on an edge case (``H == 1``, ``T == 1``) is
right on most instances and keeps them.

**Numbers are not derivations.** A gradient computed by finite differences
of the forward pass agrees with the complex-step truth to about 1e-10 to
1e-6, well inside the tolerance (``rtol = 1e-7`` would pass most of them),
while any derived formula evaluated in float64 agrees to rounding: about
1e-16 to 1e-13 (see :data:`NUMERICAL_ERROR` and docs/numerical.md for the
measured separation). A function whose every right answer carries such an
error is flagged, and by default earns no derivative or reference credit.
A complex-step derivative computed by the student is exact to rounding and
cannot be told apart from a formula by its values: the docs say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.diagnose import Mistake, parts_of

#: Above every derived answer, below most numerical ones: the normwise relative error
#: (``max |got - truth| / max |truth|``) of references, real-code corpus and bundled examples stays
#: below 2e-14 on the bundled assignments' judged instances; central differences at any step are
#: above 1e-11 on at least 89 % of them, forward differences on all (benchmarks/numerical_signature.py,
#: docs/numerical.md).
NUMERICAL_ERROR = 1e-11
#: Share of the right answers that must carry the signature (a few instances whose gradient is
#: exactly representable, such as an all-zero one, agree exactly even by finite differences).
NUMERICAL_SHARE = 0.8
#: Fewer right answers than this say nothing either way.
NUMERICAL_MIN = 5


def _coarse(a: Any) -> bool:
    """An answer held in a floating type coarser than float64 (float32, float16)."""
    dtype = getattr(a, "dtype", None)
    return dtype is not None and dtype.kind == "f" and dtype.itemsize < 8


def relative_error(expected: Any, got: Any, parts: tuple[str, ...]) -> float | None:
    """``max |got - expected| / max |expected|`` over every part; ``None`` where ``expected`` is all zero,
    and where an answer is float32 or coarser: its rounding (about 6e-8), not its method, sets its error, so
    it says nothing about finite differences (the contract check names the dtype)."""
    try:
        if isinstance(expected, dict) and isinstance(got, dict):
            raw = [(e, got[k]) for k, e in expected.items()]
        else:
            raw = [(e, g) for (_, e), (_, g) in zip(parts_of(expected, parts), parts_of(got, parts))]
        if any(_coarse(g) for _, g in raw):
            return None
        pairs = [(np.asarray(e, dtype=float), np.asarray(g, dtype=float)) for e, g in raw]
        scale = max((float(np.max(np.abs(e), initial=0.0)) for e, _ in pairs), default=0.0)
        if scale == 0.0 or not np.isfinite(scale):
            return None
        return max(float(np.max(np.abs(g - e), initial=0.0)) for e, g in pairs) / scale
    except (TypeError, ValueError, KeyError):
        return None


@dataclass
class ValueProfile:
    """How a function's answers compare with the truth on the instances it is judged on."""

    judged: int = 0
    right: int = 0
    errors: list[float] = field(default_factory=list)  # relative errors of the right answers (where defined)
    #: every instance judged, and whether it passed (for feedback: which sizes fail, grader.conditions)
    verdicts: list[tuple[Any, bool]] = field(default_factory=list)

    @property
    def wrong(self) -> int:
        return self.judged - self.right

    @property
    def mostly_right(self) -> bool:
        """Right on at least half of the instances judged: form earns its points."""
        return self.judged > 0 and 2 * self.right >= self.judged

    @property
    def numerical(self) -> bool:
        """The right answers carry the error of a numerical approximation, not of a derivation."""
        if len(self.errors) < NUMERICAL_MIN:
            return False
        return sum(e > NUMERICAL_ERROR for e in self.errors) >= NUMERICAL_SHARE * len(self.errors)

    def form_message(self, function: str) -> str:
        return (f"{function} earns no points for its form: its values are wrong on {self.wrong} of the "
                f"{self.judged} instances it was judged on (see the derivative check). The contract's points "
                "follow correct values: a stub, zeros, a copy of an argument or random numbers of the right "
                "shape earn nothing.")

    def numerical_message(self, function: str) -> str:
        low, high = min(self.errors), max(self.errors)
        return (f"{function}'s answers carry the error signature of a numerical approximation: they differ "
                f"from the exact derivative by {low:.1e} to {high:.1e} (relative) on the instances they get "
                "right, where a derived formula agrees to about 1e-13. It earns no derivative or reference "
                "points for them.")


def numerical_mistake(function: str) -> Mistake:
    """The diagnosis of an answer computed numerically (named in results and in the class summary)."""
    return Mistake("numerical-approximation", function, "a numerical approximation, not a derivation",
                   "Finite differences of the forward pass are how a gradient is checked, not how it is "
                   "computed: they cost a forward pass per weight and are only approximately right. Write the "
                   "backward pass from the chain rule, going back through time one step at a time.",
                   implementation=lambda *args, **kwargs: None)
