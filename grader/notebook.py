"""Read a submission (a notebook or a Python file) into runnable code cells.

Nothing here runs student code: the grader only parses it (``ast.parse``) to
say exactly which cell and line a syntax error is on. Outputs stored in a
notebook are never code and are dropped unread.
"""

from __future__ import annotations

import ast
import json
import re
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
        import nbformat  # nbformat 3 and older: convert as Jupyter does (importing it costs 0.1 s)

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


def read_submission(path: str | Path) -> Submission:
    """Read ``path`` (``.ipynb`` or ``.py``) into code cells, or raise :class:`SubmissionError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            raise SubmissionError(
                f"{path.name} is {size / 2**20:.0f} MiB, over the {MAX_SUBMISSION_BYTES >> 20} MiB limit "
                "(clear the notebook's outputs before submitting)."
            )
        raw = path.read_bytes()
    except OSError as e:
        raise SubmissionError(f"{path.name} cannot be read: {e.strerror}") from None
    text = _decode(raw, path)
    if path.suffix == ".ipynb":
        pieces = _notebook_cells(text, path)
    elif path.suffix == ".py":
        pieces = [(path.name, text)]
    else:
        raise SubmissionError(f"{path.name}: a submission is a .ipynb notebook or a .py file.")

    submission = Submission(path=path, cells=[])
    for label, source in pieces:
        code = _strip_magics(source)
        if code is None:
            submission.problems.append(f"{label}: a cell magic that is not Python; skipped")
            continue
        problem = _syntax_problem(code, label)
        if problem:
            if path.suffix == ".py":
                raise SubmissionError(f"syntax error in {problem}")
            submission.problems.append(f"syntax error in {problem}\n    (the cell was skipped)")
            continue
        if code.strip():
            submission.cells.append(Cell(label, code))
    if not submission.cells and not submission.problems:
        submission.problems.append(f"{path.name} has no code")
    return submission
