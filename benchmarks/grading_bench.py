"""Sections 2-4: a student's check, grading (one submission, a class), and otter on the same notebook."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import EXAMPLES, SOLUTIONS, Ratio, Stats, grader_command, measure, run_command, time_command
from mutants import write_class

import grader
from grader.assignments import NAMES
from grader.notebook import read_submission


def correct_submission(assignment: str, scratch: Path) -> tuple[Path, str]:
    """The bundled correct notebook, else the reference solution as a .py file; and which it is."""
    nb = EXAMPLES / assignment / "correct.ipynb"
    if nb.is_file():
        return nb, "correct.ipynb"
    path = scratch / f"{assignment}_reference.py"
    shutil.copy(SOLUTIONS / assignment / "reference.py", path)
    return path, "reference.py (no correct.ipynb bundled)"


def functions_of(path: Path) -> dict[str, Any]:
    """Run a submission's cells here, as a student's kernel would (its own check() cells skipped)."""
    namespace: dict[str, Any] = {"__name__": "__student__"}
    saved = grader.GRADING
    grader.GRADING = True
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in read_submission(path).cells:
                exec(compile(cell.source, f"<{cell.label}>", "exec"), namespace)
    finally:
        grader.GRADING = saved
    return namespace


# -- 2. a student's check ------------------------------------------------------------------------

def student_check(repeats: int, cli_repeats: int, scratch: Path, log: Callable[[str], None],
                  assignments: tuple[str, ...] = NAMES, examples: int | None = None, warmup: bool = True,
                  ) -> list[dict[str, Any]]:
    from grader import drawn
    from grader.student import check

    rows = []
    for a in assignments:
        path, what = correct_submission(a, scratch)
        log(f"  check {a} ({what})")
        # exit status 0: every check passed
        cli = time_command(grader_command() + ["check", a, str(path)] + _examples(examples), cli_repeats,
                           warmup=warmup)
        namespace = functions_of(path)
        passed = bool(check(a, namespace, quiet=True, examples=examples))
        # each sample a kernel's first check: the instances an earlier passing search drew only on disk
        inproc = measure(lambda a=a, ns=namespace: (drawn.forget(), check(a, ns, quiet=True,
                                                                          examples=examples)), repeats)
        rows.append({"assignment": a, "submission": what, "cli": cli, "in_process": inproc, "passed": passed})
    return rows


# -- 3. grading ---------------------------------------------------------------------------------------

def _examples(examples: int | None) -> list[str]:
    return [] if examples is None else ["--examples", str(examples)]


def startup(repeats: int) -> dict[str, Stats]:
    return {
        "python -c pass": time_command([sys.executable, "-c", "pass"], repeats),
        'python -c "import numpy"': time_command([sys.executable, "-c", "import numpy"], repeats),
        "bptt-grader --version": time_command(grader_command() + ["--version"], repeats),
    }


def grade_command(assignment: str, paths: list[Path], out: Path, jobs: int, sandbox: str = "auto",
                  examples: int | None = None) -> list[str]:
    return grader_command() + ["grade", assignment, *map(str, paths), "--out", str(out), "--jobs", str(jobs),
                               "--solutions", str(SOLUTIONS), "--sandbox", sandbox] + _examples(examples)


def grade_one(repeats: int, scratch: Path, log: Callable[[str], None], numpy_start: Stats,
              assignments: tuple[str, ...] = NAMES, examples: int | None = None, warmup: bool = True,
              sandbox_none: bool = True) -> list[dict[str, Any]]:
    """Each assignment's correct notebook, judged on the instance lists shipped with the grader (every grading,
    a machine's first included) and on lists drawn afresh (``BPTT_GRADER_CACHE=off``: what an assignment whose
    sources changed since its lists were shipped costs at its first grading on a machine)."""
    rows = []
    modes = [("auto", a, inst) for a in assignments for inst in ("shipped", "drawn")]
    if "britz" in assignments and sandbox_none:
        modes.append(("none", "britz", "shipped"))
    for sandbox, a, instances in modes:
        path, what = correct_submission(a, scratch)
        log(f"  grade {a} ({what}, sandbox {sandbox}, instances {instances})")
        out = scratch / f"one-{a}-{sandbox}-{instances}"
        env = dict(os.environ, **({"BPTT_GRADER_CACHE": "off"} if instances == "drawn" else {}))
        wall = time_command(grade_command(a, [path], out, 1, sandbox, examples), repeats, warmup=warmup, env=env)
        data = json.loads((out / f"{path.stem}.json").read_text())
        rows.append({"assignment": a, "submission": what, "sandbox": sandbox, "instances": instances, "wall": wall,
                     "ratio_to_numpy": Ratio.of(wall, numpy_start),
                     "score": f"{data['score']:g} / {data['max_score']:g}",
                     "execution_time": data["execution_time"]})
    return rows


def grade_class(n: int, jobs_list: tuple[int, ...], scratch: Path, log: Callable[[str], None],
                examples: int | None = None) -> dict[str, Any]:
    folder = scratch / "class"
    kinds = write_class(folder, n)
    runs = []
    for jobs in jobs_list:
        log(f"  grade {n} generated britz submissions, --jobs {jobs}")
        out = scratch / f"class-out-{jobs}"
        t0 = time.perf_counter()
        run_command(grade_command("britz", [folder], out, jobs, examples=examples))
        wall = time.perf_counter() - t0
        times: dict[str, list[float]] = {}
        full = caught = 0
        for stem, kind in kinds.items():
            data = json.loads((out / f"{stem}.json").read_text())
            times.setdefault(kind, []).append(data["execution_time"])
            if kind == "correct":
                full += data["score"] == data["max_score"]
            else:
                caught += data["score"] < data["max_score"]
        every = [t for ts in times.values() for t in ts]
        buggy = [t for k, ts in times.items() if k != "correct" for t in ts]
        runs.append({
            "jobs": jobs, "wall": wall, "per_submission_wall": wall / n,
            "throughput_per_min": 60 * n / wall, "extrapolated_500": 500 * wall / n,
            "execution_time": Stats.of(every), "execution_time_correct": Stats.of(times.get("correct", [0.0])),
            "execution_time_buggy": Stats.of(buggy or [0.0]),
            "by_kind": {k: statistics.median(ts) for k, ts in sorted(times.items())},
            "correct_full_marks": f"{full} / {sum(k == 'correct' for k in kinds.values())}",
            "buggy_caught": f"{caught} / {sum(k != 'correct' for k in kinds.values())}",
        })
    return {"n": n, "runs": runs}


# -- 4. otter -------------------------------------------------------------------------------------------

OTTER_VENV = Path("/tmp/otter-venv")


def otter_executable() -> str | None:
    for candidate in (shutil.which("otter"), str(OTTER_VENV / "bin" / "otter")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _otter_zip(exe: str, scratch: Path, log: Callable[[str], None]) -> tuple[Path | None, str]:
    """Build britz's otter autograder with ``bptt-grader otter``, run by the Python otter is installed in."""
    grader_there = Path(exe).parent / "bptt-grader"
    cmd = [str(grader_there)] if grader_there.is_file() else grader_command()
    out = scratch / "otter-assignment"
    log("  bptt-grader otter britz (building the autograder zip)")
    try:
        run_command(cmd + ["otter", "britz", "--out", str(out), "--solutions", str(SOLUTIONS)], timeout=1800)
    except Exception as e:  # noqa: BLE001
        return None, f"`bptt-grader otter britz` failed: {str(e).strip().splitlines()[-1][:300]}"
    zips = sorted((out / "autograder").glob("*.zip"))
    return (zips[-1], "") if zips else (None, "`bptt-grader otter britz` made no autograder zip")


def against_otter(repeats: int, scratch: Path, ours: Stats | None, zip_path: str | None,
                  log: Callable[[str], None], warmup: bool = True) -> dict[str, Any]:
    """``otter run`` on britz's correct notebook, against ``bptt-grader grade`` on it.

    otter accepts a notebook only with its assignment's name in the metadata: the
    notebook run is the same file with ``metadata.otter.assignment_name`` added.
    """
    nb, _ = correct_submission("britz", scratch)
    shown = nb.relative_to(EXAMPLES.parent.parent) if nb.is_relative_to(EXAMPLES.parent.parent) else nb
    command = (f"bptt-grader otter britz --out DIR && otter run -a DIR/autograder/britz-autograder_*.zip -o OUT "
               f"{shown} (with metadata.otter.assignment_name = britz)")
    exe = otter_executable()
    zip_path = zip_path or os.environ.get("BPTT_BENCH_OTTER_ZIP")
    if exe is None:
        return {"measured": False, "command": command,
                "reason": f"otter is not installed (no `otter` on PATH, no {OTTER_VENV}/bin/otter): "
                          'pip install "bptt-grader[otter]"'}
    if zip_path:
        zip_file, why = Path(zip_path), ("" if Path(zip_path).is_file() else f"no file {zip_path}")
    else:
        zip_file, why = _otter_zip(exe, scratch, log)
    if why:
        return {"measured": False, "reason": why, "command": command}
    submission = scratch / "britz-otter.ipynb"
    data = json.loads(nb.read_text())
    data.setdefault("metadata", {}).setdefault("otter", {})["assignment_name"] = "britz"
    submission.write_text(json.dumps(data))
    out = scratch / "otter-out"
    out.mkdir(exist_ok=True)
    log("  otter run")
    wall = time_command([exe, "run", "-a", str(zip_file), "-o", str(out), str(submission)], repeats, warmup=warmup,
                        timeout=1800)
    results = json.loads((out / "results.json").read_text())
    scored = [t for t in results.get("tests", []) if "score" in t]
    score = f"{sum(t['score'] for t in scored):g} / {sum(t['max_score'] for t in scored):g}"
    return {"measured": True, "otter": wall, "ours": ours, "ratio": Ratio.of(wall, ours) if ours else None,
            "command": command, "score": score, "otter_version": _otter_version(exe)}


def _otter_version(exe: str) -> str:
    try:
        lines = run_command([exe, "--version"]).stdout.splitlines()
        return next((ln.strip() for ln in lines if ln.startswith("Otter-Grader version")), lines[-1].strip())
    except Exception:  # noqa: BLE001
        return "unknown"


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bptt-bench-"))
