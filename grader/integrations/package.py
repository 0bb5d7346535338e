"""Package the installed bptt-grader for an autograder image.

An autograder must grade with the grader the instructor tried locally, and
bptt-grader is not on a package index yet, so :func:`build_wheel` writes a
wheel of *this installation*: from a source tree (a clone, installed
editable or not), the wheel ``pip wheel . --no-deps`` builds, the same one
``pip install .`` installs; where no source tree is at hand (installed from a
wheel) or the build cannot run (offline, without setuptools and wheel), the
same files (the package's modules and its shipped instance lists) written
into a wheel directly.

The other requirements are *bounded*, never pinned (:func:`runtime_requirements`):
an autograder image's Python (3.10 to 3.13) may be too old or too new for the
exact versions installed here. Scores do not depend on them: every machine
judges on the instance lists shipped inside the wheel.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import grader

DIST = "bptt-grader"
#: What the wheel holds besides the modules: pyproject.toml's package-data (the shipped instance lists).
PACKAGE_DATA = ("assignments/drawn/*.drawn",)
#: The Python versions the documented autograder images run (Ubuntu 22.04: 3.10, 24.04: 3.12, ...).
PYTHONS = ("3.10", "3.11", "3.12", "3.13")


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


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")


def runtime_requirements() -> list[str]:
    """The grader's own requirements, each bounded below the next major version of the one installed here.

    ``hypothesis>=6.80`` (pyproject's core dependency) with Hypothesis 6.170 installed becomes
    ``hypothesis>=6.80,<7``: any version an image's Python can install within the bounds this
    machine tested, never an exact pin (Hypothesis 6.170 needs Python 3.11; Ubuntu 22.04 has 3.10).
    Grading does not depend on the version: submissions are judged on the instance lists shipped in
    the wheel. With another Hypothesis than the one that drew them, a failure found on the list may
    shrink to another smallest instance, for the same score.
    """
    out = []
    for req in _requires():
        m = _REQUIREMENT.match(req.split(";")[0])
        if m is None:
            out.append(req)
            continue
        name, spec = m.group(1), m.group(2)
        try:
            major = int(importlib.metadata.version(name).split(".")[0])
        except (importlib.metadata.PackageNotFoundError, ValueError):
            out.append(req)
            continue
        if "<" not in spec and "==" not in spec:
            spec = f"{spec},<{major + 1}" if spec else f"<{major + 1}"
        out.append(f"{name}{spec}")
    return out


def pinned_requirements() -> list[str]:
    """What an autograder installs besides bptt-grader: :func:`runtime_requirements` (bounded, no pins).

    Kept under this name for :mod:`grader.integrations.otter`.
    """
    return runtime_requirements()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def source_tree() -> Path | None:
    """The project folder this ``grader`` package was imported from (a clone), or ``None`` (installed from a wheel)."""
    root = Path(grader.__file__).resolve().parent.parent
    try:
        pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if re.search(rf'^name\s*=\s*"{DIST}"', pyproject, flags=re.M) else None


#: Wheels built in this process, by a digest of the sources they were built from (file name, bytes).
_BUILT: dict[str, tuple[str, bytes]] = {}


def _sources_digest(root: Path) -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            h.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    for path in sorted((root / "grader").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _wheels_folder(digest: str) -> Path | None:
    """Where a wheel built from sources with ``digest`` is kept between processes (beside the instance
    lists, :func:`grader.drawn.folder`), or ``None`` when the disk cache is off."""
    from grader import drawn

    base = drawn.folder()
    return None if base is None else base / "wheels" / digest[:32]


def _kept_wheel(digest: str) -> Path | None:
    folder = _wheels_folder(digest)
    found = sorted(folder.glob("bptt_grader-*.whl")) if folder is not None and folder.is_dir() else []
    return found[0] if found else None


def _keep_wheel(digest: str, wheel: Path) -> None:
    """Keep ``wheel`` for later processes; a cache that cannot be written is no error."""
    folder = _wheels_folder(digest)
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{wheel.name}.{os.getpid()}.tmp"
        shutil.copy2(wheel, tmp)
        os.replace(tmp, folder / wheel.name)
    except OSError:
        pass


def _build_from_source(root: Path, dest: Path) -> Path | None:
    """``pip wheel ROOT --no-deps`` on a copy of the sources (no stale ``build/`` folder); None if it fails.

    A wheel already built from the same sources (in this process, or kept on disk by an earlier one) is
    copied instead of built again.
    """
    digest = _sources_digest(root)
    kept = _kept_wheel(digest)
    if digest in _BUILT or kept is not None:
        name, data = _BUILT.get(digest) or (kept.name, kept.read_bytes())
        dest.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
        return dest / name
    with tempfile.TemporaryDirectory(prefix="bptt-wheel-") as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "out"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (root / name).is_file():
                shutil.copy2(root / name, src / name)
        shutil.copytree(root / "grader", src / "grader", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        attempts = [["--no-build-isolation"]] if _can_build_offline() else []
        attempts.append([])  # an isolated build: pip fetches setuptools from the index
        for extra in attempts:
            proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--quiet",
                                   "--disable-pip-version-check", "--retries", "1", "-w", str(out), *extra],
                                  capture_output=True, text=True, timeout=600)
            built = sorted(out.glob("bptt_grader-*.whl"))
            if proc.returncode == 0 and built:
                dest.mkdir(parents=True, exist_ok=True)
                target = dest / built[0].name
                shutil.copy2(built[0], target)
                _BUILT[digest] = (target.name, target.read_bytes())
                _keep_wheel(digest, target)
                return target
    return None


def _can_build_offline() -> bool:
    """Whether setuptools can build a wheel without an isolated build environment (from the index)."""
    try:
        major, minor = (int(x) for x in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    # setuptools >= 70.1 has bdist_wheel itself; older ones need the wheel package
    return (major, minor) >= (70, 1) or (major >= 64 and importlib.util.find_spec("wheel") is not None)


def package_files() -> list[tuple[str, Path]]:
    """The files of the installed package a wheel holds: its modules and :data:`PACKAGE_DATA` (archive name, path)."""
    package = Path(grader.__file__).resolve().parent
    found = {p for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    for pattern in PACKAGE_DATA:
        found.update(package.glob(pattern))
    return [(f"grader/{p.relative_to(package).as_posix()}", p) for p in sorted(found)]


def build_wheel(dest: Path, from_source: bool = True) -> Path:
    """Write a wheel of the installed ``grader`` package into folder ``dest``; return its path.

    From a source tree (and with ``from_source``), the wheel ``pip wheel . --no-deps`` builds;
    otherwise, or when that build fails, the same files written directly (:func:`package_files`:
    the modules and the shipped instance lists; no caches, no solutions: those were never part of
    the package).
    """
    root = source_tree() if from_source else None
    if root is not None:
        built = _build_from_source(root, dest)
        if built is not None:
            return built
    return _write_wheel(dest)


def _write_wheel(dest: Path) -> Path:
    """The wheel of :func:`package_files`, written without a build backend."""
    dest.mkdir(parents=True, exist_ok=True)
    info = f"{DIST.replace('-', '_')}-{_version()}.dist-info"
    files: list[tuple[str, bytes]] = [(name, path.read_bytes()) for name, path in package_files()]
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
