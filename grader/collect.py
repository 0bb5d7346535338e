"""Merge the results folders of a class graded in shards (``bptt-grader collect DIR... --out OUT``).

Each shard (``bptt-grader grade ... --shard K/N --out DIR``) wrote its submissions' ``<name>.json`` and
``<name>.html`` and a manifest (:data:`grader.batch.MANIFEST`) naming its shard, the whole class and what it
graded. :func:`collect` copies every result into ``OUT`` and writes ``grades.csv``, ``summary.txt`` and
``index.html`` from them: the files one machine grading the whole class writes.

It refuses, before writing anything, to merge what would not be that class: results of different
assignments; one submission with different results in two folders; results graded by different graders,
assignments or solutions (:mod:`grader.regrade`'s fingerprints); shards of different counts, or that saw
different submissions; a shard missing, or one that did not finish; an ``OUT`` that is one of the folders or
holds results of submissions no folder has. Folders without a manifest (a plain ``grade --out``) are merged
too, without the shard checks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import batch, regrade, report


class CollectError(Exception):
    """The folders cannot be merged into one class; the message says why and what to do."""


@dataclass
class Folder:
    path: Path
    manifest: dict[str, Any] | None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> result
    not_written: list[str] = field(default_factory=list)


@dataclass
class Collected:
    """What :func:`collect` wrote."""

    results: list[dict[str, Any]]
    not_written: list[str]
    assignment: str
    shards: list[tuple[int, int]]
    folders: list[Path]
    unsandboxed: list[str]  # submissions graded without bubblewrap


def _comparable(data: dict[str, Any]) -> str:
    """A result without its timing: what must be equal for two copies to be one result."""
    data = dict(data)
    data.pop("execution_time", None)
    return json.dumps(data, sort_keys=True)


def _read_folder(path: Path) -> Folder:
    if not path.is_dir():
        raise CollectError(f"{path} is not a folder (give the folders bptt-grader grade --out wrote)")
    try:
        manifest = batch.read_manifest(path)
    except batch.ShardError as e:
        raise CollectError(str(e)) from None
    folder = Folder(path, manifest)
    found: dict[str, dict[str, Any]] = {}
    for file in sorted(path.glob("*.json")):
        data = report.read_results(file)
        if data is None:
            raise CollectError(f"{file} is not a complete bptt-grader results file: grade that submission again "
                               "(--resume), or remove the file")
        if data.get("extra_data", {}).get("submission") != file.stem:
            raise CollectError(f"{file} holds the result of {data.get('extra_data', {}).get('submission')!r}, not of "
                               f"{file.stem!r}: remove it, or grade again into a new folder")
        found[file.stem] = data
    if manifest is None:
        folder.results = found
        return folder
    where = f"{path} (shard {manifest.get('shard')}/{manifest.get('shards')})"
    if not manifest.get("complete"):
        raise CollectError(f"{where} did not finish grading (stopped or still running): run the same command "
                           "again with --resume, then collect")
    folder.not_written = sorted(manifest.get("not_written") or [])
    missing = [n for n in manifest.get("names", []) if n not in found and n not in folder.not_written]
    if missing:
        raise CollectError(f"{where} has no result for {', '.join(missing[:10])}"
                           f"{' and more' if len(missing) > 10 else ''}: grade the shard again with --resume")
    folder.results = {n: found[n] for n in manifest.get("names", []) if n in found}
    return folder


def _fingerprint_text(fp: dict[str, Any] | None) -> str:
    if fp is None:
        return "no fingerprint recorded"
    return ", ".join(f"{k} {str(v)[:19] if not isinstance(v, dict) else json.dumps(v, sort_keys=True)}"
                     for k, v in fp.items())


def plan(folders: list[Path]) -> tuple[list[Folder], dict[str, tuple[dict[str, Any], Path]], list[str]]:
    """Read and check the folders; every result by name (with the folder it is copied from) and the
    submissions no result was written for. Raises :class:`CollectError`."""
    seen: dict[str, Path] = {}
    for f in folders:
        seen.setdefault(os.path.realpath(f), Path(f))
    read = [_read_folder(p) for p in seen.values()]
    if not read:
        raise CollectError("no folders to collect")
    _one_assignment(read)
    merged = _merged(read)
    _one_grader(merged)
    _every_shard(read)
    not_written = sorted({n for f in read for n in f.not_written} - set(merged))
    return read, merged, not_written


def _one_assignment(read: list[Folder]) -> None:
    """Refuse results of different assignments."""
    assignments: dict[str, set[str]] = {}
    for f in read:
        for data in f.results.values():
            assignments.setdefault(str(data["extra_data"].get("assignment")), set()).add(str(f.path))
        if f.manifest is not None:
            assignments.setdefault(str(f.manifest.get("assignment")), set()).add(str(f.path))
    if len(assignments) > 1:
        raise CollectError("these folders hold results of different assignments: " + "; ".join(
            f"{a} in {', '.join(sorted(p))}" for a, p in sorted(assignments.items()))
            + ": collect each assignment into its own --out")


def _merged(read: list[Folder]) -> dict[str, tuple[dict[str, Any], Path]]:
    """One result per submission: a name in two folders must have the same result in both."""
    merged: dict[str, tuple[dict[str, Any], Path]] = {}
    for f in read:
        for name, data in f.results.items():
            if name in merged and _comparable(merged[name][0]) != _comparable(data):
                other, there = merged[name]
                what = (f"scores {other['score']:g} and {data['score']:g}" if other["score"] != data["score"]
                        else "the same score, different feedback or records")
                raise CollectError(f"{name} has different results in {there} and {f.path} ({what}): these shards "
                                   "overlap and disagree. Keep one of the two files (or grade that submission again "
                                   "in one folder with --resume) and collect again")
            merged.setdefault(name, (data, f.path))
    return merged


def _one_grader(merged: dict[str, tuple[dict[str, Any], Path]]) -> None:
    """Refuse results graded by different graders, assignments or solutions."""
    prints: dict[str, list[str]] = {}
    for name, (data, _) in sorted(merged.items()):
        prints.setdefault(json.dumps(regrade.recorded(data), sort_keys=True), []).append(name)
    if len(prints) > 1:
        groups = sorted(prints.items(), key=lambda kv: -len(kv[1]))
        first = json.loads(groups[0][0])
        lines = []
        for key, names in groups[1:]:
            why = regrade.fingerprint_changes(json.loads(key), first) if first is not None else \
                ["the others record no fingerprint"]
            lines.append(f"{', '.join(names[:5])}{' ...' if len(names) > 5 else ''} ({len(names)}): "
                         + "; ".join(why))
        raise CollectError(f"the results were not all graded by the same grader, assignment and solutions (most: "
                           f"{len(groups[0][1])} results); the others differ in what graded them: "
                           + " | ".join(lines) + ". Grade every shard again with the same grader and solutions "
                           "(--resume regrades only what differs), then collect")


def _every_shard(read: list[Folder]) -> None:
    """The shards: one count, one class, every shard there."""
    shards = [f for f in read if f.manifest is not None]
    if not shards:
        return
    counts = {f.manifest["shards"] for f in shards}
    if len(counts) > 1:
        raise CollectError("these folders are shards of different counts: " + "; ".join(
            f"{f.path} is {f.manifest['shard']}/{f.manifest['shards']}" for f in shards))
    n = counts.pop()
    classes: dict[tuple[str, ...], list[Folder]] = {}
    for f in shards:
        classes.setdefault(tuple(f.manifest.get("class", [])), []).append(f)
    if len(classes) > 1:
        (a, fa), (b, fb) = sorted(classes.items(), key=lambda kv: -len(kv[1]))[:2]
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        raise CollectError(
            f"the shards saw different submissions: {fb[0].path} saw {len(b)}, {fa[0].path} {len(a)}"
            + (f"; only {fa[0].path} saw {', '.join(only_a[:10])}" if only_a else "")
            + (f"; only {fb[0].path} saw {', '.join(only_b[:10])}" if only_b else "")
            + ". Every shard must grade the same submissions folder: grade again from one copy of it")
    everyone = next(iter(classes))
    present = {f.manifest["shard"] for f in shards}
    absent = sorted(set(range(n)) - present)
    if absent:
        lost = [name for name in everyone if batch.shard_of(name, n) in absent]
        raise CollectError(f"shard{'s' if len(absent) > 1 else ''} {', '.join(map(str, absent))} of {n} "
                           f"{'are' if len(absent) > 1 else 'is'} missing ({len(lost)} submissions"
                           f"{': ' + ', '.join(lost[:10]) if lost else ''}{' ...' if len(lost) > 10 else ''}): "
                           "give every shard's folder")


def collect(folders: list[Path], out: Path) -> Collected:
    """Merge ``folders`` into ``out`` (see the module notes); raises :class:`CollectError` before writing
    anything when they are not one class."""
    from grader.assignments import get

    out = Path(out)
    for f in folders:
        if os.path.realpath(f) == os.path.realpath(out):
            raise CollectError(f"--out {out} is one of the folders collected: give a folder of its own")
    read, merged, not_written = plan([Path(f) for f in folders])
    if out.is_dir():
        if (out / batch.MANIFEST).exists():
            raise CollectError(f"--out {out} is a shard's folder ({batch.MANIFEST}): give a folder of its own")
        stale = sorted(p.stem for p in out.glob("*.json") if p.stem not in merged)
        if stale:
            raise CollectError(f"--out {out} holds results that no folder collected has ({', '.join(stale[:10])}"
                               f"{' ...' if len(stale) > 10 else ''}): give an empty folder, or remove them")
    names = {data["extra_data"].get("assignment") for data, _ in merged.values()}
    names |= {f.manifest.get("assignment") for f in read if f.manifest is not None}
    if not names:
        raise CollectError("no results in " + ", ".join(str(f.path) for f in read))
    assignment = get(names.pop())
    out.mkdir(parents=True, exist_ok=True)
    for name, (_, where) in sorted(merged.items()):
        for suffix in (".html", ".json"):  # the JSON last, as a grading writes them
            source = where / f"{name}{suffix}"
            if source.is_file():
                report.write_atomic(out / source.name, source.read_bytes().decode("utf-8"))  # as it is
    results = sorted((data for data, _ in merged.values()), key=lambda r: r["extra_data"]["submission"])
    batch.write_class_files(out, results, assignment, not_written)
    return Collected(results, not_written, assignment.name,
                     sorted((f.manifest["shard"], f.manifest["shards"]) for f in read if f.manifest is not None),
                     [f.path for f in read],
                     [r["extra_data"]["submission"] for r in results if r.get("sandbox") == "none"])
