"""State kept between calls: a function whose answer depends on the calls made before it.

The grader calls a function many times in one worker, so a function that keeps something between
calls (a module-level counter or cache, a mutable default argument, an attribute set on itself)
can fail an instance only because of the calls before it; shown that instance alone, the student
cannot make it fail. When a derivative check fails, :func:`state_note` asks the worker which
module-level names the calls changed (:meth:`grader.worker_target.WorkerTarget.changed_state`); only if
some did, it runs the failing instance again, first thing, in a fresh worker of the same
submission. Right there and wrong after earlier calls: the failure is the state's, and the note
says so with the names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.strategies import Instance
from grader.target import Outcome

FINDING = "state-between-calls"


def state_note(question: Any, target: Any, instance: Instance,
               judge: Callable[[Instance, Outcome], str | None]) -> str | None:
    """What to tell the student when ``instance`` fails only after earlier calls; ``None`` otherwise."""
    changed_state = getattr(target, "changed_state", None)
    spawn = getattr(target, "spawn", None)
    if changed_state is None or spawn is None:
        return None  # in this process (a notebook's check): there is no fresh process to compare with
    changed = changed_state()
    if not changed:
        return None
    fresh = spawn()
    try:
        out = question.invoke(fresh, list(instance.args), instance.kwargs)
        if out.internal or not out.ok or judge(instance, out) is not None:
            return None  # wrong from the start: its state is not what makes it wrong
    finally:
        fresh.close()
    names = ", ".join(f"`{n}`" for n in changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return (f"{question.function} keeps state between calls: on this instance it is right when it is the first "
            f"call, and wrong after the calls made before it. The calls changed {names}. A graded function's "
            "answer must depend on its arguments alone: keep nothing at module level, in a mutable default "
            "argument or on the function between calls (compute it afresh in each call).")
