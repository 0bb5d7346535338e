"""Section 5: where the time of grading one submission goes.

Grading runs in this process exactly as ``bptt-grader grade`` runs it
(:func:`grader.batch._grade_and_write`, worker in the sandbox), with the
grader's functions wrapped from outside to charge their time to categories.
Time is *exclusive*: a category nested in another (the oracle inside a
Hypothesis search) is subtracted from the outer one, so the rows add up to
the total.

What cannot be seen from outside, the time the student's function itself
runs in the worker, is measured by replaying every recorded call in this
process: the same functions (the submission's cells run here) on the same
arguments, through the same call wrapper the worker uses
(:func:`grader.worker.invoke`). The transport is then the round trips' time
minus that replayed time.
"""

from __future__ import annotations

import importlib
import io
import os
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from common import SOLUTIONS
from grading_bench import correct_submission, functions_of

from grader import answers, batch, drawn, grading, report, report_html, sandbox, wire
from grader.assignments import get
from grader.target import Outcome
from grader.worker import Handles, invoke

CATEGORIES = (
    ("sandbox probe", "is bubblewrap usable here (bwrap_works, once per grading process)"),
    ("solutions", "loading the reference solution and the catalogue of mistakes"),
    ("read submission", "parsing the notebook"),
    ("worker start", "spawning the worker (bwrap) until it answers a first message (Python + numpy start-up)"),
    ("notebook cells", "running the submission's cells in the worker"),
    ("round trips", "call messages: pipes, process switches, waiting (replayed call time subtracted)"),
    ("worker call wrapper", "in the worker: copying and comparing arguments, encoding the reply (replayed)"),
    ("student compute", "the student's functions themselves (replayed here on the recorded arguments)"),
    ("student compute in loops", "the student's calls inside a grader loop run in the worker (trask's training, "
     "replayed here); it overlaps the rows above and is not part of the total"),
    ("hypothesis", "instance generation and shrinking: searches minus the judging inside them"),
    ("oracle", "true answers (complex-step derivatives of the forward pass)"),
    ("reference solution", "the instructor's reference on the same instances (in process)"),
    ("comparison", "answer_problem / contract_problem: comparing and describing answers"),
    ("memo keys", "hashing instances to memoise calls and truths"),
    ("diagnosis", "matching failures against the catalogue of mistakes"),
    ("behaviours", "whole-network properties (trask: the network learns to add)"),
    ("reports", "results JSON and the HTML feedback page"),
    ("worker stop", "closing the worker and removing its scratch folder"),
    ("other", "the rest of the grading logic (total minus all of the above)"),
)


class Clock:
    """Exclusive time per category, for nested wrapped calls."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.stack: list[list[Any]] = []

    @contextmanager
    def charge(self, category: str) -> Iterator[None]:
        self.stack.append([category, time.perf_counter(), 0.0])
        try:
            yield
        finally:
            cat, start, nested = self.stack.pop()
            elapsed = time.perf_counter() - start
            self.totals[cat] += elapsed - nested
            self.counts[cat] += 1
            if self.stack:
                self.stack[-1][2] += elapsed

    def wrap(self, category: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self.charge(category):
                return fn(*args, **kwargs)

        wrapped.__wrapped__ = fn
        return wrapped


class Patches:
    """``setattr`` that is undone on exit (frozen dataclasses too)."""

    def __init__(self) -> None:
        self.undo: list[tuple[Any, str, Any]] = []

    def set(self, obj: Any, name: str, value: Any) -> None:
        self.undo.append((obj, name, getattr(obj, name)))
        self._assign(obj, name, value)

    @staticmethod
    def _assign(obj: Any, name: str, value: Any) -> None:
        if isinstance(obj, type) or type(obj).__name__ == "module":
            setattr(obj, name, value)
        else:  # an instance of a frozen dataclass
            object.__setattr__(obj, name, value)

    def __enter__(self) -> Patches:
        return self

    def __exit__(self, *exc: Any) -> None:
        for obj, name, old in reversed(self.undo):
            self._assign(obj, name, old)


def profile_once(assignment: str, path: Path, out: Path, mode: str, examples: int | None = None) -> dict[str, Any]:
    """Grade ``path`` once, instrumented; the exclusive seconds per category and the recorded calls."""
    clock = Clock()
    drawn.forget()  # as in a new `bptt-grader grade` process: only the lists on disk (shipped or drawn before)
    calls: list[tuple[int, str, Any, list[int]]] = []  # (worker number, function, payload, keep)
    loops: list[tuple[str, Any]] = []  # grader loops run in a worker (run_near): (module:function, payload)
    round_trips = [0]
    workers = [0]
    a = get(assignment)
    orig_init, orig_request = sandbox.Worker.__init__, sandbox.Worker.request
    orig_send, orig_receive = sandbox.Worker.send, sandbox.Worker.receive
    orig_probe = sandbox.bwrap_works
    in_request = threading.local()  # exec and names messages: charged by request() as a whole (per thread)

    def init(self: sandbox.Worker, *args: Any, **kwargs: Any) -> None:
        with clock.charge("worker start"):
            orig_init(self, *args, **kwargs)
            orig_request(self, {"op": "names", "names": []}, seconds=60)  # returns once the worker is up
            workers[0] += 1
            self.bench_number = workers[0]  # its calls replay against its own handles

    def request(self: sandbox.Worker, header: dict[str, Any], buffers: Any = (), seconds: float = 10.0,
                *rest: Any) -> Any:
        if header.get("op") == "run":
            loops.append((header["function"], wire.decode(header["args"], list(buffers))))
        in_request.on = True
        try:
            with clock.charge("notebook cells" if header.get("op") == "exec" else "round trips"):
                return orig_request(self, header, buffers, seconds, *rest)
        finally:
            in_request.on = False

    def send(self: sandbox.Worker, message: bytes, *rest: Any) -> None:
        if getattr(in_request, "on", False):
            return orig_send(self, message, *rest)
        header, buffers = wire.read_message(io.BytesIO(message))  # calls are sent packed (call_many)
        if header.get("op") == "call":
            payload = wire.decode(header["args"], buffers)
            calls.append((self.bench_number, header["name"], payload, list(header.get("keep", []))))
        with clock.charge("round trips"):
            return orig_send(self, message, *rest)

    def receive(self: sandbox.Worker, seconds: float, *rest: Any) -> Any:
        if getattr(in_request, "on", False):
            return orig_receive(self, seconds, *rest)
        round_trips[0] += 1
        with clock.charge("round trips"):
            return orig_receive(self, seconds, *rest)

    def probe() -> bool:
        with clock.charge("sandbox probe"):
            return orig_probe()

    batch._solutions_cache.clear()
    sandbox._probe.cache_clear()  # the probe runs again, as in a new grading process
    with Patches() as p:
        p.set(sandbox.Worker, "__init__", init)
        p.set(sandbox.Worker, "request", request)
        p.set(sandbox.Worker, "send", send)
        p.set(sandbox.Worker, "receive", receive)
        p.set(sandbox.Worker, "close", clock.wrap("worker stop", sandbox.Worker.close))
        p.set(sandbox, "bwrap_works", probe)
        for module, name, category in (
                (grading, "search", "hypothesis"), (grading, "search_again", "hypothesis"),
                (grading, "larger_failure", "comparison"), (grading, "answer_problem", "comparison"),
                (grading, "contract_problem", "comparison"), (answers, "instance_key", "memo keys"),
                (grading, "match", "diagnosis"), (batch, "_solutions", "solutions"),
                (batch, "read_submission", "read submission"), (report_html, "write_html", "reports"),
                (report, "write_results", "reports")):
            p.set(module, name, clock.wrap(category, getattr(module, name)))
        p.set(answers.Answers, "reference", clock.wrap("reference solution", answers.Answers.reference))
        for q in a.questions:
            p.set(q, "truth", clock.wrap("oracle", q.truth))
            for b in q.behaviours:
                p.set(b, "run", clock.wrap("behaviours", b.run))
        job = batch.Job(assignment, SOLUTIONS, mode, examples=examples)
        t0 = time.perf_counter()
        with clock.charge("other"):
            data = batch._grade_and_write(job, path, path.stem, out)
        total = time.perf_counter() - t0
    sandbox._probe.cache_clear()  # the probe runs again, as in a new grading process
    seconds = dict(clock.totals)
    seconds.update(_replay(path, calls, seconds.pop("round trips", 0.0)))
    seconds["student compute in loops"] = _replay_loops(path, loops)
    return {"total": total, "seconds": seconds, "calls": len(calls), "round_trips": round_trips[0],
            "workers": workers[0], "score": f"{data['score']:g} / {data['max_score']:g}"}


class _ComputeTarget:
    """The student's functions called directly, their own time added up (a grader loop's target, replayed)."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace, self.seconds = namespace, 0.0

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None, keep: Any = ()) -> Outcome:
        args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        t0 = time.perf_counter()
        try:
            return Outcome(value=self.namespace[name](*args, **(kwargs or {})))
        finally:
            self.seconds += time.perf_counter() - t0


def _replay_loops(path: Path, loops: list[tuple[str, Any]]) -> float:
    """The student's compute inside the grader loops a grading ran in its workers (replayed here)."""
    if not loops:
        return 0.0
    target = _ComputeTarget(functions_of(path))
    for function, payload in loops:
        module, _, name = function.partition(":")
        getattr(importlib.import_module(module), name)(target, *payload["args"])
    return target.seconds


def _replay(path: Path, calls: list[tuple[int, str, Any, list[int]]], round_trip_seconds: float) -> dict[str, float]:
    """Split the round trips' time: the student's compute, the worker's call wrapper, and the rest."""
    namespace = functions_of(path)
    compute = [0.0]
    wrapper = 0.0
    handles: dict[int, Handles] = defaultdict(Handles)  # one per worker: handle numbers restart with it

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                compute[0] += time.perf_counter() - t0
        return run

    for worker, name, payload, keep in calls:
        fn = namespace.get(name)
        if not callable(fn):
            continue
        t0 = time.perf_counter()
        invoke(timed(fn), payload["args"], payload.get("kwargs", {}), keep, handles[worker])
        wrapper += time.perf_counter() - t0
    return {"student compute": compute[0], "worker call wrapper": wrapper - compute[0],
            "round trips": max(0.0, round_trip_seconds - wrapper)}


def run(cases: list[tuple[str, str, str]], repeats: int, scratch: Path, log: Callable[[str], None],
        examples: int | None = None) -> list[dict[str, Any]]:
    """``cases``: ``(assignment, submission, sandbox mode, instances)``; submission ``correct`` or an example's
    file name; instances ``shipped`` (the lists shipped with the grader: :mod:`grader.drawn`) or ``drawn``
    (``BPTT_GRADER_CACHE=off``: drawn by Hypothesis, as for an assignment whose sources changed since)."""
    out = []
    for assignment, which, mode, instances in cases:
        if which == "correct":
            path, what = correct_submission(assignment, scratch)
        else:
            path = batch_example(assignment, which)
            what = path.name
        log(f"  profile {assignment} {what} (sandbox {mode}, instances {instances})")
        saved = os.environ.get("BPTT_GRADER_CACHE")
        if instances == "drawn":
            os.environ["BPTT_GRADER_CACHE"] = "off"
        try:
            runs = [profile_once(assignment, path, scratch / f"profile-{assignment}-{path.stem}-{mode}-{i}", mode,
                                 examples) for i in range(repeats)]
        finally:
            if saved is None:
                os.environ.pop("BPTT_GRADER_CACHE", None)
            else:
                os.environ["BPTT_GRADER_CACHE"] = saved
        categories = [c for c, _ in CATEGORIES]
        for r in runs:
            r["seconds"]["other"] = r["seconds"].get("other", 0.0)
            r["seconds"] = {c: r["seconds"].get(c, 0.0) for c in categories}
        median = {c: statistics.median(r["seconds"][c] for r in runs) for c in categories}
        spread = {c: (min(r["seconds"][c] for r in runs), max(r["seconds"][c] for r in runs)) for c in categories}
        out.append({"assignment": assignment, "submission": what, "sandbox": mode, "instances": instances,
                    "total": statistics.median(r["total"] for r in runs),
                    "total_range": (min(r["total"] for r in runs), max(r["total"] for r in runs)),
                    "median": median, "range": spread, "n": repeats,
                    "calls": runs[0]["calls"], "round_trips": runs[0]["round_trips"],
                    "workers": runs[0]["workers"], "score": runs[0]["score"]})
    return out


def batch_example(assignment: str, name: str) -> Path:
    from common import EXAMPLES

    return EXAMPLES / assignment / name
