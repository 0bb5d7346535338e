"""Read a submission (a notebook or a Python file) into runnable code cells.

Nothing here runs student code: the grader only parses it (``ast.parse``) to
say exactly which cell and line a syntax error is on. Outputs stored in a
notebook are never code and are dropped unread.

Every route that reads a submission (``grade``, ``check``, the Gradescope
autograder) reads it with :func:`read_submission_bytes`, the one rule for what
may be read: a regular file inside the submission folder, reached through no
symbolic link below that folder, at most :data:`MAX_SUBMISSION_BYTES`. Anything
else (a symbolic link to the reference solution or to a system file, a FIFO, a
device, a socket) is refused before a byte of it is read.
"""

from __future__ import annotations

import ast
import errno
import hashlib
import json
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

#: A submission larger than this is refused before parsing (outputs included).
MAX_SUBMISSION_BYTES = 64 << 20

_LINE_MAGIC = re.compile(r"^(\s*)([%!]|[A-Za-z_]\w*\s*=\s*[%!])")
#: Cell magics whose body is still Python and is run as such.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


class SubmissionError(Exception):
    """The submission cannot be read at all; the message says what and where."""


@dataclass(frozen=True)
class Cell:
    """One piece of code to run, with the label feedback uses for it."""

    label: str  # "cell 3" or the file name
    source: str


@dataclass
class Submission:
    """What a submission's code is, ready for a worker to run."""

    path: Path
    cells: list[Cell]
    problems: list[str] = field(default_factory=list)  # cells skipped, and why
    sha256: str = ""  # of the bytes that were read (and graded)

    @property
    def stem(self) -> str:
        return self.path.stem


def _strip_magics(source: str) -> str | None:
    """IPython syntax to plain Python, as far as grading needs; ``None`` skips the cell."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        name = lines[0].lstrip()[2:].split()[0] if lines[0].strip() != "%%" else ""
        if name not in _PYTHON_CELL_MAGICS:
            return None  # %%bash, %%writefile, ...: not Python
        lines = lines[1:]
    out = []
    for line in lines:
        m = _LINE_MAGIC.match(line)
        if m:
            line = m.group(1) + "pass  # IPython magic or shell command, not run by the grader"
        elif line.rstrip().endswith("?") and not line.lstrip().startswith("#"):
            line = re.sub(r"\?+\s*$", "", line)  # obj? help
        out.append(line)
    return "\n".join(out)


def _syntax_problem(source: str, label: str) -> str | None:
    try:
        ast.parse(source, filename=label)
    except SyntaxError as e:
        where = f"{label}, line {e.lineno}" if e.lineno else label
        text = (e.text or "").rstrip()
        return f"{where}: {e.msg}" + (f"\n    {text}" if text else "")
    except (ValueError, RecursionError, MemoryError) as e:
        return f"{label}: cannot be parsed ({type(e).__name__}: {e})"
    return None


#: At most this many top-level statements of a ``.py`` file are left out for not parsing (each costs a
#: parse of the file); a file with more is refused, as one that does not parse.
MAX_SKIPPED_STATEMENTS = 20
#: A line that continues the statement above it, though it starts in column 0.
_CONTINUES = re.compile(r"(else|elif|except|finally)\b|[)\]}]")


def _top_level_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """``[start, end)`` line ranges of a file's top-level statements, as far as column 0 tells: a block starts
    at a line that begins in column 0 (not a continuation, not a decorated definition's ``def``)."""
    starts = [0]
    decorated = False
    for i, line in enumerate(lines):
        if not line.strip() or line[0].isspace():
            continue
        if i and not decorated and not _CONTINUES.match(line):
            starts.append(i)
        decorated = line.startswith("@")
    return [(a, b) for a, b in zip(starts, [*starts[1:], len(lines)]) if a < b]


def _lines(a: int, b: int) -> str:
    return f"line {b} was" if b == a + 1 else f"lines {a + 1}-{b} were"


def _python_file_cells(code: str, name: str) -> tuple[list[Cell], list[str]] | None:
    """A ``.py`` file that does not parse as a whole, run as a notebook's cells would be: each top-level
    statement that does not parse (a Python 2 ``print`` in a course's starter code, say) is left out and
    reported, and the rest runs, in runs of consecutive statements that keep their line numbers.
    ``None`` when no such cut makes the rest parse."""
    lines = code.splitlines(keepends=True)
    blocks = _top_level_blocks(lines)
    kept, problems = [True] * len(blocks), []
    for _ in range(min(len(blocks), MAX_SKIPPED_STATEMENTS + 1)):
        text = "".join(("\n" * (b - a)) if not k else "".join(lines[a:b]) for (a, b), k in zip(blocks, kept))
        try:
            ast.parse(text, filename=name)
            break
        except SyntaxError as e:
            at = next((j for j, (a, b) in enumerate(blocks) if kept[j] and a < (e.lineno or 0) <= b), None)
            if at is None:
                return None
            kept[at] = False
            a, b = blocks[at]
            shown = (e.text or "").rstrip()
            problems.append(f"syntax error in {name}, line {e.lineno}: {e.msg}" + (f"\n    {shown}" if shown else "")
                            + f"\n    ({_lines(a, b)} skipped; the rest of the file was run)")
        except (ValueError, RecursionError, MemoryError):
            return None
    else:
        return None
    cells, run = [], []
    for (a, b), k in [*zip(blocks, kept), ((len(lines), len(lines)), False)]:
        if k:
            run.append((a, b))
        elif run:
            first, last = run[0][0], run[-1][1]
            source = "\n" * first + "".join(lines[first:last])  # line numbers as in the file
            if _syntax_problem(source, name):
                return None
            cells.append(Cell(f"{name}, lines {first + 1}-{last}", source))
            run = []
    return cells, problems


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise SubmissionError(
            f"{path.name} is not UTF-8 text: byte 0x{raw[e.start]:02x} at offset {e.start} "
            f"(line {line}). Save the file as UTF-8."
        ) from None


def _notebook_cells(text: str, path: Path) -> list[tuple[str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SubmissionError(
            f"{path.name} is not a notebook: it is not valid JSON ({e.msg} at line {e.lineno}, "
            f"column {e.colno}). Was it saved from Jupyter?"
        ) from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (no 'nbformat' field).")
    if data.get("nbformat") == 4:
        nb = data  # read as is: only the code cells' sources matter, and they are checked below
    else:
        import nbformat  # nbformat 3 and older: convert as Jupyter does (importing it is slow: only then)

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                nb = nbformat.reads(text, as_version=4)
        except Exception as e:  # nbformat raises many kinds on malformed notebooks
            raise SubmissionError(f"{path.name} is not a readable notebook: {type(e).__name__}: {e}") from None
    if not isinstance(nb.get("cells", []), list):
        raise SubmissionError(f"{path.name} is not a readable notebook: its 'cells' are not a list.")
    cells = []
    number = 0
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        cells.append((f"code cell {number}", str(source)))  # counted as Jupyter would not: code cells only
    return cells


SUFFIXES = (".ipynb", ".py")


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _too_big(name: str, size: int) -> SubmissionError:
    return SubmissionError(
        f"{name} is {size / 2**20:.0f} MiB, over the {MAX_SUBMISSION_BYTES >> 20} MiB limit "
        "(clear the notebook's outputs before submitting)."
    )


def _refused(name: str, why: str) -> SubmissionError:
    hint = "submit the file itself, not a link to it" if "link" in why or "outside" in why else \
        "a submission is a regular file"
    return SubmissionError(f"{name} is refused: {why}; {hint}.")


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
    | getattr(os, "O_BINARY", 0)


def _open_below(folder: Path, parts: tuple[str, ...]) -> int:
    """Open ``folder/parts...`` for reading, following no symbolic link below ``folder`` (race-free where
    the platform can: each folder is opened relative to the one above it, with ``O_NOFOLLOW``)."""
    if not (_NOFOLLOW and os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")):
        return os.open(folder.joinpath(*parts), _FILE_FLAGS)
    dir_flags = os.O_RDONLY | os.O_DIRECTORY
    fd = os.open(folder, dir_flags)  # the folder given may itself be a link: that is the instructor's choice
    try:
        for part in parts[:-1]:
            below = os.open(part, dir_flags | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = below
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


def read_submission_bytes(path: str | Path, folder: str | Path | None = None) -> bytes:
    """The bytes of the submission ``path`` inside the submission folder ``folder`` (default: its own
    folder), or :class:`SubmissionError` saying why it is refused or unreadable.

    Refused, before anything is read: a symbolic link (the file, or any folder between ``folder`` and
    it), a folder, FIFO, socket or device, a path that resolves outside ``folder``, and a file over
    :data:`MAX_SUBMISSION_BYTES`. The file is opened with ``O_NOFOLLOW`` and checked again on the
    opened descriptor, so a file swapped for a link meanwhile is refused too.
    """
    path = Path(path)
    folder = Path(folder) if folder is not None else path.parent
    name = path.name
    rel = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(folder)))
    if not rel.parts or rel.parts[0] == os.pardir:
        raise SubmissionError(f"{name} is refused: it is not inside the submission folder {folder}.")
    path = folder.joinpath(*rel.parts)  # what is checked is what is opened (no "link/.." in between)
    try:
        below = folder
        for part in rel.parts[:-1]:
            below = below / part
            st = os.lstat(below)
            if not stat.S_ISDIR(st.st_mode):
                where = below.relative_to(folder).as_posix()
                raise _refused(name, f"the folder {where!r} it is in is {_kind(st.st_mode)}")
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise _refused(name, f"it is {_kind(st.st_mode)}")
        real, top = os.path.realpath(path), os.path.realpath(folder)
        if os.path.commonpath([real, top]) != top:
            raise _refused(name, "it resolves to a file outside the submission folder")
        if st.st_size > MAX_SUBMISSION_BYTES:
            raise _too_big(name, st.st_size)
        try:
            fd = _open_below(folder, rel.parts)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):  # a link appeared since it was looked at
                raise _refused(name, "it (or a folder it is in) became a symbolic link") from None
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _refused(name, f"it is {_kind(st.st_mode)}")
            if st.st_size > MAX_SUBMISSION_BYTES:
                raise _too_big(name, st.st_size)
            chunks, size = [], 0
            while size <= MAX_SUBMISSION_BYTES:
                chunk = os.read(fd, min(1 << 20, MAX_SUBMISSION_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > MAX_SUBMISSION_BYTES:
                raise _too_big(name, size)
            return b"".join(chunks)
        finally:
            os.close(fd)
    except OSError as e:
        raise SubmissionError(f"{name} cannot be read: {e.strerror}") from None


def submission_files(folder: str | Path, hidden: bool = True, links: list[Path] | None = None) -> list[Path]:
    """The candidate submission files below ``folder``, sorted, without following symbolic links to
    folders (those are appended to ``links`` when given). A link, FIFO or device with a submission's
    suffix is listed too, so that it is refused with the reason (:func:`read_submission_bytes`) rather
    than silently left out. ``hidden=False`` leaves out names that start with a dot;
    ``.ipynb_checkpoints`` is always left out."""
    found: list[Path] = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        kept = []
        for d in dirs:
            if d == ".ipynb_checkpoints" or (not hidden and d.startswith(".")):
                continue
            if os.path.islink(os.path.join(top, d)):
                if links is not None:
                    links.append(Path(top, d))
                continue
            kept.append(d)
        dirs[:] = kept
        found += [Path(top, f) for f in files if os.path.splitext(f)[1] in SUFFIXES
                  and (hidden or not f.startswith("."))]
    return sorted(found)


def read_submission(path: str | Path, folder: str | Path | None = None) -> Submission:
    """Read ``path`` (``.ipynb`` or ``.py``) into code cells, or raise :class:`SubmissionError`.

    ``folder``: the submission folder it was found in (default: its own); see :func:`read_submission_bytes`.
    """
    path = Path(path)
    raw = read_submission_bytes(path, folder)
    text = _decode(raw, path)
    if path.suffix == ".ipynb":
        pieces = _notebook_cells(text, path)
    elif path.suffix == ".py":
        pieces = [(path.name, text)]
    else:
        raise SubmissionError(f"{path.name}: a submission is a .ipynb notebook or a .py file.")

    submission = Submission(path=path, cells=[], sha256=hashlib.sha256(raw).hexdigest())
    for label, source in pieces:
        code = _strip_magics(source)
        if code is None:
            submission.problems.append(f"{label}: a cell magic that is not Python; skipped")
            continue
        problem = _syntax_problem(code, label)
        if problem:
            if path.suffix == ".py":
                parts = _python_file_cells(code, label)
                if parts is None or not parts[0]:
                    raise SubmissionError(f"syntax error in {problem}")
                submission.cells += parts[0]
                submission.problems += parts[1]
                continue
            submission.problems.append(f"syntax error in {problem}\n    (the cell was skipped)")
            continue
        if code.strip():
            submission.cells.append(Cell(label, code))
    if not submission.cells and not submission.problems:
        submission.problems.append(f"{path.name} has no code")
    return submission
