"""What student code can reach while it is graded, and what it can make the grader do.

Each test is an attack a review made work: answering from the grader's own truth functions,
making the grader wait forever on a pipe, filling the grader's memory and disk, running
without the sandbox unnoticed, and looking at bubblewrap's own process. Where the sandbox mode
matters each runs with bubblewrap (when it works here) and without it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SOLUTIONS

from grader import sandbox
from grader.batch import Job, run_batch
from grader.notebook import read_submission
from grader.sandbox import Limits, bwrap_works
from grader.worker_target import WorkerTarget

MODES = ["none", pytest.param("bwrap", marks=pytest.mark.skipif(not bwrap_works(), reason="bwrap cannot run here"))]
needs_bwrap = pytest.mark.skipif(not bwrap_works(), reason="bwrap cannot run here")


@pytest.fixture(autouse=True)
def no_spare():
    sandbox._close_spares()
    yield
    sandbox._close_spares()


def target(tmp_path: Path, source: str, mode: str, limits: Limits | None = None) -> WorkerTarget:
    path = tmp_path / "submission.py"
    path.write_text(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WorkerTarget(read_submission(path), limits or Limits(), mode=mode)


def scores(data: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in data["tests"]:
        out[t["function"]] = out.get(t["function"], 0.0) + t["score"]
    return out


# -- 1. the grader's truths are out of reach ------------------------------------------------------

FORWARD = (SOLUTIONS / "britz" / "reference.py").read_text().split("def delta_o")[0]
GOOD = (SOLUTIONS / "britz" / "reference.py").read_text()

# The attack: answer delta_t with the grader's own truth function where it can be imported (from the
# package as installed, from any folder a grader process shows: its working folder, site-packages, the
# repository). Where it cannot, the fallback is a known mistake (the tanh derivative left out): 0 points.
ORACLE = '''
import glob as _glob, os as _os, sys as _sys

def _truth_of(name):
    places = ["", "ROOT_DIR", f"/proc/{_os.getppid()}/cwd", *_glob.glob("/*/lib/python3*/site-packages"),
              *_glob.glob("/usr/lib/python3*/*-packages"),
              *_glob.glob("/root/.pyenv/versions/*/lib/python3*/site-packages")]
    for place in places:
        if place not in _sys.path:
            _sys.path.append(place)
        try:
            from grader.assignments import britz as _britz
        except ImportError:
            continue
        q = next(q for q in _britz.ASSIGNMENT.questions if q.function == name)
        return lambda *args: np.asarray(q.truth(q.instance_from_args(args)), dtype=float).real
    return None

_TRUTH = _truth_of("delta_t")

def delta_t(V, delta_o_t, s_t):
    if _TRUTH is not None:
        return _TRUTH(V, delta_o_t, s_t)
    return V.T @ delta_o_t
'''.replace("ROOT_DIR", str(ROOT))


@pytest.mark.parametrize("mode", MODES)
def test_an_answer_from_the_graders_own_truth_function_is_not_possible(tmp_path, mode):
    source = GOOD.split("def delta_t")[0] + ORACLE + "\n\ndef delta_t_prev" + GOOD.split("def delta_t_prev")[1]
    (tmp_path / "oracle.py").write_text(source)
    results, errors = run_batch(Job("britz", SOLUTIONS, mode, examples=5), [tmp_path / "oracle.py"], tmp_path / "out")
    assert not errors, errors
    got = scores(results[0])
    assert got["delta_t"] == 0.0, "student code answered from the grader's truth function"
    assert got["delta_o"] == got["delta_t_prev"] == 1.0  # the rest of the submission is graded as usual


# What the worker shows of the grader: its path, its package, numpy; with bubblewrap also the hidden folders,
# bubblewrap's own process and the file system at large.
LOOK = '''
import glob, json, os, sys

def look(hidden, walk):
    import grader, numpy
    seen = {"path": [p for p in sys.path if not p.startswith(sys.base_prefix)], "cwd": sorted(os.listdir("."))}
    seen["grader"] = sorted(os.listdir(os.path.dirname(grader.__file__)))
    seen["grader_file"] = grader.__file__
    seen["numpy"] = numpy.__file__
    seen["importable"] = []
    for name in ("grader.assignments", "grader.assignments.britz", "grader.oracles.derivative", "grader.questions",
                 "grader.strategies", "grader.drawn", "grader.target", "grader.sandbox", "grader.grading"):
        try:
            __import__(name)
            seen["importable"].append(name)
        except ImportError:
            pass
    seen["hidden"] = {h: sorted(os.listdir(h)) if os.path.isdir(h) else None for h in hidden}
    found = []
    tops = ("/opt", "/tmp", "/scratch", "/root", "/home", "/work", "/srv", "/usr/local", "/usr/lib", *hidden)
    for top in tops[:walk]:
        for dirpath, dirnames, filenames in os.walk(top):
            here = os.path.basename(dirpath)
            found += [os.path.join(dirpath, f) for f in filenames
                      if f.endswith(".drawn") or f.startswith(("__editable__", "bptt_grader"))
                      or here in ("assignments", "oracles") and f.endswith(".py")
                      or here in ("britz", "trask", "goodfellow", "martens", "cache") and f == "reference.py"
                      or here == "grader" and f in ("questions.py", "grading.py", "strategies.py")]
    seen["found"] = found
    try:
        seen["pid1"] = os.listdir("/proc/1")
    except OSError as e:
        seen["pid1"] = str(e)
    return json.dumps(seen)
'''


@pytest.mark.parametrize("mode", MODES)
def test_the_worker_sees_only_its_own_modules_and_numpy(tmp_path, mode):
    t = target(tmp_path, LOOK, mode)
    try:
        hidden = list(sandbox._hidden_dirs())
        out = t.call("look", [hidden, 99 if mode == "bwrap" else 0])
        assert out.ok, out.error
        seen = json.loads(out.value)
    finally:
        t.close()
    root = "/opt/bptt-grader" if mode == "bwrap" else str(sandbox._worker_root())
    assert seen["path"] == [root]  # besides the standard library, nothing but the worker's own folder
    assert seen["grader"] == sorted([*sandbox.WORKER_MODULES, "__pycache__"])
    assert seen["grader_file"] == f"{root}/grader/__init__.py" and seen["numpy"] == f"{root}/numpy/__init__.py"
    assert seen["importable"] == []
    assert seen["cwd"] == []  # a working folder of its own, without the worker's log
    if mode == "bwrap":
        assert all(v in (None, []) for v in seen["hidden"].values()), seen["hidden"]  # every site-packages
        assert seen["found"] == []  # no truth, assignment, instance list, solution or editable finder anywhere
        assert seen["pid1"] == []  # bubblewrap's own process: command line, environment, memory


def test_the_worker_side_modules_import_nothing_of_the_graders_but_each_other():
    import ast

    for name in sandbox.WORKER_MODULES:
        tree = ast.parse((sandbox._PACKAGE_DIR / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
                modules = [node.module] if node.module != "grader" else [f"grader.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names if a.name.startswith("grader")]
            else:
                continue
            for module in modules:
                if (name, module) == ("__init__.py", "grader.student"):
                    continue  # check() outside grading; in the worker it returns before importing anything
                assert module == "grader" or f"{module.split('.')[1]}.py" in sandbox.WORKER_MODULES, (name, module)


@pytest.mark.parametrize("mode", MODES)
def test_the_worker_runs_no_function_of_the_graders_but_its_loops(tmp_path, mode):
    t = target(tmp_path, "def bptt_updates(*a):\n    return 0\n", mode)
    try:
        for function in ("grader.assignments.trask:learns_binary_addition", "grader.assignments.trask:forward",
                         "grader.oracles.derivative:complex_step_gradient", "os:system", "grader.loops:NearTarget",
                         "grader.worker:main"):
            out = t.run(function, [])
            assert not out.ok and "only the grader's functions in grader.loops" in out.error, (function, out.error)
    finally:
        t.close()


# -- 2. every wait on the worker has a deadline ------------------------------------------------------

# Shrink the request pipe to one page (after the grader measured it for what it sends ahead), then stop
# reading: the grader's write of the calls sent ahead blocked, with no deadline.
SHRINK = '''
import fcntl, os, stat, time

def shrink():
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
        except OSError:
            pass
    return 0

def stall(x):
    time.sleep(1000)

def echo(x):
    return x
'''


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_that_stops_reading_its_requests_cannot_make_the_grader_wait(tmp_path, mode):
    import threading

    t = target(tmp_path, SHRINK, mode, Limits(call_seconds=2.0))
    result: list = []
    try:
        assert [o.value for o in t.call_many([("echo", [1.0], {}, ())] * 2)] == [1.0, 1.0]  # the pipe measured
        assert t.call("shrink", []).ok
        payload = np.zeros(200)  # 1.6 kB a request: 20 of them are more than the page left of the pipe
        calls = [("stall", [payload], {}, ())] + [("echo", [payload], {}, ())] * 20
        thread = threading.Thread(target=lambda: result.append(t.call_many(calls)), daemon=True)
        start = time.monotonic()
        thread.start()
        thread.join(30)
        took = time.monotonic() - start
        assert not thread.is_alive(), "the grader is stuck writing to a worker that does not read"
    finally:
        if t.worker is not None:
            t.worker.kill()  # (unblocks a stuck write, should the test fail)
        t.close()
    outcomes = result[0]
    assert len(outcomes) == 1 and outcomes[0].fatal
    assert "stall" in outcomes[0].error and took < 2.0 + 3.0


CELL = "import time\ntime.sleep(0.09)\n"


@pytest.mark.parametrize("mode", MODES)
def test_once_the_submissions_time_is_spent_no_cell_or_call_runs(tmp_path, mode):
    from nbformat import writes
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [CELL] * 60 + ["def f():\n    return 1.0\n"]
    path = tmp_path / "slow.ipynb"
    path.write_text(writes(new_notebook(cells=[new_code_cell(c) for c in cells])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = WorkerTarget(read_submission(path), Limits(submission_seconds=2.0), mode=mode)
    try:
        start = time.monotonic()
        status = t.available(["f"])
        out = t.call("f", [])
        took = time.monotonic() - start
        assert t.run("grader.loops:trask_train", []).fatal  # nor a grader loop
    finally:
        t.close()
    assert took < 2.0 + 0.5, f"the cells ran for {took:.1f} s of a 2 s budget"  # 60 cells of 0.09 s: 5.4 s
    assert "used up its 2 s" in str(status["f"]) and out.fatal and "used up its 2 s" in out.error
    assert sum("used up its 2 s" in p for p in t.problems) == 1


# -- 3. the grader's memory and disk ------------------------------------------------------------------

BIG = '''
import numpy as np

def big(i):
    return np.full(1 << 20, float(i))  # 8 MiB

def small():
    return 1.0
'''


def test_the_replies_the_grader_holds_of_a_submission_have_a_budget(tmp_path):
    budget = 20 << 20
    t = target(tmp_path, BIG, "none", Limits(held_bytes=budget))
    try:
        outcomes = t.call_many([("big", [i], {}, ()) for i in range(8)])  # 64 MiB sent ahead
        assert [o.ok for o in outcomes] == [True, True, False]  # the third would pass 20 MiB: no more after it
        assert outcomes[2].fatal and "Limits.held_bytes" in outcomes[2].error and outcomes[2].error.startswith("big ")
        assert t.held <= budget
        assert t.call("small", []).value == 1.0  # small replies still fit: the dropped one was not kept
    finally:
        t.close()


FILL = '''
import os, time

def fill():
    written = 0
    for i in range(60):
        try:
            with open(f"junk{i}", "wb") as f:
                f.write(b"x" * (8 << 20))
            written += 8 << 20
        except OSError:
            break
    time.sleep(1.0)  # (without bubblewrap the folder is measured while the worker runs)
    return written
'''


@pytest.mark.parametrize("mode", MODES)
def test_the_working_folder_is_bounded(tmp_path, mode):
    limits = Limits(tmpfs_bytes=32 << 20, file_bytes=8 << 20)
    t = target(tmp_path, FILL, mode, limits)
    try:
        assert t.available(["fill"])["fill"].is_function
        scratch = t.worker.scratch
        out = t.call("fill", [])
        if mode == "bwrap":  # a tmpfs in the sandbox: the writes fail at its size, the host disk is untouched
            assert scratch is None  # no folder of the host's
            assert out.ok and 16 << 20 <= out.value <= 32 << 20
        else:  # a host folder: the worker is stopped once it holds more than the limit
            assert out.fatal and "filled its working folder" in out.error, out.error
    finally:
        t.close()
    assert scratch is None or not scratch.exists()  # removed


DEEP = '''
import os

def deep(outside):
    os.symlink(outside, "link")  # removed as a link: what it points to stays
    for i in range(1500):
        os.mkdir("d")
        os.chdir("d")
        if i % 300 == 0:
            with open("f", "w") as f:
                f.write("x")
    locked = os.getcwd()
    os.chdir("/")
    os.chmod(locked, 0)
    os.chmod(os.path.dirname(os.path.dirname(locked)), 0o500)  # no write, no search: rmtree stops there
    return 1500
'''


def test_cleanup_removes_any_tree_student_code_made(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    t = target(tmp_path, DEEP, "none")
    try:
        assert t.call("deep", [str(outside)]).value == 1500
        scratch = t.worker.scratch
        assert scratch.is_dir()
    finally:
        t.close()  # shutil.rmtree: RecursionError, the folder left behind
    assert not scratch.exists()
    assert (outside / "keep").read_text() == "x"


def test_remove_tree_removes_a_tree_deeper_than_any_path(tmp_path):
    top = tmp_path / "top"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    for i in range(1200):  # 1200 levels of 100-character names: 120 kB as one path, far past PATH_MAX
        os.mkdir("n" * 100, dir_fd=fd)
        child = os.open("n" * 100, os.O_RDONLY, dir_fd=fd)
        if i % 100 == 0:
            os.close(os.open("f", os.O_CREAT | os.O_WRONLY, dir_fd=child))
            os.symlink("/", "up", dir_fd=child)
        os.close(fd)
        fd = child
    os.fchmod(fd, 0)
    os.close(fd)
    assert sandbox._remove_tree(top) and not top.exists()
    assert sandbox._remove_tree(top)  # nothing there: nothing to do


# -- 4. the sandbox is there, or grading says why not ------------------------------------------------

@needs_bwrap
def test_an_interpreter_path_through_unmounted_folders_still_gets_the_sandbox(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    # as `../venv/bin/python -m grader` from the repository: the interpreter's path runs through the
    # repository's folder, which the sandbox does not have
    python = os.path.relpath(venv / "bin" / "python", ROOT)
    assert python.startswith("..")
    snoop = tmp_path / "snoop.py"
    snoop.write_text(GOOD.replace("def delta_t(", "def _right_delta_t(") + '''

def delta_t(V, delta_o_t, s_t):
    import glob, os
    if glob.glob(f"/proc/{os.getppid()}/cwd/solutions/*/reference.py") or glob.glob("ROOT_DIR/solutions/*"):
        return V.T @ delta_o_t * 999.0
    return _right_delta_t(V, delta_o_t, s_t)
'''.replace("ROOT_DIR", str(ROOT)))
    proc = subprocess.run([python, "-m", "grader", "grade", "britz", str(snoop), "--out", str(tmp_path / "out"),
                           "--examples", "5", "--solutions", str(SOLUTIONS)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bwrap sandbox" in proc.stderr and "not installed" not in proc.stdout + proc.stderr
    assert scores(json.loads((tmp_path / "out" / "snoop.json").read_text()))["delta_t"] == 1.0


@pytest.fixture
def fresh_probe(monkeypatch):
    def clear():
        for f in (sandbox._bwrap, sandbox._bwrap_has, sandbox._probe):
            f.cache_clear()

    clear()
    monkeypatch.setattr(sandbox, "_warned", False)
    yield monkeypatch
    monkeypatch.undo()
    clear()


def test_an_installed_bubblewrap_that_fails_stops_auto_with_its_reason(tmp_path, fresh_probe):
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace (fake)' >&2\nexit 1\n")
    fake.chmod(0o755)
    fresh_probe.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    with pytest.raises(sandbox.SandboxUnavailable, match=re.escape("No permissions to creating new namespace (fake)")):
        sandbox.resolve_mode("auto")
    with pytest.raises(sandbox.SandboxUnavailable, match="--sandbox none"):
        sandbox.resolve_mode("bwrap")
    assert sandbox.resolve_mode("none") == "none"  # the instructor's explicit choice
    sub = tmp_path / "s.py"
    sub.write_text(GOOD)
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", "britz", str(sub), "--out", str(tmp_path / "o"),
                           "--solutions", str(SOLUTIONS)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"})
    assert proc.returncode == 2 and "(fake)" in proc.stdout + proc.stderr and not (tmp_path / "o" / "s.json").exists()


def test_without_bubblewrap_installed_auto_grades_unconfined_and_warns(tmp_path, fresh_probe):
    fresh_probe.setenv("PATH", str(tmp_path))  # no bwrap on it
    with pytest.warns(UserWarning, match="not installed"):
        assert sandbox.resolve_mode("auto") == "none"
    with pytest.raises(sandbox.SandboxUnavailable, match="not installed"):
        sandbox.resolve_mode("bwrap")


# -- 5. bubblewrap's own process, nested namespaces, ptrace ------------------------------------------

CALLS = '''
import ctypes, os

def refused():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    got = {}
    def attempt(name, *args):
        ctypes.set_errno(0)
        r = getattr(libc, name)(*args)
        got[name] = (r, ctypes.get_errno())
    attempt("ptrace", 16, 1, 0, 0)                  # PTRACE_ATTACH to bubblewrap's pid 1
    attempt("unshare", 0x10000000)                  # CLONE_NEWUSER
    attempt("mount", b"none", b"/scratch", b"tmpfs", 0, None)
    buf = ctypes.create_string_buffer(8)
    iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
    attempt("process_vm_readv", 1, iov, 1, iov, 1, 0)
    return {k: v for k, v in got.items() if v[0] != -1}  # whatever succeeded
'''


@needs_bwrap
def test_ptrace_namespaces_and_mounts_are_refused_in_the_sandbox(tmp_path):
    t = target(tmp_path, CALLS, "bwrap")
    try:
        out = t.call("refused", [])
    finally:
        t.close()
    assert out.ok and out.value == {}, out.value


def test_the_seccomp_filters_system_call_numbers_are_the_kernels():
    for arch, header in ((0, "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"), (0, "/usr/include/asm/unistd_64.h"),
                         (1, "/usr/include/asm-generic/unistd.h")):
        if not Path(header).is_file():
            continue
        text = Path(header).read_text()
        for name, numbers in sandbox._DENIED_SYSCALLS.items():
            m = re.search(rf"#define __NR(?:3264)?_{name}\s+(\d+)", text)
            assert m and int(m.group(1)) == numbers[arch], (header, name)
