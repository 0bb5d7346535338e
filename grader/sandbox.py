"""Run a submission's code in a separate, limited worker process.

Layers, outermost first:

* **bubblewrap** (``--sandbox bwrap``, used by ``auto`` when it works): the
  worker sees the system's libraries and the Python installation read-only,
  with every site-packages folder hidden, the worker-side modules
  (:data:`WORKER_MODULES`) and numpy, and size-limited tmpfs folders to write
  in; no network, no other processes (bubblewrap's own pid 1 hidden), no
  capabilities, no nested user namespaces, a seccomp filter (no ``ptrace``,
  ``mount``, ...), a fresh user and PID namespace, an empty environment.
  Solutions, the grader's oracles, assignments and instance lists, and the
  grader's command line are out of its sight.
* **resource limits, always**: address space, CPU seconds, file size, open
  files, no core dumps, one BLAS thread; a pids cgroup where one is writable;
  a budget for the bytes the grader holds of one submission's replies.
* **deadlines, always**: every wait on the worker, for a reply or for room in
  its pipe, ends at a deadline (a call's, a cell's, and the submission's
  total), where the worker's whole process group (with bwrap, its PID
  namespace) is killed.

Without bubblewrap (``--sandbox none``: macOS, locked-down CI) grading still
works with the limits and deadlines, but student code could read any file the
grader can, solutions included: :func:`resolve_mode` warns once. ``auto``
falls back to it only where bubblewrap is not installed; installed and
unusable, it is an error (:class:`SandboxUnavailable`).
"""

from __future__ import annotations

import atexit
import errno
import importlib.util
import math
import os
import platform
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


# numpy, the wire format and the outcomes are imported where first used, not here: `bptt-grader`
# starts its worker before importing numpy, so that the worker boots meanwhile.

#: Inside the sandbox the worker's modules are mounted here.
_INNER_PACKAGE_ROOT = "/opt/bptt-grader"
_INNER_SCRATCH = "/scratch"
# The worker's Python runs with -I -S: no site module, so no .pth file of the installation runs inside
# the sandbox, and start-up is faster (the site module is most of an interpreter's start with an
# editable install and a certificate hook). Its path gets one folder from the command line instead (_worker_root): the
# worker-side modules and numpy, nothing else of any installation.
_BOOT = "import sys; sys.path[:0] = sys.argv[1:]; from grader.worker import main; main()"
_PACKAGE_DIR = Path(__file__).resolve().parent
#: All of the grader that student code can import or read while it is graded: the worker, the wire
#: format and the loops run next to the student's functions (:mod:`grader.loops`: no truth, forward
#: pass, assignment or instance list), and the package's ``__init__`` (``from grader import check`` in
#: a notebook does nothing while it is graded).
WORKER_MODULES = ("__init__.py", "worker.py", "calls.py", "wire.py", "loops.py")


@cache
def _numpy_dir() -> Path:
    """The folder numpy is installed in (found without importing numpy)."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or spec.origin is None:
        raise ImportError("numpy is not installed")
    return Path(spec.origin).resolve().parent


def _numpy_parts() -> list[tuple[str, Path]]:
    """numpy's folder, and the folder of the libraries a numpy wheel links to (``numpy.libs``), by name."""
    numpy = _numpy_dir()
    libs = numpy.parent / "numpy.libs"
    return [("numpy", numpy)] + ([("numpy.libs", libs.resolve())] if libs.is_dir() else [])


def _compiled_is_current(source: Path, compiled: str) -> bool:
    """Whether ``compiled`` is the up-to-date bytecode of ``source`` (its header names the source's time and size)."""
    try:
        with open(compiled, "rb") as f:
            head = f.read(16)
        st = source.stat()
    except OSError:
        return False
    return (head[:4] == importlib.util.MAGIC_NUMBER and head[4:8] == bytes(4)
            and head[8:] == struct.pack("<II", int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF))


@cache
def _worker_root() -> Path:
    """The worker's whole path besides the standard library: one folder, made once per grader process.

    ``grader/`` holds copies of :data:`WORKER_MODULES` alone (copies: no path in it leads back to the
    grader's package) with their bytecode; ``numpy`` (and ``numpy.libs``) are links to the installed
    numpy. With ``--sandbox none`` the worker's ``sys.path`` is this folder; bubblewrap mounts its
    ``grader/`` and numpy at /opt/bptt-grader. Removed at exit.
    """
    root = Path(tempfile.mkdtemp(prefix="bptt-grader-modules-"))
    atexit.register(shutil.rmtree, root, True)
    os.chmod(root, 0o755)  # a worker run as another user (Gradescope's nobody, --sandbox none) reads it too
    package = root / "grader"
    (package / "__pycache__").mkdir(parents=True)
    for name in WORKER_MODULES:
        original, copy = _PACKAGE_DIR / name, package / name
        shutil.copyfile(original, copy)
        st = original.stat()
        os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))  # so that the original's bytecode is the copy's
        compiled = importlib.util.cache_from_source(str(original))
        target = package / "__pycache__" / f"{copy.stem}.{sys.implementation.cache_tag}.pyc"  # where -I looks
        if _compiled_is_current(original, compiled):
            shutil.copyfile(compiled, target)
        else:  # the worker could not write it (read-only, PYTHONDONTWRITEBYTECODE): it would compile at every start
            import py_compile

            py_compile.compile(str(copy), cfile=str(target), doraise=False)
    for name, real in _numpy_parts():
        (root / name).symlink_to(real, target_is_directory=True)
    return root


@cache
def _interpreter() -> Path:
    """This Python's executable with every link and ``..`` resolved.

    The worker runs it directly: ``../venv/bin/python`` would run through folders the sandbox does
    not have, and a virtualenv's own folders are not needed (the worker's path comes from its
    command line, not from the virtualenv's configuration).
    """
    return Path(sys.executable).resolve()


@cache
def _python_roots() -> tuple[Path, ...]:
    """The folders the resolved interpreter needs (its installation: the standard library and shared
    libraries), outermost only."""
    exe = _interpreter()
    roots = {Path(p).resolve() for p in (sys.base_prefix, sys.base_exec_prefix)}
    if not any(r in exe.parents for r in roots):  # a copied interpreter (venv --copies): pyvenv.cfg is beside bin/
        roots.add(exe.parent.parent)
    roots.discard(Path("/"))
    return tuple(sorted(r for r in roots if not any(o != r and o in r.parents for o in roots)))


_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/bin")


def _package_dirs(root: Path) -> list[Path]:
    """The site-packages and dist-packages folders of the Pythons installed below ``root`` (``lib*/python3*/``,
    ``local/lib*/python3*/``: pyenv, conda, Debian, Fedora, /usr/local)."""
    found = []
    for lib in ("lib", "lib64", "local/lib", "local/lib64"):
        try:
            with os.scandir(root / lib) as it:
                pythons = [e.path for e in it if e.name.startswith("python3") and e.is_dir()]
        except OSError:
            continue
        found += [Path(p, kind) for p in pythons for kind in ("site-packages", "dist-packages")]
    return found


@cache
def _hidden_dirs() -> tuple[str, ...]:
    """The folders below the mounted ones that the sandbox covers with an empty read-only tmpfs, outermost only.

    Every site-packages and dist-packages folder (no installed copy of the grader, no editable
    install's finder, no other package: numpy is mounted on its own), any other folder of this
    process's ``sys.path`` outside the standard library (``PYTHONPATH``, ``pip --target``), and the
    grader's package folder and the one holding it (an editable install's repository) should they
    lie below a mounted folder.
    """
    import site

    mounted = [Path(d) for d in _SYSTEM_DIRS] + list(_python_roots())
    keep_whole = {Path(os.__file__).resolve().parent}  # the standard library (sysconfig took 12 ms to say so)
    needed = keep_whole | set(_python_roots()) | {_interpreter().parent}
    found = {p for root in {r.resolve() for r in mounted} for p in _package_dirs(root)}
    for entry in (*sys.path, *site.getsitepackages(), site.getusersitepackages(), _PACKAGE_DIR, _PACKAGE_DIR.parent):
        if entry:
            found.add(Path(entry))
    hidden = set()
    for path in found:
        path = path.resolve()
        if not path.is_dir() or not any(r == path or r in path.parents for r in mounted):
            continue
        if any(n == path or path in n.parents for n in needed):
            continue  # the installation itself, or a folder holding it
        inside = [k for k in keep_whole if k in path.parents]
        if inside and not any(part in ("site-packages", "dist-packages") for part in path.relative_to(inside[0]).parts):
            continue  # the standard library's own (lib-dynload)
        hidden.add(path)
    return tuple(str(p) for p in sorted(hidden) if not any(o != p and o in p.parents for o in hidden))


def _python(package_root: str) -> list[str]:
    return [str(_interpreter()), "-I", "-S", "-c", _BOOT, package_root]


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
    """The sandbox cannot be used: bubblewrap was asked for and is not installed, or it is installed and fails."""


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
    reply_bytes: int = 64 << 20  # one reply
    held_bytes: int = 256 << 20  # all replies from one WorkerTarget: what the grader may hold of a submission
    # each folder the worker can write in: with bwrap the tmpfs /scratch (its working folder), /tmp and
    # /dev/shm; with --sandbox none the working folder on the host (checked while the worker runs)
    tmpfs_bytes: int = 32 << 20


@cache
def _bwrap() -> str | None:
    """bubblewrap's resolved path, or ``None`` where it is not installed (or this is not Linux)."""
    found = shutil.which("bwrap") if sys.platform.startswith("linux") else None
    return str(Path(found).resolve()) if found else None


@cache
def _bwrap_has(option: str) -> bool:
    """Whether the installed bubblewrap has ``option`` (``--disable-userns`` came with 0.8.0).

    Its options are strings in its program (to parse and to print with ``--help``): found there in
    0.2 ms, where running ``bwrap --help`` took 8.
    """
    try:
        return option.encode() in Path(_bwrap()).read_bytes()
    except (OSError, TypeError):
        return False


def _bwrap_command(limits: Limits, seccomp_fd: int | None = None) -> list[str]:
    """The command that starts a worker in bubblewrap (``seccomp_fd``: a pipe holding :func:`_seccomp_program`)."""
    size = str(limits.tmpfs_bytes)
    cmd = [_bwrap() or "bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
           "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv",
           *(["--disable-userns"] if _bwrap_has("--disable-userns") else []),  # no namespaces nested inside
           "--proc", "/proc", "--dev", "/dev",
           # the tmpfs first: a Python installed under /tmp (a CI virtualenv) is bound on top of it below
           "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/dev/shm"]
    for system_dir in (*_SYSTEM_DIRS, "/etc/ld.so.cache", "/etc/alternatives"):
        cmd += ["--ro-bind-try", system_dir, system_dir]
    for root in _python_roots():
        cmd += ["--ro-bind", str(root), str(root)]
    for hidden in _hidden_dirs():  # every site-packages: an empty, read-only folder
        cmd += ["--tmpfs", hidden, "--remount-ro", hidden]
    cmd += ["--ro-bind", str(_worker_root() / "grader"), f"{_INNER_PACKAGE_ROOT}/grader"]
    for name, real in _numpy_parts():
        cmd += ["--ro-bind", str(real), f"{_INNER_PACKAGE_ROOT}/{name}"]
    # pid 1 is bubblewrap's own: its command line, environment and memory (host paths) out of sight
    cmd += ["--tmpfs", "/proc/1", "--remount-ro", "/proc/1", "--remount-ro", "/dev",
            "--size", size, "--tmpfs", _INNER_SCRATCH, "--chdir", _INNER_SCRATCH,
            "--remount-ro", "/"]  # bubblewrap's root is a tmpfs of no size limit: only the three above are written
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    for key, value in _worker_env(_INNER_SCRATCH).items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *_python(_INNER_PACKAGE_ROOT)]


# System calls the seccomp filter refuses (EPERM), by number on (x86_64, aarch64); the numbers are
# checked against the kernel's headers where they are installed (tests/test_confinement.py).
_DENIED_SYSCALLS = {
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "mount": (165, 40), "umount2": (166, 39),
    "pivot_root": (155, 41), "chroot": (161, 51), "open_tree": (428, 428), "move_mount": (429, 429),
    "fsopen": (430, 430), "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "mount_setattr": (442, 442), "unshare": (272, 97), "setns": (308, 268), "bpf": (321, 280),
    "perf_event_open": (298, 241), "userfaultfd": (323, 282), "keyctl": (250, 219), "add_key": (248, 217),
    "request_key": (249, 218), "init_module": (175, 105), "finit_module": (313, 273),
    "delete_module": (176, 106), "swapon": (167, 224), "swapoff": (168, 225), "reboot": (169, 142),
    "acct": (163, 89), "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264), "kcmp": (312, 272),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "quotactl": (179, 60), "lookup_dcookie": (212, 18),
}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}


@cache
def _seccomp_program() -> bytes | None:
    """A classic BPF program for bubblewrap's ``--seccomp``: :data:`_DENIED_SYSCALLS` fail with EPERM.

    So do all system calls of another architecture's numbering (32-bit ``int 0x80``, x32), which
    would bypass the numbers. ``None`` on other machines than x86_64 and aarch64 (no filter there).
    """
    machine = platform.machine()
    arch = _AUDIT_ARCH.get(machine)
    if arch is None or not sys.platform.startswith("linux"):
        return None
    numbers = sorted({nr[0 if machine == "x86_64" else 1] for nr in _DENIED_SYSCALLS.values()})
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, ...|BPF_JGE, BPF_RET
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO
    checks = ([(jge, 0x40000000)] if machine == "x86_64" else []) + [(jeq, nr) for nr in numbers]
    n = len(checks)  # program: load arch, check it, load nr, n checks, allow, deny (at n + 4)
    program = [(load, 0, 0, 4), (jeq, 0, n + 2, arch), (load, 0, 0, 0)]  # seccomp_data: nr at 0, arch at 4
    program += [(code, n - k, 0, value) for k, (code, value) in enumerate(checks)]  # a match jumps to deny
    program += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def _seccomp_pipe() -> int | None:
    """The read end of a pipe holding the seccomp program, for bubblewrap (``None``: no filter here)."""
    program = _seccomp_program()
    if program is None:
        return None
    r, w = os.pipe()
    try:
        os.write(w, program)  # a few hundred bytes: the pipe holds them
    finally:
        os.close(w)
    return r


def _worker_env(home: str) -> dict[str, str]:
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # needed by old OpenBLAS on some CPUs
        if key in os.environ:
            env[key] = os.environ[key]
    return env


@cache
def _probe() -> str | None:
    """Why bubblewrap cannot run the worker here; ``None`` if it can. Probed once, with the worker's own command."""
    if _bwrap() is None:
        return "bubblewrap (bwrap) is not installed" if sys.platform.startswith("linux") else \
            "bubblewrap runs on Linux only"
    # Python starts (without site) and can read the worker's modules and numpy where the worker will
    # import them: the same proof as starting the worker inside, without importing numpy.
    inner = [f"{_INNER_PACKAGE_ROOT}/grader/worker.py", f"{_INNER_PACKAGE_ROOT}/numpy/__init__.py"]
    check = "import os, sys; sys.exit(0 if all(os.access(p, os.R_OK) for p in sys.argv[1:]) else 3)"
    fd = _seccomp_pipe()
    try:
        cmd = _bwrap_command(Limits(), fd)
        cmd = cmd[:cmd.index("--") + 1] + [str(_interpreter()), "-I", "-S", "-c", check, *inner]
        proc = subprocess.run(cmd, capture_output=True, timeout=30, env=_worker_env(_INNER_SCRATCH),
                              pass_fds=() if fd is None else (fd,))
    except (OSError, subprocess.SubprocessError) as e:
        return f"bubblewrap ({_bwrap()}) could not be run: {e}"
    finally:
        if fd is not None:
            os.close(fd)
    if proc.returncode == 0:
        return None
    said = proc.stderr.decode("utf-8", "replace").strip()[-2000:] or "(nothing on stderr)"
    what = "could not read the worker's modules or numpy" if proc.returncode == 3 else \
        f"exit status {proc.returncode}"
    return (f"bubblewrap ({_bwrap()}) is installed but cannot run the worker here ({what}; "
            f"interpreter {_interpreter()}): {said}")


def bwrap_works() -> bool:
    """Whether bubblewrap is installed and can start the worker here (probed once)."""
    return _probe() is None


_warned = False


def resolve_mode(requested: str = "auto") -> str:
    """``auto`` | ``bwrap`` | ``none`` to the mode that will be used.

    ``auto`` is ``bwrap`` where bubblewrap works and ``none`` (with a warning) only where it is not
    installed at all (or this is not Linux); installed but unusable, it raises
    :class:`SandboxUnavailable` naming why, rather than grading without the sandbox an instructor
    installed. Only ``--sandbox none`` grades without it then.
    """
    global _warned
    if requested not in ("auto", "bwrap", "none"):
        raise ValueError(f"--sandbox must be auto, bwrap or none, not {requested!r}")
    if requested == "none":
        return "none"
    if bwrap_works():
        return "bwrap"
    problem = _probe() or "bubblewrap cannot run the worker here"
    if _bwrap() is not None:
        raise SandboxUnavailable(f"{problem}\nFix that, or pass --sandbox none to grade without the sandbox "
                                 "(student code could then read the solutions).")
    if requested == "bwrap":
        raise SandboxUnavailable(f"{problem}; install it (Debian/Ubuntu: apt-get install bubblewrap) "
                                 "or pass --sandbox none")
    if not _warned:
        warnings.warn("bubblewrap is not installed: student code runs with resource limits and deadlines "
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


_SCRATCH_POLL = 0.25  # with --sandbox none: how often the working folder's size is checked while a worker runs
_SCRATCH_ENTRIES = 10_000  # ... and how many files and folders it may hold
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(name: str | Path, dir_fd: int | None = None) -> int:
    """A descriptor of the folder ``name`` (never through a link), made readable first if student code chmod-ed it."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=dir_fd)
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def _traverse(top: Path, enter: Callable[[int], list[str]], leave: Callable[[int, str], None]) -> None:
    """Visit the folders below ``top`` depth first, iteratively and through descriptors.

    No recursion (a chain of 1500 folders is fine), no path longer than a name (no PATH_MAX), no
    link followed, and one descriptor open at a time (going up through ``..``). ``enter(fd)`` sees a
    folder and returns the names of the subfolders to visit; ``leave(parent_fd, name)`` follows each
    subfolder's visit. A folder that cannot be opened is skipped.
    """
    fd = _open_dir(top)
    pending: list[list[str]] = [enter(fd)]  # per level: subfolders still to visit
    below: list[str] = []  # the names from top down to fd
    try:
        while pending:
            if pending[-1]:
                name = pending[-1].pop()
                try:
                    child = _open_dir(name, fd)
                except OSError:
                    continue
                os.close(fd)
                fd = child
                below.append(name)
                pending.append(enter(fd))
                continue
            pending.pop()
            if below:
                parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = parent
                leave(fd, below.pop())
    finally:
        os.close(fd)


def _entries(fd: int) -> tuple[list[os.DirEntry[str]], list[str]]:
    """A folder's entries other than folders, and the names of its folders."""
    others, folders = [], []
    try:
        with os.scandir(fd) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.name)
                else:
                    others.append(entry)
    except OSError:
        pass  # what was read so far
    return others, folders


def _remove_tree(top: Path) -> bool:
    """Remove a folder student code wrote in, whatever it made there; whether it is gone.

    :func:`shutil.rmtree` recursed (RecursionError on a chain of 1500 folders, leaving everything
    behind) and stops at a folder without write or search permission; this makes each folder
    writable first and removes files through descriptors, links as links.
    """

    def enter(fd: int) -> list[str]:
        try:
            os.fchmod(fd, 0o700)
        except OSError:
            pass
        others, folders = _entries(fd)
        for entry in others:
            try:
                os.unlink(entry.name, dir_fd=fd)
            except OSError:
                pass
        return folders

    def leave(fd: int, name: str) -> None:
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            pass

    try:
        _traverse(top, enter, leave)
        os.rmdir(top)
    except FileNotFoundError:
        return True
    except OSError:
        pass  # what could not be removed stays (a process the student's code forked still writing there)
    return not os.path.lexists(top)


class _Full(Exception):
    pass


def _over(top: Path, max_bytes: int, max_entries: int) -> bool:
    """Whether the folder ``top`` holds more than ``max_bytes`` (of disk blocks) or ``max_entries`` entries."""
    used = [0, 0]

    def enter(fd: int) -> list[str]:
        others, folders = _entries(fd)
        used[1] += len(others) + len(folders)
        for entry in others:
            try:
                used[0] += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
        if used[0] > max_bytes or used[1] > max_entries:
            raise _Full
        return folders

    try:
        _traverse(top, enter, lambda fd, name: None)
    except _Full:
        return True
    except OSError:
        return False
    return False


class _Channel:
    """The grader's ends of a worker's pipes, non-blocking, so that no wait on the worker outlives its deadline.

    Writing a request waits for room in the pipe, and reading a reply for its bytes, each until
    :attr:`deadline` at most; then the worker is killed and the wait ends with ``EOFError``,
    whatever else holds the pipes open (a process the student's code forked). A worker that
    shrank its request pipe (``F_SETPIPE_SZ``) below what the grader sends ahead and stopped
    reading is one of those. :meth:`read` serves :func:`grader.wire.read_message`.
    """

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.out_fd, self.in_fd = worker.proc.stdin.fileno(), worker.proc.stdout.fileno()
        os.set_blocking(self.out_fd, False)
        os.set_blocking(self.in_fd, False)
        self.deadline = 0.0
        self.received = 0  # bytes read so far

    def write(self, data: bytes) -> None:
        view, sent = memoryview(data), 0
        while sent < len(view):
            try:
                sent += os.write(self.out_fd, view[sent:])
            except BlockingIOError:
                self._wait(self.out_fd, select.POLLOUT)
            except OSError as e:  # BrokenPipeError: the worker is gone
                raise EOFError(str(e)) from None

    def read(self, n: int) -> bytes | bytearray:
        """Up to ``n`` bytes: fewer only at the end of the channel."""
        buffer = bytearray(n)
        got = 0
        with memoryview(buffer) as view:
            while got < n:
                try:
                    k = os.readv(self.in_fd, [view[got:]])
                except BlockingIOError:
                    self._wait(self.in_fd, select.POLLIN)
                    continue
                except OSError as e:
                    raise EOFError(str(e)) from None
                if k == 0:
                    break
                got += k
        self.received += got
        return buffer if got == n else bytes(buffer[:got])

    def _wait(self, fd: int, event: int) -> None:
        poller = select.poll()
        poller.register(fd, event)
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.worker.expire(stalled=event == select.POLLOUT)
                raise EOFError("the worker did not answer in time")
            step = min(left, _SCRATCH_POLL) if self.worker.scratch is not None else left
            if poller.poll(math.ceil(step * 1000)):
                return
            self.worker.check_scratch()


class Worker:
    """One worker process and the channel to it."""

    def __init__(self, limits: Limits, mode: str) -> None:
        self.limits, self.mode = limits, mode
        # the worker's stderr (its start-up errors, bubblewrap's): a file of the grader's in no folder
        self.log = tempfile.TemporaryFile(prefix="bptt-worker-log-")  # noqa: SIM115
        self.cgroup = _PidsCgroup(limits.processes)
        self.timed_out = self.stalled = False
        self.stopped: str | None = None  # why this side stopped the worker, if not for time
        #: answers a stand-in's question (:meth:`WorkerTarget._answer`); None: a question is a garbled reply
        self.answer: Callable[[dict[str, Any], list[Any]], tuple[dict[str, Any], list[Any]]] | None = None
        self.scratch: Path | None = None  # the working folder on the host (--sandbox none only)
        self.last_size = 0  # bytes of the last reply
        self._next_check = 0.0
        fds: tuple[int, ...] = ()
        if mode == "bwrap":  # its working folder is a tmpfs inside the sandbox
            seccomp = _seccomp_pipe()
            fds = () if seccomp is None else (seccomp,)
            cmd, cwd, home = _bwrap_command(limits, seccomp), "/", _INNER_SCRATCH
        else:
            self.scratch = Path(tempfile.mkdtemp(prefix="bptt-worker-"))  # 0700: this user's alone
            cmd, cwd, home = _python(str(_worker_root())), str(self.scratch), str(self.scratch)
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=cwd,
                env=_worker_env(home), start_new_session=True, preexec_fn=self._limit_child, close_fds=True,
                pass_fds=fds)
        except BaseException:
            self.log.close()
            if self.scratch is not None:
                _remove_tree(self.scratch)
            raise
        finally:
            for fd in fds:
                os.close(fd)
        self.channel = _Channel(self)

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
                allowance: int | None = None) -> tuple[dict[str, Any], list[np.ndarray]]:
        """Send one request and wait for its reply, at most ``seconds`` in all (or raise ``EOFError``)."""
        from grader import wire

        deadline = time.monotonic() + seconds
        self.send(wire.pack_message(header, list(buffers)), seconds)
        return self.receive(max(0.0, deadline - time.monotonic()), allowance)

    def send(self, message: bytes, seconds: float) -> None:
        """Write a packed request (:func:`grader.wire.pack_message`), waiting at most ``seconds`` for room in
        the pipe (then the worker is killed); ``EOFError`` if the worker is gone."""
        self.channel.deadline = time.monotonic() + seconds
        self.channel.write(message)

    def receive(self, seconds: float, allowance: int | None = None) -> tuple[dict[str, Any], list[np.ndarray]]:
        """The next reply, waiting at most ``seconds`` (then the worker is killed: ``EOFError``).

        ``allowance``: the most bytes the reply may have. A larger one is dropped at once and the
        worker stopped (``EOFError``; :meth:`death_reason` says why).
        """
        from grader import wire

        deadline = self.channel.deadline = time.monotonic() + seconds
        start = self.channel.received
        while True:  # a stand-in's questions come before the reply, each answered at once
            header, buffers = wire.read_message(self.channel, self.limits.reply_bytes)
            if "ask" not in header:
                break
            if self.answer is None:
                raise wire.WireError("a question from a worker that has no stand-ins")
            self.send(wire.pack_message(*self.answer(header, buffers)), max(0.0, deadline - time.monotonic()))
            self.channel.deadline = deadline
        self.last_size = self.channel.received - start
        if allowance is not None and self.last_size > allowance:
            del header, buffers
            self.stopped = (f"returned {self.last_size / 2**20:.1f} MiB, more than the {max(allowance, 0) / 2**20:.1f} "
                            f"MiB left of the {self.limits.held_bytes / 2**20:g} MiB of replies the grader holds "
                            "from one submission (Limits.held_bytes)")
            self.kill()
            raise EOFError(self.stopped)
        self.check_scratch()
        return header, buffers

    def check_scratch(self) -> None:
        """With ``--sandbox none``: stop the worker once its working folder holds more than ``tmpfs_bytes``
        or :data:`_SCRATCH_ENTRIES` entries (``EOFError``). Checked after replies and while waiting for one,
        at most every :data:`_SCRATCH_POLL` s: a call can overshoot by what it writes in that time."""
        if self.scratch is None or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + _SCRATCH_POLL
        if _over(self.scratch, self.limits.tmpfs_bytes, _SCRATCH_ENTRIES):
            self.stopped = (f"filled its working folder (more than {self.limits.tmpfs_bytes / 2**20:g} MiB "
                            f"or {_SCRATCH_ENTRIES} files)")
            self.kill()
            raise EOFError(self.stopped)

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

    def expire(self, stalled: bool = False) -> None:
        """Kill the worker at a deadline (``stalled``: it was not reading its requests)."""
        self.timed_out = True
        self.stalled = self.stalled or stalled
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
        if self.stopped:
            return self.stopped
        if self.stalled:
            return "stopped reading the grader's requests (and was stopped)"
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
        self.kill()  # nothing in a worker is worth a clean exit, which took up to 0.1 s
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.log):
            try:
                stream.close()
            except OSError:
                pass
        self.cgroup.remove()
        if self.scratch is not None:
            _remove_tree(self.scratch)


_spares: list[Worker] = []


def prestart(mode: str = "auto", limits: Limits | None = None, count: int = 1) -> None:
    """Have ``count`` workers started now, for the next targets (:class:`grader.worker_target.WorkerTarget`)
    with the same mode and limits.

    Python and numpy take a while to start in the worker; started early, that overlaps with the
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


def take_spare(limits: Limits, mode: str) -> Worker | None:
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
