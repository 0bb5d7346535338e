"""Measure bptt-grader and write BENCHMARKS.md: one command, one machine, one run.

    python benchmarks/run.py                 # everything (about half an hour on 2 cores)
    python benchmarks/run.py --quick         # a smoke run: every section, tiny sizes, seconds
    python benchmarks/run.py --sections 1,5  # only some sections (the others are left out of the file)

Every timing is the median of repeated measurements, shown with its range
``[min-max]`` and count; ratios are ratios of medians, with the range the
samples' extremes allow. The raw numbers go to a JSON file next to the
Markdown (``BENCHMARKS.json``), which the smoke test reads.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import feedback_bench  # noqa: E402
import grading_bench  # noqa: E402
import oracle_bench  # noqa: E402
import profile_bench  # noqa: E402
from common import ROOT, Stats, dump, load_average, machine  # noqa: E402

from grader.assignments import NAMES  # noqa: E402

FULL = {"repeats": 7, "oracle_configs": [(8, 6, 7), (50, 32, 64)], "oracle_budget": 120.0, "class_size": 200,
        "jobs": (1, 2), "assignments": NAMES, "examples": None, "warmup": True, "cli_repeats": 7,
        "startup_repeats": 15, "sandbox_none": True, "otter": True,
        "profile_cases": [(a, "correct", "auto", "shipped") for a in NAMES]
        + [("britz", "correct", "auto", "drawn"), ("britz", "correct", "none", "shipped"),
           ("britz", "truncation.py", "auto", "shipped")], "profile_repeats": 5}
QUICK = {"repeats": 3, "oracle_configs": [(8, 6, 7)], "oracle_budget": 2.0, "class_size": 2, "jobs": (2,),
         "assignments": ("britz",), "examples": 3, "warmup": False, "cli_repeats": 1, "startup_repeats": 2,
         "sandbox_none": False, "otter": False,
         "profile_cases": [("britz", "correct", "auto", "drawn")], "profile_repeats": 1}

GOALS = {
    "oracle_vs_loop": 10.0,  # ours at least 10x faster than the loop
    "check_seconds": 2.0,  # a whole assignment's check
    "grade_vs_numpy": 6.0,  # one sandboxed submission within 6x of `python -c "import numpy"`
    "class_500_seconds": 300.0,  # 500 notebooks in 5 minutes on 2 cores
    "named_grade": 0.9,  # the feedback names the mistake of 90 % of failing buggy functions in grade
    "named_check": 0.8,  # ... and of 80 % in a student's check
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny sizes, few repeats")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="the Markdown report")
    parser.add_argument("--json", default=None, help="the raw numbers (default: --out with .json)")
    parser.add_argument("--sections", default="1,2,3,4,5,6", help="which sections to run (1-6)")
    parser.add_argument("--repeats", type=int, default=None, help="samples per measurement")
    parser.add_argument("--class-size", type=int, default=None, help="generated submissions for the batch")
    parser.add_argument("--otter-zip", default=None, help="an otter autograder zip for britz (section 4)")
    args = parser.parse_args(argv)

    cfg = dict(QUICK if args.quick else FULL)
    if args.repeats:
        cfg["repeats"] = cfg["cli_repeats"] = args.repeats
    if args.class_size:
        cfg["class_size"] = args.class_size
    sections = {int(s) for s in args.sections.split(",") if s.strip()}
    out_md = Path(args.out).resolve()
    out_json = Path(args.json).resolve() if args.json else out_md.with_suffix(".json")
    r = cfg["repeats"]
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {msg}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {"quick": args.quick, "config": {k: v for k, v in cfg.items()}, "goals": GOALS}
    log("machine")
    results["machine"] = machine()
    # An installed grader has its bytecode: pip compiles it, and an editable install writes it at its
    # first import, except under PYTHONDONTWRITEBYTECODE (set on some machines), where every measured
    # start-up would compile the grader's modules again (40-60 ms here). Compiled once, as installed.
    results["machine"]["bytecode"] = ("compiled before measuring" if compileall.compile_dir(
        str(ROOT / "grader"), quiet=1) else "could not be compiled")
    results["machine"]["dont_write_bytecode"] = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    scratch = grading_bench.scratch_dir()
    # Instance lists this machine draws (grader.drawn) in a folder of this run: it starts empty, whatever
    # this machine graded before, as on a fresh machine (the bundled assignments' lists are shipped).
    os.environ["BPTT_GRADER_CACHE"] = str(scratch / "drawn")
    try:
        if 1 in sections:
            log("1. derivative oracle")
            results["oracle"] = oracle_bench.run(cfg["oracle_configs"], r, cfg["oracle_budget"], log)
        if 3 in sections or 4 in sections or 5 in sections:
            log("start-up of python and numpy")
            results["startup"] = grading_bench.startup(cfg["startup_repeats"])
        if 2 in sections:
            log("2. a student's check")
            results["check"] = grading_bench.student_check(r, cfg["cli_repeats"], scratch, log, cfg["assignments"],
                                                           cfg["examples"], cfg["warmup"])
        if 3 in sections or 4 in sections:
            log("3. grading one submission")
            results["grade_one"] = grading_bench.grade_one(
                cfg["cli_repeats"], scratch, log, results["startup"]['python -c "import numpy"'], cfg["assignments"],
                cfg["examples"], cfg["warmup"], cfg["sandbox_none"])
        if 3 in sections:
            log("3. grading a class")
            results["grade_class"] = grading_bench.grade_class(cfg["class_size"], cfg["jobs"], scratch, log,
                                                               cfg["examples"])
        if 4 in sections:
            log("4. otter")
            ours = next((g["wall"] for g in results["grade_one"] if g["assignment"] == "britz"
                         and g["sandbox"] == "auto" and g.get("instances", "drawn") == "shipped"), None)
            if cfg["otter"]:
                results["otter"] = grading_bench.against_otter(cfg["cli_repeats"], scratch, ours, args.otter_zip, log,
                                                               cfg["warmup"])
            else:
                results["otter"] = {"measured": False, "reason": "skipped by --quick (building otter's autograder "
                                    "takes longer than the whole quick run)", "command": "python benchmarks/run.py"}
        if 6 in sections and not args.quick:  # grades every buggy submission twice: not a smoke run's job
            results["feedback"] = feedback_bench.run(log)
        if 5 in sections:
            log("5. where the time goes")
            results["profile"] = profile_bench.run(cfg["profile_cases"], cfg["profile_repeats"], scratch, log,
                                                   cfg["examples"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["machine"]["load_average_end"] = load_average()
    results["seconds"] = time.perf_counter() - started
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    dump(results, out_json)
    out_md.write_text(render(results, out_json))
    log(f"wrote {out_md} and {out_json}")
    return 0


# -- the report ----------------------------------------------------------------------------------

def _err(e: float | None) -> str:
    return "—" if e is None else f"{e:.1e}"


def _met(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**missed**")


def _cmd(results: dict[str, Any]) -> str:
    return "python benchmarks/run.py" + (" --quick" if results["quick"] else "")


def render(res: dict[str, Any], json_path: Path) -> str:
    m = res["machine"]
    L: list[str] = ["# bptt-grader benchmarks", ""]
    L += [f"Produced by `{_cmd(res)}` in {res['seconds'] / 60:.1f} min on {m['date']}; raw numbers in "
          f"`{os.path.relpath(json_path, ROOT) if json_path.is_relative_to(ROOT) else json_path}`. Every time is the "
          "**median** of repeated measurements, `[min-max] n=samples`; ratios are ratios of medians with the range "
          "the samples' extremes allow.", ""]
    if res["quick"]:
        L += ["> **Quick (smoke) run**: tiny sizes, few repeats and `--examples 3`: these numbers only show that "
              "the harness works. Run `python benchmarks/run.py` for real ones.", ""]
    L += ["## Machine", "", "| | |", "|---|---|"]
    L += [f"| CPU | {m['cpu']} ({m['cores']} cores, {m['cores_usable']} usable) |",
          f"| memory | {m['memory']} |", f"| OS | {m['os']} |",
          f"| Python / numpy | {m['python']} / {m['numpy']} |", f"| BLAS | {m['blas']} |",
          f"| Hypothesis | {m['hypothesis']} |", f"| torch | {m['torch'] or 'not installed'} |",
          f"| sandbox | {m['sandbox']} ({m['bwrap'] or 'bwrap not installed'}) |",
          f"| grader | commit {m['grader_commit']}; bytecode {m.get('bytecode', '?')} "
          f"(PYTHONDONTWRITEBYTECODE={m.get('dont_write_bytecode', '') or 'unset'}) |",
          f"| load average (1, 5, 15 min) | at start {m['load_average_start']}; at end {m['load_average_end']} |",
          "", "A load average near or above the number of cores at start means other work shared the machine: "
          "rerun on a quiet machine for numbers to quote.", ""]
    L += _goals(res)
    if "oracle" in res:
        L += _oracle(res)
    if "check" in res:
        L += _check(res)
    if "startup" in res:
        L += _grading(res)
    if "otter" in res:
        L += _otter(res)
    if "profile" in res:
        L += _profile(res)
    if "feedback" in res:
        L += feedback_bench.render(res["feedback"], res["goals"])
    L += ["## Reproduce", "", "```bash", "pip install -e \".[bench]\"",
          "pip install torch==2.13.0   # optional, CPU build (for gradcheck); a CUDA build is not needed",
          "# optional, section 4: otter in a virtualenv of its own (found there or as `otter` on PATH)",
          "python -m venv /tmp/otter-venv && /tmp/otter-venv/bin/pip install -e \".[otter]\"",
          "python benchmarks/run.py            # writes BENCHMARKS.md and BENCHMARKS.json",
          "python benchmarks/run.py --quick    # smoke run (what CI runs, via tests/test_benchmarks_smoke.py)",
          "```", "", "Sections can be run alone (`--sections 1,5`); `--repeats N`, `--class-size N` and "
          "`--otter-zip PATH` change the defaults. The benchmarks use the CPU only.", ""]
    return "\n".join(L)


def _goals(res: dict[str, Any]) -> list[str]:
    L = ["## Goals", "", "| goal | measured | |", "|---|---|---|"]
    for cfg in res.get("oracle", []):
        rows = {r["method"].split(" (")[0].split(":")[0] + (" fast" if "fast_mode" in r["method"] else ""): r
                for r in cfg["rows"]}
        ours = cfg["rows"][0]
        loop = next(r for r in cfg["rows"] if r["method"].startswith("loop"))
        size = f"T={cfg['T']}, H={cfg['H']}, word_dim={cfg['word_dim']}"
        ratio = _value(loop["ratio_to_ours"])
        L.append(f"| oracle ≥ {GOALS['oracle_vs_loop']:g}x faster than the loop ({size}) | "
                 f"{ratio:.3g}x | {_met(ratio >= GOALS['oracle_vs_loop'])} |")
        gc = rows.get("torch.autograd.gradcheck")
        if gc is not None:
            gr = _value(gc["ratio_to_ours"])
            L.append(f"| oracle faster than gradcheck, slow mode ({size}) | gradcheck takes {gr:.3g}x ours | "
                     f"{_met(gr > 1)} |")
        gf = rows.get("torch.autograd.gradcheck fast")
        if gf is not None:
            gr = _value(gf["ratio_to_ours"])
            L.append(f"| (no goal) gradcheck fast mode, which checks one projection and computes no gradient "
                     f"({size}) | it takes {gr:.3g}x ours | ours {'faster' if gr > 1 else 'slower'} |")
        proj = next((r for r in cfg["rows"] if r["method"] == oracle_bench.PROJECTION), None)
        if gf is not None and proj is not None:
            gr = _stats(gf["time"]).median / _stats(proj["time"]).median
            L.append(f"| (no goal) fast mode's own job, one projection, done by the complex step (one forward pass "
                     f"along a random direction) ({size}) | gradcheck fast mode takes {gr:.3g}x it; its error "
                     f"{_err(proj['error'])} | ours {'faster' if gr > 1 else 'slower'} |")
        errs = [r["error"] for r in cfg["rows"][1:] if r["error"] is not None and "backward" not in r["method"]
                and not r["method"].startswith("ours: complex step")]
        if errs:
            ok = ours["error"] < min(errs)
            L.append(f"| oracle more accurate than the other numerical methods ({size}) | {_err(ours['error'])} "
                     f"vs best other {_err(min(errs))} | {_met(ok)} |")
    for c in res.get("check", []):
        s = _stats(c["cli"])
        L.append(f"| `bptt-grader check {c['assignment']}` < {GOALS['check_seconds']:g} s | {s.fmt()} | "
                 f"{_met(s.median < GOALS['check_seconds'])} |")
    numpy_start = _stats(res["startup"]['python -c "import numpy"']) if "startup" in res else None
    for g in res.get("grade_one", []):
        if g["sandbox"] != "auto":
            continue
        ratio = _value(g["ratio_to_numpy"])
        wall = f"{_stats(g['wall']).short()} = {ratio:.3g}x"
        if g.get("instances") == "drawn":  # not the goal's case: it happens once per machine, for an edited assignment
            L.append(f"| (no goal) `bptt-grader grade {g['assignment']}` with its instances drawn afresh "
                     f"(`BPTT_GRADER_CACHE=off`: the first grading on a machine of an assignment edited since its "
                     f"lists were shipped) | {wall} numpy start-up | "
                     f"{'within' if ratio <= GOALS['grade_vs_numpy'] else 'above'} the "
                     f"{GOALS['grade_vs_numpy']:g}x bar |")
            continue
        L.append(f"| `bptt-grader grade {g['assignment']}` (one, sandboxed; its instances shipped with the grader, "
                 f"as on every grading, a machine's first included) ≤ {GOALS['grade_vs_numpy']:g}x "
                 f"numpy start-up ({numpy_start.short()}) | {wall} | {_met(ratio <= GOALS['grade_vs_numpy'])} |")
    if "grade_class" in res:
        two = [r for r in res["grade_class"]["runs"] if r["jobs"] == 2]
        if two:
            e = two[0]["extrapolated_500"]
            L.append(f"| 500 notebooks < {GOALS['class_500_seconds'] / 60:g} min on 2 cores (extrapolated from "
                     f"{res['grade_class']['n']} with `--jobs 2`) | {e:.0f} s | "
                     f"{_met(e < GOALS['class_500_seconds'])} |")
    o = res.get("otter")
    if o is not None:
        ratio = f"{_value(o['ratio']):.3g}x" if o.get("measured") and o.get("ratio") else "not measured"
        L.append(f"| (no goal) `otter run` / `bptt-grader grade`, britz | {ratio} | |")
    for mode in res.get("feedback", {}).get("modes", {}):
        t = res["feedback"]["modes"][mode]["by_assignment"]["all"]
        goal = GOALS[f"named_{mode}"]
        L.append(f"| the feedback names the mistake of >= {100 * goal:.0f} % of failing buggy functions in `{mode}` "
                 f"(section 6) | {t['named']} / {t['failing']} = {100 * t['share']:.0f} % | "
                 f"{_met(t['share'] >= goal)} |")
    return L + [""]


def _stats(s: Any) -> Stats:
    return s if isinstance(s, Stats) else Stats(**s)


def _value(r: Any) -> float:
    return r["value"] if isinstance(r, dict) else r.value


def _ratio(r: Any) -> str:
    if r is None:
        return "—"
    if isinstance(r, dict):
        return f"{r['value']:.3g}x [{r['low']:.3g}-{r['high']:.3g}]"
    return r.fmt()


def _oracle(res: dict[str, Any]) -> list[str]:
    L = ["## 1. Derivative oracle: Britz's `bptt`, exact gradient (`bptt_truncate = T - 1`)", "",
         "Gradient of the whole-sequence loss with respect to `U`, `V`, `W`. *Error*: the largest elementwise "
         "relative error against the reference solution's analytic BPTT loop, "
         f"`max |g - e| / max(|e|, {oracle_bench.REL_FLOOR:g} max|e|)`. *× ours*: time over the complex step's time. "
         "*ours: complex step* is exactly the grader's truth for a `bptt` instance (`britz._bptt_truth`).", ""]
    for cfg in res["oracle"]:
        L += [f"### T = {cfg['T']}, H = {cfg['H']}, word_dim = {cfg['word_dim']} ({cfg['parameters']} parameters)",
              "", f"Threads: {cfg.get('threads', '?')}, except the row marked default threads. torch: {cfg['torch']}.",
              "", "| method | time | × ours | error | note |", "|---|---|---|---|---|"]
        for r in cfg["rows"]:
            L.append(f"| {r['method']} | {_stats(r['time']).fmt()} | {_ratio(r['ratio_to_ours'])} | "
                     f"{_err(r['error'])} | {r['note']} |")
        L.append("")
    return L


def _check(res: dict[str, Any]) -> list[str]:
    L = ["## 2. A student's check", "",
         "`bptt-grader check ASSIGNMENT NOTEBOOK` (a new process each time: start-up, sandboxed worker, every "
         "derivative and contract check) and the in-process `grader.check(assignment, globals())` a notebook "
         "cell runs (warm: imports done).", "",
         "| assignment | submission | `bptt-grader check` | in-process `check` | all passed |", "|---|---|---|---|---|"]
    for c in res["check"]:
        L.append(f"| {c['assignment']} | {c['submission']} | {_stats(c['cli']).fmt()} | "
                 f"{_stats(c['in_process']).fmt()} | {c['passed']} |")
    return L + [""]


def _grading(res: dict[str, Any]) -> list[str]:
    L = ["## 3. Grading", "", "### Start-up on this machine", "", "| command | time |", "|---|---|"]
    for k, s in res["startup"].items():
        L.append(f"| `{k}` | {_stats(s).fmt()} |")
    L.append("")
    if "grade_one" in res:
        L += ["### One submission", "", "`bptt-grader grade A NOTEBOOK --out DIR --jobs 1` (new process each time; "
              "results JSON and HTML written). *execution_time*: the grader's own timing of the grading itself "
              "(from the results JSON, last run). *instances*: `shipped`, the instances a passing search draws "
              "come with the grader (`grader/assignments/drawn/`, drawn at release by `python -m grader.drawn`), "
              "so a correct submission is judged without a search or importing Hypothesis, on a machine's "
              "first grading as on every later one; `drawn`, `BPTT_GRADER_CACHE=off`: Hypothesis draws them in "
              "every run, as at the first grading on a machine of an assignment whose sources changed since its "
              "lists were shipped (later gradings read them from `~/.cache/bptt-grader`, as fast as shipped).", "",
              "| assignment | submission | sandbox | instances | wall | × numpy start-up | execution_time | score |",
              "|---|---|---|---|---|---|---|---|"]
        for g in res["grade_one"]:
            L.append(f"| {g['assignment']} | {g['submission']} | {g['sandbox']} | {g.get('instances', 'drawn')} | "
                     f"{_stats(g['wall']).fmt()} | {_ratio(g['ratio_to_numpy'])} | {g['execution_time']:.3g} s | "
                     f"{g['score']} |")
        L.append("")
    if "grade_class" in res:
        c = res["grade_class"]
        L += [f"### A class of {c['n']} generated britz submissions", "",
              "The reference solution as .py files, 40 % unchanged and 60 % with one small edit each (a sign, a "
              "missing tanh factor, a transpose, an off-by-one in the truncation, an alias, a wrong state index: "
              "`benchmarks/mutants.py`). One `bptt-grader grade britz DIR --jobs J` run per setting; "
              "per-submission times are the grader's `execution_time` (grading only, without the worker pool's "
              "start-up), as medians over the class.", "",
              "| --jobs | wall | wall / submission | per minute | 500 extrapolated | execution_time: all | correct "
              "| buggy | correct got full marks | buggy lost marks |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in c["runs"]:
            L.append(f"| {r['jobs']} | {r['wall']:.1f} s | {r['per_submission_wall']:.2f} s | "
                     f"{r['throughput_per_min']:.0f} | {r['extrapolated_500']:.0f} s | "
                     f"{_stats(r['execution_time']).fmt()} | {_stats(r['execution_time_correct']).short()} | "
                     f"{_stats(r['execution_time_buggy']).short()} | {r['correct_full_marks']} | "
                     f"{r['buggy_caught']} |")
        L += ["", "The 500-notebook figure is extrapolated linearly from the measured wall time of the class "
              "(`500 × wall / n`), not measured.", "", "Median `execution_time` by kind of submission "
              "(last `--jobs` setting):", "", "| kind | seconds |", "|---|---|"]
        for k, v in c["runs"][-1]["by_kind"].items():
            L.append(f"| {k} | {v:.2f} |")
        L.append("")
    return L


def _otter(res: dict[str, Any]) -> list[str]:
    o = res["otter"]
    L = ["## 4. Against otter-grader", ""]
    if not o["measured"]:
        L += ["| | |", "|---|---|", f"| otter run / bptt-grader grade | **not measured**: {o['reason']} |",
              f"| command | `{o['command']}` |", ""]
        return L
    L += [f"`otter run` ({o['otter_version']}) with the autograder `bptt-grader otter britz` builds (its tests "
          "call the derivative and contract checks in the notebook's own kernel), and `bptt-grader grade` (sandboxed "
          "worker, derivative + reference + contract checks), on britz's correct notebook; a new process each time.",
          "", "| | time | score |", "|---|---|---|",
          f"| `otter run` | {_stats(o['otter']).fmt()} | {o['score']} |",
          f"| `bptt-grader grade britz` | {_stats(o['ours']).fmt() if o['ours'] else '—'} | |",
          f"| otter / ours | {_ratio(o['ratio'])} | |", "", f"Command: `{o['command']}`", ""]
    return L


def _profile(res: dict[str, Any]) -> list[str]:
    L = ["## 5. Where the time goes", "",
         "One submission graded in the benchmark's process exactly as `bptt-grader grade` grades it "
         "(`grader.batch._grade_and_write`), with the grader's functions wrapped from outside to charge their time "
         "(exclusive of nested categories) to the rows below. The student's compute is measured by replaying every "
         "recorded call here, on the same arguments, through the worker's own call wrapper; the round trips are "
         "the calls' wall time minus that. Medians of the runs; the process start-up and imports of the "
         "`bptt-grader` command itself are outside this total (see the derived row). Trask's training runs in a "
         "second worker on a thread, alongside the rest: its time is in *behaviours* and overlaps the other rows; "
         "its 600 calls run inside that worker (`grader.target.run_near`), so they are in neither *round trips* "
         "nor *student compute*; their own compute, replayed here, is *student compute in loops*.", ""]
    cases = res["profile"]
    head = " | ".join(f"{p['assignment']} {p['submission']} ({p['sandbox']}, {p.get('instances', 'drawn')})"
                      for p in cases)
    L += [f"| category | {head} | what |", "|---|" + "---|" * len(cases) + "---|"]
    what = dict(profile_bench.CATEGORIES)
    for cat, _ in profile_bench.CATEGORIES:
        cells = " | ".join(f"{1e3 * p['median'][cat]:.0f} ms ({100 * p['median'][cat] / p['total']:.0f} %)"
                           for p in cases)
        L.append(f"| {cat} | {cells} | {what[cat]} |")
    L.append("| **total in process** | " + " | ".join(
        f"**{1e3 * p['total']:.0f} ms** [{1e3 * p['total_range'][0]:.0f}-{1e3 * p['total_range'][1]:.0f}] "
        f"n={p['n']}" for p in cases) + " | |")
    L.append("| calls / round trips / workers | " + " | ".join(
        f"{p['calls']} / {p['round_trips']} / {p['workers']}" for p in cases) + " | |")
    L.append("| score | " + " | ".join(p["score"] for p in cases) + " | |")
    walls = {(g["assignment"], g["sandbox"], g.get("instances", "drawn")): _stats(g["wall"])
             for g in res.get("grade_one", [])}
    numpy_start = _stats(res["startup"]['python -c "import numpy"']).median
    derived, floors = [], []
    for p in cases:
        wall = (walls.get((p["assignment"], p["sandbox"], p.get("instances", "drawn")))
                if p["submission"].startswith("correct") else None)
        derived.append(f"{1e3 * (wall.median - p['total']):.0f} ms" if wall else "—")
        # the checks' calls and a loop's (trask's training) can run on the two cores at once
        floor = numpy_start + max(p["median"]["student compute"], p["median"].get("student compute in loops", 0.0))
        ours = wall.median if wall else p["total"]
        floors.append(f"{1e3 * floor:.0f} ms; ours {ours / floor:.1f}x it" + ("" if wall else " (in process)"))
    L.append("| grader process start-up, imports, summary (derived: command wall − total) | " + " | ".join(derived)
             + " | |")
    L.append("| **floor**: numpy start-up + student compute (or, if larger, its compute in loops) | "
             + " | ".join(floors) + " | |")
    L += ["", "The floor is what any grader that runs the student's code in a fresh process must pay: one Python "
          "with numpy started, and the student's functions run on the instances (a loop's calls, trask's training, "
          "can run on the other core meanwhile, so the larger of the two counts). *ours Nx it*: the "
          "`bptt-grader grade` command's median wall time (section 3) over the floor.", ""]
    return L


if __name__ == "__main__":
    sys.exit(main())
