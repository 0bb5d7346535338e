"""The instances a passing derivative search draws: shipped with the grader, remembered in this process and on disk.

Searches are derandomized, and a judge draws nothing, so Hypothesis draws
the same instances for every submission whose function passes. Once one
search has passed, later submissions are judged on its list without a new
search (:func:`passing_draws`); a failure on the list runs
the same search as without it, so every score, message and diagnosis stays
what a fresh search gives. Not searching spares each ``bptt-grader`` process
the drawing and the import of Hypothesis (BENCHMARKS.md has the times).

Where a list comes from, first found first:

1. this process;
2. the grader's own package (``grader/assignments/drawn/``): the lists of the
   bundled assignments, drawn when the grader was released
   (``python -m grader.drawn``), so that even a machine's first grading draws
   nothing. Such a list is used while the sources it was drawn from (the
   strategies, the search, the assignment module) are unchanged, whatever
   Hypothesis is installed: every machine then judges every submission on
   the same instances. (Of a Python module, the code counts, not its
   comments or docstrings: a cleanup leaves the lists in use.) With another Hypothesis than the one that drew them
   (recorded in the file), a search started by a failure on the list may
   shrink to another instance; the score, decided by the list, is the same;
3. ``$BPTT_GRADER_CACHE``: lists this machine drew, under a *fingerprint* of
   everything their draws depend on (also the Hypothesis, numpy and Python
   versions). A course's own assignments (:mod:`grader.assignments`) ship
   no lists: theirs are drawn at their first grading and kept here.

Files are written atomically (a batch's workers may write the same list at
once) in the wire format (nothing is unpickled); a file that cannot be read is
ignored and the list drawn afresh.

Student code in bubblewrap cannot see the folder; with ``--sandbox none`` it could write there, as
anywhere the grader can (which is why that mode warns).

Where: ``$BPTT_GRADER_CACHE`` if set, else ``$XDG_CACHE_HOME/bptt-grader``, else
``~/.cache/bptt-grader``. ``BPTT_GRADER_CACHE=off`` turns every disk copy off, the
shipped lists included: everything is drawn afresh.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import io
import os
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from grader import user_cache, wire
from grader.strategies import Instance

FORMAT = 1
#: The lists shipped with the grader, one file per question of the bundled assignments.
SHIPPED = Path(__file__).resolve().parent / "assignments" / "drawn"
_MEMORY: dict[tuple[int, int], list[Instance]] = {}


_off = user_cache.off
folder = user_cache.folder  # where lists are kept on disk, or None when the disk copy is off


@functools.cache
def _file_digest(path: str) -> bytes:
    """A digest of a file; of a Python module, of its code only (:func:`_code_digest`)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return b"unreadable:" + path.encode()
    return _code_digest(data) if path.endswith(".py") else hashlib.sha256(data).digest()


def _code_digest(source: bytes) -> bytes:
    """A digest of a module's syntax tree without its docstrings: comments, docstrings, blank lines and
    layout do not move it (a cleanup of an assignment module keeps its lists), code does.

    Of :func:`_canonical`, not of ``ast.dump``, whose text changes between Python versions (3.13 leaves
    out empty fields): a shipped list is used on every version. A file that does not parse: its bytes.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return hashlib.sha256(source).digest()
    return hashlib.sha256(b"ast 1|" + _canonical(tree).encode()).digest()


def _canonical(node: Any) -> str:
    """The tree as text: each node's type and its non-empty fields (no positions), docstrings left out."""
    if isinstance(node, ast.AST):
        fields = []
        for name in node._fields:
            value = getattr(node, name, None)
            if name == "body" and isinstance(node, _WITH_DOCSTRING) and isinstance(value, list):
                value = value[1:] if value and _is_docstring(value[0]) else value
            if value is None or value == []:
                continue
            fields.append(f"{name}={_canonical(value)}")
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return "[" + ",".join(_canonical(v) for v in node) + "]"
    return repr(node)


_WITH_DOCSTRING = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _is_docstring(statement: ast.AST) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


@functools.cache
def _sources() -> bytes:
    # The search function's source, not all of grading.py's: it holds the search's settings, and Hypothesis
    # seeds a derandomized search from its test's source (the probe inside it), not from line numbers.
    import inspect

    from grader.search import search

    here = Path(__file__).resolve().parent
    return b"|".join([f"drawn {FORMAT}".encode(), _file_digest(str(here / "strategies.py")),
                      hashlib.sha256(inspect.getsource(search).encode()).digest()])


@functools.cache
def _environment() -> bytes:
    # Hypothesis' version file, found without importing Hypothesis (slow: sparing it is the point of the disk copy).
    spec = importlib.util.find_spec("hypothesis")
    hyp = _file_digest(str(Path(spec.origin).with_name("version.py"))) if spec and spec.origin else b"?"
    return b"|".join([f"python {sys.version_info[:2]} numpy {np.__version__}".encode(), hyp])


def fingerprint(question: Any, examples: int, portable: bool = False) -> str:
    """A digest of everything the question's drawn instances depend on.

    ``portable``: of the sources only (the key of a shipped list), not of the installed versions.
    """
    module = sys.modules.get(getattr(question.instances, "__module__", ""), None)
    source = getattr(module, "__file__", None)
    h = hashlib.sha256(_sources())
    if not portable:
        h.update(_environment())
    h.update(_file_digest(source) if source else repr(question.instances).encode())
    h.update(f"|{question.function}|{examples}".encode())
    return h.hexdigest()


def _module(question: Any) -> str:
    return str(getattr(question.instances, "__module__", "assignment")).rsplit(".", 1)[-1]


def shipped_path(question: Any, examples: int) -> Path:
    """Where the grader's package keeps the question's list (the file may not exist)."""
    return SHIPPED / f"{_module(question)}.{question.function}.{examples}.drawn"


def _path(question: Any, examples: int, digest: str) -> Path | None:
    where = folder()
    if where is None:
        return None
    return where / f"{_module(question)}.{question.function}.{examples}.{digest[:32]}.drawn"


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


def _read(path: Path, digest: str, compressed: bool = False) -> list[Instance] | None:
    """The list in ``path`` if it is there, whole, and filed under ``digest``."""
    try:
        data = path.read_bytes()
        if compressed:
            data = zlib.decompress(data)
        header, buffers = wire.read_message(io.BytesIO(data))
        if header.get("fingerprint") != digest:
            return None
        return _decode(wire.decode(header.get("instances"), buffers))
    except (OSError, EOFError, ValueError, KeyError, TypeError, zlib.error):  # absent, damaged, foreign
        return None


def remembered(question: Any, examples: int) -> list[Instance] | None:
    """The instances a passing search of ``question`` draws, if known (this process, shipped, then disk)."""
    key = (id(question), examples)
    if key in _MEMORY:
        return _MEMORY[key]
    if _off():
        return None
    instances = _read(shipped_path(question, examples), fingerprint(question, examples, portable=True),
                      compressed=True)
    if instances is None:
        digest = fingerprint(question, examples)
        path = _path(question, examples, digest)
        instances = None if path is None else _read(path, digest)
    if instances is not None:
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


def passing_draws(question: Any, examples: int | None = None) -> list[Instance]:
    """The instances a search of ``question`` that finds no failure draws: remembered, or drawn now (and kept)."""
    from grader.search import draw_passing

    examples = examples or question.examples
    known = remembered(question, examples)
    if known is None:
        known = draw_passing(question, examples)
        remember(question, examples, known)
    return known


def forget() -> None:
    """Forget the lists of this process (the disk copy stays): as in a new process."""
    _MEMORY.clear()


def ship(names: list[str] | None = None) -> list[Path]:
    """Draw the lists of the bundled assignments' questions and write them into the package (a release step).

    Run it after changing the strategies, the search or an assignment module: the lists drawn from the
    old sources are no longer used (the grader's tests say so), and grading draws them on every machine.
    """
    from hypothesis import __version__ as hypothesis_version

    from grader.assignments import NAMES, get
    from grader.search import draw_passing

    SHIPPED.mkdir(parents=True, exist_ok=True)
    for old in SHIPPED.glob("*.drawn"):
        if names is None or old.name.split(".", 1)[0] in names:
            old.unlink()
    written = []
    for name in names or NAMES:
        for q in get(name).questions:
            tree, buffers = wire.encode(_encode(draw_passing(q, q.examples)))
            message = io.BytesIO()
            wire.write_message(message, {"fingerprint": fingerprint(q, q.examples, portable=True),
                                         "hypothesis": hypothesis_version, "instances": tree}, buffers)
            path = shipped_path(q, q.examples)
            path.write_bytes(zlib.compress(message.getvalue(), 9))
            written.append(path)
    return written


if __name__ == "__main__":
    for written_path in ship(sys.argv[1:] or None):
        print(written_path.relative_to(SHIPPED.parent.parent.parent))
