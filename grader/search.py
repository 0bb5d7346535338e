"""Hypothesis searches for an instance a judge rejects, and the list a search that rejects none draws.

Searches are derandomized and use no example database, so a submission gets the same instances on every
run and machine. :func:`search`'s source is part of the fingerprint of the instance lists kept by
:mod:`grader.drawn` (Hypothesis seeds a derandomized search from its test's source): changing it
means drawing the shipped lists again (``python -m grader.drawn``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import user_cache
from grader.strategies import Instance

if TYPE_CHECKING:
    from grader.questions import Question

#: Hypothesis' storage folder, read when it first writes there: unless the user set their own.
HYPOTHESIS_STORAGE = "HYPOTHESIS_STORAGE_DIRECTORY"


def hypothesis_storage() -> Path:
    """Where the grader's searches let Hypothesis keep its files (its cache of constants found in code):
    ``hypothesis/`` in the grader's cache folder (:func:`grader.user_cache.folder`), else a temporary folder of
    this user's. Never the current folder, which may be a student's repository."""
    base = user_cache.folder()
    if base is None:
        tag = os.getuid() if hasattr(os, "getuid") else "user"
        base = Path(tempfile.gettempdir()) / f"bptt-grader-{tag}"
    return base / "hypothesis"


def use_hypothesis_storage() -> None:
    """Point Hypothesis' storage at :func:`hypothesis_storage`, before any search (a user's own
    ``$HYPOTHESIS_STORAGE_DIRECTORY`` is kept). Called when this module is imported, which every search
    needs: Hypothesis reads the variable at its first write, so it holds even if Hypothesis is imported already."""
    if not os.environ.get(HYPOTHESIS_STORAGE):
        os.environ[HYPOTHESIS_STORAGE] = str(hypothesis_storage())


use_hypothesis_storage()

KEEP_FAILURES = 6  # failing instances kept per check for the diagnosis (the smallest is always kept)
#: Calls allowed once a failure is found. Hypothesis' shrinker would otherwise make
#: thousands; the sizes shrink first, so a few hundred calls reach a small instance.
#: A count, not a time, so that the result is the same on every machine.
SHRINK_CALLS = 60


class _Failed(Exception):
    """An instance failed: Hypothesis shrinks it."""


class StopSearch(BaseException):
    """The worker cannot go on (hung or crashed): a judge raises it to stop searching at once, no shrinking."""


_Stop = StopSearch  # the name search's source uses (that source is part of the instance lists' fingerprint)


def search(strategy: Any, judge: Callable[[Instance], str | None], examples: int,
           generated: list[Instance] | None = None) -> tuple[Instance, str, list[Instance]] | None:
    """Look for an instance ``judge`` rejects; return the smallest found, its message, and a few others.

    Every instance tried before the first failure is appended to ``generated``
    (when given), so that other checks can be judged on the same instances
    without drawing them again.
    """
    # Imported here: a submission judged on remembered instances needs no Hypothesis (0.2 s to import).
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings

    found: list[tuple[Instance, str]] = []
    calls_after_failure = [0]

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
              verbosity=Verbosity.quiet, phases=(Phase.explicit, Phase.generate, Phase.shrink))
    @given(strategy)
    def probe(instance: Instance) -> None:
        if found:
            calls_after_failure[0] += 1
            if calls_after_failure[0] > SHRINK_CALLS:
                raise _Stop
        elif generated is not None:
            generated.append(instance)
        message = judge(instance)
        if message is not None:
            if len(found) >= KEEP_FAILURES:
                found.pop()  # keep the first few (varied) and the latest (the smallest so far)
            found.append((instance, message))
            raise _Failed

    try:
        probe()
    except (_Failed, _Stop):
        smallest, message = found[-1]
        return smallest, message, [i for i, _ in found]
    return None


def _size(instance: Instance) -> int:
    return sum(v for v in instance.sizes.values() if isinstance(v, int))


def larger_failure(smallest: Instance, candidates: list[Instance], judge: Callable[[Instance], str | None],
                   ) -> Instance | None:
    """The first of ``candidates`` (instances already drawn) at least 4 sizes larger than ``smallest`` that fails.

    No new search: a fresh Hypothesis run that rejects small draws spent seconds
    when no instance that large exists (an H = 4 failure can have no H = 8 one).
    """
    want = _size(smallest) + 4
    for inst in candidates:
        if _size(inst) >= want and judge(inst) is not None:
            return inst
    return None


def search_again(instances: Callable[[], Any], judge: Callable[[Instance], str | None], examples: int,
                 generated: list[Instance], complete: bool) -> tuple[Instance, str, list[Instance]] | None:
    """Judge already generated instances first; search (and shrink) only when one of them fails.

    ``instances`` makes the strategy (only when a search is needed: it imports Hypothesis);
    ``complete``: ``generated`` is all a passing search drew. Otherwise (the first search
    stopped at a failure) there are too few of them: search afresh.
    """
    if not complete:
        return search(instances(), judge, examples)
    for inst in generated:
        message = judge(inst)
        if message is not None:
            return search(instances(), judge, examples) or (inst, message, [inst])
    return None


def draw_passing(question: Question, examples: int) -> list[Instance]:
    """Draw the instances a search of ``question`` that finds no failure draws (with a judge that passes all)."""
    drawn_now: list[Instance] = []
    search(question.instances(), lambda inst: None, examples, drawn_now)
    return drawn_now
