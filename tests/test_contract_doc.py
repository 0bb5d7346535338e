"""docs/contract.md against the grader's declarations, and nothing in the repository points outside it.

The page's layout, which these tests read:

* one section per assignment, in teaching order, headed ``## `name`: title`` and holding the
  line ``Total: N points.``;
* in it, one subsection per graded function, in the declared order, headed ``### `signature```:
  the call the grader makes, ``name(arg1, arg2, ...)``, with the declared argument names in the
  declared order (:attr:`Question.signature`) and a default as Python writes it,
  ``bptt_truncate=4`` (the declarations have no defaults: they are the reference solution's);
  a function called through others (a backward on its forward's cache) is headed by its own call,
  ``rnn_step_backward(dnext_h, cache)``, and its subsection writes out each call the grader makes;
* in each subsection the line ``Points: N.``, or for a function with behaviours
  ``Points: N = P (derivative, reference and contract checks) + B (*behaviour name*).``; and the
  parts of a tuple result as ``the tuple `(part1, part2, ...)```, of a dict result as
  ``exactly the keys `"key1"`, `"key2"`, ...``.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import subprocess
from functools import cache
from types import ModuleType
from typing import Any

import pytest
from conftest import ROOT, SOLUTIONS
from hypothesis import Phase, find, settings

from grader.assignments import NAMES, get
from grader.questions import Question

DOC = ROOT / "docs" / "contract.md"
#: Written in two pieces, so that this file does not contain what it looks for.
OUTSIDE = ("../" + "shared", "shared" + "/spec")
ONE_DRAW = settings(phases=[Phase.generate], max_examples=1, database=None, derandomize=True, deadline=None)
QUESTIONS = [(name, q) for name in NAMES for q in get(name).questions]


# -- reading the page ------------------------------------------------------------------------------

def _split(text: str, level: str) -> dict[str, str]:
    """``{heading: body}`` for the headings of ``level`` (``"##"``, ``"###"``) in ``text``."""
    parts = re.split(rf"^{level} (.*)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def sections(text: str) -> dict[str, str]:
    """Each assignment's section, by the assignment's name."""
    out = {}
    for heading, body in _split(text, "##").items():
        m = re.fullmatch(r"`(\w+)`: .+", heading)
        if m:
            out[m.group(1)] = body
    return out


def subsections(section: str) -> dict[str, str]:
    """Each function's subsection of a section, by the signature in its heading."""
    return {h[1:-1]: b for h, b in _split(section, "###").items() if len(h) > 2 and h[0] == h[-1] == "`"}


# -- what the declarations say -----------------------------------------------------------------------

@cache
def reference(assignment: str) -> ModuleType:
    path = SOLUTIONS / assignment / "reference.py"
    spec = importlib.util.spec_from_file_location(f"_contract_doc_{assignment}_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(assignment: str, function: str, args: list[Any], defaults: bool) -> str:
    """``function(a, b, ...)`` for a call the grader makes with ``args``.

    A declared name stands for itself; an earlier call's result (a cache) takes the name the
    reference solution gives that parameter. The reference must agree with the declared names.
    """
    params = list(inspect.signature(getattr(reference(assignment), function)).parameters.values())
    names = [a if isinstance(a, str) else params[i].name for i, a in enumerate(args)]
    assert names == [p.name for p in params], (f"{assignment}.{function}: the grader calls it with {names}, "
                                               f"the reference solution takes {[p.name for p in params]}")
    shown = [f"{p.name}={p.default!r}" if defaults and p.default is not p.empty else p.name for p in params]
    return f"{function}({', '.join(shown)})"


def calls(assignment: str, q: Question) -> list[str]:
    """The question's own call, with its defaults, then every call the grader makes for it."""
    made = q.calls(list(q.signature), {})  # the declared names in place of the arguments
    assert all(not kwargs for _, _, kwargs, _ in made)
    own = next(args for name, args, _, _ in made if name == q.function)
    return [render(assignment, q.function, own, True)] + [render(assignment, n, a, False) for n, a, _, _ in made]


def points_line(q: Question) -> str:
    total = q.points + sum(b.points for b in q.behaviours)
    if not q.behaviours:
        return f"Points: {total:g}."
    extra = "".join(f" + {b.points:g} (*{b.name}*)" for b in q.behaviours)
    return f"Points: {total:g} = {q.points:g} (derivative, reference and contract checks){extra}."


@cache
def result_kind(assignment: str, function: str) -> type:
    """The type of the true answer of one drawn instance: tuple, dict or an array."""
    q = get(assignment).question(function)
    return type(q.truth(find(q.instances(), lambda _: True, settings=ONE_DRAW)))


# -- the checks ------------------------------------------------------------------------------------

def layout_problems(text: str) -> list[str]:
    found = sections(text)
    if list(found) != list(NAMES):
        return [f"the assignment sections are {list(found)}, the grader's assignments {list(NAMES)}"]
    problems = []
    for name in NAMES:
        if f"\nTotal: {get(name).points:g} points.\n" not in found[name]:
            problems.append(f"{name}: no line 'Total: {get(name).points:g} points.'")
        documented = [s.split("(")[0] for s in subsections(found[name])]
        declared = [q.function for q in get(name).questions]
        if documented != declared:
            problems.append(f"{name}: the page documents {documented}, the grader grades {declared}")
    return problems


def question_problems(text: str, assignment: str, q: Question) -> list[str]:
    own, *made = calls(assignment, q)
    found = subsections(sections(text).get(assignment, ""))
    if own not in found:
        return [f"{assignment}: no heading ### `{own}` (the page has {sorted(found)})"]
    body, problems = found[own], []
    if f"\n{points_line(q)}\n" not in body:
        problems.append(f"{own}: no line {points_line(q)!r}")
    body = " ".join(body.split())  # the rest may wrap across lines
    if q.sequence is not None:  # called through others: each call is written out (the heading is one)
        problems += [f"{own}: the call `{c}` is not written out" for c in made if c != own and f"`{c}`" not in body]
    problems += [f"{own}: does not name `{n}`, which it needs" for n in q.needs if f"`{n}" not in body]
    if q.parts:
        if result_kind(assignment, q.function) is dict:
            want = "exactly the keys " + ", ".join(f'`"{p}"`' for p in q.parts)
        else:
            want = f"the tuple `({', '.join(q.parts)})`"
        if want not in body:
            problems.append(f"{own}: no {want!r}")
    return problems


def page_problems(text: str) -> list[str]:
    return layout_problems(text) + [p for a, q in QUESTIONS for p in question_problems(text, a, q)]


def test_layout_matches_the_assignments():
    assert layout_problems(DOC.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("assignment", "q"), QUESTIONS, ids=[f"{a}.{q.function}" for a, q in QUESTIONS])
def test_function_is_documented_as_declared(assignment, q):
    assert question_problems(DOC.read_text(encoding="utf-8"), assignment, q) == []


def test_the_declared_forms():
    """The forms the page is held to, spelled out once (a default, a cache, a behaviour, a dict)."""
    assert calls("britz", get("britz").question("bptt"))[0] == "bptt(x, y, U, V, W, bptt_truncate=4)"
    assert calls("cache", get("cache").question("rnn_step_backward")) == [
        "rnn_step_backward(dnext_h, cache)", "rnn_step_forward(x, prev_h, Wx, Wh, b)",
        "rnn_step_backward(dnext_h, cache)", "rnn_step_backward(dnext_h, cache)"]
    assert points_line(get("trask").question("bptt_updates")) == \
        "Points: 6 = 4 (derivative, reference and contract checks) + 2 (*learns 8-bit binary addition*)."
    assert result_kind("martens", "bptt_matrix") is dict and result_kind("britz", "bptt") is tuple


DRIFTS = [
    ("bptt(x, y, U, V, W, bptt_truncate=4)`", "bptt(x, y, V, U, W, bptt_truncate=4)`"),  # argument order
    ("bptt(x, y, U, V, W, bptt_truncate=4)`", "bptt(x, y, U, V, W, bptt_truncate)`"),  # the default
    ("bptt(x, y, U, V, W, bptt_truncate=4)`", "bptt(x, y, U, V, W, bptt_truncate=3)`"),
    ("synapse_1, layer_1)`\n\nPoints: 2.", "synapse_1, layer_1)`\n\nPoints: 1."),  # points
    ("+ 2 (*learns 8-bit binary addition*)", "+ 1 (*learns 8-bit binary addition*)"),  # a behaviour's points
    ("Total: 7 points.", "Total: 8 points."),
    ('`"Whx"`, `"Whh"`', '`"Whh"`, `"Whx"`'),  # dict keys
    ("`(dLdU, dLdV, dLdW)`", "`(dU, dV, dW)`"),  # tuple parts
    ("`rnn_step_forward(x, prev_h, Wx, Wh, b)`, then", "`rnn_step_forward(x, prev_h, Wx, Wh)`, then"),  # a call
    ("### `rnn_forward(x, h0, Wx, Wh, b)`", "### `rnn_forward(x, Wx, Wh, b)`"),
    ("## `martens`:", "## `martin`:"),  # a section
]


@pytest.mark.parametrize(("good", "bad"), DRIFTS)
def test_a_drifted_page_fails(good, bad):
    text = DOC.read_text(encoding="utf-8")
    assert text.count(good) == 1, f"{good!r} should occur once on the page"
    assert page_problems(text.replace(good, bad)), f"changing {good!r} to {bad!r} goes unnoticed"


# -- nothing points outside the repository ---------------------------------------------------------------

def tracked_text_files() -> list[tuple[str, str]]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    files = []
    for name in filter(None, out.decode("utf-8").split("\0")):
        path = ROOT / name
        if not path.is_file():  # deleted in the work tree
            continue
        data = path.read_bytes()
        if b"\0" in data:  # binary
            continue
        try:
            files.append((name, data.decode("utf-8")))
        except UnicodeDecodeError:
            continue
    return files


def test_nothing_points_outside_the_repository():
    files = tracked_text_files()
    assert "README.md" in {name for name, _ in files}
    found = [f"{name}:{n}: {line.strip()}" for name, text in files for n, line in enumerate(text.splitlines(), 1)
             if any(s in line for s in OUTSIDE)]
    assert not found, "\n".join(found)


def test_the_readmes_link_to_the_contract():
    assert "](docs/contract.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](../docs/contract.md)" in (ROOT / "solutions" / "README.md").read_text(encoding="utf-8")


def test_no_file_sends_anyone_to_a_contract_file_nobody_has():
    """The contract is docs/contract.md (and, in a notebook, each function's own text): no file of the
    repository may point students or instructors to an assignments file that does not exist."""
    missing = "ASSIGNMENTS" + ".md"
    assert not (ROOT / missing).exists()
    found = [f"{name}:{n}" for name, text in tracked_text_files() if name != "tests/test_contract_doc.py"
             for n, line in enumerate(text.splitlines(), 1) if missing.lower() in line.lower()]
    assert not found, "\n".join(found)
