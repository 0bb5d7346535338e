"""The answers of one question's calls, by instance: the student's, the truth's and the reference's.

Each is computed once per instance (keyed by a content hash of its arguments), so checks judged on
the same instances call the student once for them. The student's calls on a list of instances can be
sent to the worker all at once (:meth:`Answers.send_ahead`): the worker runs the next ones while
this side judges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.results import DeclarationError, InternalError
from grader.strategies import Instance
from grader.target import Outcome, Target

if TYPE_CHECKING:
    from grader.questions import Question


def args_key(args: list[Any], kwargs: dict[str, Any]) -> bytes:
    """A content hash of a call's arguments (types, shapes and bytes)."""
    h = hashlib.blake2b(digest_size=16)

    def feed(v: Any) -> None:
        if isinstance(v, np.ndarray):
            h.update(f"a{v.dtype.str}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, (list, tuple)):
            h.update(b"[" if isinstance(v, list) else b"(")
            for x in v:
                feed(x)
            h.update(b"]")
        elif isinstance(v, dict):
            h.update(b"{")
            for k in sorted(v, key=str):
                h.update(repr(k).encode())
                feed(v[k])
            h.update(b"}")
        else:
            h.update(repr((type(v).__name__, v)).encode())

    feed(list(args))
    feed(kwargs)
    return h.digest()


def instance_key(instance: Instance) -> bytes:
    """The content hash of an instance's arguments, computed once."""
    if instance.memo_key is None:
        instance.memo_key = args_key(list(instance.args), instance.kwargs)
    return instance.memo_key


class Answers:
    """The student's outcomes (called one by one, or sent ahead), truths and reference answers of one
    question, by instance."""

    def __init__(self, question: Question, target: Target) -> None:
        self.q, self.target = question, target
        self.calls: dict[bytes, Outcome] = {}
        self.truths: dict[bytes, Any] = {}
        self.refs: dict[bytes, Outcome] = {}
        self.pending: dict[bytes, tuple[Any, int, int]] = {}  # calls sent ahead: (CallsAhead, first, count)
        self.extra: dict[tuple[bytes, bytes], list[tuple[Any, int, int]]] = {}  # further calls sent ahead, used once

    def student(self, inst: Instance) -> Outcome:
        k = instance_key(inst)
        if k not in self.calls:
            ahead = self.pending.pop(k, None)
            out = self._collect(*ahead) if ahead else None
            self.calls[k] = out if out is not None else self.q.invoke(self.target, list(inst.args), inst.kwargs)
        if self.calls[k].internal:
            raise InternalError(self.calls[k].error)
        return self.calls[k]

    def send_ahead(self, instances: list[Instance]) -> None:
        """Send the student's calls on ``instances`` ahead (:meth:`grader.worker_target.WorkerTarget.send_ahead`).

        The same calls in the same order as judging the list one by one makes; the worker runs the
        next ones while this side judges.
        """
        todo = list({instance_key(i): i for i in instances if instance_key(i) not in self.calls}.values())
        self.pending.update(zip(map(instance_key, todo), self._start([(list(i.args), i.kwargs) for i in todo])))

    def further(self, inst: Instance, args: list[Any]) -> Outcome:
        """A further call on ``args`` for the contract check of ``inst`` (a repeat, or some batch rows)."""
        queue = self.extra.get((instance_key(inst), args_key(args, inst.kwargs))) if self.extra else None
        out = self._collect(*queue.pop(0)) if queue else None
        out = out if out is not None else self.q.invoke(self.target, args, inst.kwargs, further=True)
        if out.internal:
            raise InternalError(out.error)
        return out

    def send_further_ahead(self, instances: list[Instance], calls: Callable[[Instance], list[list[Any]]]) -> None:
        """Send the contract check's further calls (``calls(inst)``) on ``instances`` ahead."""
        todo = [(inst, args) for inst in instances for args in calls(inst)]
        for (inst, args), ahead in zip(todo, self._start([(args, inst.kwargs) for inst, args in todo],
                                                              further=True)):
            self.extra.setdefault((instance_key(inst), args_key(args, inst.kwargs)), []).append(ahead)

    def _start(self, invocations: list[tuple[list[Any], dict[str, Any]]], further: bool = False,
                    ) -> list[tuple[Any, int, int]]:
        """Send the calls of ``invocations`` ahead in one go; for each, where its calls are: (batch, first, count)."""
        start = getattr(self.target, "send_ahead", None)
        if start is None or not invocations:
            return []
        flat: list[Any] = []
        spans = []
        for args, kwargs in invocations:
            calls = self.q.calls(args, kwargs, further)
            spans.append((len(flat), len(calls)))
            flat += calls
        batch = start(flat)
        return [(batch, first, count) for first, count in spans]

    def _collect(self, batch: Any, first: int, count: int) -> Outcome | None:
        """The outcome of one invocation sent ahead; ``None`` if its calls were not made (an earlier fatal one)."""
        outs = []
        for j in range(first, first + count):
            out = batch.get(j)
            if out is None:
                break
            outs.append(out)
            if out.fatal:
                break
        if len(outs) == count or (outs and outs[-1].fatal):
            return self.q.combine(outs)
        return None

    def truth(self, inst: Instance) -> Any:
        k = instance_key(inst)
        if k not in self.truths:
            try:
                self.truths[k] = self.q.truth(inst)
            except Exception as exc:  # the assignment's forward pass or truth, not the grader nor the student
                sizes = ", ".join(f"{n} = {v}" for n, v in inst.sizes.items())
                raise DeclarationError(
                    f"the assignment's truth for {self.q.function} ({self.q.truth_name}) raised "
                    f"{type(exc).__name__}: {str(exc)[:300]} on an instance with {sizes}: the forward pass or "
                    "the question's declaration needs mending (write the forward pass for the shapes its "
                    "strategies draw, batch and leading axes included)") from exc
        return self.truths[k]

    def reference(self, ref: Target, inst: Instance) -> Outcome:
        k = instance_key(inst)
        if k not in self.refs:
            self.refs[k] = self.q.invoke(ref, list(inst.args), inst.kwargs)
        return self.refs[k]
