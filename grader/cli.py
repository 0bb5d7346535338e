"""The ``bptt-grader`` command. It only wires: every step lives in its own module."""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import __version__
from grader.assignments import NAMES, TWO_WORKERS, CourseError, UnknownAssignment, get, names


class _LazyConsole:
    """A rich ``Console`` made at its first use: importing rich is time that grading one
    submission would otherwise spend before its workers start and before its grading begins.

    Written to a terminal, rich wraps a long line at its width; written anywhere else (a pipe, a file,
    a CI log), nothing is wrapped: each line is printed whole, as the feedback lines of ``out`` are.
    """

    def __init__(self, **options: Any) -> None:
        self._options: dict[str, Any] = options
        self._console: Any = None

    def get(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
            if not self._console.is_terminal:  # a pipe, a file, a CI log: lines whole (a path is never cut)
                self._console.soft_wrap = True
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


console = _LazyConsole(stderr=True, highlight=False)
out = _LazyConsole(highlight=False, soft_wrap=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _submissions(items: list[str], links: list[Path] | None = None) -> dict[Path, Path]:
    """Each submission file named by ``items`` (files, or folders walked without following symbolic
    links to folders, which are appended to ``links``), with the submission folder it was given in:
    nothing below that folder may be a symbolic link (:func:`grader.notebook.read_submission_bytes`)."""
    from grader.notebook import submission_files

    found: dict[Path, Path] = {}
    seen: set[str] = set()
    for item in items:
        p = Path(item)
        # a folder given here may be a link (the instructor's choice); links below it are refused
        files = [(q, p) for q in submission_files(p, links=links)] if p.is_dir() else [(p, p.parent)]
        for q, folder in files:
            if os.path.abspath(q) not in seen:
                seen.add(os.path.abspath(q))
                found[q] = folder
    return found


def list_lines(width: int = 80) -> list[str]:
    """``bptt-grader list`` as plain lines of at most ``width`` characters (for a log or a pipe): each
    assignment's name, title and points on a line of its own, then a line per function (name, points,
    checks; the checks wrap below their column, a name is never cut)."""
    import textwrap

    lines: list[str] = []
    for name in names():
        a = get(name)
        lines += textwrap.wrap(f"{name}: {a.title}, {a.points:g} points", width, subsequent_indent="    ")
        rows = [(q.function, f"{q.points + sum(b.points for b in q.behaviours):g}",
                 ", ".join(["derivative", "reference", "contract", *(b.name for b in q.behaviours)]))
                for q in a.questions]
        fn = max(len(r[0]) for r in rows)
        pts = max(len(r[1]) for r in rows)
        indent = 2 + fn + 2 + pts + 2
        for function, points, checks in rows:
            first = f"  {function:<{fn}}  {points:>{pts}}  "
            lines += textwrap.wrap(checks, width, initial_indent=first, subsequent_indent=" " * indent) \
                if indent < width - 20 else [first.rstrip(), *textwrap.wrap(checks, width, initial_indent="    ",
                                                                             subsequent_indent="    ")]
        lines.append("")
    return lines[:-1]


def cmd_list(args: argparse.Namespace) -> int:
    if not out.is_terminal:  # a log or a pipe: plain lines that fit 80 columns
        out.print("\n".join(list_lines()), markup=False, highlight=False)
        return 0
    from rich.table import Table

    for name in names():
        a = get(name)
        # the title above its own table; a function's name is never cut, the checks wrap
        out.print(f"[bold]{_escape(name)}[/bold]: {_escape(a.title)}, {a.points:g} points", soft_wrap=False)
        table = Table()
        table.add_column("function", no_wrap=True, min_width=max(len(q.function) for q in a.questions))
        table.add_column("points", justify="right")
        table.add_column("checks", overflow="fold")
        for q in a.questions:
            checks = ", ".join(["derivative", "reference", "contract", *(b.name for b in q.behaviours)])
            table.add_row(q.function, f"{q.points + sum(b.points for b in q.behaviours):g}", checks)
        out.print(table)
    return 0


def _workers(name: str) -> int:
    if name in NAMES:  # known without importing the assignment (and numpy)
        return 2 if name in TWO_WORKERS else 1
    from grader.behaviours import workers

    return workers(get(name))


def _all_missing(assignment: str, results: list[list[tuple[str, str]]]) -> bool:
    """Whether no graded function of ``assignment`` was found in any of ``results`` (each a list of its tests'
    ``(function, message)``): a wrong assignment, or the wrong folder, rather than a class that scored 0."""
    from grader.target import Availability

    functions = {q.function for q in get(assignment).questions}
    missing = Availability("missing")
    return bool(results) and all(functions <= {f for f, text in tests if text.startswith(missing.message(f))}
                                 for tests in results)


def _defined(paths: dict[Path, Path]) -> set[str]:
    """The names the submissions define at their top level (read, not run)."""
    import ast

    from grader.notebook import SubmissionError, read_submission

    found: set[str] = set()
    for path, folder in paths.items():
        try:
            cells = read_submission(path, folder).cells
        except SubmissionError:
            continue
        for cell in cells:
            try:
                body = ast.parse(cell.source).body
            except (SyntaxError, ValueError):
                continue
            found |= {n.name for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            found |= {t.id for n in body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    return found


def _meant(assignment: str, defined: set[str]) -> str | None:
    """The other assignment most of whose graded functions the submissions define, if any."""
    best: tuple[int, str] | None = None
    for other in names():
        try:
            found = len({q.function for q in get(other).questions} & defined) if other != assignment else 0
        except CourseError:  # a course assignment that does not load: not the one meant
            continue
        if found and (best is None or found > best[0]):
            best = (found, other)
    return best[1] if best else None


def _warn_nothing_found(assignment: str, paths: dict[Path, Path], command: str, rest: str = "...") -> None:
    """Say that no submission defines any of the assignment's functions, and which assignment they look like."""
    functions = ", ".join(q.function for q in get(assignment).questions)
    who = "the submission defines none" if len(paths) == 1 else f"none of the {len(paths)} submissions defines any"
    text = f"{who} of {assignment}'s functions ({functions}): every score is 0."
    meant = _meant(assignment, _defined(paths))
    if meant:
        these = "it defines" if len(paths) == 1 else "these submissions define"
        text += f" But {these} {meant}'s functions: did you mean bptt-grader {command} {meant} {rest}?"
    else:
        text += " Is it the right assignment, and the right folder?"
    console.print(f"[yellow]warning:[/yellow] {_escape(text)}")


def cmd_check(args: argparse.Namespace) -> int:
    from grader.sandbox import SandboxUnavailable, prestart
    from grader.worker_target import WorkerTarget

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no solutions are loaded: nothing to hide from the student's code
        try:
            prestart(args.sandbox, count=_workers(args.assignment))  # they boot while numpy is imported
        except SandboxUnavailable as e:
            console.print(f"[red]error:[/red] {e}")
            return 2
    from grader.grading import grade_submission
    from grader.notebook import SubmissionError, read_submission
    from grader.report import text_report

    assignment = get(args.assignment)
    try:
        submission = read_submission(args.notebook)
    except SubmissionError as e:
        console.print(f"[red]error:[/red] {e}")
        if args.summary:
            from grader.integrations.github import append_summary, unreadable_summary

            append_summary(args.summary, unreadable_summary(assignment, args.notebook, str(e)))
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no solutions are loaded: nothing to hide from the student's code
        target = WorkerTarget(submission, mode=args.sandbox)
    result = grade_submission(assignment, target, None, name=submission.path.name, examples=args.examples)
    out.print(text_report(result, assignment, show_points=False), markup=False)
    if args.json:
        from grader.report import write_results

        write_results(result, assignment, Path(args.json))
    if args.summary:
        from grader.integrations.github import append_summary, markdown_summary

        append_summary(args.summary, markdown_summary(result, assignment, submission.path.name))
    if _all_missing(assignment.name, [[(c.function, c.message) for c in result.checks]]):
        _warn_nothing_found(assignment.name, {submission.path: submission.path.parent}, "check", args.notebook)
        return 2
    return 0 if all(c.passed for c in result.checks) else 1


@dataclass
class _Class:
    """What ``grade`` grades, and how: found from its arguments before anything is graded."""

    job: Any  # grader.batch.Job
    paths: list[Path]  # every submission named
    folders: dict[Path, Path]
    mine: list[Path]  # this shard's (all of them without --shard)
    root: Path
    shard: tuple[int, int] | None
    jobs: int
    outdir: Path


def _error(message: str) -> int:
    console.print(f"[red]error:[/red] {_escape(message)}")
    return 2


def _without_sandbox(requested: str) -> str:
    """Why student code runs without bubblewrap, and what that means: chosen (``--sandbox none``), or not installed."""
    risk = "student code runs with limits and deadlines but no confinement: it could read the solutions folder"
    if requested == "none":
        return f"--sandbox none: {risk} (and any file you can read)."
    return (f"bubblewrap is not installed: {risk}. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) "
            "to hide it.")


def _how(mode: str, jobs: int) -> str:
    """``bwrap sandbox, 2 jobs`` or ``without the sandbox, 1 job``."""
    return f"{'without the sandbox' if mode == 'none' else f'{mode} sandbox'}, {jobs} job{'s' * (jobs != 1)}"


def _class_to_grade(args: argparse.Namespace) -> _Class | int:
    """The submissions, shard, sandbox and solutions of ``grade``; an exit status 2 (said why) if one is wrong."""
    missing = [item for item in args.submissions if not os.path.lexists(item)]
    for item in missing:  # a mistyped path is not a submission that scores zero
        _error(f"no such file or folder: {item}")
    if missing:
        return 2
    shard = None
    if args.shard is not None:
        from grader.batch import ShardError, parse_shard

        try:
            shard = parse_shard(args.shard)
        except ShardError as e:
            return _error(str(e))
    from grader.sandbox import SandboxUnavailable, prestart, resolve_mode

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # auto without bubblewrap: said below, once, in the command's words
            mode = resolve_mode(args.sandbox)
    except SandboxUnavailable as e:
        return _error(str(e))
    links: list[Path] = []
    folders = _submissions(args.submissions, links)
    paths = list(folders)
    for link in links:
        console.print(f"[yellow]warning:[/yellow] {_escape(str(link))} is a symbolic link to a folder: not followed")
    mine = paths
    if shard is not None and paths:  # this shard's submissions, named as among the whole class
        from grader.batch import common_root, result_names, shard_of

        names = result_names(paths, common_root([Path(item) for item in args.submissions]))
        mine = [p for p in paths if shard_of(names[p], shard[1]) == shard[0]]
    if len(mine) == 1 or (args.jobs == 1 and bool(mine)):
        # graded in this process: the workers boot while numpy and the assignment are imported
        prestart(mode, count=_workers(args.assignment))
    from grader.batch import Job, common_root, default_jobs
    from grader.oracles.reference import SolutionsNotFound, load_solutions, solutions_dir

    assignment = get(args.assignment)
    try:
        folder = solutions_dir(args.solutions)
        load_solutions(assignment.name, folder)
    except SolutionsNotFound as e:
        return _error(str(e))
    if mode == "none":
        console.print(f"[yellow]warning:[/yellow] {_without_sandbox(args.sandbox)}")
    if not paths:
        return _error("no submissions (.ipynb or .py) found")
    job = Job(assignment.name, folder, mode, examples=args.examples, allow_numerical=args.allow_numerical)
    root = common_root([Path(item) for item in args.submissions])
    return _Class(job, paths, folders, mine, root, shard, args.jobs or default_jobs(), Path(args.out))


def _graded_line(name: str, data: dict[str, Any] | None, status: str) -> None:
    if status == "kept":
        what = "kept (--resume)"
    elif data is None:
        what = "internal error (nothing written)"
    else:
        what = f"{data['score']:g} / {data['max_score']:g}"
        if data.get("internal_errors"):
            what += " (internal error of the grader: grade again with --resume)"
    console.print(f"  {_escape(name)}: {what}")


def _grade_class(plan: _Class, resume: bool, counts: dict[str, int]) -> tuple[list[dict[str, Any]], dict[Path, str]]:
    """Grade the class with a line per submission (one alone: no bar, nor rich's 40 ms, before its line)."""
    from grader.batch import run_batch

    def run(progress: Callable[[str, dict[str, Any] | None, str], None]) -> tuple[list[dict[str, Any]],
                                                                                   dict[Path, str]]:
        return run_batch(plan.job, plan.paths, plan.outdir, jobs=plan.jobs, resume=resume, progress=progress,
                         root=plan.root, folders=plan.folders, shard=plan.shard)

    def count(status: str) -> None:
        counts[status] = counts.get(status, 0) + 1

    if len(plan.mine) <= 1:
        def single(name: str, data: dict[str, Any] | None, status: str) -> None:
            count(status)
            _graded_line(name, data, status)

        return run(single)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console.get(), disable=not console.is_terminal) as bar:
        task = bar.add_task(f"grading {plan.job.assignment}", total=len(plan.mine))

        def progress(name: str, data: dict[str, Any] | None, status: str) -> None:
            count(status)
            bar.advance(task)
            if not console.is_terminal:
                _graded_line(name, data, status)

        return run(progress)


def cmd_grade(args: argparse.Namespace) -> int:
    plan = _class_to_grade(args)
    if isinstance(plan, int):
        return plan
    from grader.batch import ShardError

    start = time.perf_counter()
    counts: dict[str, int] = {"graded": 0, "kept": 0, "error": 0}
    try:
        results, errors = _grade_class(plan, args.resume, counts)
    except ShardError as e:
        return _error(str(e))
    for p, err in errors.items():
        console.print(f"[red]internal error grading {_escape(str(p))}[/red] (not written; run again with --resume):")
        console.print(err, markup=False, highlight=False)
    done = (f"graded {counts['graded']}, kept {counts['kept']} (--resume)" if counts["kept"]
            else f"graded {counts['graded']} of {len(plan.mine)} submissions")
    if plan.shard is not None:
        done = f"shard {plan.shard[0]}/{plan.shard[1]} ({len(plan.mine)} of the class's {len(plan.paths)} " \
               f"submissions): {done}"
    console.print(f"{done} in {time.perf_counter() - start:.1f} s ({_how(plan.job.sandbox, plan.jobs)}); "
                  f"results in {_escape(str(plan.outdir))}/")
    return _after_grading(plan, results, errors)


def _after_grading(plan: _Class, results: list[dict[str, Any]], errors: dict[Path, str]) -> int:
    """The summary, what moved (--resume); exit status 3 if the grader failed on any submission, 2 if no
    submission defines any of the assignment's functions."""
    out.print((plan.outdir / "summary.txt").read_text(), markup=False)
    if (plan.outdir / "changes.txt").is_file():
        moved = (plan.outdir / "changes.txt").read_text().split("\nScores that moved: ", 1)[-1].splitlines()[0]
        console.print(f"scores that moved: {_escape(moved)}; see {_escape(str(plan.outdir / 'changes.txt'))}")
    failed = len(errors) + sum(bool(r.get("internal_errors")) for r in results)
    if failed:
        console.print(f"[red]error:[/red] {failed} of {len(plan.mine)} submissions not graded because of an internal "
                      "error of the grader (see summary.txt): grade them again with --resume")
        return 3
    tests = [[(t.get("function", ""), t.get("output", "")) for t in r.get("tests", [])] for r in results]
    if _all_missing(plan.job.assignment, tests):
        _warn_nothing_found(plan.job.assignment, {p: plan.folders[p] for p in plan.mine}, "grade")
        return 2
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    """Merge shards' results folders into one class (:mod:`grader.collect`)."""
    from grader.collect import CollectError, collect

    try:
        done = collect([Path(f) for f in args.folders], Path(args.out))
    except CollectError as e:
        console.print(f"[red]error:[/red] {_escape(str(e))}")
        return 2
    shards = (f", shards {', '.join(f'{k}/{n}' for k, n in done.shards)}" if done.shards else "")
    console.print(f"collected {len(done.results)} results of {done.assignment} from {len(done.folders)} folders"
                  f"{shards}; results in {_escape(args.out)}/")
    if done.unsandboxed:
        more = " ..." if len(done.unsandboxed) > 10 else ""
        console.print(f"[yellow]warning:[/yellow] {len(done.unsandboxed)} results were graded without the sandbox "
                      f"(none): {_escape(', '.join(done.unsandboxed[:10]))}{more}")
    out.print((Path(args.out) / "summary.txt").read_text(), markup=False)
    failed = len(done.not_written) + sum(bool(r.get("internal_errors")) for r in done.results)
    if failed:
        console.print(f"[red]error:[/red] {failed} submissions not graded because of an internal error of the "
                      "grader (see summary.txt): grade them again in their shard with --resume, then collect")
        return 3
    return 0


def _to_validate(solutions: str | None) -> list[str]:
    """``validate`` without names: the bundled assignments; with course folders, the courses' assignments and
    the bundled ones whose reference is in the solutions folder."""
    from grader.assignments import course_of
    from grader.oracles.reference import SolutionsNotFound, solutions_dir

    course = [n for n in names() if course_of(n) is not None]
    if not course:
        return list(NAMES)
    try:
        folder = solutions_dir(solutions)
    except SolutionsNotFound:
        return course
    return course + [n for n in NAMES if n not in course and (folder / n / "reference.py").is_file()]


def cmd_validate(args: argparse.Namespace) -> int:
    from grader.assignments import solutions_for
    from grader.oracles.reference import SolutionsNotFound, load_solutions, solutions_dir
    from grader.validate import validate

    status = 0
    for name in args.assignments or _to_validate(args.solutions):
        try:
            solutions = load_solutions(name, solutions_dir(args.solutions or solutions_for(name)))
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


def cmd_otter(args: argparse.Namespace) -> int:
    from grader.integrations import otter
    from grader.oracles.reference import SolutionsNotFound, solutions_dir

    assignment = get(args.assignment)
    try:
        reference = solutions_dir(args.solutions) / assignment.name / "reference.py"
        if not reference.is_file():
            raise SolutionsNotFound(f"no reference solution at {reference}")
    except SolutionsNotFound as e:
        console.print(f"[red]error:[/red] {e}")
        return 2
    outdir = Path(args.out)
    made = otter.write_master(assignment, reference, outdir, package=args.package, seconds=args.seconds)
    out.print(f"master notebook: {made.master}", markup=False)
    if args.master_only:
        return 0
    try:
        made = otter.assign(made, outdir, run_tests=not args.no_run_tests)
    except otter.OtterUnavailable as e:
        console.print(f"[red]error:[/red] {_escape(str(e))} (or pass --master-only)")
        return 2
    except RuntimeError as e:
        console.print(f"[red]error:[/red] {_escape(str(e))}")
        return 1
    out.print(f"student notebook: {made.student}\nautograder zip: {made.autograder_zip}", markup=False)
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from grader.integrations.gradescope import build_autograder
    from grader.oracles.reference import SolutionsNotFound, solutions_dir

    try:
        folder = solutions_dir(args.solutions)
        zip_path = build_autograder(args.assignment, Path(args.out), folder, package=args.package,
                                    reference_visibility=args.reference_visibility, sandbox=args.sandbox)
    except SolutionsNotFound as e:
        console.print(f"[red]error:[/red] {e}")
        return 2
    out.print(f"Gradescope autograder: {zip_path} (upload it as the assignment's autograder)", markup=False)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Canvas / Moodle gradebook CSVs from results folders and a roster (the logic: :mod:`grader.export`)."""
    from grader import export

    if not (args.canvas or args.moodle):
        console.print("[red]error:[/red] say what to write: --canvas FILE and/or --moodle FILE")
        return 2
    try:
        students = export.read_roster(Path(args.roster))
        headers = export.parse_headers(args.canvas_column)
        results, problems = [], []
        for folder in args.results:
            found, trouble = export.read_results_folder(Path(folder))
            results += found
            problems += trouble
    except export.ExportError as e:
        console.print(f"[red]error:[/red] {_escape(str(e))}")
        return 2
    table = export.build_export(students, results, headers, per_function=args.per_function,
                                missing_as_zero=args.missing_as_zero)
    problems += table.problems
    written = []
    if args.canvas:
        export.write_csv_rows(Path(args.canvas), export.canvas_rows(table))
        written.append(Path(args.canvas))
    if args.moodle:
        rows, left_out = export.moodle_rows(table, args.moodle_id)
        problems += left_out
        export.write_csv_rows(Path(args.moodle), rows)
        written.append(Path(args.moodle))
    report = Path(args.report) if args.report else written[0].with_name(written[0].stem + "-report.txt")
    from grader.report import write_atomic

    write_atomic(report, export.report_text(table, problems, written))
    for p in problems:
        console.print(f"[yellow]warning:[/yellow] {_escape(p)}", soft_wrap=True)
    for n in table.notes:
        console.print(f"note: {_escape(n)}", soft_wrap=True)
    graded = sum(1 for s in table.students if table.grades.get(s.key))
    said = [f"{len(x)} {word}{'s' * (len(x) != 1)}" for x, word in ((problems, "problem"), (table.notes, "note")) if x]
    console.print(f"{graded} of {len(table.students)} students with a grade; wrote "
                  f"{', '.join(_escape(str(w)) for w in written)}; report in {_escape(str(report))}"
                  + (f" ({', '.join(said)})" if said else ""), soft_wrap=True)
    return 1 if problems else 0


def cmd_new(args: argparse.Namespace) -> int:
    """A course assignment's folders, from a working example (:func:`grader.authoring.write_skeleton`)."""
    from grader.authoring import write_skeleton

    if args.name in NAMES:
        console.print(f"[red]error:[/red] {args.name} is a bundled assignment: choose another name")
        return 2
    try:
        written = write_skeleton(args.name, args.course)
    except (ValueError, FileExistsError) as e:
        console.print(f"[red]error:[/red] {_escape(str(e))}")
        return 2
    for path in written:
        out.print(f"wrote {path}", markup=False)
    course = args.course
    out.print(f"\nA working example (a tanh layer's backward pass). Make it yours: the forward pass and questions in "
              f"{Path(course) / args.name / 'assignment.py'}, the reference in "
              f"{Path(course) / 'solutions' / args.name / 'reference.py'}; then\n"
              f"  bptt-grader validate {args.name} --assignments {course}\n"
              f"  bptt-grader notebook {args.name} --assignments {course}", markup=False)
    return 0


def cmd_notebook(args: argparse.Namespace) -> int:
    """The student notebook of an assignment, from its public part (:func:`grader.authoring.build_notebook`)."""
    import nbformat

    from grader.assignments import course_of
    from grader.authoring import build_notebook

    course = course_of(args.assignment)
    target = Path(args.out) if args.out else (course / args.assignment if course else Path.cwd()) / \
        f"{args.assignment}.ipynb"
    if target.exists() and not args.force:
        console.print(f"[red]error:[/red] {_escape(str(target))} exists (edited by hand?): not overwritten; pass "
                      "--force to replace it, or --out FILE")
        return 2
    nb = build_notebook(args.assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    out.print(f"wrote {target} ({len(nb.cells)} cells): edit it from there, then {_handing_out(args.assignment)}",
              markup=False)
    return 0


def _handing_out(name: str) -> str:
    """What students get of an assignment: a course's public folder; of a bundled one, the notebook alone."""
    from grader.assignments import course_of

    if course_of(name) is not None:
        return "give students its folder (assignment.py and the notebook; never solutions/)"
    return (f"give students the notebook alone ({name} is bundled with the grader: they need bptt-grader installed, "
            f"nothing else; the course's hand-written notebook of it is assignments/{name}/{name}.ipynb in a clone "
            "of bptt-grader)")


def _common(p: argparse.ArgumentParser, sandbox: bool = True) -> None:
    """The options every grading command has."""
    p.add_argument("--examples", type=int, default=None, metavar="N",
                   help="instances tried per check (default: each question's own)")
    if sandbox:
        p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                       help="isolate student code with bubblewrap (auto: when it works here)")


def _add_check(sub: Any) -> None:
    p = sub.add_parser("check", help="check a notebook against the mathematics (no solutions needed)",
                       description="Check a notebook's (or a .py file's) functions against the derivative of the "
                       "forward pass and the contract, as a student does; no solutions are read. Exit status 0 "
                       "when every check passes, 1 when one fails, 2 when it cannot check (or when the notebook "
                       "defines none of the assignment's functions: the wrong assignment?).")
    p.add_argument("assignment", help="the assignment (bptt-grader list shows them)")
    p.add_argument("notebook", help="the .ipynb notebook or .py file to check (a regular file, not a link)")
    p.add_argument("--summary", metavar="FILE", help="append a Markdown summary (score table, first failure) "
                   "to FILE, e.g. $GITHUB_STEP_SUMMARY; - for stdout")
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE (results.json form)")
    _common(p)
    p.set_defaults(func=cmd_check)


def _add_grade(sub: Any) -> None:
    p = sub.add_parser("grade", help="grade submissions with every check (needs solutions)",
                       description="Grade submissions with every check, the reference solution's included, into "
                       "--out (a results file and a feedback page each; grades.csv, summary.txt, index.html). "
                       "Exit status 0 when grading completed, whatever the scores; 2 when it could not grade (or "
                       "when no submission defines any of the assignment's functions: the wrong assignment?); 3 "
                       "when the grader failed on some submission (grade again with --resume).")
    p.add_argument("assignment", help="the assignment (bptt-grader list shows them)")
    p.add_argument("submissions", nargs="+",
                   help=".ipynb or .py files, or folders of them (searched below, not through symbolic links); "
                   "each must exist")
    p.add_argument("--out", required=True, help="folder for <submission>.json, grades.csv and summary.txt")
    p.add_argument("--solutions", default=None, help="solutions folder (default: $BPTT_GRADER_SOLUTIONS, "
                   "then ./solutions; for a course's assignment, <course>/solutions)")
    p.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: cores)")
    p.add_argument("--allow-numerical", action="store_true",
                   help="answers computed by finite differences keep their points (they are flagged all the same; "
                        "see docs/numerical.md)")
    p.add_argument("--resume", action="store_true", help="keep the results of submissions already graded "
                   "from the same file, unchanged (same path and sha256), by the same grader, assignment, reference "
                   "and catalogue, without an internal error; grade the rest (changes.txt lists the scores that moved)")
    p.add_argument("--shard", metavar="K/N", default=None,
                   help="grade only shard K of N (K = 0..N-1) of the submissions, chosen by a hash of each name, "
                   "into this --out (merge the shards with bptt-grader collect); auto/N or N: K from "
                   "$JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or $SLURM_ARRAY_TASK_ID (Slurm array); "
                   "see docs/scale.md")
    _common(p)
    p.set_defaults(func=cmd_grade)


def _add_collect(sub: Any) -> None:
    p = sub.add_parser("collect", help="merge the results folders of shards (grade --shard) into one class",
                       description="Copy every shard's results into OUT and write its grades.csv, summary.txt and "
                       "index.html, as one grading of the whole class writes them. Refuses shards that overlap "
                       "with different results, results of different assignments or graders, a missing shard; "
                       "see docs/scale.md.")
    p.add_argument("folders", nargs="+", metavar="DIR", help="the shards' --out folders (each shard once)")
    p.add_argument("--out", required=True, help="the class's results folder (new, or one collect wrote)")
    p.set_defaults(func=cmd_collect)


def _add_validate(sub: Any) -> None:
    p = sub.add_parser("validate", help="self-test: the reference passes, every catalogued mistake is caught")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help="the assignments to validate (default: all)")
    p.add_argument("--solutions", default=None, help="solutions folder (default: $BPTT_GRADER_SOLUTIONS, "
                   "then ./solutions)")
    _common(p, sandbox=False)
    p.set_defaults(func=cmd_validate)


def _add_otter(sub: Any) -> None:
    p = sub.add_parser("otter", help="an otter-grader assignment generated from the declaration "
                       '(needs pip install "bptt-grader[otter]")')
    p.add_argument("assignment", help="the assignment (bptt-grader list shows them)")
    p.add_argument("--out", required=True, help="folder for master/, student/ and autograder/")
    p.add_argument("--solutions", default=None, help="solutions folder (its reference.py fills the solution cells)")
    p.add_argument("--package", default=None, metavar="REQUIREMENT",
                   help="how the autograder installs bptt-grader (default: a wheel of this installation)")
    p.add_argument("--seconds", type=float, default=120.0, help="time limit of each test cell (default: 120)")
    p.add_argument("--master-only", action="store_true", help="write the master notebook; do not run otter assign")
    p.add_argument("--no-run-tests", action="store_true", help="otter assign does not run the tests on the solution")
    p.set_defaults(func=cmd_otter)


def _add_gradescope(sub: Any) -> None:
    p = sub.add_parser("gradescope", help="a Gradescope autograder zip that grades with the sandbox")
    p.add_argument("assignment", help="the assignment (bptt-grader list shows them)")
    p.add_argument("--out", required=True, help="the zip to write")
    p.add_argument("--solutions", default=None, help="solutions folder, whose reference.py and misconceptions.py "
                   "of the assignment go into the zip (default: $BPTT_GRADER_SOLUTIONS, then ./solutions)")
    p.add_argument("--package", default=None, metavar="REQUIREMENT",
                   help="how the autograder installs bptt-grader (default: a wheel of this installation)")
    p.add_argument("--reference-visibility", default="after_published",
                   choices=("visible", "hidden", "after_due_date", "after_published"),
                   help="when students see the reference checks (default: after_published)")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                   help="bwrap: refuse to grade where bubblewrap cannot run (default: auto)")
    p.set_defaults(func=cmd_gradescope)


def _add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="Canvas / Moodle gradebook CSVs from results folders and a roster",
                       description="Write the grades of results folders (bptt-grader grade --out) as gradebook "
                       "import files. Problems (submissions no student matches, students without a submission, "
                       "...) go to stderr and to the report file; the exit status is 1 when there were any. With "
                       "--missing-as-zero a student without a submission is a note, not a problem.")
    p.add_argument("results", nargs="+", metavar="RESULTS_DIR", help="folders bptt-grader grade --out wrote")
    p.add_argument("--roster", required=True, metavar="CSV", help="a row per student: student, id, sis_user_id, "
                   "sis_login_id, section, email, submission (a glob of the submission's file or folder name); "
                   "see docs/gradebook.md")
    p.add_argument("--canvas", metavar="FILE", help="write a Canvas gradebook import CSV")
    p.add_argument("--moodle", metavar="FILE", help="write a Moodle grade import CSV")
    p.add_argument("--moodle-id", default="email", metavar="COLUMN",
                   help="the roster column that identifies students in the Moodle file (default: email)")
    p.add_argument("--canvas-column", action="append", default=[], metavar="ASSIGNMENT=HEADER",
                   help='the Canvas column of an assignment, e.g. britz="BPTT britz (12345)" for the existing '
                   "Canvas assignment 12345 (default: the assignment's name, a new Canvas assignment)")
    p.add_argument("--per-function", action="store_true", help="also a column per function (britz: delta_o, ...)")
    p.add_argument("--missing-as-zero", action="store_true",
                   help="a student without a submission gets 0 (default: an empty cell, and exit status 1); "
                   "each is noted in the report, but is not a problem")
    p.add_argument("--report", metavar="FILE", help="the report of what was written and every problem "
                   "(default: next to the first file written, <name>-report.txt)")
    p.set_defaults(func=cmd_export)


def _add_new(sub: Any) -> None:
    p = sub.add_parser("new", help="start a course assignment: a working example to make yours",
                       description="Write <course>/NAME/assignment.py (a forward pass and a question), "
                       "<course>/solutions/NAME/reference.py and misconceptions.py, and <course>/bptt-course.toml; "
                       "see docs/authoring.md.")
    p.add_argument("name", help="the assignment's name (lower-case letters, digits, _)")
    p.add_argument("--course", default=".", metavar="DIR", help="the course folder (default: this folder)")
    p.set_defaults(func=cmd_new)


def _add_notebook(sub: Any) -> None:
    p = sub.add_parser("notebook", help="the student notebook of an assignment, from its public part")
    p.add_argument("assignment", help="the assignment (bptt-grader list shows them)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="where to write it (default: <course>/NAME/NAME.ipynb for a course assignment, "
                   "else ./NAME.ipynb)")
    p.add_argument("--force", action="store_true", help="replace an existing notebook")
    p.set_defaults(func=cmd_notebook)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bptt-grader", description="Property-based grader for BPTT assignments.")
    parser.add_argument("--version", action="version", version=f"bptt-grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the assignments, their functions and points").set_defaults(func=cmd_list)
    for add in (_add_check, _add_grade, _add_collect, _add_validate, _add_otter, _add_gradescope, _add_export,
                _add_new, _add_notebook):
        add(sub)
    for command in sub.choices.values():  # every command finds a course's assignments
        command.add_argument("--assignments", dest="course_folders", action="append", default=[], metavar="DIR",
                             help="a course folder holding assignments of its own, <DIR>/<name>/assignment.py "
                             "(again for more; also $BPTT_GRADER_ASSIGNMENTS, ./bptt-course.toml)")
    return parser




def _courses(args: argparse.Namespace) -> None:
    """``--assignments``: the course folders, the names asked for, and a course assignment's own solutions."""
    from grader import assignments

    assignments.add_courses(*args.course_folders)
    if args.command == "check":  # a student's copy of a public folder, wherever it is and however named
        assignments.add_student_folder(Path(args.notebook).parent)
    asked = [args.assignment] if isinstance(getattr(args, "assignment", None), str) else []
    asked += list(args.assignments) if args.command == "validate" else []
    known = assignments.names()
    for name in asked:
        if name not in known:
            raise UnknownAssignment(name)
    course = [n for n in asked if assignments.course_of(n) is not None]
    if course and args.command == "otter":
        raise CourseError(f"{course[0]} is a course assignment: the otter route carries only the bundled "
                          "assignments so far (grade with bptt-grader grade, or build a Gradescope autograder)")
    if course and getattr(args, "solutions", "unset") is None and args.command != "validate":
        found = assignments.solutions_for(course[0])
        args.solutions = str(found) if found is not None else None


#: One BLAS thread in the grader's own process, unless the user says otherwise (set before numpy is
#: imported): its matrices are small and its workers use the other cores. Measured on 2 cores: one
#: grading 5-15 % faster, and the largest oracle (britz T = 50) no slower.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: list[str] | None = None) -> int:
    for var in BLAS_THREADS:
        os.environ.setdefault(var, "1")
    args = build_parser().parse_args(argv)
    try:
        _courses(args)
        return args.func(args)
    except (UnknownAssignment, CourseError) as e:
        console.print(f"[red]error:[/red] {_escape(str(e))}")
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
