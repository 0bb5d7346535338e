"""Gradescope: an autograder zip that runs bptt-grader's own sandboxed grading.

:func:`build_autograder` writes the zip Gradescope asks for: ``setup.sh``
(installs bubblewrap and bptt-grader into a virtualenv, once, when Gradescope
builds the image), ``requirements.txt`` (what setup.sh installs: the grader's
wheel, pinned as the very file, and its dependencies, bounded so that they
resolve on every Python an image may have, 3.10 to 3.13), ``run_autograder``
(grades one submission), the assignment's solutions, a config file, and the
wheel of this installation (:func:`grader.integrations.package.build_wheel`,
with the shipped instance lists), or a pip requirement given instead.

``run_autograder`` calls :func:`run`, which grades the submission in
``ROOT/submission`` exactly as ``bptt-grader grade`` does (a worker process,
in bubblewrap when it works, with limits and deadlines) and writes
``ROOT/results/results.json``. ``ROOT`` is ``$BPTT_AUTOGRADER_ROOT``, by
default ``/autograder``. The ``reference`` checks are ``after_published``:
students see the derivative and contract checks at once, and how they compare
with the reference solution only when the instructor publishes grades.

Where bubblewrap cannot run (Gradescope's containers may forbid namespaces)
and the autograder runs as root, the grading happens in a child process that
loads the solutions, makes their folder root-only, and then drops to user
``nobody`` before any student code runs; the root parent writes the results.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import tempfile
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT_ENV = "BPTT_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
CONFIG = "bptt-autograder.json"
COURSE = "course"  # where a course assignment's public folder goes in the zip
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
NOBODY = 65534

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# bubblewrap: student code runs where it cannot see the solutions (when the container allows namespaces)
apt-get install -y --no-install-recommends python3 python3-venv bubblewrap
# a virtualenv: Ubuntu 24.04's system pip refuses to install packages (PEP 668)
python3 -m venv /opt/bptt-grader
# requirements.txt: the grader's own wheel (this very file), its dependencies bounded, not pinned, so that they
# install on the image's Python (3.10 on Ubuntu 22.04, 3.12 on 24.04); grading is decided by the instance lists
# shipped inside the wheel, whatever Hypothesis is installed
(cd "$SOURCE" && /opt/bptt-grader/bin/pip install --no-cache-dir -r requirements.txt)
# fail the build, not the first submission, if the grader cannot start or load the solutions; and draw
# any instance list the grader does not ship once, here, rather than in each submission's container
BPTT_GRADER_CACHE=/opt/bptt-grader/drawn BPTT_AUTOGRADER_ROOT="$(dirname "$SOURCE")" \
    /opt/bptt-grader/bin/python -m grader.integrations.gradescope --self-test
chmod -R a+rX /opt/bptt-grader
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission; it writes $ROOT/results/results.json.
set -euo pipefail
ROOT="${BPTT_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${BPTT_PYTHON:-/opt/bptt-grader/bin/python}"
export BPTT_GRADER_CACHE="${BPTT_GRADER_CACHE:-/opt/bptt-grader/drawn}"  # lists setup.sh drew
exec "$PYTHON" -m grader.integrations.gradescope --root "$ROOT"
"""


# -- building the zip ------------------------------------------------------------------------------

def build_autograder(assignment: str, out: Path, solutions: Path, package: str | None = None,
                     reference_visibility: str = "after_published", sandbox: str = "auto") -> Path:
    """Write the Gradescope autograder zip of ``assignment`` to ``out``.

    Parameters
    ----------
    assignment
        The assignment's name.
    out
        The zip to write.
    solutions
        The solutions folder (``solutions/<assignment>/reference.py`` and
        ``misconceptions.py``); only this assignment's go into the zip.
    package
        A pip requirement for bptt-grader instead of a wheel of this installation.
    reference_visibility
        Gradescope visibility of the ``reference`` checks.
    sandbox
        ``auto``, ``bwrap`` (fail rather than grade without bubblewrap) or ``none``.
    """
    from grader.assignments import get
    from grader.integrations.package import build_wheel
    from grader.oracles.reference import load_solutions

    if reference_visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    from grader.assignments import course_of

    a = get(assignment)
    load_solutions(a.name, solutions)  # fail now, not on Gradescope, if they do not load
    course = course_of(a.name)  # a course's own assignment: its public folder goes along, as COURSE/<name>/
    config = {"format": 1, "assignment": a.name, "sandbox": sandbox,
              "visibility": {"reference": reference_visibility}, **({"course": COURSE} if course else {})}
    with tempfile.TemporaryDirectory(prefix="bptt-gradescope-") as tmp:
        wheel = build_wheel(Path(tmp)) if package is None else None
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            _write_text(zf, "setup.sh", SETUP_SH, executable=True)
            _write_text(zf, "requirements.txt", requirements_txt(wheel.name if wheel else None, package))
            _write_text(zf, "run_autograder", RUN_AUTOGRADER, executable=True)
            _write_text(zf, CONFIG, json.dumps(config, indent=2) + "\n")
            for name in ("reference.py", "misconceptions.py"):
                path = solutions / a.name / name
                if path.is_file():
                    zf.write(path, f"solutions/{a.name}/{name}")
            if course is not None:
                for path in sorted((course / a.name).rglob("*")):
                    if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                        zf.write(path, f"{COURSE}/{a.name}/{path.relative_to(course / a.name).as_posix()}")
            if wheel is not None:
                zf.write(wheel, wheel.name)
    return out


def _assignment(root: Path, config: dict[str, Any]) -> Any:
    """The configured assignment: bundled, or the course's own, shipped in the zip's COURSE/ folder."""
    from grader.assignments import add_courses, get

    if config.get("course"):
        add_courses(root / "source" / str(config["course"]))
    return get(config["assignment"])


def requirements_txt(wheel: str | None, package: str | None = None) -> str:
    """The zip's ``requirements.txt``: the grader (``./<wheel>`` beside it, or ``package``), then its
    dependencies, bounded (:func:`grader.integrations.package.runtime_requirements`)."""
    from grader.integrations.package import runtime_requirements

    if (wheel is None) == (package is None):
        raise ValueError("give exactly one of the wheel's file name and a pip requirement")
    grader_line = f"./{wheel}" if wheel is not None else package
    if "\n" in grader_line or "\r" in grader_line:
        raise ValueError("a pip requirement is one line")
    return "\n".join(["# installed by setup.sh (pip install -r requirements.txt, from this folder)",
                      "# the grader: exactly this one", grader_line,
                      "# its dependencies: bounded, not pinned (any Python 3.10 to 3.13 finds a version)",
                      *runtime_requirements()]) + "\n"


def _write_text(zf: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16  # Gradescope runs them as they are
    zf.writestr(info, text)


# -- results.json ----------------------------------------------------------------------------------

def gradescope_results(data: dict[str, Any], visibility: dict[str, str]) -> dict[str, Any]:
    """bptt-grader's results (:func:`grader.report.results_json`) in Gradescope's strict form.

    ``visibility`` maps a check (``"reference"``) to its Gradescope visibility;
    other checks are ``visible``. The summary line counts only what students
    may see, since Gradescope hides the total while a test is hidden.
    """
    tests = []
    shown = shown_max = hidden_max = 0.0
    for t in data["tests"]:
        vis = visibility.get(t["check"], "visible")
        if vis == "visible":
            shown, shown_max = shown + t["score"], shown_max + t["max_score"]
        else:
            hidden_max += t["max_score"]
        tests.append({
            "name": t["name"], "score": t["score"], "max_score": t["max_score"], "status": t["status"],
            "output": t["output"], "output_format": "text", "visibility": vis,
            "extra_data": {"function": t["function"], "check": t["check"], **t.get("extra_data", {})},
        })
    lines = [f"Checks shown now: {shown:g} / {shown_max:g} points."]
    if hidden_max:
        lines.append(f"The other {hidden_max:g} points (comparison with the reference solution) "
                     "appear when grades are published.")
    problems = data["extra_data"].get("problems", [])
    if problems:
        lines += ["", "Problems while reading or running the submission:", *(f"  - {p}" for p in problems)]
    return {
        "score": data["score"],
        "execution_time": data["execution_time"],
        "output": "\n".join(lines),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",  # the autograder's log is for the instructor
        "extra_data": data["extra_data"],
        "tests": tests,
    }


# -- grading one submission ------------------------------------------------------------------------

def find_submission(folder: Path, assignment: str) -> Path | str:
    """The file to grade in ``folder``, or why there is none to grade.

    ``<assignment>.ipynb`` if present, else the only notebook, else the only
    ``.py`` file (anywhere below ``folder``, not through a symbolic link to a folder; a file that is a
    link is found, and then refused when it is read).
    """
    from grader.notebook import submission_files

    files = submission_files(folder, hidden=False)
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    scripts = [p for p in files if p.suffix == ".py"]
    named = [p for p in notebooks if p.name == f"{assignment}.ipynb"]
    for group in (named, notebooks, scripts):
        if len(group) == 1:
            return group[0]
        if len(group) > 1:
            names = ", ".join(str(p.relative_to(folder)) for p in group)
            return f"found several files to grade ({names}): submit one notebook, {assignment}.ipynb"
    return f"no notebook (.ipynb) or Python file was submitted: submit {assignment}.ipynb"


def _nobody_can_use(paths: list[Path]) -> bool:
    """Whether user ``nobody`` can reach (and read or run) each path: every folder on the way is ``o+x``."""
    for path in paths:
        path = path.resolve()
        if not path.exists() or not path.stat().st_mode & stat.S_IROTH:
            return False
        if any(not p.stat().st_mode & stat.S_IXOTH for p in path.parents):
            return False
    return True


def _drop_privileges(solutions: Path) -> None:
    """Become ``nobody``, leaving the (already loaded) solutions readable by root only."""
    for path in (solutions, *solutions.rglob("*")):
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    os.environ["HOME"] = tempfile.gettempdir()


def grade_submission(root: Path, config: dict[str, Any], drop: bool = False) -> dict[str, Any]:
    """Grade ``root/submission`` and return Gradescope's results (nothing is written)."""
    from grader.grading import grade_submission, not_graded
    from grader.notebook import SubmissionError, read_submission
    from grader.oracles.reference import load_solutions
    from grader.report import results_json
    from grader.results import Grade
    from grader.sandbox import Limits, resolve_mode
    from grader.worker_target import WorkerTarget

    assignment = _assignment(root, config)
    folder = root / "source" / "solutions"
    solutions = load_solutions(assignment.name, folder)
    mode = resolve_mode(config.get("sandbox", "auto"))
    found = find_submission(root / "submission", assignment.name)
    if isinstance(found, Path):
        try:
            submission = read_submission(found, root / "submission")  # read (never run) before dropping privileges
        except SubmissionError as e:
            found = str(e)
    dropped = False
    if drop and mode == "none":
        import numpy

        import grader

        # The worker is started from this Python with this package and numpy: nobody must be able to run them.
        runnable = [Path(sys.executable), Path(grader.__file__).parent, Path(numpy.__file__).parent]
        if _nobody_can_use(runnable):
            _drop_privileges(folder)
            dropped = True
        else:
            print("warning: no sandbox and this Python is not usable by user nobody: student code runs as root "
                  "and could read the solutions", flush=True)
    print(f"bptt-grader: {assignment.name}, sandbox {mode}"
          + (", grading as nobody (solutions root-only)" if dropped else ""), flush=True)
    if isinstance(found, str):
        result = Grade(submission="", assignment=assignment.name, problems=[found])
        for q in assignment.questions:
            result.checks.extend(not_graded(q, solutions, found))
    else:
        result = grade_submission(assignment, WorkerTarget(submission, Limits(), mode), solutions, name=found.name)
    return gradescope_results(results_json(result, assignment), config.get("visibility", {}))


def _in_child(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked child and return what it returned (the child may drop privileges)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        code = 0
        try:
            payload = json.dumps({"ok": True, "data": work()})
        except BaseException:
            payload, code = json.dumps({"ok": False, "error": traceback.format_exc()}), 1
        try:
            with os.fdopen(write_fd, "w") as f:
                f.write(payload)
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        text = f.read()
    os.waitpid(pid, 0)
    reply = json.loads(text) if text else {"ok": False, "error": "the grading process died without a result"}
    if not reply["ok"]:
        raise RuntimeError(reply["error"])
    return reply["data"]


def run(root: Path) -> int:
    """Grade ``root/submission`` and write ``root/results/results.json``; the exit status.

    An internal error writes no results (Gradescope then tells the student
    the autograder failed) and prints the traceback for the instructor.
    """
    config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
    try:
        if hasattr(os, "fork") and os.geteuid() == 0:  # root: grade in a child that can drop to nobody
            data = _in_child(lambda: grade_submission(root, config, drop=True))
        else:
            data = grade_submission(root, config)
    except Exception:
        traceback.print_exc()
        return 1
    from grader.report import write_atomic  # only now: the parent forks before numpy starts its threads

    write_atomic(root / "results" / "results.json", json.dumps(data, indent=2) + "\n")
    print(f"score {data['score']:g}; results in {root / 'results' / 'results.json'}")
    return 0


def self_test(root: Path) -> int:
    """At image build time: the grader imports, the assignment exists, the solutions load; and the
    instances its searches draw are there: shipped with the grader, or drawn now and kept
    (:mod:`grader.drawn`, in ``$BPTT_GRADER_CACHE``)."""
    from grader.drawn import passing_draws
    from grader.oracles.reference import load_solutions
    from grader.sandbox import resolve_mode

    config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
    assignment = _assignment(root, config)
    load_solutions(assignment.name, root / "source" / "solutions")
    for q in assignment.questions:
        passing_draws(q)
    print(f"bptt-grader ready for {assignment.name}; sandbox here: {resolve_mode(config.get('sandbox', 'auto'))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.integrations.gradescope [--root ROOT] [--self-test]`` (what run_autograder calls)."""
    parser = argparse.ArgumentParser(prog="python -m grader.integrations.gradescope")
    parser.add_argument("--root", default=os.environ.get(ROOT_ENV, DEFAULT_ROOT),
                        help=f"the autograder folder (default: ${ROOT_ENV}, else {DEFAULT_ROOT})")
    parser.add_argument("--self-test", action="store_true", help="check the installation; grade nothing")
    args = parser.parse_args(argv)
    root = Path(args.root)
    return self_test(root) if args.self_test else run(root)


if __name__ == "__main__":
    sys.exit(main())

