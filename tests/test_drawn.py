"""Remembered instances (grader.drawn): kept exactly, keyed by what they depend on, never trusted blindly."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from grader import drawn, grading, search, wire
from grader.answers import instance_key
from grader.assignments import NAMES, get

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir()
    monkeypatch.setenv("BPTT_GRADER_CACHE", str(tmp_path / "cache"))
    drawn.forget()
    yield tmp_path / "cache"
    drawn.forget()


def _passing_list(question, examples: int = 12) -> list:
    return search.draw_passing(question, examples)


def _same_instance(a, b) -> bool:
    return instance_key(a) == instance_key(b) and a.sizes == b.sizes and all(
        np.array_equal(a.context[k], b.context[k]) for k in a.context)


@pytest.mark.parametrize("name", ["trask", "britz", "goodfellow", "martens", "cache"])
def test_a_list_comes_back_from_disk_exactly(cache_dir, name):
    q = get(name).questions[-1]
    instances = _passing_list(q)
    drawn.remember(q, 12, instances)
    drawn.forget()  # a new process: only the file
    back = drawn.remembered(q, 12)
    assert back is not None and len(back) == len(instances)
    for a, b in zip(instances, back):
        assert _same_instance(a, b)
        assert [type(x) for x in a.args] == [type(x) for x in b.args]  # a list of labels stays a list


def test_other_examples_or_a_changed_assignment_miss(cache_dir, monkeypatch):
    q = get("britz").question("delta_t")
    drawn.remember(q, 12, _passing_list(q))
    drawn.forget()
    assert drawn.remembered(q, 13) is None
    assert drawn.remembered(q, 12) is not None
    before = drawn.fingerprint(q, 12)
    drawn.forget()
    # the source of the assignment module is part of the key: an edited strategy draws anew
    module_file = sys.modules[q.instances.__module__].__file__
    real = drawn._file_digest(module_file)
    drawn._file_digest.cache_clear()
    monkeypatch.setattr(drawn, "_file_digest", lambda p: b"edited" if p == module_file else real)
    assert drawn.fingerprint(q, 12) != before
    assert drawn.remembered(q, 12) is None


def test_a_damaged_or_foreign_file_is_ignored(cache_dir):
    q = get("britz").question("delta_t")
    drawn.remember(q, 12, _passing_list(q))
    (path,) = cache_dir.glob("*.drawn")
    for damage in (b"", b"garbage" * 10, path.read_bytes()[:-7]):
        path.write_bytes(damage)
        drawn.forget()
        assert drawn.remembered(q, 12) is None
    # a well-formed file under another fingerprint (written for other sources or versions)
    drawn.remember(q, 12, _passing_list(q))
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header["fingerprint"] = "0" * 64
    new = json.dumps(header).encode()
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n:])
    drawn.forget()
    assert drawn.remembered(q, 12) is None


def test_off_keeps_nothing_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("BPTT_GRADER_CACHE", "off")
    assert drawn.folder() is None
    q = get("britz").question("delta_t")
    drawn.forget()
    drawn.remember(q, 12, _passing_list(q))
    assert drawn.remembered(q, 12) is not None  # this process only
    monkeypatch.delenv("BPTT_GRADER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert drawn.folder() == tmp_path / "bptt-grader"
    drawn.forget()


def test_no_home_folder_only_loses_the_disk_copy(monkeypatch):
    monkeypatch.delenv("BPTT_GRADER_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(drawn.Path, "home", staticmethod(no_home))
    assert drawn.folder() is None


def test_an_unwritable_folder_only_loses_the_disk_copy(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BPTT_GRADER_CACHE", str(blocker / "sub"))
    q = get("britz").question("delta_t")
    drawn.forget()
    drawn.remember(q, 12, _passing_list(q))  # no exception
    assert drawn.remembered(q, 12) is not None
    drawn.forget()


def test_a_wrong_function_fails_on_remembered_instances_as_on_drawn_ones(cache_dir):
    """The list is not trusted to pass: a failure on it runs the search, and the result is the search's."""
    q = get("britz").question("delta_t")

    def judge(inst):  # wrong whenever H >= 2 (a bug the list's instances expose)
        return "wrong" if inst.sizes["H"] >= 2 else None

    fresh = search.search(q.instances(), judge, q.examples)
    passing = grading._Checking(q, None, _NoFatal(), None, q.examples, {})
    assert grading._search_derivative(passing, lambda i: None) is None  # remembered
    assert len(passing.drawn) == q.examples  # the whole list, judged
    drawn.forget()
    again = grading._search_derivative(grading._Checking(q, None, _NoFatal(), None, q.examples, {}), judge)
    assert fresh is not None and again is not None
    assert instance_key(again[0]) == instance_key(fresh[0]) and again[1] == fresh[1]


class _NoFatal:
    """A memo whose calls never hang (what _search_derivative asks when a remembered instance fails)."""

    def send_ahead(self, instances):
        pass

    def student(self, inst):
        class _Out:
            fatal, value = False, None
        return _Out()

    def truth(self, inst):
        return None


def test_a_correct_submission_with_shipped_or_remembered_instances_never_imports_hypothesis(tmp_path):
    """A machine's first grading of a bundled assignment draws nothing (the shipped lists); with them
    off (``BPTT_GRADER_CACHE=off``) Hypothesis draws them, and the score is the same."""
    code = ("import sys\nfrom grader.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('HYPOTHESIS', 'hypothesis' in sys.modules)\n")
    args = ["grade", "martens", str(ROOT / "solutions/examples/martens/correct.ipynb"), "--out", str(tmp_path / "o"),
            "--jobs", "1", "--sandbox", "none", "--solutions", str(ROOT / "solutions")]
    runs, scores = [], []
    for cache in (str(tmp_path / "empty"), "off"):
        env = dict(os.environ, BPTT_GRADER_CACHE=cache)
        runs.append(subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                                   cwd=tmp_path, timeout=300))
        assert runs[-1].returncode == 0, runs[-1].stdout + runs[-1].stderr
        scores.append(json.loads((tmp_path / "o" / "correct.json").read_text())["score"])
        (tmp_path / "o" / "correct.json").unlink()
    assert "HYPOTHESIS False" in runs[0].stdout, runs[0].stdout + runs[0].stderr
    assert not (tmp_path / "empty").exists()  # nothing drawn, so nothing written
    assert "HYPOTHESIS True" in runs[1].stdout  # drawn afresh
    assert scores == [4, 4]


# -- the lists shipped with the grader ------------------------------------------------------------------

_QUESTIONS = [(name, q.function) for name in NAMES for q in get(name).questions]


@pytest.mark.parametrize(("name", "function"), _QUESTIONS)
def test_every_bundled_question_ships_a_current_list(name, function):
    """Stale lists are not wrong (they are not used), but every machine would draw again: after
    changing the strategies, the search or an assignment, run ``python -m grader.drawn``."""
    q = get(name).question(function)
    path = drawn.shipped_path(q, q.examples)
    assert path.is_file(), f"{path.name} is missing: run python -m grader.drawn"
    fresh = drawn._read(path, drawn.fingerprint(q, q.examples, portable=True), compressed=True)
    assert fresh is not None, f"{path.name} was drawn from other sources: run python -m grader.drawn {name}"
    assert len(fresh) == q.examples


@pytest.mark.parametrize("name", NAMES)
def test_the_shipped_lists_are_what_hypothesis_draws(name):
    """Drawn again with the Hypothesis that drew them, they are the same instances in the same order."""
    import hypothesis

    for q in get(name).questions:
        path = drawn.shipped_path(q, q.examples)
        header, _ = wire.read_message(io.BytesIO(zlib.decompress(path.read_bytes())))
        if header["hypothesis"] != hypothesis.__version__:
            pytest.skip(f"shipped lists drawn by Hypothesis {header['hypothesis']}, {hypothesis.__version__} here")
        shipped = drawn._read(path, drawn.fingerprint(q, q.examples, portable=True), compressed=True)
        again = _passing_list(q, q.examples)
        assert len(shipped) == len(again)
        for a, b in zip(again, shipped):
            assert _same_instance(a, b) and a.sizes == b.sizes


def test_a_shipped_list_is_used_only_while_its_sources_are_unchanged(cache_dir, monkeypatch):
    q = get("britz").question("delta_t")
    assert drawn.remembered(q, q.examples) is not None  # shipped: nothing drawn on this machine
    assert not list(cache_dir.iterdir())
    module_file = sys.modules[q.instances.__module__].__file__
    real = drawn._file_digest
    monkeypatch.setattr(drawn, "_file_digest", lambda p: b"edited" if p == module_file else real(p))
    drawn.forget()
    assert drawn.remembered(q, q.examples) is None  # the edited assignment's instances are drawn
    monkeypatch.undo()
    monkeypatch.setenv("BPTT_GRADER_CACHE", "off")
    drawn.forget()
    assert drawn.remembered(q, q.examples) is None  # off: everything is drawn afresh


def test_a_damaged_shipped_list_is_ignored(cache_dir, tmp_path, monkeypatch):
    q = get("britz").question("delta_t")
    original = drawn.shipped_path(q, q.examples).read_bytes()
    monkeypatch.setattr(drawn, "SHIPPED", tmp_path / "shipped")
    (tmp_path / "shipped").mkdir()
    path = drawn.shipped_path(q, q.examples)
    for damage in (b"", b"garbage", original[:-9], zlib.compress(b"garbage")):
        path.write_bytes(damage)
        drawn.forget()
        assert drawn.remembered(q, q.examples) is None
    path.write_bytes(original)
    drawn.forget()
    assert drawn.remembered(q, q.examples) is not None


def test_the_key_follows_the_search_function_not_the_rest_of_its_module(monkeypatch):
    """A derandomized search's draws depend on its settings and its probe's source (in ``search``)."""
    from grader import search as grader_search

    q = get("britz").question("delta_t")
    before = drawn.fingerprint(q, q.examples, portable=True)

    def search(strategy, judge, examples, generated=None):  # another search: other settings, another probe
        return None

    monkeypatch.setattr(grader_search, "search", search)
    drawn._sources.cache_clear()
    try:
        assert drawn.fingerprint(q, q.examples, portable=True) != before
    finally:
        monkeypatch.undo()
        drawn._sources.cache_clear()
    assert drawn.fingerprint(q, q.examples, portable=True) == before


# -- Hypothesis' own files ----------------------------------------------------------------------------

SEARCH_HERE = """
import helper  # a module of this folder: Hypothesis collects the constants of local code, and caches them
from grader import search
from grader.assignments import get
q = get("britz").question("delta_t_prev")
assert search.search(q.instances(), lambda inst: None, 40) is None
"""


def _search_in(folder: Path, **env: str) -> None:
    base = {k: v for k, v in os.environ.items() if k != search.HYPOTHESIS_STORAGE}
    proc = subprocess.run([sys.executable, "-c", SEARCH_HERE], cwd=folder, env={**base, **env},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_search_leaves_no_hypothesis_folder_where_it_runs(tmp_path):
    """Hypothesis writes a cache of the constants it finds in local code (``.hypothesis/constants``) when a
    search draws: into the grader's cache folder, never the current one (a student's repository)."""
    here = tmp_path / "student"
    here.mkdir()
    (here / "helper.py").write_text("LIMIT = 12345\nNAME = 'some text'\n")
    _search_in(here, BPTT_GRADER_CACHE=str(tmp_path / "cache"))
    assert sorted(p.name for p in here.iterdir() if p.name != "__pycache__") == ["helper.py"]
    assert any((tmp_path / "cache" / "hypothesis" / "constants").iterdir())
    # a user's own storage folder is kept
    _search_in(here, BPTT_GRADER_CACHE=str(tmp_path / "cache2"), HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / "mine"))
    assert any((tmp_path / "mine" / "constants").iterdir()) and not (tmp_path / "cache2" / "hypothesis").exists()
    assert not (here / ".hypothesis").exists()


def test_without_a_cache_folder_hypothesis_writes_in_a_temporary_one(monkeypatch):
    import tempfile

    monkeypatch.setenv("BPTT_GRADER_CACHE", "off")
    assert search.hypothesis_storage().parent.parent == Path(tempfile.gettempdir())
    monkeypatch.setenv("BPTT_GRADER_CACHE", "/somewhere/cache")
    assert search.hypothesis_storage() == Path("/somewhere/cache/hypothesis")
