"""Package the installed bptt-grader for an autograder image.

An autograder must grade with the same grader (and the same Hypothesis, whose
derandomized search depends on its version) that the instructor tried
locally. bptt-grader may not be on the package index an autograder image can
reach, so :func:`build_wheel` writes a wheel of *this installation* (editable
or not) from its own files, without a build backend or network.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

import grader

DIST = "bptt-grader"


def _version() -> str:
    return grader.__version__


def wheel_name() -> str:
    """The file name :func:`build_wheel` writes (a pure-Python wheel)."""
    return f"{DIST.replace('-', '_')}-{_version()}-py3-none-any.whl"


def _requires() -> list[str]:
    """The installed distribution's runtime requirements (no extras)."""
    try:
        reqs = importlib.metadata.requires(DIST) or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        reqs = ["numpy>=1.24", "hypothesis>=6.80", "nbformat>=5.7", "rich>=13", "matplotlib>=3.6"]
    return [r for r in reqs if "extra ==" not in r]


def pinned_requirements() -> list[str]:
    """Requirements that make an autograder search exactly as this machine does.

    Hypothesis is pinned to the installed version: a derandomized search draws
    the same instances only with the same Hypothesis. NumPy is left to the
    package's own lower bound, because an autograder image's Python may be too
    old or too new for the exact NumPy installed here.
    """
    return [f"hypothesis=={importlib.metadata.version('hypothesis')}"]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(dest: Path) -> Path:
    """Write a wheel of the installed ``grader`` package into folder ``dest``; return its path.

    Only the package's ``.py`` files go in (no caches, no solutions: those
    were never part of the package).
    """
    dest.mkdir(parents=True, exist_ok=True)
    package = Path(grader.__file__).resolve().parent
    info = f"{DIST.replace('-', '_')}-{_version()}.dist-info"
    files: list[tuple[str, bytes]] = []
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        files.append((f"grader/{path.relative_to(package).as_posix()}", path.read_bytes()))
    metadata = ["Metadata-Version: 2.1", f"Name: {DIST}", f"Version: {_version()}",
                "Summary: Property-based autograder for backpropagation through time assignments",
                "Requires-Python: >=3.10", *(f"Requires-Dist: {r}" for r in _requires())]
    files += [
        (f"{info}/METADATA", ("\n".join(metadata) + "\n").encode()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: bptt-grader\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/entry_points.txt", b"[console_scripts]\nbptt-grader = grader.cli:main\n"),
        (f"{info}/top_level.txt", b"grader\n"),
    ]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files)
    record += f"{info}/RECORD,,\n"
    out = dest / wheel_name()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo(f"{info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0)), record,
                    zipfile.ZIP_DEFLATED)
    return out
