"""Grade many submissions: in parallel, each result written as soon as it is known.

Each submission's results are written atomically to ``DIR/<name>.json`` the
moment it is graded, so a batch killed at any point (even with SIGKILL) and
run again with ``--resume`` skips exactly the submissions that have results
and grades the rest. ``grades.csv`` and ``summary.txt`` are rebuilt from all
results at the end.

``<name>`` comes from the submission's path below the common root of the
submissions (:func:`result_names`): unique, made of safe characters, and the
same whatever order the files are found in. Each result records the path it
graded and the sha256 of the bytes graded, and what graded it (:mod:`grader.regrade`: the grader,
the assignment, the reference and the catalogue), and ``--resume`` keeps a result only
when all still match (and it has no internal error of the grader); the scores that moved in a
regrading are listed in ``changes.txt``. ``index.html`` is the class overview.

A class can be graded on many machines (``--shard K/N``, :func:`parse_shard`): each grades the
submissions whose name hashes to its shard (:func:`shard_of`) into a folder of its own, with a
manifest (``shard.manifest``); :mod:`grader.collect` merges the folders.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import re
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from grader import regrade, report, report_html, unnamed
from grader.assignments import get
from grader.behaviours import workers
from grader.grading import grade_submission, not_graded
from grader.notebook import SubmissionError, read_submission, read_submission_bytes
from grader.oracles.reference import Solutions, load_solutions
from grader.results import Grade
from grader.sandbox import Limits, prestart
from grader.worker_target import WorkerTarget


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
            result.checks.extend(not_graded(q, solutions, str(e)))
        return result, None
    target = WorkerTarget(submission, job.limits, job.sandbox)
    if prestart_next:
        prestart(job.sandbox, job.limits, count=workers(assignment))
    result = grade_submission(assignment, target, solutions, name=name, examples=job.examples,
                              allow_numerical=job.allow_numerical)
    return result, submission.sha256 or None


def grade_file(job: Job, path: Path, name: str, prestart_next: bool = False, folder: Path | None = None) -> Grade:
    """:func:`grade_source` without the digest."""
    return grade_source(job, path, name, prestart_next, folder)[0]


def fingerprint(job: Job) -> dict[str, Any]:
    """What grades with ``job`` (:func:`grader.regrade.fingerprint`), recorded in each result."""
    return regrade.fingerprint(job.assignment, job.solutions_dir, job.examples, job.allow_numerical)


def _grade_and_write(job: Job, path: Path, name: str, out: Path, prestart_next: bool = False,
                     folder: Path | None = None, source: str | None = None,
                     graded_with: dict[str, Any] | None = None) -> dict[str, Any]:
    result, digest = grade_source(job, path, name, prestart_next, folder)
    assignment = get(job.assignment)
    report_html.write_html(result, assignment, out / f"{name}.html")
    data = report.results_json(result, assignment,
                               source={"path": source if source is not None else path.name, "sha256": digest})
    data["extra_data"]["graded_with"] = graded_with if graded_with is not None else fingerprint(job)
    # the JSON last: its presence is what --resume takes as "graded"
    report.write_atomic(out / f"{name}.json", json.dumps(data, indent=2, sort_keys=False) + "\n")
    return data


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_CHARS = 120  # of a name's readable part: with a digest, ".html" and a temporary prefix, far below 255
#: Names a result may not take (``index.html`` is the class overview): such a file gets a digest.
RESERVED = frozenset({"index"})


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
    relative path, as does a file that would take a :data:`RESERVED` name (``index.py``). A name depends
    on the set of paths only, never on their order.
    """
    root = common_root(paths) if root is None else root
    rel = {p: source_path(p, root) for p in paths}
    readable = {p: _readable_name(r) for p, r in rel.items()}
    counts = Counter(readable[p].lower() for p in set(paths))
    for reserved in RESERVED:
        counts[reserved] += 2  # never alone: always with a digest
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


# -- shards: a class graded on many machines ---------------------------------------------------------

MANIFEST = "shard.manifest"  # not *.json: never a result's name, never read as a result
MANIFEST_FORMAT = "bptt-grader-shard/1"
#: Where ``--shard auto/N`` (or ``--shard N``) finds its index, first found first.
SHARD_INDEX_VARS = ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID")


class ShardError(ValueError):
    """A ``--shard`` that cannot be used, or an out folder that holds another shard; the message says why."""


def parse_shard(spec: str, environ: dict[str, str] | None = None) -> tuple[int, int]:
    """``--shard``: ``K/N`` (shard ``K`` of ``N``, ``0 <= K < N``), or ``auto/N`` or ``N``, whose ``K`` is
    ``$JOB_COMPLETION_INDEX`` (a Kubernetes Indexed Job) or else ``$SLURM_ARRAY_TASK_ID`` (a Slurm job
    array submitted with ``--array=0-(N-1)``)."""
    environ = os.environ if environ is None else environ
    text = spec.strip()
    k_text, sep, n_text = text.partition("/")
    if not sep:
        k_text, n_text = "auto", text
    if not n_text.isdigit() or int(n_text) < 1:
        raise ShardError(f"--shard {spec}: the number of shards must be a whole number >= 1 "
                         "(K/N, auto/N or N; K counts from 0)")
    n = int(n_text)
    if k_text == "auto":
        found = {var: environ[var].strip() for var in SHARD_INDEX_VARS if environ.get(var, "").strip()}
        if not found:
            raise ShardError(f"--shard {spec} takes the shard's index from JOB_COMPLETION_INDEX (a Kubernetes "
                             "Indexed Job) or SLURM_ARRAY_TASK_ID (a Slurm job array), and neither is set; "
                             f"pass it yourself: --shard K/{n} (K = 0..{n - 1})")
        if len(set(found.values())) > 1:
            raise ShardError(f"--shard {spec}: " + " and ".join(f"{v}={x}" for v, x in found.items())
                             + " disagree; pass --shard K/N")
        var, k_text = next(iter(found.items()))
        where = f" ({var}={k_text})"
    else:
        where = ""
    if not k_text.isdigit():
        raise ShardError(f"--shard {spec}: the shard's index{where} must be a whole number from 0 to {n - 1}")
    k = int(k_text)
    if k >= n:
        hint = f"; submit the Slurm array as --array=0-{n - 1}" if "SLURM" in where else ""
        raise ShardError(f"--shard {spec}: the shard's index{where} is {k}, not below the number of shards {n} "
                         f"(shards count from 0){hint}")
    return k, n


def shard_of(name: str, shards: int) -> int:
    """The shard (``0..shards-1``) of the submission whose result is called ``name``: from the sha256 of the
    name, so the same on every machine and whatever the order files are found in; a submission added
    later moves no other one."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()[:8], "big") % shards


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The shard manifest of a results folder, ``None`` when it has none."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ShardError(f"{out / MANIFEST} is unreadable ({e}): remove it, or give another --out") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ShardError(f"{out / MANIFEST} is not a bptt-grader shard manifest: remove it, or give another --out")
    return data


def check_out_folder(out: Path, shard: tuple[int, int] | None) -> None:
    """Refuse an out folder that holds another shard's results (or a shard's, for a run of the whole class)."""
    found = read_manifest(out)
    if found is None:
        return
    theirs = (found.get("shard"), found.get("shards"))
    if shard is not None and tuple(shard) == theirs:
        return
    what = "this run's" if shard is None else f"shard {shard[0]}/{shard[1]}'s"
    raise ShardError(f"{out} holds shard {theirs[0]}/{theirs[1]}'s results ({MANIFEST}), not {what}: give each "
                     "shard its own --out (results/shard-$JOB_COMPLETION_INDEX, ...), and merge them with "
                     "bptt-grader collect")


def _up_to_date(existing: dict[str, Any] | None, path: Path, folder: Path | None, source: str,
                graded_with: dict[str, Any] | None = None) -> bool:
    """Whether ``existing`` is this file's result, for these very bytes, graded by what grades now
    (``graded_with``, when given), with no internal error."""
    if existing is None or existing.get("internal_errors"):
        return False
    if graded_with is not None and regrade.recorded(existing) != graded_with:
        return False
    recorded = existing.get("extra_data", {}).get("source") or {}
    if recorded.get("path") != source or not recorded.get("sha256"):
        return False
    try:
        data = read_submission_bytes(path, folder)
    except SubmissionError:
        return False  # refused or unreadable now: graded again, which says why at once
    return hashlib.sha256(data).hexdigest() == recorded["sha256"]


@dataclass
class _Class:
    """The submissions one ``run_batch`` grades, with their result names and recorded paths."""

    paths: list[Path]  # the ones to grade here (this shard's)
    names: dict[Path, str]
    folder: dict[Path, Path]  # below which no symbolic link is followed
    source: dict[Path, str]
    everyone: list[str]  # a shard's class: every name, so that collect can tell what is missing


def _class(paths: list[Path], root: Path | None, folders: dict[Path, Path] | None,
           shard: tuple[int, int] | None) -> _Class:
    seen: dict[str, Path] = {}
    for p in paths:
        seen.setdefault(os.path.abspath(p), p)  # a file named twice is graded once
    paths = list(seen.values())
    root = common_root(paths) if root is None else root
    names = result_names(paths, root)
    everyone: list[str] = []
    if shard is not None:
        k, n = shard
        if not (isinstance(k, int) and isinstance(n, int) and 0 <= k < n):
            raise ShardError(f"shard {k}/{n}: K must be 0..N-1")
        everyone = sorted(names.values())
        paths = [p for p in paths if shard_of(names[p], n) == k]
    return _Class(paths, names, {p: (folders or {}).get(p, root) for p in paths},
                  {p: source_path(p, root) for p in paths}, everyone)


def _write_manifest(out: Path, assignment: str, shard: tuple[int, int] | None, batch: _Class, complete: bool,
                    not_written: list[str]) -> None:
    if shard is not None:
        report.write_atomic(out / MANIFEST, json.dumps({
            "format": MANIFEST_FORMAT, "assignment": assignment, "shard": shard[0], "shards": shard[1],
            "assigned_by": "sha256(name) mod shards", "complete": complete,
            "names": sorted(batch.names[p] for p in batch.paths), "not_written": sorted(not_written),
            "class": batch.everyone}, indent=1) + "\n")


def _results_kept(batch: _Class, out: Path, resume: bool, graded_with: dict[str, Any],
                  ) -> tuple[dict[Path, dict[str, Any]], dict[str, dict[str, Any]], list[Path]]:
    """The results ``--resume`` keeps, the earlier results of what is graded again, and what is graded."""
    kept: dict[Path, dict[str, Any]] = {}
    before: dict[str, dict[str, Any]] = {}
    todo: list[Path] = []
    for p in batch.paths:
        name = batch.names[p]
        existing = report.read_results(out / f"{name}.json")
        if existing is not None and existing.get("extra_data", {}).get("submission") != name:
            existing = None  # not this name's result at all
        if resume and _up_to_date(existing, p, batch.folder[p], batch.source[p], graded_with):
            kept[p] = existing
        else:
            if existing is not None:
                before[name] = existing
            todo.append(p)
    return kept, before, todo


def _grade_each(job: Job, batch: _Class, todo: list[Path], out: Path, jobs: int, graded_with: dict[str, Any],
                done: Callable[[Path, dict[str, Any] | None, str | None], None]) -> None:
    """Grade ``todo``, here one after the other or in ``jobs`` processes; ``done(path, result, error)`` for each."""
    def arguments(p: Path, prestart_next: bool) -> tuple[Any, ...]:
        return job, p, batch.names[p], out, prestart_next, batch.folder[p], batch.source[p], graded_with

    if jobs <= 1 or len(todo) <= 1:
        for i, p in enumerate(todo):
            try:
                done(p, _grade_and_write(*arguments(p, i + 1 < len(todo))), None)
            except Exception:
                done(p, None, traceback.format_exc())
        return
    import multiprocessing  # here: what grading a single submission does without

    context = multiprocessing.get_context("spawn")  # no fork of a process that has threads
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_grade_and_write, *arguments(p, False)): p for p in todo}
        for fut in cf.as_completed(futures):
            try:
                done(futures[fut], fut.result(), None)
            except Exception:
                done(futures[fut], None, traceback.format_exc())


def run_batch(job: Job, paths: list[Path], out: Path, jobs: int = 1, resume: bool = False,
              progress: Callable[[str, dict[str, Any] | None, str], None] | None = None,
              root: Path | None = None, folders: dict[Path, Path] | None = None,
              shard: tuple[int, int] | None = None,
              ) -> tuple[list[dict[str, Any]], dict[Path, str]]:
    """Grade ``paths`` into ``out``; return every result (old ones too, with ``resume``) and the failures.

    ``root``: what result names and recorded paths are relative to (default: :func:`common_root`);
    ``folders``: each path's submission folder, below which no symbolic link is followed (default:
    ``root``). ``progress(name, result, status)`` is called for each submission, ``status`` being
    ``"graded"``, ``"kept"`` (``--resume``; ``result`` is the one kept) or ``"error"`` (``result`` is
    ``None``: the grader failed and wrote nothing). ``shard = (K, N)``: grade only the submissions of
    shard ``K`` of ``N`` (:func:`shard_of`; names come from all of ``paths``), and write the manifest
    :func:`grader.collect.collect` merges by.

    Besides each submission's files: ``grades.csv``, ``summary.txt`` and ``index.html`` of the results
    (sorted by name: the same files whatever order they were graded in), and, when the folder held
    earlier results of these submissions, ``changes.txt`` and ``changes.csv`` (:mod:`grader.regrade`).
    """
    batch = _class(paths, root, folders, shard)
    check_out_folder(out, shard)
    out.mkdir(parents=True, exist_ok=True)
    assignment = get(job.assignment)
    graded_with = fingerprint(job)
    _write_manifest(out, assignment.name, shard, batch, False, [])
    kept, before, todo = _results_kept(batch, out, resume, graded_with)
    results = list(kept.values())
    for p, existing in kept.items():
        if progress:
            progress(batch.names[p], existing, "kept")
    errors: dict[Path, str] = {}

    def done(p: Path, data: dict[str, Any] | None, error: str | None) -> None:
        if data is not None:
            results.append(data)
        if error is not None:
            errors[p] = error
        if progress:
            progress(batch.names[p], data, "graded" if error is None else "error")

    _grade_each(job, batch, todo, out, jobs, graded_with, done)
    results.sort(key=lambda r: r["extra_data"]["submission"])  # the class files: the same in any order
    not_written = sorted(batch.names[p] for p in errors)
    write_class_files(out, results, assignment, not_written)
    _write_changes(out, assignment, results, before, len(kept), graded_with)
    _write_manifest(out, assignment.name, shard, batch, True, not_written)
    return results, errors


def write_class_files(out: Path, results: list[dict[str, Any]], assignment: Any, not_written: list[str]) -> None:
    """``grades.csv``, ``summary.txt`` and the class overview ``index.html`` of ``results``."""
    results = sorted(results, key=lambda r: r["extra_data"]["submission"])
    report.write_grades_csv(results, assignment, out / "grades.csv")
    report.write_atomic(out / "summary.txt", summary(results, assignment.name, not_written=not_written))
    report_html.write_index(results, assignment, out / "index.html", not_written=not_written)


def _write_changes(out: Path, assignment: Any, results: list[dict[str, Any]], before: dict[str, dict[str, Any]],
                   kept: int, graded_with: dict[str, Any]) -> None:
    """``changes.txt`` and ``changes.csv`` when the folder held earlier results of this run's submissions
    (``before``: those replaced; ``kept``: how many ``--resume`` kept); else none (a stale pair is removed)."""
    if not before and not kept:
        for stale in ("changes.txt", "changes.csv"):
            (out / stale).unlink(missing_ok=True)
        return
    after = {r["extra_data"]["submission"]: r for r in results}
    replaced = {name: old for name, old in before.items() if name in after}
    reasons = {name: regrade.why_regraded(old, after[name]["extra_data"].get("source"), graded_with)
               for name, old in replaced.items()}
    changes = regrade.compare(replaced, after, reasons, [q.function for q in assignment.questions])
    regrade.write_changes(out, assignment.name, regrade.Regrading(
        changes, reasons, kept=kept, first=len(after) - kept - len(replaced),
        diagnoses=regrade.compare_diagnoses(replaced, after)))


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
    lines += unnamed.summary_lines(results, assignment)
    return "\n".join(lines) + "\n"


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
