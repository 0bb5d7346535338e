"""The assignments, by name: the bundled ones, and a course's own. Each module defines ``ASSIGNMENT``
(see :mod:`grader.questions`, and :mod:`grader.authoring` for a course's).

A *course folder* holds a course's assignments, one folder each, outside the installed package::

    <course>/<name>/assignment.py              the public part: forward pass, questions, strategies
    <course>/<name>/<name>.ipynb               the student notebook
    <course>/solutions/<name>/reference.py     the instructor's part (never given to students)
    <course>/solutions/<name>/misconceptions.py

Course folders are found, first found first: those added by :func:`add_courses` (``--assignments DIR``
on every command), those in ``$BPTT_GRADER_ASSIGNMENTS`` (separated by ``os.pathsep``), those listed
in a ``bptt-course.toml`` in the current folder (``assignments = ["path", ...]``, relative to it).
:func:`get` looks in them, then among the bundled assignments; last, when the current folder is
itself an assignment's public folder (it holds ``assignment.py``: a student's copy, where the
notebook's ``check`` runs), the assignment of that name. Nothing of a course folder is needed by the
sandboxed worker, which runs only the student's code.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing the declarations imports Hypothesis: only when an assignment is asked for
    from collections.abc import Sequence

    from grader.questions import Assignment

#: In teaching order. Adding an assignment: a module here and its name in this tuple.
NAMES = ("trask", "britz", "goodfellow", "martens", "cache")

#: The assignments with a behaviour run in a second worker (``Behaviour.parallel``), known without
#: importing them (and numpy), so that ``bptt-grader`` can start both workers at once, first thing.
#: ``tests/test_grading.py`` checks it against the declarations.
TWO_WORKERS = frozenset({"trask"})


ENV_VAR = "BPTT_GRADER_ASSIGNMENTS"
COURSE_FILE = "bptt-course.toml"
PUBLIC_MODULE = "assignment.py"
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")

_added: list[Path] = []
_loaded: dict[Path, ModuleType] = {}


class UnknownAssignment(KeyError):
    def __str__(self) -> str:
        try:
            known = names()
        except CourseError:
            known = NAMES
        meant = _close(str(self.args[0]), known)
        hint = f" (did you mean {meant}?)" if meant else ""
        return (f"unknown assignment {self.args[0]!r}{hint}; the assignments are: {', '.join(known)}. A course's "
                f"own assignment is found in a course folder (--assignments DIR, ${ENV_VAR}, ./{COURSE_FILE}) or, "
                f"for a student's copy, in the folder that holds its {PUBLIC_MODULE} (the current one, or the "
                "checked notebook's)")


def _close(name: str, known: Sequence[str]) -> str | None:
    """The known name ``name`` most likely misspells: the same but for case, else the closest (difflib)."""
    import difflib

    same = [k for k in known if k.lower() == name.lower()]
    found = same or difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.7)
    return found[0] if found else None


class CourseError(Exception):
    """A course folder or a course assignment that cannot be used; the message says which and why."""


def valid_name(name: str) -> bool:
    """Whether ``name`` can name an assignment: lower-case letters, digits and ``_``, starting with a letter."""
    return bool(_NAME.match(name))


def add_courses(*folders: str | os.PathLike) -> None:
    """Look for assignments in these course folders first (``--assignments DIR``).

    Also put in ``$BPTT_GRADER_ASSIGNMENTS``, so that the grader's own processes (a batch's
    workers) find them too.
    """
    paths = []
    for folder in folders:
        path = Path(folder).expanduser().resolve()
        if not path.is_dir():
            raise CourseError(f"--assignments names {path}, which is not a folder")
        paths.append(path)
    if not paths:
        return
    _added[:0] = [p for p in paths if p not in _added]
    listed = [p for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    os.environ[ENV_VAR] = os.pathsep.join([*(str(p) for p in paths), *(p for p in listed if p not in map(str, paths))])


def _toml(path: Path) -> dict[str, Any]:
    """``bptt-course.toml``: tomllib (Python 3.11+), else tomli if installed, else the one form it needs."""
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib as toml
    except ImportError:
        try:
            import tomli as toml  # type: ignore[no-redef]
        except ImportError:
            toml = None  # type: ignore[assignment]
    if toml is not None:
        try:
            return toml.loads(text)
        except ValueError as e:  # tomllib.TOMLDecodeError
            raise CourseError(f"{path}: {e}") from None
    found = re.search(r"^\s*assignments\s*=\s*\[(.*?)\]", re.sub(r"#[^\n\"']*", "", text), flags=re.M | re.S)
    return {"assignments": re.findall(r"\"([^\"]*)\"|'([^']*)'", found.group(1)) if found else []}


def course_folders() -> list[Path]:
    """The course folders, in the order they are searched (see the module notes)."""
    out: list[Path] = list(_added)
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            path = Path(entry).expanduser().resolve()
            if not path.is_dir():
                raise CourseError(f"{ENV_VAR} names {path}, which is not a folder")
            out.append(path)
    config = Path.cwd() / COURSE_FILE
    if config.is_file():
        listed = _toml(config).get("assignments", [])
        if isinstance(listed, str) or not isinstance(listed, list):
            listed = [listed]
        for entry in listed:
            entry = "".join(entry) if isinstance(entry, tuple) else entry  # the fallback parser's matches
            if not isinstance(entry, str):
                raise CourseError(f"{config}: assignments lists folders as strings, not {entry!r}")
            path = (config.parent / entry).expanduser().resolve()
            if not path.is_dir():
                raise CourseError(f"{config} names {path}, which is not a folder")
            out.append(path)
    return list(dict.fromkeys(out))


def course_assignments() -> dict[str, Path]:
    """Each course assignment's name, with its public module (``<course>/<name>/assignment.py``)."""
    found: dict[str, Path] = {}
    for folder in course_folders():
        for module_path in sorted(folder.glob(f"*/{PUBLIC_MODULE}")):
            name = module_path.parent.name
            if valid_name(name) and name != "solutions":
                found.setdefault(name, module_path)
    return found


_student_folders: list[Path] = []


def add_student_folder(folder: str | os.PathLike) -> None:
    """Also look for a student's copy of a public folder here (the folder of the notebook being checked)."""
    path = Path(folder).expanduser().resolve()
    if path not in _student_folders:
        _student_folders.append(path)


def declared_name(module_path: Path) -> str | None:
    """The name a public module gives its assignment (``Assignment("name", ...)``), read without running it."""
    import ast

    try:
        tree = ast.parse(module_path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Assignment":
            named = [k.value for k in node.keywords if k.arg == "name"] + node.args[:1]
            if named and isinstance(named[0], ast.Constant) and isinstance(named[0].value, str):
                return named[0].value
    return None


def _here() -> dict[str, Path]:
    """The assignment of a student's copy of a public folder: the current folder, or the checked notebook's,
    when it holds ``assignment.py``. Known by the name the module declares, so a copy renamed ``gru-alice/``
    or ``hw3 (1)/`` (as GitHub Classroom, a zip or a download names it) is still ``gru``."""
    found: dict[str, Path] = {}
    for folder in [Path.cwd(), *_student_folders]:
        module_path = folder / PUBLIC_MODULE
        if not module_path.is_file():
            continue
        name = declared_name(module_path) or folder.name
        if valid_name(name):
            found.setdefault(name, module_path)
    return found


def names() -> tuple[str, ...]:
    """Every assignment that can be asked for: the bundled ones, then the courses' (course folders' order)."""
    course = course_assignments()
    return (*NAMES, *(n for n in course if n not in NAMES), *(n for n in _here() if n not in NAMES and n not in course))


def _public_module(name: str) -> Path | None:
    """The public module of a course assignment ``name``, or ``None`` for a bundled one."""
    course = course_assignments()
    if name in course:
        return course[name]
    if name in NAMES:
        return None
    here = _here()
    if name in here:
        return here[name]
    raise UnknownAssignment(name)


def course_of(name: str) -> Path | None:
    """The course folder of a course assignment, ``None`` for a bundled one."""
    path = _public_module(name)
    return None if path is None else path.parent.parent


def solutions_for(name: str) -> Path | None:
    """A course assignment's solutions folder, ``<course>/solutions``, when it has ``<name>/reference.py``."""
    course = course_of(name)
    if course is None or not (course / "solutions" / name / "reference.py").is_file():
        return None
    return course / "solutions"


def _load(name: str, path: Path) -> ModuleType:
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    # a name of its own per file (two courses may have assignments of one name); the last part is the assignment's,
    # which names its instance lists (grader.drawn)
    module_name = f"bptt_course_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}.{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise CourseError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and the instance lists look modules up by name
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(module_name, None)
        import traceback

        where = traceback.extract_tb(e.__traceback__)[-1]
        raise CourseError(f"{path} failed to load: {type(e).__name__}: {e} "
                          f"({Path(where.filename).name}, line {where.lineno})") from e
    from grader.questions import Assignment

    declared = getattr(module, "ASSIGNMENT", None)
    if not isinstance(declared, Assignment):
        raise CourseError(f"{path} declares no ASSIGNMENT (an Assignment: see grader.authoring)")
    if declared.name != name:
        raise CourseError(f"{path} declares the assignment {declared.name!r}; in the folder {name}/ it must be "
                          f"named {name!r}")
    _loaded[path] = module
    return module


def module(name: str) -> ModuleType:
    """The module that declares the assignment ``name`` (a bundled module, or a course's ``assignment.py``)."""
    path = _public_module(name)
    if path is None:
        return importlib.import_module(f"grader.assignments.{name}")
    return _load(name, path)


def get(name: str) -> Assignment:
    """The assignment called ``name``: a course's (course folders first), else a bundled one."""
    return module(name).ASSIGNMENT
