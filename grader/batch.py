"""Grade many submissions: in parallel, each result written as soon as it is known.

Each submission's results are written atomically to ``DIR/<name>.json`` the
moment it is graded, so a batch killed at any point (even with SIGKILL) and
run again with ``--resume`` skips exactly the submissions that have results
and grades the rest. ``grades.csv`` and ``summary.txt`` are rebuilt from all
results at the end.

``<name>`` comes from the submission's path below the common root of the
submissions (:func:`result_names`): unique, made of safe characters, and the
same whatever order the files are found in. Each result records the path it
graded and the sha256 of the bytes graded, and ``--resume`` keeps a result only
when both still match the file (and it has no internal error of the grader).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import re
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from grader import report, report_html
from grader.assignments import get
from grader.grading import Grade, grade, grade_question, workers
from grader.notebook import SubmissionError, read_submission, read_submission_bytes
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
    allow_numerical: bool = False  # numerical answers keep their points (flagged all the same)


_solutions_cache: dict[tuple[str, Path], Solutions] = {}


def _solutions(job: Job) -> Solutions:
    key = (job.assignment, job.solutions_dir)
    if key not in _solutions_cache:
        _solutions_cache[key] = load_solutions(job.assignment, job.solutions_dir)
    return _solutions_cache[key]


def grade_source(job: Job, path: Path, name: str, prestart_next: bool = False,
                 folder: Path | None = None) -> tuple[Grade, str | None]:
    """Grade one submission file in a worker, and the sha256 of the bytes graded (``None`` when none
    were read); an unreadable or refused file gets zero with the reason.

    ``folder``: the submission folder ``path`` was found in (nothing below it may be a symbolic link:
    :func:`grader.notebook.read_submission_bytes`; default: the file's own folder).
    ``prestart_next``: start the next submission's worker now, so that it boots while this one is graded.
    """
    assignment = get(job.assignment)
    solutions = _solutions(job)
    try:
        submission = read_submission(path, folder)
    except SubmissionError as e:
        result = Grade(submission=name, assignment=assignment.name, problems=[str(e)])
        for q in assignment.questions:
            result.checks.extend(grade_question(q, None, solutions, f"not graded: {e}"))
        return result, None
    target = WorkerTarget(submission, job.limits, job.sandbox)
    if prestart_next:
        prestart(job.sandbox, job.limits, count=workers(assignment))
    try:
        result = grade(assignment, target, solutions, name=name, examples=job.examples,
                       allow_numerical=job.allow_numerical)
    finally:
        target.close()
    result.problems = target.problems
    result.output = "".join(target.output)
    result.sandbox = target.mode
    return result, submission.sha256 or None


def grade_file(job: Job, path: Path, name: str, prestart_next: bool = False, folder: Path | None = None) -> Grade:
    """:func:`grade_source` without the digest."""
    return grade_source(job, path, name, prestart_next, folder)[0]


def _grade_and_write(job: Job, path: Path, name: str, out: Path, prestart_next: bool = False,
                     folder: Path | None = None, source: str | None = None) -> dict[str, Any]:
    result, digest = grade_source(job, path, name, prestart_next, folder)
    assignment = get(job.assignment)
    report_html.write_html(result, assignment, out / f"{name}.html")
    # the JSON last: its presence is what --resume takes as "graded"
    return report.write_results(result, assignment, out / f"{name}.json",
                                source={"path": source if source is not None else path.name, "sha256": digest})


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_CHARS = 120  # of a name's readable part: with a digest, ".html" and a temporary prefix, far below 255


def common_root(paths: list[Path]) -> Path:
    """The deepest folder that holds every one of ``paths`` (folders, or files: their folders; absolute,
    not resolved: a folder given as a link keeps its name)."""
    if not paths:
        return Path.cwd()
    return Path(os.path.commonpath([os.path.abspath(p if p.is_dir() else p.parent) for p in paths]))


def source_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, with ``/``: how a result names the file it graded."""
    return PurePath(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).as_posix()


def _readable_name(rel: str) -> str:
    parts = PurePath(rel).parts
    pieces = [*parts[:-1], PurePath(parts[-1]).stem if parts else ""]
    name = "-".join(_UNSAFE.sub("_", piece) for piece in pieces if piece)
    name = re.sub(r"^\.", "_", name)[:_NAME_CHARS]  # never hidden, never "." or ".."
    return name or "_"


def result_names(paths: list[Path], root: Path | None = None) -> dict[Path, str]:
    """A results-file name per submission, from its path below ``root`` (default: :func:`common_root`).

    ``class/alice/hw.py`` is ``alice-hw`` and ``class/aaron/alice-hw.py`` ``aaron-alice-hw``: the folders
    and the stem joined by ``-``, every character but ``A-Za-z0-9._-`` replaced by ``_``. Names that
    would still be equal (ignoring case, for case-insensitive file systems), such as ``a-b/c.py`` and
    ``a/b-c.py`` or ``hw.py`` and ``hw.ipynb``, each get ``-`` and the start of the sha256 of their
    relative path. A name depends on the set of paths only, never on their order.
    """
    root = common_root(paths) if root is None else root
    rel = {p: source_path(p, root) for p in paths}
    readable = {p: _readable_name(r) for p, r in rel.items()}
    counts = Counter(readable[p].lower() for p in set(paths))
    digest = {p: hashlib.sha256(r.encode("utf-8", "surrogateescape")).hexdigest() for p, r in rel.items()}
    for length in range(8, 65, 8):
        names = {p: readable[p] if counts[readable[p].lower()] == 1 and len(readable[p]) < _NAME_CHARS
                 else f"{readable[p]}-{digest[p][:length]}" for p in paths}
        owners: dict[str, set[str]] = {}
        for p, n in names.items():
            owners.setdefault(n.lower(), set()).add(rel[p])
        if all(len(o) == 1 for o in owners.values()):
            return names
    raise ValueError("submission names collide even with their digests")  # a file named after another's digest


def _up_to_date(existing: dict[str, Any] | None, path: Path, folder: Path | None, source: str) -> bool:
    """Whether ``existing`` is this file's result, for these very bytes, with no internal error."""
    if existing is None or existing.get("internal_errors"):
        return False
    recorded = existing.get("extra_data", {}).get("source") or {}
    if recorded.get("path") != source or not recorded.get("sha256"):
        return False
    try:
        data = read_submission_bytes(path, folder)
    except SubmissionError:
        return False  # refused or unreadable now: graded again, which says why at once
    return hashlib.sha256(data).hexdigest() == recorded["sha256"]


def run_batch(job: Job, paths: list[Path], out: Path, jobs: int = 1, resume: bool = False,
              progress: Callable[[str, dict[str, Any] | None, str], None] | None = None,
              root: Path | None = None, folders: dict[Path, Path] | None = None,
              ) -> tuple[list[dict[str, Any]], dict[Path, str]]:
    """Grade ``paths`` into ``out``; return every result (old ones too, with ``resume``) and the failures.

    ``root``: what result names and recorded paths are relative to (default: :func:`common_root`);
    ``folders``: each path's submission folder, below which no symbolic link is followed (default:
    ``root``). ``progress(name, result, status)`` is called for each submission, ``status`` being
    ``"graded"``, ``"kept"`` (``--resume``; ``result`` is the one kept) or ``"error"`` (``result`` is
    ``None``: the grader failed and wrote nothing).
    """
    seen: dict[str, Path] = {}
    for p in paths:
        seen.setdefault(os.path.abspath(p), p)  # a file named twice is graded once
    paths = list(seen.values())
    root = common_root(paths) if root is None else root
    folder = {p: (folders or {}).get(p, root) for p in paths}
    source = {p: source_path(p, root) for p in paths}
    out.mkdir(parents=True, exist_ok=True)
    names = result_names(paths, root)
    results: list[dict[str, Any]] = []
    todo: list[Path] = []
    for p in paths:
        existing = report.read_results(out / f"{names[p]}.json") if resume else None
        if _up_to_date(existing, p, folder[p], source[p]):
            results.append(existing)
            if progress:
                progress(names[p], existing, "kept")
        else:
            todo.append(p)
    errors: dict[Path, str] = {}

    def done(p: Path, data: dict[str, Any] | None, error: str | None) -> None:
        if data is not None:
            results.append(data)
        if error is not None:
            errors[p] = error
        if progress:
            progress(names[p], data, "graded" if error is None else "error")

    if jobs <= 1 or len(todo) <= 1:
        for i, p in enumerate(todo):
            try:
                done(p, _grade_and_write(job, p, names[p], out, i + 1 < len(todo), folder[p], source[p]), None)
            except Exception:
                done(p, None, traceback.format_exc())
    else:
        import multiprocessing  # here: 6 ms that grading a single submission does without

        context = multiprocessing.get_context("spawn")  # no fork of a process that has threads
        with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_grade_and_write, job, p, names[p], out, False, folder[p], source[p]): p
                       for p in todo}
            for fut in cf.as_completed(futures):
                p = futures[fut]
                try:
                    done(p, fut.result(), None)
                except Exception:
                    done(p, None, traceback.format_exc())
    report.write_grades_csv(results, get(job.assignment), out / "grades.csv")
    report.write_atomic(out / "summary.txt",
                        summary(results, get(job.assignment).name, not_written=[names[p] for p in errors]))
    return results, errors


def _not_graded(results: list[dict[str, Any]], not_written: list[str]) -> list[str]:
    """The section naming the submissions the grader failed on (its own errors, not the students')."""
    failed = [(r["extra_data"]["submission"], r["internal_errors"][0]) for r in results if r.get("internal_errors")]
    failed += [(name, "the grader failed; nothing was written") for name in not_written]
    if not failed:
        return []
    lines = ["", "Not graded (internal error), grade again with --resume:"]
    for name, why in sorted(failed):
        first = str(why).strip().splitlines()[0] if str(why).strip() else "internal error"
        lines.append(f"  {name}: {first}")
    return lines


def summary(results: list[dict[str, Any]], assignment: str, not_written: list[str] | None = None) -> str:
    """Score histogram, pass rate per function, most common misconceptions; the sandbox modes used and
    the submissions the grader failed on (``not_written``: those that have no result at all)."""
    not_written = list(not_written or [])
    if not results:
        return "\n".join([f"{assignment}: no submissions graded", *_not_graded(results, not_written)]) + "\n"
    max_score = max(r["max_score"] for r in results) or 1
    modes = Counter(r.get("sandbox", "unknown") or "not run, unreadable" for r in results)
    lines = [f"{assignment}: {len(results)} submissions, mean {sum(r['score'] for r in results) / len(results):.2f}"
             f" / {max_score:g}",
             "Sandbox: " + ", ".join(f"{m} ({n})" for m, n in sorted(modes.items())),
             *_not_graded(results, not_written), "", "Scores:"]
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
