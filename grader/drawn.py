"""The instances a passing derivative search draws, remembered in this process and on disk.

Searches are derandomized, and a judge draws nothing, so Hypothesis draws
the same instances for every submission whose function passes. Once one
search has passed, later submissions are judged on its list without a new
search (:func:`grader.grading._search_derivative`); a failure on the list runs
the same search as without it, so every score, message and diagnosis stays
what a fresh search gives. On disk the list spares each new ``bptt-grader``
process the search (about half a second) and the import of Hypothesis.

A list is kept under a *fingerprint* of everything its draws depend on: the
Hypothesis and numpy versions, the Python version, and the source of the
strategies, of the search and of the question's assignment module. Change
any of them and the list is drawn afresh. Files are written atomically (a
batch's workers may write the same list at once) in the wire format (nothing
is unpickled); a file that cannot be read is ignored.

Student code in bubblewrap cannot see the folder; with ``--sandbox none`` it could write there, as
anywhere the grader can (which is why that mode warns).

Where: ``$BPTT_GRADER_CACHE`` if set (``off`` turns the disk copy off), else
``$XDG_CACHE_HOME/bptt-grader``, else ``~/.cache/bptt-grader``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from grader import wire
from grader.strategies import Instance

FORMAT = 1
_OFF = {"off", "0", "no", "false", "none"}
_MEMORY: dict[tuple[int, int], list[Instance]] = {}


def folder() -> Path | None:
    """Where lists are kept on disk, or ``None`` when the disk copy is off."""
    env = os.environ.get("BPTT_GRADER_CACHE")
    if env is not None:
        return None if env.strip().lower() in _OFF or not env.strip() else Path(env).expanduser()
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:  # no home folder (a user without one): this process only
        return None
    return Path(base) / "bptt-grader"


@functools.cache
def _file_digest(path: str) -> bytes:
    try:
        return hashlib.sha256(Path(path).read_bytes()).digest()
    except OSError:
        return b"unreadable:" + path.encode()


@functools.cache
def _environment() -> bytes:
    # Hypothesis' version file, found without importing Hypothesis (0.2 s, the point of the disk copy).
    spec = importlib.util.find_spec("hypothesis")
    hyp = _file_digest(str(Path(spec.origin).with_name("version.py"))) if spec and spec.origin else b"?"
    here = Path(__file__).resolve().parent
    return b"|".join([f"drawn {FORMAT} python {sys.version_info[:2]} numpy {np.__version__}".encode(), hyp,
                      _file_digest(str(here / "strategies.py")), _file_digest(str(here / "grading.py"))])


def fingerprint(question: Any, examples: int) -> str:
    """A digest of everything the question's drawn instances depend on."""
    module = sys.modules.get(getattr(question.instances, "__module__", ""), None)
    source = getattr(module, "__file__", None)
    h = hashlib.sha256(_environment())
    h.update(_file_digest(source) if source else repr(question.instances).encode())
    h.update(f"|{question.function}|{examples}".encode())
    return h.hexdigest()


def _path(question: Any, examples: int, digest: str) -> Path | None:
    where = folder()
    if where is None:
        return None
    module = str(getattr(question.instances, "__module__", "assignment")).rsplit(".", 1)[-1]
    return where / f"{module}.{question.function}.{examples}.{digest[:32]}.drawn"


def _encode(instances: list[Instance]) -> Any:
    return [{"args": inst.args, "kwargs": inst.kwargs, "sizes": inst.sizes, "context": inst.context}
            for inst in instances]


def _decode(value: Any) -> list[Instance]:
    if not isinstance(value, list):
        raise wire.WireError("not a list of instances")
    out = []
    for v in value:
        if not isinstance(v, dict) or not isinstance(v.get("args"), tuple):
            raise wire.WireError("not an instance")
        out.append(Instance(args=v["args"], sizes=dict(v["sizes"]), context=dict(v["context"]),
                            kwargs=dict(v["kwargs"])))
    return out


def remembered(question: Any, examples: int) -> list[Instance] | None:
    """The instances a passing search of ``question`` draws, if known (this process first, then disk)."""
    key = (id(question), examples)
    if key in _MEMORY:
        return _MEMORY[key]
    digest = fingerprint(question, examples)
    path = _path(question, examples, digest)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            header, buffers = wire.read_message(f)
        if header.get("fingerprint") != digest:
            return None
        instances = _decode(wire.decode(header.get("instances"), buffers))
    except (OSError, EOFError, ValueError, KeyError, TypeError):  # damaged or foreign: draw afresh
        return None
    _MEMORY[key] = instances
    return instances


def remember(question: Any, examples: int, instances: list[Instance]) -> None:
    """Keep the list a passing search drew (in this process, and on disk where possible)."""
    _MEMORY[(id(question), examples)] = list(instances)
    digest = fingerprint(question, examples)
    path = _path(question, examples, digest)
    if path is None:
        return
    tree, buffers = wire.encode(_encode(instances))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                wire.write_message(f, {"fingerprint": digest, "instances": tree}, buffers)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:  # a read-only home, a full disk: the list stays in this process only
        pass


def forget() -> None:
    """Forget the lists of this process (the disk copy stays): as in a new process."""
    _MEMORY.clear()
