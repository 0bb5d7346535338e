"""The grader's folder for what it keeps between runs on this machine (instance lists, Hypothesis' files).

``$BPTT_GRADER_CACHE`` names it (``off``, ``0``, ``no``, ``false``, ``none`` or empty: nothing is kept on
disk); else ``$XDG_CACHE_HOME/bptt-grader``, else ``~/.cache/bptt-grader``.
"""

from __future__ import annotations

import os
from pathlib import Path

_OFF = {"off", "0", "no", "false", "none"}


def off() -> bool:
    """Whether the user turned the disk cache off."""
    env = os.environ.get("BPTT_GRADER_CACHE")
    return env is not None and (env.strip().lower() in _OFF or not env.strip())


def folder() -> Path | None:
    """Where the grader keeps things on disk, or ``None`` when that is off (or there is no home folder)."""
    env = os.environ.get("BPTT_GRADER_CACHE")
    if env is not None:
        return None if off() else Path(env).expanduser()
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:  # no home folder (a user without one): this process only
        return None
    return Path(base) / "bptt-grader"
