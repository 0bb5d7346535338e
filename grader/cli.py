"""The ``bptt-grader`` command. It only wires: every step lives in its own module."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader import __version__
from grader.assignments import NAMES, UnknownAssignment, get

console = Console(stderr=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)


def _submissions(items: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            paths += sorted(q for q in p.rglob("*") if q.suffix in (".ipynb", ".py") and q.is_file()
                            and ".ipynb_checkpoints" not in q.parts)
        else:
            paths.append(p)  # a missing file is graded as unreadable, with the reason
    return paths


def cmd_list(args: argparse.Namespace) -> int:
    table = Table(title="bptt-grader assignments")
    for col in ("assignment", "function", "points", "checks"):
        table.add_column(col)
    for name in NAMES:
        a = get(name)
        for i, q in enumerate(a.questions):
            extra = ", ".join(b.name for b in q.behaviours)
            checks = "derivative, reference, contract" + (f", {extra}" if extra else "")
            table.add_row(name if i == 0 else "", q.function,
                          f"{q.points + sum(b.points for b in q.behaviours):g}", checks)
        table.add_row("", f"[bold]{a.title}[/bold]", f"[bold]{a.points:g}[/bold]", "", end_section=True)
    out.print(table)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from grader.grading import grade
    from grader.notebook import SubmissionError, read_submission
    from grader.report import text_report
    from grader.sandbox import WorkerTarget

    assignment = get(args.assignment)
    try:
        submission = read_submission(args.notebook)
    except SubmissionError as e:
        console.print(f"[red]error:[/red] {e}")
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no solutions are loaded: nothing to hide from the student's code
        target = WorkerTarget(submission, mode=args.sandbox)
    try:
        result = grade(assignment, target, None, name=submission.path.name, examples=args.examples)
    finally:
        target.close()
    result.problems = target.problems
    out.print(text_report(result, assignment, show_points=False), markup=False)
    return 0 if all(c.passed for c in result.checks) else 1


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.batch import Job, default_jobs, run_batch
    from grader.oracles.reference import SolutionsNotFound, load_solutions, solutions_dir
    from grader.sandbox import SandboxUnavailable, resolve_mode

    assignment = get(args.assignment)
    try:
        folder = solutions_dir(args.solutions)
        load_solutions(assignment.name, folder)
    except SolutionsNotFound as e:
        console.print(f"[red]error:[/red] {e}")
        return 2
    try:
        mode = resolve_mode(args.sandbox)
    except SandboxUnavailable as e:
        console.print(f"[red]error:[/red] {e}")
        return 2
    if mode == "none":
        console.print("[yellow]warning:[/yellow] bubblewrap is not available: student code runs with limits and "
                      "deadlines but could read the solutions folder. Install bubblewrap to hide it.")
    paths = _submissions(args.submissions)
    if not paths:
        console.print("[red]error:[/red] no submissions (.ipynb or .py) found")
        return 2
    jobs = args.jobs or default_jobs()
    job = Job(assignment.name, folder, mode, examples=args.examples)
    outdir = Path(args.out)
    start = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"grading {assignment.name}", total=len(paths))

        def progress(name: str, data: dict[str, Any] | None) -> None:
            bar.advance(task)
            if not console.is_terminal:
                what = "kept (--resume)" if data is None else f"{data['score']:g} / {data['max_score']:g}"
                console.print(f"  {name}: {what}")

        results, errors = run_batch(job, paths, outdir, jobs=jobs, resume=args.resume, progress=progress)
    for p, err in errors.items():
        console.print(f"[red]internal error grading {p}[/red] (not written; run again with --resume):\n{err}")
    console.print(f"graded {len(paths) - len(errors)} of {len(paths)} submissions in "
                  f"{time.perf_counter() - start:.1f} s ({mode} sandbox, {jobs} jobs); results in {outdir}/")
    out.print((outdir / "summary.txt").read_text(), markup=False)
    return 1 if errors else 0


def cmd_validate(args: argparse.Namespace) -> int:
    from grader.oracles.reference import SolutionsNotFound, load_solutions, solutions_dir
    from grader.validate import validate

    status = 0
    for name in args.assignments or NAMES:
        try:
            solutions = load_solutions(name, solutions_dir(args.solutions))
        except SolutionsNotFound as e:
            console.print(f"[red]error:[/red] {e}")
            return 2
        findings = validate(name, solutions, examples=args.examples)
        for f in findings:
            mark = "[green]ok  [/green]" if f.ok else "[red]FAIL[/red]"
            out.print(f"{mark} {name}: {f.subject}: ", end="")
            out.print(f.detail, markup=False)
        status |= any(not f.ok for f in findings)
    return int(status)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bptt-grader", description="Property-based grader for BPTT assignments.")
    parser.add_argument("--version", action="version", version=f"bptt-grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, sandbox: bool = True) -> None:
        p.add_argument("--examples", type=int, default=None, metavar="N",
                       help="instances tried per check (default: each question's own)")
        if sandbox:
            p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                           help="isolate student code with bubblewrap (auto: when it works here)")

    sub.add_parser("list", help="the assignments, their functions and points").set_defaults(func=cmd_list)

    p = sub.add_parser("check", help="check a notebook against the mathematics (no solutions needed)")
    p.add_argument("assignment", choices=NAMES)
    p.add_argument("notebook")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("grade", help="grade submissions with every check (needs solutions)")
    p.add_argument("assignment", choices=NAMES)
    p.add_argument("submissions", nargs="+", help=".ipynb or .py files, or folders of them")
    p.add_argument("--out", required=True, help="folder for <submission>.json, grades.csv and summary.txt")
    p.add_argument("--solutions", default=None, help="solutions folder (default: $BPTT_GRADER_SOLUTIONS, "
                   "then ./solutions)")
    p.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: cores)")
    p.add_argument("--resume", action="store_true", help="skip submissions that already have results")
    common(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("validate", help="self-test: the reference passes, every catalogued mistake is caught")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--solutions", default=None)
    common(p, sandbox=False)
    p.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UnknownAssignment as e:
        console.print(f"[red]error:[/red] {e}")
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
