"""A submission's functions, called in a sandboxed worker (:mod:`grader.sandbox`): the grader's target.

:class:`WorkerTarget` runs the submission's cells in a worker, restarts the worker whenever it dies
(skipping the cell that killed it), keeps every deadline (a call's, a cell's, the submission's
total) and reads every reply as hostile input (:mod:`grader.target`'s readers). Calls can be sent
ahead (:class:`CallsAhead`): the worker runs the next ones while the grader judges.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from grader.notebook import Submission
from grader.sandbox import Limits, Worker, resolve_mode, take_spare

if TYPE_CHECKING:
    import numpy as np

    from grader.target import Availability, Outcome


def _lost(worker: Worker, error: Exception, who: str, late: str) -> Outcome:
    """The fatal outcome of a request the worker answered with garbage (``WireError``) or not at all.

    ``who`` starts the message (``"bptt "``); ``late`` replaces "did not finish in time". A reply
    that cannot be read (:data:`grader.wire.REPLY_ERRORS`) may have left the channel mid-message:
    the worker is stopped, and the next request starts a new one.
    """
    from grader import wire
    from grader.target import Outcome

    if isinstance(error, wire.REPLY_ERRORS):
        worker.kill()
        worker.death_reason()
        return Outcome(error=f"the worker's reply could not be read: {str(error)[:500]} "
                             "(the worker was stopped and restarted)", fatal=True)
    reason = worker.death_reason()
    return Outcome(error=who + (late if reason == "did not finish in time" else reason),
                   traceback=worker.log_tail(500).strip(), fatal=True)


class CallsAhead:
    """Calls sent ahead to a worker (:meth:`WorkerTarget.send_ahead`); outcomes are read when asked for."""

    def __init__(self, replies: Iterator[Outcome], count: int) -> None:
        self._replies, self.count = replies, count
        self.outcomes: list[Outcome] = []  # read so far, in order
        self._done = False

    def get(self, i: int) -> Outcome | None:
        """The ``i``-th outcome (reading replies up to it), or ``None`` if the calls stopped before it."""
        while len(self.outcomes) <= i and not self._done:
            try:
                self.outcomes.append(next(self._replies))
            except StopIteration:
                self._done = True
        return self.outcomes[i] if 0 <= i < len(self.outcomes) else None

    def finish(self) -> None:
        if self.count:
            self.get(self.count - 1)


class WorkerTarget:
    """A submission's functions, run in a worker that is restarted whenever it dies.

    A cell that hangs or kills the worker is skipped on restart (and reported);
    a function that does so fails that call with a clear message, and the
    others are still graded.
    """

    def __init__(self, submission: Submission, limits: Limits | None = None, mode: str = "auto",
                 stand_ins: dict[str, Callable[..., Any]] | None = None) -> None:
        self.submission = submission
        #: functions of the grader's that answer in place of the student's functions of these names
        #: (a caller's regrade, :mod:`grader.stand_ins`); nothing is sent ahead to such a worker
        self.stand_ins = dict(stand_ins or {})
        self.limits = limits or Limits()
        self.mode = resolve_mode(mode)
        self.problems: list[str] = list(submission.problems)
        self.output: list[str] = []
        self.skipped: set[str] = set()
        self.deadline = time.monotonic() + self.limits.submission_seconds
        self.worker: Worker | None = None if self.stand_ins else take_spare(self.limits, self.mode)
        self.starts = 0
        self._ahead: CallsAhead | None = None
        self.held = 0  # bytes of the replies read (their values may all be held): at most limits.held_bytes
        self._used_up = False

    # -- the submission's time ---------------------------------------------------------
    def _out_of_time(self, detail: str = "") -> str:
        """The submission's budget is spent: say so once in the problems; the message for what it stops."""
        message = f"the submission used up its {self.limits.submission_seconds:g} s"
        if not self._used_up:
            self._used_up = True
            self.problems.append(f"{message}{': ' + detail if detail else ''}; nothing more of it was run")
        return message

    def _seconds(self, limit: float) -> float:
        """``limit``, or what is left of the submission's time if less; ``RuntimeError`` if nothing is."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(self._out_of_time())
        return min(limit, left)

    # -- worker life ------------------------------------------------------------------
    def _ensure(self) -> Worker:
        self._seconds(0.0)  # no cell or call runs once the submission's time is spent
        if self.starts == 0 and self.worker is not None:  # a prestarted worker: run the cells in it first
            self.starts = 1
            if self._start(self.worker):
                return self.worker
        if self.worker is not None and self.worker.proc.poll() is None:
            return self.worker
        while True:
            if self.worker is not None:
                self.worker.close()
            self.starts += 1
            if self.starts > 50:
                raise RuntimeError("the worker was restarted too often")
            self._seconds(0.0)
            self.worker = Worker(self.limits, self.mode)
            if self._start(self.worker):
                return self.worker

    def _start(self, worker: Worker) -> bool:
        """Run the cells, then put the stand-ins in place; False if the worker stopped."""
        if not self._run_cells(worker):
            return False
        if not self.stand_ins:
            return True
        worker.answer = self._answer
        from grader import wire

        try:
            worker.request({"op": "stand_in", "names": sorted(self.stand_ins)}, seconds=self.limits.call_seconds)
        except (EOFError, *wire.REPLY_ERRORS):
            worker.kill()
            return False
        return True

    def _answer(self, header: dict[str, Any], buffers: list[np.ndarray]) -> tuple[dict[str, Any], list[np.ndarray]]:
        """The grader's answer to a stand-in's question (the worker's arguments are hostile input)."""
        from grader import wire

        fn = self.stand_ins.get(header.get("ask")) if isinstance(header.get("ask"), str) else None
        if fn is None:
            raise wire.WireError(f"asked for {str(header.get('ask'))[:50]!r}, which has no stand-in")
        payload = wire.decode(header.get("args"), buffers)
        if not isinstance(payload, dict) or not isinstance(payload.get("args"), list):
            raise wire.WireError("a stand-in's question without arguments")
        try:
            tree, out = wire.encode(fn(*payload["args"]))
        except Exception as e:  # noqa: BLE001 - arguments the true function cannot take: the caller's error
            return {"ok": False, "error": f"{type(e).__name__}: {e}"[:500]}, []
        return {"ok": True, "result": tree}, out

    def _run_cells(self, worker: Worker) -> bool:
        """Run the submission's cells; False if one of them stopped the worker (it is then skipped)."""
        import numpy as np

        from grader import wire
        from grader.target import status_from_reply

        first = self.starts == 1
        for cell in self.submission.cells:
            if cell.label in self.skipped:
                continue
            if self.deadline <= time.monotonic():  # not one cell more, however short (each had 0.1 s)
                raise RuntimeError(self._out_of_time(f"{cell.label} and the cells after it were not run"))
            seconds = self._seconds(self.limits.cell_seconds)
            code = cell.source.encode("utf-8", "surrogatepass")  # a buffer, not in the header: any size
            if len(code) > wire.MAX_CODE_BYTES:
                self.skipped.add(cell.label)
                self.problems.append(f"{cell.label} is {len(code) / 2**20:.1f} MiB of code, over the "
                                     f"{wire.MAX_CODE_BYTES >> 20} MiB limit for one cell; it was not run")
                continue
            try:
                reply, _ = worker.request({"op": "exec", "label": cell.label}, [np.frombuffer(code, np.uint8)],
                                          seconds=seconds)
                status = status_from_reply(reply)
            except EOFError:
                reason = worker.death_reason()
                if reason == "did not finish in time" and seconds < self.limits.cell_seconds:
                    raise RuntimeError(self._out_of_time(f"{cell.label} was stopped")) from None
                if reason == "did not finish in time":
                    reason = f"did not finish within {seconds:.0f} s"
                self.skipped.add(cell.label)
                self.problems.append(f"{cell.label} {reason}; the rest was run without it")
                return False
            except wire.REPLY_ERRORS as e:
                self.skipped.add(cell.label)
                self.problems.append(f"{cell.label}: {_lost(worker, e, '', '').error}; the rest was run without it")
                return False
            if first:
                if not status.ok:
                    self.problems.append(f"{cell.label} raised {status.error}\n{status.traceback}")
                if status.stdout:
                    self.output.append(status.stdout)
        return True

    def available(self, names: list[str]) -> dict[str, Availability]:
        from grader import wire
        from grader.target import Availability, names_from_reply

        try:
            self.finish_calls()
            worker = self._ensure()
            reply, _ = worker.request({"op": "names", "names": names}, seconds=self._seconds(self.limits.call_seconds))
            return names_from_reply(reply, names)
        except (EOFError, RuntimeError) as e:
            return {n: Availability("could not be loaded", f"({e})") for n in names}
        except wire.REPLY_ERRORS as e:  # the worker is stopped: the next request restarts it
            lost = _lost(self.worker, e, "", "").error if self.worker is not None else str(e)
            return {n: Availability("could not be loaded", f"({lost})") for n in names}

    def changed_state(self) -> list[str] | None:
        """The module-level names (or functions' defaults, attributes, closures) the calls so far changed;
        ``None`` when the worker cannot say (stopped, or its reply is not a list of names)."""
        from grader import wire
        from grader.target import state_from_reply

        if self.worker is None:
            return None
        try:
            self.finish_calls()
            reply, _ = self.worker.request({"op": "state"}, seconds=self._seconds(self.limits.call_seconds))
            return state_from_reply(reply)
        except (EOFError, RuntimeError, *wire.REPLY_ERRORS):
            self.close()  # its channel may hold a reply no one reads: the next call starts a new worker
            return None

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        return self.call_many([(name, args, kwargs or {}, keep)])[0]

    def call_many(self, calls: list[tuple[str, list[Any], dict[str, Any], tuple[int, ...]]]) -> list[Outcome]:
        """Independent calls ``(name, args, kwargs, keep)``, in order, pipelined (see :meth:`send_ahead`)."""
        ahead = self.send_ahead(calls)
        ahead.finish()
        return ahead.outcomes

    def send_ahead(self, calls: list[tuple[str, list[Any], dict[str, Any], tuple[int, ...]]]) -> CallsAhead:
        """Start independent calls ``(name, args, kwargs, keep)``; read their outcomes as they are needed.

        Requests go out ahead of the replies (as many as the pipe holds without blocking), so the
        worker runs the next calls while this side judges the last one. The calls are made in
        order, and exactly as calling one after the other would make them; after a fatal one (a
        hang, a crash) no more are made. Any other use of this target first reads every reply
        still on its way, so the worker's calls always come in the same order.
        """
        self.finish_calls()
        self._ahead = CallsAhead(self._pipeline(calls), len(calls))
        return self._ahead

    def finish_calls(self) -> None:
        """Read the replies of calls sent ahead that are still on their way."""
        if self._ahead is not None:
            ahead, self._ahead = self._ahead, None
            ahead.finish()

    def _pipeline(self, calls: list[tuple[str, list[Any], dict[str, Any], tuple[int, ...]]]) -> Iterator[Outcome]:
        from collections import deque

        from grader import wire
        from grader.target import Outcome, outcome_from_reply

        try:
            worker = self._ensure()
        except RuntimeError as e:
            yield Outcome(error=str(e), fatal=True)
            return
        packed = [wire.pack_message({"op": "call", "name": name, "args": tree, "keep": list(keep)}, buffers)
                  for name, args, kwargs, keep in calls
                  for tree, buffers in [wire.encode({"args": list(args), "kwargs": kwargs or {}})]]
        budget = worker.in_flight_bytes if len(calls) > 1 and not self.stand_ins else 0
        waiting: deque[int] = deque()  # sent, reply not read yet
        queued = in_flight = 0
        gone = False  # a write failed: the worker died (replies already on their way are still read)
        for _ in calls:
            while (queued < len(calls) and not gone and time.monotonic() < self.deadline
                   and (not waiting or in_flight + len(packed[queued]) <= budget)):
                try:  # room in the pipe is waited for as long as a call's reply is
                    room = max(0.0, min(self.limits.call_seconds, self.deadline - time.monotonic()))
                    worker.send(packed[queued], room)
                except EOFError:
                    gone = True
                    break
                waiting.append(queued)
                in_flight += len(packed[queued])
                queued += 1
            if waiting:
                i = waiting.popleft()
                in_flight -= len(packed[i])
            elif gone:
                i = queued  # its request could not be sent: it fails as a call on a dead worker does
            else:
                yield Outcome(error=self._out_of_time(), fatal=True)
                return
            seconds = max(0.0, min(self.limits.call_seconds, self.deadline - time.monotonic()))
            try:
                if i == queued:
                    raise EOFError("the worker stopped")
                header, out = worker.receive(seconds, self.limits.held_bytes - self.held)
                self.held += worker.last_size
                outcome = outcome_from_reply(header, out, len(calls[i][1]), calls[i][2] or {})
            except (EOFError, *wire.REPLY_ERRORS) as e:
                late = f"did not return within {seconds:g} s (an infinite loop?)"
                if worker.timed_out and seconds < self.limits.call_seconds:
                    late = f"was stopped: {self._out_of_time(f'{calls[i][0]} was stopped')}"
                yield _lost(worker, e, f"{calls[i][0]} ", late)
                return
            yield outcome

    def run(self, function: str, args: list[Any]) -> Outcome:
        """``module:name(target, *args)`` of the grader's run in the worker, next to the student's functions.

        See :func:`grader.target.run_near`. Only functions of the grader's own modules can be named.
        """
        from grader import wire
        from grader.target import Outcome, outcome_from_reply

        self.finish_calls()
        try:
            worker = self._ensure()
            wait = self._seconds(self.limits.run_seconds + 1.0)  # the loop's reply comes after it stopped itself
            seconds = min(self.limits.run_seconds, max(0.0, wait - 1.0))
            tree, buffers = wire.encode({"args": list(args), "kwargs": {}})
            header, out = worker.request({"op": "run", "function": function, "args": tree, "run_seconds": seconds,
                                          "call_seconds": self.limits.call_seconds}, buffers, wait,
                                         self.limits.held_bytes - self.held)
            self.held += worker.last_size
            return outcome_from_reply(header, out)  # its result is a value alone: no argument to modify
        except RuntimeError as e:
            return Outcome(error=str(e), fatal=True)
        except (EOFError, *wire.REPLY_ERRORS) as e:
            late = f"did not finish within {seconds:g} s"
            if worker.timed_out and wait < self.limits.run_seconds + 1.0:
                late = f"was stopped: {self._out_of_time('a grader loop was stopped')}"
            return _lost(worker, e, "", late)

    def spawn(self) -> WorkerTarget:
        """Another target for the same submission, in a worker of its own (for a parallel behaviour)."""
        other = WorkerTarget(self.submission, self.limits, self.mode, self.stand_ins)
        other.deadline = self.deadline  # one budget for the submission, however many workers run it
        return other

    def with_stand_ins(self, stand_ins: dict[str, Callable[..., Any]]) -> WorkerTarget:
        """The same submission in a new worker, with the grader's functions in place of these of its own."""
        return WorkerTarget(self.submission, self.limits, self.mode, stand_ins)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
