"""Behaviours that run in a worker of their own, on the second core, while the checks run on the first.

A question's :class:`~grader.questions.Behaviour` marked ``parallel`` (trask's network trains for
600 sequential calls) starts first thing (:func:`start_parallel`); its result is collected when its
function's checks are done.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from grader.questions import Assignment, Question
from grader.results import CheckResult
from grader.target import FUNCTION, Target


def kept_results(question: Question, checks: list[CheckResult]) -> dict[tuple[str, str], Future]:
    """The long behaviours' first results, for a regrade not to run them again (trask's 600 training steps
    would each ask the grader for its stand-in's answers: a minute, not a second)."""
    kept: dict[tuple[str, str], Future] = {}
    for b in question.behaviours:
        first = next((c for c in checks if c.check == b.name), None)
        if b.parallel and first is not None:
            kept[(question.function, b.name)] = Future()
            kept[(question.function, b.name)].set_result((first.passed, first.message))
    return kept


def workers(assignment: Assignment) -> int:
    """How many workers grading a submission of ``assignment`` uses: one, and one for its parallel behaviours."""
    return 1 + any(b.parallel for q in assignment.questions for b in q.behaviours)


def start_parallel(questions: list[Question], target: Target) -> dict[tuple[str, str], Future]:
    """Start the ``parallel`` behaviours, one after the other in a second worker (where the target can make one).

    Trask's network trains for 600 sequential calls (inside that worker, :func:`grader.target.run_near`);
    it runs on the second core while the other checks run on the first. A behaviour whose
    function the submission lacks is not run (:func:`grader.grading.grade_question` reports the missing function).
    """
    spawn = getattr(target, "spawn", None)
    jobs = [(q, b) for q in questions for b in q.behaviours if b.parallel]
    if spawn is None or not jobs:
        return {}
    futures: dict[tuple[str, str], Future] = {(q.function, b.name): Future() for q, b in jobs}

    def run() -> None:
        try:
            own = spawn()
        except Exception as e:  # noqa: BLE001 - reported as the behaviours' failure, like any other
            for f in futures.values():
                f.set_result((False, f"could not start a worker for it: {e}"))
            return
        try:
            status = own.available(sorted({q.function for q, _ in jobs}))
            for q, b in jobs:
                future = futures[(q.function, b.name)]
                found = status.get(q.function, FUNCTION)
                if not found.is_function:
                    future.set_result((False, found.message(q.function)))
                    continue
                try:
                    future.set_result(b.run(own))
                except BaseException as e:  # noqa: BLE001 - handed to grade(), which raises it there
                    future.set_exception(e)
        finally:
            own.close()

    threading.Thread(target=run, name="bptt-behaviours", daemon=True).start()
    return futures
