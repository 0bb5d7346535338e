"""Timing, statistics and the machine's description, shared by every benchmark.

Every number the benchmarks report is a median over repeated measurements,
with its spread (minimum and maximum, and the count). Quick calls are timed
in inner loops long enough for the clock (each sample is the mean of ``inner``
calls); calls of a second or more are timed one at a time.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXAMPLES = SOLUTIONS / "examples"


@dataclass
class Stats:
    """Seconds: the median of ``n`` samples and their range."""

    median: float
    low: float
    high: float
    n: int
    inner: int = 1  # calls averaged per sample
    samples: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, samples: Sequence[float], inner: int = 1) -> Stats:
        s = [float(x) for x in samples]
        return cls(statistics.median(s), min(s), max(s), len(s), inner, s)

    def fmt(self, unit: str = "auto") -> str:
        """``1.23 s [1.20-1.31] n=5``."""
        u, k = _unit(self.median) if unit == "auto" else (unit, _SCALE[unit])
        return f"{self.median * k:.3g} {u} [{self.low * k:.3g}-{self.high * k:.3g}] n={self.n}"

    def short(self) -> str:
        u, k = _unit(self.median)
        return f"{self.median * k:.3g} {u}"


_SCALE = {"s": 1.0, "ms": 1e3, "µs": 1e6}


def _unit(seconds: float) -> tuple[str, float]:
    if seconds >= 1:
        return "s", 1.0
    if seconds >= 1e-3:
        return "ms", 1e3
    return "µs", 1e6


@dataclass
class Ratio:
    """``a / b`` of two medians, with the range that the samples' extremes allow."""

    value: float
    low: float
    high: float

    @classmethod
    def of(cls, a: Stats, b: Stats) -> Ratio:
        return cls(a.median / b.median, a.low / b.high, a.high / b.low)

    def fmt(self) -> str:
        return f"{self.value:.3g}x [{self.low:.3g}-{self.high:.3g}]"


def measure(fn: Callable[[], Any], repeats: int, min_sample: float = 0.05, max_inner: int = 10_000,
            first: float | None = None) -> Stats:
    """Time ``fn()``: ``repeats`` samples after one warm-up call, each at least ``min_sample`` long.

    ``first``: the duration of a warm-up call already made (none is made then).
    """
    if first is None:
        t0 = time.perf_counter()
        fn()  # warm-up (imports, caches), and the calibration of the inner loop
        first = time.perf_counter() - t0
    inner = 1 if first >= min_sample else min(max_inner, max(1, int(min_sample / max(first, 1e-7))))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return Stats.of(samples, inner)


def measure_within(fn: Callable[[], Any], repeats: int, budget: float) -> tuple[Stats, Any]:
    """``(stats, result of the warm-up call)``: ``repeats`` samples, fewer (>= 3) if they would exceed ``budget`` s."""
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    n = repeats if first * repeats <= budget else max(3, int(budget / max(first, 1e-9)))
    return measure(fn, n, first=first), result


def measure_cold(fn: Callable[[], Any], repeats: int) -> Stats:
    """Time ``fn()`` ``repeats`` times, no warm-up (each call is a fresh process or a fresh start)."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return Stats.of(samples)


class CommandFailed(RuntimeError):
    pass


def run_command(cmd: Sequence[str], ok: Sequence[int] = (0,), cwd: Path | None = None,
                env: dict[str, str] | None = None, timeout: float = 3600) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=timeout)
    if proc.returncode not in ok:
        raise CommandFailed(f"{' '.join(map(str, cmd))} exited with {proc.returncode}:\n"
                            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def time_command(cmd: Sequence[str], repeats: int, ok: Sequence[int] = (0,), warmup: bool = True, **kw: Any) -> Stats:
    """Wall time of a command, run ``repeats`` times (each a new process; one untimed run first)."""
    if warmup:
        run_command(cmd, ok, **kw)
    return measure_cold(lambda: run_command(cmd, ok, **kw), repeats)


def grader_command() -> list[str]:
    """How a user runs the grader: the installed ``bptt-grader`` script (else ``python -m grader``)."""
    exe = shutil.which("bptt-grader")
    return [exe] if exe else [sys.executable, "-m", "grader"]


# -- the machine -----------------------------------------------------------------------------

def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal"):
            return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    return "unknown"


def _blas() -> str:
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:  # older numpy: no dict mode
        return "unknown"


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:
        return None


def _git() -> str:
    try:
        head = run_command(["git", "rev-parse", "--short", "HEAD"]).stdout.strip()
        # the results of an earlier run are not changes to what is measured
        dirty = run_command(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                             ":!BENCHMARKS.md", ":!BENCHMARKS.json"]).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except Exception:
        return "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import numpy as np

    from grader import sandbox

    bwrap = shutil.which("bwrap")
    bwrap_version = run_command([bwrap, "--version"]).stdout.strip() if bwrap else None
    try:
        mode = sandbox.resolve_mode("auto")
    except Exception as e:  # noqa: BLE001
        mode = f"unavailable ({e})"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "memory": _memory(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": _blas(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "hypothesis": _version("hypothesis"),
        "torch": _version("torch"),
        "sandbox": mode,
        "bwrap": bwrap_version,
        "grader_commit": _git(),
        "load_average_start": load_average(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def to_json(obj: Any) -> Any:
    if isinstance(obj, (Stats, Ratio)):
        return asdict(obj)
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and obj != obj:
        return None
    return obj


def dump(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(to_json(obj), indent=1, ensure_ascii=False) + "\n")
