"""Shared fixtures: the repository's solutions, and Hypothesis settings for the grader's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"

# The grader's own property tests: reproducible, no example database written.
settings.register_profile("grader-tests", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("grader-tests")


@pytest.fixture(scope="session")
def solutions_dir() -> Path:
    return SOLUTIONS


@pytest.fixture(scope="session")
def load():
    """Load an assignment's solutions (reference target and catalogue), cached per session."""
    from grader.oracles.reference import load_solutions

    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = load_solutions(name, SOLUTIONS)
        return cache[name]

    return get


@pytest.fixture(scope="session", autouse=True)
def _own_instance_cache(tmp_path_factory):
    """Remembered instances (grader.drawn) in a folder of this run, not the user's cache: every run
    starts cold, and the graders the tests start (subprocesses included) fill and reuse it."""
    import os

    old = os.environ.get("BPTT_GRADER_CACHE")
    os.environ["BPTT_GRADER_CACHE"] = str(tmp_path_factory.mktemp("drawn"))
    yield
    if old is None:
        os.environ.pop("BPTT_GRADER_CACHE", None)
    else:
        os.environ["BPTT_GRADER_CACHE"] = old


@pytest.fixture
def no_shipped_lists(tmp_path_factory, monkeypatch):
    """No instance lists shipped with the grader (grader.drawn.SHIPPED): they are drawn, as for an
    assignment whose sources changed since its lists were shipped."""
    from grader import drawn

    monkeypatch.setattr(drawn, "SHIPPED", tmp_path_factory.mktemp("none-shipped"))
    drawn.forget()
    yield
    drawn.forget()
