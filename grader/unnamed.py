"""What no named mistake explains, across a class: the failures an instructor should look at next.

Every submission's function is judged on the same list of instances (:func:`grader.drawn.passing_draws`),
so its answers there are a *behaviour* that can be compared between submissions. :func:`answers_digest`
reduces them to two digests: a coarse one (each number to about five significant digits, so that
answers equal up to summation order agree) that groups submissions making the same mistake, and an
exact one (every bit) that finds submissions giving identical wrong numbers.

:func:`summary_lines` and :func:`html_section` list, per function, the groups of failures that carry
no catalogued mistake and no finding that names one (:mod:`grader.explain`), largest first, with an
example submission, where its error sits and how to add it to the catalogue; then the identical
wrong answers. Of the results files alone, so a class collected from shards says the same.
"""

from __future__ import annotations

import hashlib
import html
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Finding ids that locate a mistake without naming it (grader.explain): such a failure is still unnamed.
LOCATING = ("only:", "when:", "where:")
#: Mantissa bits kept by the coarse digest: 2**-16, about five significant digits.
_COARSE_BITS = 16


def _feed(h: Any, value: Any, coarse: bool) -> None:
    if isinstance(value, (np.ndarray, float, np.floating)):
        a = np.asarray(value)
        if a.dtype.kind == "f":
            a = a.astype(float)
            if coarse:
                mantissa, exponent = np.frexp(a)
                a = np.ldexp(np.round(mantissa * 2**_COARSE_BITS) / 2**_COARSE_BITS, exponent) + 0.0  # no -0
        h.update(f"a{a.dtype.str}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            h.update(repr(key).encode())
            _feed(h, value[key], coarse)
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for item in value:
            _feed(h, item, coarse)
        h.update(b"]")
    else:
        h.update(repr((type(value).__name__, value)).encode()[:200])


def answers_digest(outcomes: list[Any]) -> tuple[str, str]:
    """The coarse and the exact digest of a function's outcomes on the shared instances, in order.

    An outcome that raised counts by its exception's type, not its message (which holds shapes and
    numbers of the instance).
    """
    digests = []
    for coarse in (True, False):
        h = hashlib.blake2b(digest_size=8)
        for out in outcomes:
            if out.ok:
                _feed(h, out.value, coarse)
            else:
                h.update(b"!" + str(out.error).split(":", 1)[0].encode()[:100])
        digests.append(h.hexdigest())
    return digests[0], digests[1]


@dataclass
class Group:
    """Submissions whose function fails alike and that nothing names."""

    function: str
    names: list[str]
    where: str  # what the feedback says of where the error sits (a locating finding, or its first line)


def _failing_tests(results: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The failing derivative checks that carry the digests, with their submission's name."""
    out = []
    for r in results:
        for t in r.get("tests", []):
            extra = t.get("extra_data") or {}
            if t.get("check") == "derivative" and t.get("status") == "failed" and extra.get("behaviour"):
                out.append((r["extra_data"]["submission"], t))
    return out


def _named(test: dict[str, Any]) -> bool:
    extra = test.get("extra_data") or {}
    return bool(extra.get("misconception")) or any(not str(f).startswith(LOCATING) for f in extra.get("findings", []))


def _where(test: dict[str, Any]) -> str:
    """A locating finding, else the feedback's first verdict line (past the header and the instance shown)."""
    located = [str(f) for f in (test.get("extra_data") or {}).get("findings", []) if str(f).startswith(LOCATING)]
    if located:
        return ", ".join(located)
    lines = [line for line in str(test.get("output", "")).splitlines()[1:] if line.strip()]
    verdict = next((line for line in lines if not line.startswith((" ", "\t"))), lines[0] if lines else "")
    return verdict.strip()[:160]


def unnamed_groups(results: list[dict[str, Any]]) -> list[Group]:
    """The unnamed failures, grouped by function and coarse digest; largest first, then by function and name."""
    by: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for name, t in _failing_tests(results):
        if not _named(t):
            by[(t["function"], t["extra_data"]["behaviour"])].append((name, t))
    groups = [Group(function, sorted(n for n, _ in members), _where(min(members, key=lambda m: m[0])[1]))
              for (function, _), members in by.items()]
    return sorted(groups, key=lambda g: (-len(g.names), g.function, g.names))


def identical_wrong(results: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Functions whose wrong answers are the same to the last bit in two submissions or more."""
    by: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, t in _failing_tests(results):
        exact = t["extra_data"].get("answers")
        if exact:
            by[(t["function"], exact)].append(name)
    return sorted(((f, sorted(names)) for (f, _), names in by.items() if len(names) > 1),
                  key=lambda g: (-len(g[1]), g[0], g[1]))


_HOW = ("to name it: write the mistake as a function in solutions/{a}/misconceptions.py "
        "(docs/authoring.md, \"The catalogue\"); bptt-grader validate {a} checks it is named as itself")


def _shown(names: list[str], most: int = 6) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def summary_lines(results: list[dict[str, Any]], assignment: str) -> list[str]:
    """The sections of ``summary.txt``: unnamed failures by behaviour, then identical wrong answers."""
    groups = unnamed_groups(results)
    lines = ["", "Failures no named mistake explains (grouped by their answers on the same instances):"]
    if not groups:
        lines.append("  (none)")
    for g in groups:
        lines.append(f"  {g.function}: {len(g.names)} submission{'s' * (len(g.names) != 1)} alike, "
                     f"e.g. {g.names[0]}: {g.where}")
        if len(g.names) > 1:
            lines.append(f"      {_shown(g.names)}")
    if groups:
        lines.append("  " + _HOW.format(a=assignment))
    same = identical_wrong(results)
    if same:
        lines += ["", "Identical wrong answers (the same numbers to the last bit: worth a look):"]
        lines += [f"  {f}: {_shown(names)}" for f, names in same]
    return lines


def html_section(results: list[dict[str, Any]], assignment: str) -> str:
    """The class overview's section of the same (an empty string when every failure is named)."""
    esc = html.escape
    groups, same = unnamed_groups(results), identical_wrong(results)
    if not groups and not same:
        return ""
    rows = "".join(f"<tr><td>{esc(g.function)}</td><td>{len(g.names)}</td><td>{esc(_shown(g.names))}</td>"
                   f"<td>{esc(g.where)}</td></tr>" for g in groups)
    parts = []
    if groups:
        parts.append("<h2>Failures no named mistake explains</h2><p>Grouped by their answers on the same "
                     f"instances. {esc(_HOW.format(a=assignment)).capitalize()}.</p><div class=scroll><table><tr>"
                     f"<th>function</th><th>submissions</th><th>which</th><th>where the error sits</th></tr>{rows}"
                     "</table></div>")
    if same:
        rows = "".join(f"<tr><td>{esc(f)}</td><td>{esc(_shown(names))}</td></tr>" for f, names in same)
        parts.append("<h2>Identical wrong answers</h2><p>The same numbers to the last bit: worth a look.</p>"
                     f"<div class=scroll><table><tr><th>function</th><th>submissions</th></tr>{rows}</table></div>")
    return "".join(parts)
