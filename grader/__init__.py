"""bptt-grader: a property-based autograder for backpropagation through time.

Students call :func:`check` from their notebook; instructors use the
``bptt-grader`` command. Importing this package is cheap: the grading
machinery is loaded only when it is used (the sandboxed worker imports
:mod:`grader.worker` and :mod:`grader.wire` alone).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["check", "__version__"]

#: True inside a grading worker, where a notebook's own ``check(...)`` cells do nothing.
GRADING = False


def check(assignment: str, *functions: Any, **options: Any) -> Any:
    """Check your functions against the mathematics (no reference solution needed).

    Examples
    --------
    >>> from grader import check
    >>> check("britz", delta_o)            # doctest: +SKIP
    >>> check("britz", globals())          # every function of the assignment  # doctest: +SKIP
    """
    if GRADING:
        print(f"check({assignment!r}, ...) skipped: this notebook is being graded")
        return None
    from grader.student import check as _check

    return _check(assignment, *functions, **options)
