"""Grade many submissions: in parallel, each result written as soon as it is known.

Each submission's results are written atomically to ``DIR/<name>.json`` the
moment it is graded, so a batch killed at any point (even with SIGKILL) and
run again with ``--resume`` skips exactly the submissions that have results
and grades the rest. ``grades.csv`` and ``summary.txt`` are rebuilt from all
results at the end.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import report, report_html
from grader.assignments import get
from grader.grading import Grade, grade, grade_question, workers
from grader.notebook import SubmissionError, read_submission
from grader.oracles.reference import Solutions, load_solutions
from grader.sandbox import Limits, WorkerTarget, prestart


@dataclass
class Job:
    """What every submission of a batch is graded with (picklable, for worker processes)."""

    assignment: str
    solutions_dir: Path
    sandbox: str = "auto"
    limits: Limits = field(default_factory=Limits)
    examples: int | None = None


_solutions_cache: dict[tuple[str, Path], Solutions] = {}


def _solutions(job: Job) -> Solutions:
    key = (job.assignment, job.solutions_dir)
    if key not in _solutions_cache:
        _solutions_cache[key] = load_solutions(job.assignment, job.solutions_dir)
    return _solutions_cache[key]


def grade_file(job: Job, path: Path, name: str, prestart_next: bool = False) -> Grade:
    """Grade one submission file in a worker; an unreadable file gets zero with the reason.

    ``prestart_next``: start the next submission's worker now, so that it boots while this one is graded.
    """
    assignment = get(job.assignment)
    solutions = _solutions(job)
    try:
        submission = read_submission(path)
    except SubmissionError as e:
        result = Grade(submission=name, assignment=assignment.name, problems=[str(e)])
        for q in assignment.questions:
            result.checks.extend(grade_question(q, None, solutions, f"not graded: {e}"))
        return result
    target = WorkerTarget(submission, job.limits, job.sandbox)
    if prestart_next:
        prestart(job.sandbox, job.limits, count=workers(assignment))
    try:
        result = grade(assignment, target, solutions, name=name, examples=job.examples)
    finally:
        target.close()
    result.problems = target.problems
    result.output = "".join(target.output)
    return result


def _grade_and_write(job: Job, path: Path, name: str, out: Path, prestart_next: bool = False) -> dict[str, Any]:
    result = grade_file(job, path, name, prestart_next)
    assignment = get(job.assignment)
    report_html.write_html(result, assignment, out / f"{name}.html")
    # the JSON last: its presence is what --resume takes as "graded"
    return report.write_results(result, assignment, out / f"{name}.json")


def result_names(paths: list[Path]) -> dict[Path, str]:
    """A results-file name per submission: its stem, made unique with its folder when stems collide."""
    stems = Counter(p.stem for p in paths)
    names: dict[Path, str] = {}
    for p in paths:
        name = p.stem if stems[p.stem] == 1 else f"{p.parent.name}-{p.stem}"
        while name in names.values():
            name += "_"
        names[p] = name
    return names


def run_batch(job: Job, paths: list[Path], out: Path, jobs: int = 1, resume: bool = False,
              progress: Callable[[str, dict[str, Any] | None], None] | None = None,
              ) -> tuple[list[dict[str, Any]], dict[Path, str]]:
    """Grade ``paths`` into ``out``; return every result (old ones too, with ``resume``) and the failures."""
    out.mkdir(parents=True, exist_ok=True)
    names = result_names(paths)
    results: list[dict[str, Any]] = []
    todo: list[Path] = []
    for p in paths:
        existing = report.read_results(out / f"{names[p]}.json") if resume else None
        if existing is not None:
            results.append(existing)
            if progress:
                progress(names[p], None)
        else:
            todo.append(p)
    errors: dict[Path, str] = {}

    def done(p: Path, data: dict[str, Any] | None, error: str | None) -> None:
        if data is not None:
            results.append(data)
        if error is not None:
            errors[p] = error
        if progress:
            progress(names[p], data)

    if jobs <= 1 or len(todo) <= 1:
        for i, p in enumerate(todo):
            try:
                done(p, _grade_and_write(job, p, names[p], out, prestart_next=i + 1 < len(todo)), None)
            except Exception:
                done(p, None, traceback.format_exc())
    else:
        import multiprocessing  # here: 6 ms that grading a single submission does without

        context = multiprocessing.get_context("spawn")  # no fork of a process that has threads
        with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_grade_and_write, job, p, names[p], out): p for p in todo}
            for fut in cf.as_completed(futures):
                p = futures[fut]
                try:
                    done(p, fut.result(), None)
                except Exception:
                    done(p, None, traceback.format_exc())
    report.write_grades_csv(results, get(job.assignment), out / "grades.csv")
    report.write_atomic(out / "summary.txt", summary(results, get(job.assignment).name))
    return results, errors


def summary(results: list[dict[str, Any]], assignment: str) -> str:
    """Score histogram, pass rate per function, most common misconceptions."""
    if not results:
        return f"{assignment}: no submissions graded\n"
    max_score = max(r["max_score"] for r in results) or 1
    lines = [f"{assignment}: {len(results)} submissions, mean {sum(r['score'] for r in results) / len(results):.2f}"
             f" / {max_score:g}", "", "Scores:"]
    bins = Counter(min(9, int(10 * r["score"] / max_score)) for r in results)
    for b in range(10):
        lo, hi = b * 10, b * 10 + 10
        lines.append(f"  {lo:3d}-{hi:3d}%  {'#' * bins.get(b, 0)} {bins.get(b, 0)}")
    lines += ["", "Functions fully correct:"]
    functions: dict[str, list[bool]] = {}
    for r in results:
        per: dict[str, bool] = {}
        for t in r["tests"]:
            per[t["function"]] = per.get(t["function"], True) and t["status"] == "passed"
        for f, ok in per.items():
            functions.setdefault(f, []).append(ok)
    for f, oks in functions.items():
        lines.append(f"  {f:32s} {sum(oks):4d} / {len(oks)}  ({100 * sum(oks) / len(oks):.0f}%)")
    mistakes = Counter()
    for r in results:
        seen = {t["extra_data"]["misconception"] for t in r["tests"]
                if t["status"] == "failed" and t.get("extra_data", {}).get("misconception")}
        mistakes.update(seen)
    lines += ["", "Most common misconceptions:"]
    lines += [f"  {n:4d}  {m}" for m, n in mistakes.most_common(10)] or ["  (none diagnosed)"]
    return "\n".join(lines) + "\n"


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
