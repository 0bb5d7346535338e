"""The HTML pages, opened in a real browser: headless Chromium, at a desktop's width and a narrow one.

Every feedback page of a graded class (``<name>.html``) and the class overview (``index.html``) is
opened with a check script put first in its ``<head>`` (in a copy, next to the page). The script
records errors (script errors, resources that fail to load, ``console.error``/``warn``) and, once the
page has loaded, each broken image (``naturalWidth`` 0), a page that scrolls sideways, every element
that reaches beyond the viewport and every box whose content overflows it (``overflow: visible`` and
``scrollWidth > clientWidth + 1``), unless it sits in a box that scrolls; it writes them into the DOM,
which ``chromium --dump-dom`` prints. Chromium's own log (``--enable-logging=stderr``) is read for
console messages too. The test fails on any of them, naming page, width and element.

Screenshots of every page at each width are kept in ``$BPTT_GRADER_ARTIFACTS/pages/`` (default
``build/tests-artifacts/pages/``) for CI to keep as an artifact. Skipped, saying why, where Chromium is
not installed (Debian: ``apt-get install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader import cli

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXAMPLES = ROOT / "solutions" / "examples"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: A desktop, and the narrowest window headless Chromium opens (500 px: a phone's 390 is widened to it).
WIDTHS = {"desktop": (1280, 2400), "narrow": (500, 2400)}


@functools.cache
def browser() -> str | None:
    """A Chromium that runs here (``$BPTT_GRADER_CHROMIUM``, else the first of :data:`BROWSERS` found): one
    that cannot even print its version (Ubuntu's snap stand-in in a container) counts as none."""
    explicit = os.environ.get("BPTT_GRADER_CHROMIUM")
    if explicit:
        found = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    else:
        found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        return None
    try:
        ok = subprocess.run([found, "--version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return found if ok else None


pytestmark = pytest.mark.skipif(browser() is None, reason="Chromium is not installed or does not run (Debian: "
                                "apt-get install chromium; .ci/run installs it; or set BPTT_GRADER_CHROMIUM): pages "
                                "not checked in a browser")


def artifacts() -> Path:
    base = os.environ.get("BPTT_GRADER_ARTIFACTS")
    folder = (Path(base) if base else ROOT / "build" / "tests-artifacts") / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


CHECK = r"""<script>
(function () {
  var problems = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) {
      problems.push('failed to load: <' + t.tagName.toLowerCase() + '> ' + String(t.src || t.href).slice(0, 80));
    } else {
      problems.push('script error: ' + e.message);
    }
  }, true);
  window.addEventListener('unhandledrejection', function (e) { problems.push('unhandled rejection: ' + e.reason); });
  ['error', 'warn'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      problems.push('console.' + level + ': ' + Array.prototype.join.call(arguments, ' '));
      original.apply(console, arguments);
    };
  });
  function describe(el) {
    var text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60);
    return '<' + el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined && el.className
      ? ' class=' + el.className : '') + '> "' + text + '"';
  }
  function inScroller(el) {
    for (var p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      var o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  }
  window.addEventListener('load', function () {
    var width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width + 1) {
      problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
    }
    document.querySelectorAll('img').forEach(function (img) {
      if (!img.complete || img.naturalWidth === 0) problems.push('broken image: ' + (img.alt || img.src.slice(0, 60)));
    });
    document.body.querySelectorAll('*').forEach(function (el) {
      var box = el.getBoundingClientRect();
      if (!box.width || inScroller(el)) return;
      if (box.right > width + 1) {
        problems.push('beyond the viewport (right edge ' + Math.round(box.right) + ' > ' + width + '): '
                      + describe(el));
      }
      var style = getComputedStyle(el);
      if (style.overflowX === 'visible' && style.display !== 'inline' && el.clientWidth > 0
          && el.scrollWidth > el.clientWidth + 1) {
        problems.push('overflows its box (' + el.scrollWidth + ' > ' + el.clientWidth + '): ' + describe(el));
      }
      // text in a box that scrolls sideways is off-screen until scrolled to (the overview's .scroll tables
      // scroll by design)
      if ((style.overflowX === 'auto' || style.overflowX === 'scroll') && !el.classList.contains('scroll')
          && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
        problems.push('scrolls sideways, hiding part of its text (' + el.scrollWidth + ' > ' + el.clientWidth
                      + '): ' + describe(el));
      }
    });
    var verdict = document.createElement('pre');
    verdict.id = 'bptt-verdict';
    verdict.hidden = true;
    verdict.textContent = JSON.stringify(problems);
    document.body.appendChild(verdict);
  });
})();
</script>"""


def open_in_chromium(page: Path, viewport: str, shot: Path, profile: Path) -> list[str]:
    """The problems Chromium meets on ``page`` at this width (and its screenshot at ``shot``)."""
    text = page.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", text)
    assert head, f"{page.name} has no <head>"
    probe = page.with_name(f".browser-check-{viewport}-{page.name}")  # one per browser running at once
    probe.write_text(text[:head.end()] + CHECK + text[head.end():], encoding="utf-8")
    width, height = WIDTHS[viewport]
    command = [browser(), "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}", f"--window-size={width},{height}",
               "--virtual-time-budget=5000", "--run-all-compositor-stages-before-draw",
               "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--dump-dom", probe.as_uri()]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium will not run as root with its own sandbox
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink(missing_ok=True)
    found = re.search(r'<pre id="bptt-verdict"[^>]*>(.*?)</pre>', proc.stdout, flags=re.S)
    assert found, f"Chromium gave no verdict for {page.name} ({viewport}), exit {proc.returncode}:\n" \
        + proc.stderr[-3000:]
    problems = json.loads(html.unescape(found.group(1)))
    for line in proc.stderr.splitlines():  # what reached the browser's console another way
        if "CONSOLE" in line and ("Uncaught" in line or ":ERROR:" in line or "Failed to load" in line):
            problems.append(f"chromium log: {line.strip()[:200]}")
    return problems


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[Path]:
    """Feedback pages of what makes a page long or wide, and the class overviews."""
    base = tmp_path_factory.mktemp("pages")
    klass = base / "britz"
    klass.mkdir()
    for name in ("correct.ipynb", "partial.ipynb", "transposed_w.ipynb", "truncation.py", "aliasing.ipynb"):
        shutil.copy(EXAMPLES / "britz" / name, klass / name)
    # a file name of 110 characters without a space, a long error message, code that does not compile,
    # and a link (refused, with its path in the problems)
    (klass / ("a_rather_long_file_name_" * 5)[:110]).with_suffix(".py").write_text(
        "def delta_o(o, y):\n    return o * 2.0\n")
    (klass / "shouts.py").write_text("def delta_o(o, y):\n    raise ValueError('x' * 400)\n")
    (klass / "broken.py").write_text("def delta_o(o, y)\n    return o\n")
    (klass / "link.py").symlink_to(SOLUTIONS / "britz" / "reference.py")
    common = ["--solutions", str(SOLUTIONS), "--examples", "5", "--sandbox", "none", "--jobs", "2"]
    assert cli.main(["grade", "britz", str(klass), "--out", str(base / "out-britz"), *common]) == 0
    assert cli.main(["grade", "cache", str(EXAMPLES / "cache" / "no_tanh_derivative.py"),
                     str(EXAMPLES / "cache" / "correct_script.py"), "--out", str(base / "out-cache"), *common]) == 0
    found = sorted((base / "out-britz").glob("*.html")) + sorted((base / "out-cache").glob("*.html"))
    assert len(found) == 13  # 9 britz submissions, 2 cache, and an overview each
    return found


def test_every_page_opens_in_chromium_without_errors_broken_images_or_overflow(pages, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    shots = artifacts()
    runs = []
    for page in pages:
        for viewport in WIDTHS:
            (shots / viewport).mkdir(exist_ok=True)
            runs.append((page, viewport, shots / viewport / f"{page.parent.name.removeprefix('out-')}-{page.stem}.png"))

    def run(i: int) -> list[str]:
        page, viewport, shot = runs[i]
        problems = open_in_chromium(page, viewport, shot, tmp_path / f"profile-{i}")
        assert shot.is_file() and shot.stat().st_size > 1000, f"no screenshot of {page.name} ({viewport})"
        return [f"{page.parent.name}/{page.name} ({viewport}): {p}" for p in problems]

    with ThreadPoolExecutor(max_workers=2) as pool:  # two browsers at once: a page takes about a second
        failures = [line for found in pool.map(run, range(len(runs))) for line in found]
    assert not failures, "\n".join(failures)


def test_the_overview_links_every_submissions_page_and_shows_the_class(pages):
    for index in [p for p in pages if p.name == "index.html"]:
        text = index.read_text()
        links = re.findall(r'<a href="([^"]+)">', text)
        results = sorted(p.stem for p in index.parent.glob("*.json"))
        assert sorted(Path(link).stem for link in links) == results
        assert all((index.parent / link).is_file() for link in links)
        assert "<svg class=hist" in text and "Functions fully correct" in text
        assert re.search(r"Sandbox: none \(\d+\)", text)


def test_the_check_finds_what_it_looks_for(tmp_path):
    """A page with each problem: the check must report them all (else it would pass anything)."""
    page = tmp_path / "bad.html"
    page.write_text("""<!doctype html><html><head><meta charset=utf-8><title>bad</title></head><body>
<img alt="missing plot" src="nowhere.png">
<div style="width:200px">averyveryveryverylongwordthatcannotwrapanywhereatallaveryveryveryverylongword</div>
<pre>""" + "x" * 400 + """</pre>
<pre style="overflow-x:auto;width:200px">""" + "advice " * 60 + """</pre>
<p style="width:700px">a paragraph wider than a phone</p>
<script>console.error("boom"); undefined_function();</script>
</body></html>""")
    problems = open_in_chromium(page, "narrow", tmp_path / "bad.png", tmp_path / "profile")
    text = "\n".join(problems)
    assert "broken image: missing plot" in text
    assert "failed to load: <img>" in text
    assert "overflows its box" in text and "the page scrolls sideways" in text
    assert 'scrolls sideways, hiding part of its text' in text and '"advice advice' in text
    assert "beyond the viewport" in text
    assert "console.error: boom" in text and "script error: Uncaught ReferenceError" in text
