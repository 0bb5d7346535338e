"""Run a submission's code in a separate, limited worker process.

Layers, outermost first:

* **bubblewrap** (``--sandbox bwrap``, used by ``auto`` when it works): the
  worker sees only the Python installation (read-only), the worker's own
  modules and one scratch folder; no network, no other processes, no
  capabilities, a fresh user and PID namespace, an empty environment.
  Solutions and the grader's command line are out of its sight.
* **resource limits, always**: address space, CPU seconds, file size, open
  files, no core dumps, one BLAS thread; a pids cgroup where one is writable.
* **deadlines, always**: a wall-clock limit per call and per cell, enforced by
  killing the worker's whole process group (and with bwrap, its PID namespace).

Without bubblewrap (``--sandbox none``: macOS, locked-down CI) grading still
works with the limits and deadlines, but student code could read any file the
grader can, solutions included: :func:`resolve_mode` warns once.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.notebook import Submission

if TYPE_CHECKING:
    import numpy as np

    from grader.target import Outcome

# numpy, the wire format and the outcomes are imported where first used, not here: `bptt-grader`
# starts its worker before importing numpy (0.1 s), so that the worker boots meanwhile.

#: Inside the sandbox the worker's modules are mounted here.
_INNER_PACKAGE_ROOT = "/opt/bptt-grader"
_INNER_SCRATCH = "/scratch"
# The worker's Python runs with -S: no site module, so no .pth file of the installation runs inside
# the sandbox, and start-up is faster (measured: site took 80 of 150 ms here, with an editable install
# and a certificate hook). Its path gets the package root and the grader's package folders (numpy's
# among them) from the command line instead.
_BOOT = "import sys; sys.path[:0] = sys.argv[1:]; from grader.worker import main; main()"
_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def _numpy_dir() -> Path:
    """The folder numpy is installed in (found without importing numpy)."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or spec.origin is None:
        raise ImportError("numpy is not installed")
    return Path(spec.origin).resolve().parent


@cache
def _site_dirs() -> tuple[str, ...]:
    """numpy's folder and the grader's other package folders, found once per process."""
    dirs = [str(_numpy_dir().parent)]
    dirs += [d for d in sys.path if d and d.rstrip("/").endswith(("site-packages", "dist-packages"))
             and Path(d).is_dir()]
    return tuple(dict.fromkeys(dirs))


def _python(package_root: str) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", _BOOT, package_root, *_site_dirs()]


def _find_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _find_prctl()


class SandboxUnavailable(RuntimeError):
    """``--sandbox bwrap`` was asked for but bubblewrap cannot run here."""


@dataclass(frozen=True)
class Limits:
    """Per-worker limits. The defaults suit every bundled assignment."""

    memory_bytes: int = 1 << 30  # numpy alone needs about 200 MiB of address space
    cpu_seconds: int = 120
    file_bytes: int = 8 << 20
    open_files: int = 64
    processes: int = 32  # pids cgroup, where writable
    call_seconds: float = 10.0
    cell_seconds: float = 30.0
    run_seconds: float = 60.0  # a grader loop run next to the student's code (trask's training)
    submission_seconds: float = 600.0
    reply_bytes: int = 64 << 20
    tmpfs_bytes: int = 32 << 20


def _bwrap_command(scratch: Path, limits: Limits) -> list[str]:
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), _numpy_dir().parent}
    roots = sorted(r for r in roots if not any(o != r and o in r.parents for o in roots))
    cmd = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
           "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv",
           "--proc", "/proc", "--dev", "/dev",
           # the tmpfs first: a Python installed under /tmp (a CI virtualenv) is bound on top of it below
           "--size", str(limits.tmpfs_bytes), "--tmpfs", "/tmp",
           "--size", str(limits.tmpfs_bytes), "--tmpfs", "/dev/shm"]
    for system_dir in ("/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", "/etc/alternatives"):
        cmd += ["--ro-bind-try", system_dir, system_dir]
    for root in roots:
        cmd += ["--ro-bind", str(root), str(root)]
    cmd += ["--ro-bind", str(_PACKAGE_DIR), f"{_INNER_PACKAGE_ROOT}/grader",
            "--remount-ro", "/dev",
            "--bind", str(scratch), _INNER_SCRATCH, "--chdir", _INNER_SCRATCH]
    for key, value in _worker_env(_INNER_SCRATCH).items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *_python(_INNER_PACKAGE_ROOT)]


def _worker_env(home: str) -> dict[str, str]:
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # needed by old OpenBLAS on some CPUs
        if key in os.environ:
            env[key] = os.environ[key]
    return env


@cache
def bwrap_works() -> bool:
    """Whether bubblewrap is installed and can start numpy here (probed once)."""
    if not sys.platform.startswith("linux") or shutil.which("bwrap") is None:
        return False
    with tempfile.TemporaryDirectory(prefix="bptt-probe-") as tmp:
        cmd = _bwrap_command(Path(tmp), Limits())
        # Python starts (without site: 15 ms, not 65) and can read numpy where the worker will import
        # it: the same proof as importing numpy inside, in a tenth of the time.
        init = str(_numpy_dir() / "__init__.py")
        check = f"import os, sys; sys.exit(not os.access({init!r}, os.R_OK))"
        cmd = cmd[:cmd.index("--") + 1] + [sys.executable, "-I", "-S", "-c", check]
        try:
            return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False


_warned = False


def resolve_mode(requested: str = "auto") -> str:
    """``auto`` | ``bwrap`` | ``none`` to the mode that will be used."""
    global _warned
    if requested not in ("auto", "bwrap", "none"):
        raise ValueError(f"--sandbox must be auto, bwrap or none, not {requested!r}")
    if requested == "none":
        return "none"
    if bwrap_works():
        return "bwrap"
    if requested == "bwrap":
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed or cannot create namespaces here; "
                                 "install it (Debian/Ubuntu: apt-get install bubblewrap) or pass --sandbox none")
    if not _warned:
        warnings.warn("bubblewrap is not available: student code runs with resource limits and deadlines "
                      "but is NOT hidden from the reference solutions or other files (see --sandbox)",
                      stacklevel=2)
        _warned = True
    return "none"


@cache
def _sweep_once(base: Path) -> None:
    """Remove the empty cgroups of grader processes that are gone (killed before they could remove them).

    Once per process, the first time it makes one: a SIGKILLed grader leaves its workers' cgroups behind.
    """
    for path in base.glob("bptt-grader-*"):
        try:
            pid = int(path.name.split("-")[2])
            if pid == os.getpid():
                continue
            os.kill(pid, 0)  # alive (or another user's): its cgroups are its own business
        except ProcessLookupError:
            try:
                path.rmdir()  # fails, harmlessly, while a process is still in it
            except OSError:
                pass
        except (ValueError, IndexError, OSError):
            continue


class _PidsCgroup:
    """A v1 or v2 pids cgroup for one worker, where this process may make one."""

    def __init__(self, limit: int) -> None:
        self.path: Path | None = None
        for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
            try:
                if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
                    continue
                path = base / f"bptt-grader-{os.getpid()}-{id(self)}-{time.monotonic_ns()}"
                path.mkdir()
                if not (path / "pids.max").exists():
                    path.rmdir()
                    continue
                (path / "pids.max").write_text(str(limit))
                self.path = path
                _sweep_once(base)
                return
            except OSError:
                continue

    def enter(self) -> None:
        """Runs in the child, before exec."""
        if self.path is not None:
            try:
                (self.path / "cgroup.procs").write_text(str(os.getpid()))
            except OSError:
                pass

    def remove(self) -> None:
        if self.path is None:
            return
        # bubblewrap's processes leave the cgroup a millisecond or two after the worker is reaped:
        # retry at once, then back off, for half a second at most
        delay, deadline = 0.0005, time.monotonic() + 0.5
        while True:
            try:
                self.path.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(delay)
                delay = min(2 * delay, 0.02)


class _Watchdog:
    """Kills a worker whose request outlives its deadline.

    One long-lived thread per worker instead of a ``threading.Timer`` per
    request: starting a thread cost about 150 microseconds, a fifth of a
    whole round trip. Arming it only stores the deadline; the thread wakes at
    least every ``POLL`` seconds, so a deadline is met within ``POLL``.
    """

    POLL = 0.25

    def __init__(self, expire: Callable[[], None]) -> None:
        self._expire = expire
        self._deadline: float | None = None
        self._lock = threading.Lock()  # a deadline is checked and acted on as one step
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bptt-watchdog", daemon=True)
        self._thread.start()

    def arm(self, seconds: float) -> None:
        with self._lock:
            self._deadline = time.monotonic() + seconds

    def disarm(self) -> None:
        with self._lock:
            self._deadline = None

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                now = time.monotonic()
                if self._deadline is not None and self._deadline <= now:
                    self._deadline = None
                    self._expire()
                wait = self.POLL if self._deadline is None else min(self.POLL, self._deadline - now)
            self._stopped.wait(max(wait, 0.001))


class Worker:
    """One worker process and the channel to it."""

    def __init__(self, limits: Limits, mode: str) -> None:
        self.limits, self.mode = limits, mode
        self.scratch = Path(tempfile.mkdtemp(prefix="bptt-worker-"))
        os.chmod(self.scratch, 0o777)  # the sandbox's uid 65534 writes here
        self.log = open(self.scratch / ".worker-log", "w+b")  # noqa: SIM115
        self.cgroup = _PidsCgroup(limits.processes)
        self.timed_out = False
        if mode == "bwrap":
            cmd = _bwrap_command(self.scratch, limits)
        else:
            pkg_root = self.scratch / ".pkg"
            pkg_root.mkdir()
            (pkg_root / "grader").symlink_to(_PACKAGE_DIR)  # only the package, never the repo's solutions/
            cmd = _python(str(pkg_root))
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=self.scratch,
            env=_worker_env(str(self.scratch)), start_new_session=True, preexec_fn=self._limit_child,
            close_fds=True)
        self.watchdog = _Watchdog(self._expire)

    def _limit_child(self) -> None:
        lim = self.limits
        for res, value in ((resource.RLIMIT_AS, lim.memory_bytes), (resource.RLIMIT_CPU, lim.cpu_seconds),
                           (resource.RLIMIT_FSIZE, lim.file_bytes), (resource.RLIMIT_NOFILE, lim.open_files),
                           (resource.RLIMIT_CORE, 0)):
            try:
                resource.setrlimit(res, (value, value))
            except (ValueError, OSError):
                pass
        self.cgroup.enter()
        if _PRCTL is not None:  # the worker dies with the grader, even if the grader is SIGKILLed
            _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (bwrap adds --die-with-parent on top)

    def request(self, header: dict[str, Any], buffers: list[np.ndarray] = (), seconds: float = 10.0,
                ) -> tuple[dict[str, Any], list[np.ndarray]]:
        """Send one request and wait at most ``seconds`` for its reply (or raise ``EOFError``)."""
        from grader import wire

        self.send(wire.pack_message(header, list(buffers)))
        return self.receive(seconds)

    def send(self, message: bytes) -> None:
        """Write a packed request (:func:`grader.wire.pack_message`); ``EOFError`` if the worker is gone."""
        try:
            self.proc.stdin.write(message)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise EOFError(str(e)) from None

    def receive(self, seconds: float) -> tuple[dict[str, Any], list[np.ndarray]]:
        """The next reply, waiting at most ``seconds`` (then the worker is killed: ``EOFError``)."""
        from grader import wire

        self.watchdog.arm(seconds)
        try:
            return wire.read_message(self.proc.stdout, self.limits.reply_bytes)
        except OSError as e:
            raise EOFError(str(e)) from None
        finally:
            self.watchdog.disarm()

    @cached_property
    def in_flight_bytes(self) -> int:
        """How many request bytes may wait unread in the worker's pipe without a write blocking.

        Half the pipe's capacity: requests sent ahead never fill it, so the worker can always
        write its replies while this side is still writing (no deadlock).
        """
        try:
            import fcntl

            return fcntl.fcntl(self.proc.stdin.fileno(), 1032) // 2  # F_GETPIPE_SZ (Linux)
        except (ImportError, OSError, ValueError):
            return 2048  # a POSIX pipe holds at least 4 KiB

    def _expire(self) -> None:
        self.timed_out = True
        self.kill()

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def death_reason(self) -> str:
        """Why the worker stopped answering, in a student's words."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        if self.timed_out:
            return "did not finish in time"
        if code is not None and code < 0:
            sig = signal.Signals(-code).name
            hint = {"SIGXCPU": " (CPU time limit)", "SIGSEGV": " (a crash in native code)",
                    "SIGKILL": " (probably the memory limit)"}.get(sig, "")
            return f"crashed the worker process: {sig}{hint}"
        return f"ended the worker process (exit status {code})"

    def log_tail(self, n: int = 2000) -> str:
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - n))
            return self.log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self) -> None:
        self.watchdog.stop()
        self.kill()  # nothing in a worker is worth a clean exit, which took up to 0.1 s
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.log):
            try:
                stream.close()
            except OSError:
                pass
        self.cgroup.remove()
        shutil.rmtree(self.scratch, ignore_errors=True)


_spares: list[Worker] = []


def prestart(mode: str = "auto", limits: Limits | None = None, count: int = 1) -> None:
    """Have ``count`` workers started now, for the next :class:`WorkerTarget` s with the same mode and limits.

    Python and numpy take about 0.12 s to start in the worker; started early, that overlaps with the
    grader's own imports or with grading the previous submission (a second one serves a parallel
    behaviour's :meth:`WorkerTarget.spawn`). A spare has run no student code, so handing it to the
    next submission shares nothing. Spares of another mode or limits are closed.
    """
    limits, mode = limits or Limits(), resolve_mode(mode)
    keep = [w for w in _spares if _fits(w, limits, mode)]
    for w in _spares:
        if w not in keep:
            w.close()
    _spares[:] = keep + [Worker(limits, mode) for _ in range(count - len(keep))]


def _fits(worker: Worker, limits: Limits, mode: str) -> bool:
    return worker.limits == limits and worker.mode == mode and worker.proc.poll() is None


def _take_spare(limits: Limits, mode: str) -> Worker | None:
    """A spare worker alive and started with ``limits`` and ``mode``, if there is one (others are closed)."""
    while _spares:
        worker = _spares.pop(0)
        if _fits(worker, limits, mode):
            return worker
        worker.close()
    return None


@atexit.register
def _close_spares() -> None:
    while _spares:
        _spares.pop().close()


def _lost(worker: Worker, error: Exception, who: str, late: str) -> Outcome:
    """The fatal outcome of a request the worker answered with garbage (``WireError``) or not at all.

    ``who`` starts the message (``"bptt "``); ``late`` replaces "did not finish in time". A reply
    that cannot be read (:data:`grader.wire.REPLY_ERRORS`) may have left the channel mid-message:
    the worker is stopped, and the next request starts a new one.
    """
    from grader import wire
    from grader.target import Outcome

    if isinstance(error, wire.REPLY_ERRORS):
        worker.kill()
        worker.death_reason()
        return Outcome(error=f"the worker's reply could not be read: {str(error)[:500]} "
                             "(the worker was stopped and restarted)", fatal=True)
    reason = worker.death_reason()
    return Outcome(error=who + (late if reason == "did not finish in time" else reason),
                   traceback=worker.log_tail(500).strip(), fatal=True)


class CallsAhead:
    """Calls sent ahead to a worker (:meth:`WorkerTarget.send_ahead`); outcomes are read when asked for."""

    def __init__(self, replies: Iterator[Outcome], count: int) -> None:
        self._replies, self.count = replies, count
        self.outcomes: list[Outcome] = []  # read so far, in order
        self._done = False

    def get(self, i: int) -> Outcome | None:
        """The ``i``-th outcome (reading replies up to it), or ``None`` if the calls stopped before it."""
        while len(self.outcomes) <= i and not self._done:
            try:
                self.outcomes.append(next(self._replies))
            except StopIteration:
                self._done = True
        return self.outcomes[i] if 0 <= i < len(self.outcomes) else None

    def finish(self) -> None:
        if self.count:
            self.get(self.count - 1)


class WorkerTarget:
    """A submission's functions, run in a worker that is restarted whenever it dies.

    A cell that hangs or kills the worker is skipped on restart (and reported);
    a function that does so fails that call with a clear message, and the
    others are still graded.
    """

    def __init__(self, submission: Submission, limits: Limits | None = None, mode: str = "auto") -> None:
        self.submission = submission
        self.limits = limits or Limits()
        self.mode = resolve_mode(mode)
        self.problems: list[str] = list(submission.problems)
        self.output: list[str] = []
        self.skipped: set[str] = set()
        self.deadline = time.monotonic() + self.limits.submission_seconds
        self.worker: Worker | None = _take_spare(self.limits, self.mode)  # its cells run at the first call
        self.starts = 0
        self._ahead: CallsAhead | None = None

    # -- worker life ------------------------------------------------------------------
    def _ensure(self) -> Worker:
        if self.starts == 0 and self.worker is not None:  # a prestarted worker: run the cells in it first
            self.starts = 1
            if self._run_cells(self.worker):
                return self.worker
        if self.worker is not None and self.worker.proc.poll() is None:
            return self.worker
        while True:
            if self.worker is not None:
                self.worker.close()
            self.starts += 1
            if self.starts > 50:
                raise RuntimeError("the worker was restarted too often")
            self.worker = Worker(self.limits, self.mode)
            if self._run_cells(self.worker):
                return self.worker

    def _run_cells(self, worker: Worker) -> bool:
        """Run the submission's cells; False if one of them stopped the worker (it is then skipped)."""
        import numpy as np

        from grader import wire
        from grader.target import status_from_reply

        first = self.starts == 1
        for cell in self.submission.cells:
            if cell.label in self.skipped:
                continue
            seconds = min(self.limits.cell_seconds, max(0.1, self.deadline - time.monotonic()))
            code = cell.source.encode("utf-8", "surrogatepass")  # a buffer, not in the header: any size
            if len(code) > wire.MAX_CODE_BYTES:
                self.skipped.add(cell.label)
                self.problems.append(f"{cell.label} is {len(code) / 2**20:.1f} MiB of code, over the "
                                     f"{wire.MAX_CODE_BYTES >> 20} MiB limit for one cell; it was not run")
                continue
            try:
                reply, _ = worker.request({"op": "exec", "label": cell.label}, [np.frombuffer(code, np.uint8)],
                                          seconds=seconds)
                status = status_from_reply(reply)
            except EOFError:
                reason = worker.death_reason()
                if reason == "did not finish in time":
                    reason = f"did not finish within {seconds:.0f} s"
                self.skipped.add(cell.label)
                self.problems.append(f"{cell.label} {reason}; the rest was run without it")
                return False
            except wire.REPLY_ERRORS as e:
                self.skipped.add(cell.label)
                self.problems.append(f"{cell.label}: {_lost(worker, e, '', '').error}; the rest was run without it")
                return False
            if first:
                if not status.ok:
                    self.problems.append(f"{cell.label} raised {status.error}\n{status.traceback}")
                if status.stdout:
                    self.output.append(status.stdout)
        return True

    def available(self, names: list[str]) -> dict[str, str]:
        from grader import wire
        from grader.target import names_from_reply

        try:
            self.finish_calls()
            reply, _ = self._ensure().request({"op": "names", "names": names}, seconds=self.limits.call_seconds)
            return names_from_reply(reply, names)
        except (EOFError, RuntimeError) as e:
            return {n: f"could not be loaded ({e})" for n in names}
        except wire.REPLY_ERRORS as e:  # the worker is stopped: the next request restarts it
            lost = _lost(self.worker, e, "", "").error if self.worker is not None else str(e)
            return {n: f"could not be loaded ({lost})" for n in names}

    def call(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None,
             keep: tuple[int, ...] = ()) -> Outcome:
        return self.call_many([(name, args, kwargs or {}, keep)])[0]

    def call_many(self, calls: list[tuple[str, list[Any], dict[str, Any], tuple[int, ...]]]) -> list[Outcome]:
        """Independent calls ``(name, args, kwargs, keep)``, in order, pipelined (see :meth:`send_ahead`)."""
        ahead = self.send_ahead(calls)
        ahead.finish()
        return ahead.outcomes

    def send_ahead(self, calls: list[tuple[str, list[Any], dict[str, Any], tuple[int, ...]]]) -> CallsAhead:
        """Start independent calls ``(name, args, kwargs, keep)``; read their outcomes as they are needed.

        Requests go out ahead of the replies (as many as the pipe holds without blocking), so the
        worker runs the next calls while this side judges the last one. The calls are made in
        order, and exactly as calling one after the other would make them; after a fatal one (a
        hang, a crash) no more are made. Any other use of this target first reads every reply
        still on its way, so the worker's calls always come in the same order.
        """
        self.finish_calls()
        self._ahead = CallsAhead(self._pipeline(calls), len(calls))
        return self._ahead

    def finish_calls(self) -> None:
        """Read the replies of calls sent ahead that are still on their way."""
        if self._ahead is not None:
            ahead, self._ahead = self._ahead, None
            ahead.finish()

    def _pipeline(self, calls: list[tuple[str, list[Any], dict[str, Any], tuple[int, ...]]]) -> Iterator[Outcome]:
        from collections import deque

        from grader import wire
        from grader.target import Outcome, outcome_from_reply

        used_up = f"the submission used up its {self.limits.submission_seconds:.0f} s"
        if self.deadline <= time.monotonic():
            yield Outcome(error=used_up, fatal=True)
            return
        try:
            worker = self._ensure()
        except RuntimeError as e:
            yield Outcome(error=str(e), fatal=True)
            return
        packed = [wire.pack_message({"op": "call", "name": name, "args": tree, "keep": list(keep)}, buffers)
                  for name, args, kwargs, keep in calls
                  for tree, buffers in [wire.encode({"args": list(args), "kwargs": kwargs or {}})]]
        budget = worker.in_flight_bytes if len(calls) > 1 else 0
        waiting: deque[int] = deque()  # sent, reply not read yet
        queued = in_flight = 0
        gone = False  # a write failed: the worker died (replies already on their way are still read)
        for _ in calls:
            while (queued < len(calls) and not gone and time.monotonic() < self.deadline
                   and (not waiting or in_flight + len(packed[queued]) <= budget)):
                try:
                    worker.send(packed[queued])
                except EOFError:
                    gone = True
                    break
                waiting.append(queued)
                in_flight += len(packed[queued])
                queued += 1
            if waiting:
                i = waiting.popleft()
                in_flight -= len(packed[i])
            elif gone:
                i = queued  # its request could not be sent: it fails as a call on a dead worker does
            else:
                yield Outcome(error=used_up, fatal=True)
                return
            seconds = max(0.0, min(self.limits.call_seconds, self.deadline - time.monotonic()))
            try:
                if i == queued:
                    raise EOFError("the worker stopped")
                header, out = worker.receive(seconds)
                outcome = outcome_from_reply(header, out, len(calls[i][1]), calls[i][2] or {})
            except (EOFError, *wire.REPLY_ERRORS) as e:
                yield _lost(worker, e, f"{calls[i][0]} ", f"did not return within {seconds:g} s (an infinite loop?)")
                return
            yield outcome

    def run(self, function: str, args: list[Any]) -> Outcome:
        """``module:name(target, *args)`` of the grader's run in the worker, next to the student's functions.

        See :func:`grader.target.run_near`. Only functions of the grader's own modules can be named.
        """
        from grader import wire
        from grader.target import Outcome, outcome_from_reply

        self.finish_calls()
        seconds = max(0.0, min(self.limits.run_seconds, self.deadline - time.monotonic()))
        try:
            worker = self._ensure()
            tree, buffers = wire.encode({"args": list(args), "kwargs": {}})
            header, out = worker.request({"op": "run", "function": function, "args": tree, "run_seconds": seconds,
                                          "call_seconds": self.limits.call_seconds}, buffers, seconds + 1.0)
            return outcome_from_reply(header, out)  # its result is a value alone: no argument to modify
        except RuntimeError as e:
            return Outcome(error=str(e), fatal=True)
        except (EOFError, *wire.REPLY_ERRORS) as e:
            return _lost(worker, e, "", f"did not finish within {seconds:g} s")

    def spawn(self) -> WorkerTarget:
        """Another target for the same submission, in a worker of its own (for a parallel behaviour)."""
        return WorkerTarget(self.submission, self.limits, self.mode)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
