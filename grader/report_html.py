"""A self-contained HTML feedback page per submission (next to its JSON).

One page a student can open offline: the score, then for each failing
function its smallest failing instance, the diagnosis, and a plot of the
error along the answer's first axis (time, where the answer has a time axis),
which shows at a glance whether only ``t = 0`` or only the last step is wrong.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from grader import unnamed
from grader.diagnose import parts_of
from grader.questions import Assignment
from grader.results import CheckResult, Grade

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;
overflow-wrap:break-word}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse} td,th{padding:.25rem .75rem;border-bottom:1px solid #eee;text-align:left}
.pass{color:#1a7f37} .fail{color:#cf222e}
pre{background:#f6f8fa;padding:.75rem;font-size:.85rem;white-space:pre-wrap;overflow-wrap:anywhere}
.mistake{background:#fff8c5;padding:.75rem;border-left:4px solid #d4a72c} img{max-width:100%}
"""


def _error_plot(check: CheckResult, axes: dict[str, tuple[str, ...]], parts: tuple[str, ...]) -> str | None:
    """A PNG (base64) of the largest error per index of each part's first axis, or None."""
    if check.expected is None or check.got is None:
        return None
    pairs = []
    for (name, e), (_, g) in zip(parts_of(check.expected, parts), parts_of(check.got, parts)):
        e, g = np.asarray(e, dtype=float), np.asarray(g, dtype=float)
        if e.shape != g.shape or e.ndim == 0:
            continue
        names = axes.get(name, ())
        axis = names.index("t") if "t" in names else 0
        label = names[axis] if len(names) == e.ndim else f"axis {axis}"
        with np.errstate(all="ignore"):
            err = np.where(np.isfinite(g), np.abs(g - e), np.inf)  # NaN or inf answers: an infinite error
            per = np.max(np.moveaxis(err, axis, 0).reshape(e.shape[axis], -1), axis=1)
        per = np.where(np.isfinite(per), per, np.nanmax(np.where(np.isfinite(per), per, np.nan), initial=1.0) * 2)
        pairs.append((name or check.function, label, per))
    if not pairs:
        return None
    # The object-oriented API without pyplot (whose import and global state a batch does not need), and
    # fixed margins instead of tight_layout: each the slower part of a plot (BENCHMARKS.md, section 5).
    from matplotlib.figure import Figure

    n = len(pairs)
    fig = Figure(figsize=(3.2 * n + 1, 2.6))
    ax = fig.subplots(1, n, squeeze=False)
    for a, (name, label, per) in zip(ax[0], pairs):
        a.bar(np.arange(len(per)), per, color="#cf222e")
        a.set_title(name, fontsize=9)
        a.set_xlabel(label, fontsize=8)
        a.set_xticks(np.arange(len(per)))
        a.tick_params(labelsize=7)
    ax[0][0].set_ylabel("largest |error|", fontsize=8)
    fig.subplots_adjust(left=0.8 / (3.2 * n + 1), right=0.98, bottom=0.2, top=0.88, wspace=0.35)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode()


def render(grade: Grade, assignment: Assignment) -> str:
    """The page's HTML text."""
    esc = html.escape
    rows, sections = [], []
    for q in assignment.questions:
        checks = [c for c in grade.checks if c.function == q.function]
        got, full = sum(c.score for c in checks), sum(c.max_score for c in checks)
        cls = "pass" if got == full else "fail"
        rows.append(f"<tr><td><code>{esc(q.function)}</code></td><td class={cls}>{got:g} / {full:g}</td>"
                    f"<td>{', '.join(esc(c.check) for c in checks if not c.passed) or 'all checks passed'}</td></tr>")
        failed = [c for c in checks if not c.passed]
        for c in failed[:1]:  # the first failing check tells the story; the table lists the others
            body = [f"<h2 class=fail>{esc(c.name)}</h2>", f"<pre>{esc(c.message)}</pre>"]
            if c.misconception:
                body.append(f"<div class=mistake><b>This looks like a known mistake: {esc(c.misconception.name)}"
                            f"</b><br>{esc(c.misconception.explanation)}</div>")
            plot = _error_plot(c, q.axes, q.parts)
            if plot:
                body.append(f'<p><img alt="error per index" src="data:image/png;base64,{plot}"></p>')
            sections.append("\n".join(body))
    problems = "".join(f"<li><pre>{esc(p)}</pre></li>" for p in grade.problems)
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
<title>{esc(assignment.name)}: {esc(grade.submission)}</title>
<style>{_STYLE}</style></head><body>
<h1>{esc(assignment.title)}<br><small>{esc(grade.submission)}: {grade.score:g} / {grade.max_score:g}</small></h1>
{"<h2>Problems reading or running the submission</h2><ul>" + problems + "</ul>" if problems else ""}
<table><tr><th>function</th><th>score</th><th>failed checks</th></tr>{"".join(rows)}</table>
{"".join(sections) if sections else "<p class=pass>Every check passed.</p>"}
</body></html>
"""


def write_html(grade: Grade, assignment: Assignment, path: Any) -> None:
    from grader.report import write_atomic

    write_atomic(path, render(grade, assignment))


# -- the class overview ---------------------------------------------------------------------------

_INDEX_STYLE = """
.scroll{overflow-x:auto;max-width:100%} .bar{background:#eaeef2;width:8rem;height:.8rem;display:inline-block}
.bar>span{background:#1a7f37;height:100%;display:block} td.num,th.num{text-align:right;white-space:nowrap}
td.rate{white-space:nowrap}
svg.hist{width:100%;max-width:36rem;height:auto;display:block} .warn{color:#9a6700}
"""


def _histogram_svg(bins: list[int]) -> str:
    """An inline SVG bar chart of the ten score bins (0-10 %, ..., 90-100 %), with each count."""
    width, height, left, bottom, top = 360, 170, 28, 34, 14
    bar = (width - left - 4) / len(bins)
    most = max(bins) or 1
    parts = [f'<svg class=hist viewBox="0 0 {width} {height}" role=img '
             f'aria-label="score histogram: {", ".join(map(str, bins))}">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 2}" y2="{height - bottom}" stroke="#888"/>']
    for i, n in enumerate(bins):
        h = (height - bottom - top) * n / most
        x = left + i * bar
        parts.append(f'<rect x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{bar - 4:.1f}" height="{h:.1f}" '
                     f'fill="#0969da"><title>{i * 10}-{i * 10 + 10}%: {n}</title></rect>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom - h - 3:.1f}" font-size="10" '
                     f'text-anchor="middle">{n}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 12}" font-size="8" '
                     f'text-anchor="middle">{i * 10}-{i * 10 + 10}</text>')
    parts.append(f'<text x="{(left + width) / 2:.1f}" y="{height - 6}" font-size="9" text-anchor="middle">'
                 "score, % of the maximum</text></svg>")
    return "".join(parts)


def render_index(results: list[dict[str, Any]], assignment: Assignment, not_written: list[str] | None = None) -> str:
    """The class overview's HTML: the score histogram, each function's pass rate, the most common
    misconceptions, what nothing names (:mod:`grader.unnamed`), and a row per submission linking to its
    feedback page (``<name>.html``). Of the results alone (sorted by name): the same page however and
    wherever they were graded."""
    from collections import Counter

    esc = html.escape
    results = sorted(results, key=lambda r: r["extra_data"]["submission"])
    functions = [q.function for q in assignment.questions]
    n = len(results)
    max_score = max((r["max_score"] for r in results), default=0) or 1
    mean = sum(r["score"] for r in results) / n if n else 0.0
    modes = Counter(r.get("sandbox", "unknown") or "not run, unreadable" for r in results)
    sandbox = ", ".join(f"{m} ({k})" for m, k in sorted(modes.items())) or "none used"
    bins = [0] * 10
    for r in results:
        bins[min(9, int(10 * r["score"] / max_score))] += 1
    mistakes: Counter[str] = Counter()
    for r in results:
        mistakes.update({t["extra_data"]["misconception"] for t in r["tests"]
                         if t["status"] == "failed" and t.get("extra_data", {}).get("misconception")})
    common = "".join(f"<tr><td class=num>{k}</td><td><code>{esc(m)}</code></td></tr>"
                     for m, k in mistakes.most_common(10)) or "<tr><td colspan=2>(none diagnosed)</td></tr>"
    head = "".join(f"<th class=num><code>{esc(f)}</code></th>" for f in functions)
    warn = " class=warn" if "none" in modes else ""
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
<title>{esc(assignment.name)}: class overview</title>
<style>{_STYLE}{_INDEX_STYLE}</style></head><body>
<h1>{esc(assignment.title)}<br><small>{n} submission{"s" if n != 1 else ""}, mean {mean:.2f} / {max_score:g}
</small></h1>
<p{warn}>Sandbox: {esc(sandbox)}</p>
{_not_graded_section(results, not_written or [])}
<h2>Scores</h2>
{_histogram_svg(bins)}
<h2>Functions fully correct</h2>
<div class=scroll><table><tr><th>function</th><th class=num>fully correct</th><th>pass rate</th>
<th class=num>mean points</th></tr>{"".join(_function_rows(results, functions))}</table></div>
<h2>Most common misconceptions</h2>
<div class=scroll><table><tr><th class=num>submissions</th><th>misconception</th></tr>{common}</table></div>
{unnamed.html_section(results, assignment.name)}
<h2>Submissions</h2>
<div class=scroll><table><tr><th>submission</th><th class=num>score</th>{head}<th></th></tr>
{"".join(_submission_rows(results, functions))}</table></div>
</body></html>
"""


def _per_function(r: dict[str, Any]) -> dict[str, list[float]]:
    """A result's points, full points and whether every check passed (1.0 or 0.0), by function."""
    got: dict[str, list[float]] = {}
    for t in r["tests"]:
        g = got.setdefault(t["function"], [0.0, 0.0, 1.0])
        g[0] += t["score"]
        g[1] += t["max_score"]
        g[2] = g[2] and t["status"] == "passed"
    return got


def _function_rows(results: list[dict[str, Any]], functions: list[str]) -> list[str]:
    per: dict[str, list[tuple[float, float, bool]]] = {f: [] for f in functions}
    for r in results:
        for f, (score, full, ok) in _per_function(r).items():
            per.setdefault(f, []).append((score, full, bool(ok)))
    rows = []
    for f, seen in per.items():
        if not seen:
            continue
        ok = sum(s[2] for s in seen)
        rate = 100 * ok / len(seen)
        rows.append(
            f"<tr><td><code>{html.escape(f)}</code></td><td class=num>{ok} / {len(seen)}</td>"
            f'<td class=rate><span class=bar title="{rate:.0f}%"><span style="width:{rate:.1f}%"></span></span>'
            f" {rate:.0f}%</td>"
            f"<td class=num>{sum(s[0] for s in seen) / len(seen):.2f} / {max(s[1] for s in seen):g}</td></tr>")
    return rows


def _submission_rows(results: list[dict[str, Any]], functions: list[str]) -> list[str]:
    from urllib.parse import quote

    esc = html.escape
    rows = []
    for r in results:
        got = _per_function(r)
        name = r["extra_data"]["submission"]
        cls = "pass" if r["score"] == r["max_score"] else "fail"
        note = "internal error of the grader: grade again with --resume" if r.get("internal_errors") else ""
        cells = "".join(f'<td class=num>{got[f][0]:g}</td>' if f in got else "<td></td>" for f in functions)
        rows.append(f'<tr><td><a href="{quote(name)}.html">{esc(name)}</a></td>'
                    f'<td class="num {cls}">{r["score"]:g} / {r["max_score"]:g}</td>{cells}<td>{esc(note)}</td></tr>')
    return rows


def _not_graded_section(results: list[dict[str, Any]], not_written: list[str]) -> str:
    esc = html.escape
    failed = sorted([(r["extra_data"]["submission"], str(r["internal_errors"][0]).strip().splitlines()[0]
                      if str(r["internal_errors"][0]).strip() else "internal error")
                     for r in results if r.get("internal_errors")]
                    + [(name, "the grader failed; nothing was written") for name in not_written])
    if not failed:
        return ""
    return ("<h2 class=fail>Not graded (internal error): grade again with --resume</h2><ul>"
            + "".join(f"<li><code>{esc(a)}</code>: {esc(b)}</li>" for a, b in failed) + "</ul>")


def write_index(results: list[dict[str, Any]], assignment: Assignment, path: Any,
                not_written: list[str] | None = None) -> None:
    """Write the class overview (:func:`render_index`) to ``path``, atomically."""
    from grader.report import write_atomic

    write_atomic(path, render_index(results, assignment, not_written))
