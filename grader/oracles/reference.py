"""The reference oracle: the instructor's solutions, loaded by path, only to grade.

``solutions/<assignment>/reference.py`` and ``misconceptions.py`` are plain
modules loaded from a folder the instructor names (``--solutions DIR``, then
``$BPTT_GRADER_SOLUTIONS``, then ``./solutions``). They run in the grader's
own process: they are trusted, and student code never sees them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from grader.diagnose import Mistake
from grader.target import LocalTarget

ENV_VAR = "BPTT_GRADER_SOLUTIONS"


class SolutionsNotFound(FileNotFoundError):
    pass


@dataclass
class Solutions:
    """An assignment's reference solution (as a target) and catalogue of mistakes."""

    reference: LocalTarget
    mistakes: list[Mistake]
    folder: Path


def solutions_dir(explicit: str | os.PathLike | None = None) -> Path:
    """``--solutions DIR``, else ``$BPTT_GRADER_SOLUTIONS``, else ``./solutions``."""
    for candidate, how in ((explicit, "--solutions"), (os.environ.get(ENV_VAR), ENV_VAR), ("solutions", "./solutions")):
        if candidate:
            path = Path(candidate).expanduser().resolve()
            if path.is_dir():
                return path
            if how != "./solutions":
                raise SolutionsNotFound(f"{how} names {path}, which is not a folder")
    raise SolutionsNotFound("no solutions folder: pass --solutions DIR, set BPTT_GRADER_SOLUTIONS, "
                            "or run from a folder that has solutions/")


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SolutionsNotFound(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


def load_solutions(assignment: str, folder: Path) -> Solutions:
    """Load ``folder/<assignment>/reference.py`` and its ``misconceptions.py`` (optional)."""
    base = folder / assignment
    ref_path = base / "reference.py"
    if not ref_path.is_file():
        raise SolutionsNotFound(f"no reference solution at {ref_path}")
    ref = _load_module(ref_path, f"_bptt_solutions_{assignment}_reference")
    functions = {k: v for k, v in vars(ref).items() if callable(v) and not k.startswith("_")}
    mistakes: list[Mistake] = []
    cat_path = base / "misconceptions.py"
    if cat_path.is_file():
        cat = _load_module(cat_path, f"_bptt_solutions_{assignment}_misconceptions")
        mistakes = [v for v in vars(cat).values() if isinstance(v, Mistake)]
    # the reference's answers alone are wanted: no watch for changed arguments or shared memory
    return Solutions(LocalTarget(functions, watch=False), mistakes, folder)
