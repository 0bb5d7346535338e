"""How bptt-grader gets installed, on every route: the Gradescope image's requirements resolve on every
documented Python, the autograder's wheel is the one `pip wheel .` builds (with the shipped instance
lists), the GitHub workflow installs what the course says, the release workflow builds, checks,
smoke-tests and publishes, and no file tells anyone to `pip install bptt-grader` (not on PyPI yet)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import drawn
from grader.integrations import github
from grader.integrations.gradescope import build_autograder
from grader.integrations.package import PYTHONS, build_wheel, package_files, wheel_name

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"

#: What pip says when it cannot reach the index (the test is then skipped, not failed).
OFFLINE = re.compile(r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution|"
                     r"Network is unreachable|Could not fetch URL|ConnectTimeout|ProxyError|No route to host|"
                     r"Name or service not known|connection refused", re.I)


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    """The britz autograder zip, unzipped."""
    base = tmp_path_factory.mktemp("gradescope")
    zip_path = build_autograder("britz", base / "britz-autograder.zip", SOLUTIONS)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(base / "source")
    return base / "source"


def _dry_run(folder: Path, requirements: str, python: str, target: Path) -> subprocess.CompletedProcess:
    """pip's resolution of ``requirements`` (a file in ``folder``) for ``python``, without that Python."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--python-version", python,
         "--only-binary", ":all:", "--target", str(target), "--disable-pip-version-check", "--retries", "1",
         "--timeout", "20", "--report", f"{target}.json", "-r", requirements],
        cwd=folder, capture_output=True, text=True, timeout=300)


def test_the_autograder_requirements_resolve_on_every_documented_python(autograder, tmp_path):
    # A pin that needs a newer Python than 3.10 (the Hypothesis of the machine the issue built its zip
    # on): the same resolution must reject it, or this test could not catch one.
    (autograder / "pinned.txt").write_text("hypothesis==6.170.17\n")
    jobs = [(python, "requirements.txt") for python in PYTHONS] + [("3.10", "pinned.txt")]
    with ThreadPoolExecutor(len(jobs)) as pool:
        procs = list(pool.map(lambda job: _dry_run(autograder, job[1], job[0], tmp_path / f"{job[0]}-{job[1]}"),
                              jobs))
    failed = [(job, p) for job, p in zip(jobs, procs) if p.returncode != 0]
    if failed and all(OFFLINE.search(p.stderr) for _, p in failed):
        pytest.skip("the package index (PyPI) cannot be reached: the requirements' resolution is not checked")
    *resolved, control = procs
    for python, proc in zip(PYTHONS, resolved):
        assert proc.returncode == 0, f"requirements.txt does not install on Python {python}:\n{proc.stderr}"
        report = json.loads((tmp_path / f"{python}-requirements.txt.json").read_text())  # _dry_run's --report
        names = {item["metadata"]["name"].lower() for item in report["install"]}
        assert {"bptt-grader", "hypothesis", "numpy", "nbformat", "rich", "matplotlib"} <= names, python
    assert control.returncode != 0 and "No matching distribution found for hypothesis==6.170.17" in control.stderr


def test_the_autograder_wheel_is_the_built_wheel_with_the_shipped_lists(autograder, tmp_path):
    requirements = (autograder / "requirements.txt").read_text().splitlines()
    assert f"./{wheel_name()}" in requirements  # the grader's own wheel: exactly this file
    bounded = [r for r in requirements if r and not r.startswith(("#", "./"))]
    assert bounded and all(">=" in r and ",<" in r for r in bounded)  # everything else: bounded, never pinned
    with zipfile.ZipFile(autograder / wheel_name()) as zf:
        names = set(zf.namelist())
        generator = zf.read(f"bptt_grader-{wheel_name().split('-')[1]}.dist-info/WHEEL").decode()
    shipped = {f"grader/assignments/drawn/{p.name}" for p in drawn.SHIPPED.glob("*.drawn")}
    assert len(shipped) >= 17 and shipped <= names  # the image judges on them: it draws nothing again
    assert "Generator: setuptools" in generator  # built by `pip wheel . --no-deps`, as `pip install .` builds it
    # without a source tree (or a build), the same files are written into the wheel directly
    fallback = build_wheel(tmp_path / "direct", from_source=False)
    with zipfile.ZipFile(fallback) as zf:
        direct = {n for n in zf.namelist() if n.startswith("grader/")}
    assert direct == {n for n in names if n.startswith("grader/")} == {name for name, _ in package_files()}
    assert not [n for n in names if n.startswith(("solutions/", "tests/")) or "__pycache__" in n]


def test_the_github_workflow_installs_what_the_course_says(tmp_path):
    yaml = pytest.importorskip("yaml")
    # default: a wheel of this installation, committed beside the workflow; the install step as written finds it
    written = github.write_workflow(tmp_path, "britz")
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "grade.yml").read_text())
    package = workflow["env"]["BPTT_GRADER"]
    assert package == f"./.github/bptt-grader/{wheel_name()}" and (tmp_path / package).is_file()
    assert {p.name for p in written} == {"grade.yml", wheel_name()}
    install = next(s["run"] for s in workflow["jobs"]["check"]["steps"] if s.get("name") == "Install bptt-grader")
    assert install == 'python -m pip install "$BPTT_GRADER"'
    # the classroom runner starts without bptt-grader; here it is installed (editable or not), so ignore that
    env = {**os.environ, **workflow["env"], "PIP_DRY_RUN": "1", "PIP_NO_DEPS": "1", "PIP_NO_INDEX": "1",
           "PIP_IGNORE_INSTALLED": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-c", install], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Would install bptt-grader-" in proc.stdout, proc.stderr
    # --package: what the course says, nothing written beside it
    url = "git+https://github.com/example-course/bptt-grader@v0.1.0"
    assert github.main(["britz", "--repo", str(tmp_path / "b"), "--notebook", "hw 1.ipynb", "--package", url]) == 0
    other = yaml.safe_load((tmp_path / "b" / ".github" / "workflows" / "grade.yml").read_text())
    assert other["env"] == {"ASSIGNMENT": "britz", "NOTEBOOK": "hw 1.ipynb", "BPTT_GRADER": url}
    assert not (tmp_path / "b" / ".github" / "bptt-grader").exists()
    # the workflow the docs show is the one the command writes
    assert (ROOT / "docs" / "github-classroom" / "grade.yml").read_text() == github.workflow_yaml("britz")


def test_the_release_workflow_builds_checks_smoke_tests_and_publishes_on_a_tag():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert "v*" in workflow[True]["push"]["tags"]  # PyYAML reads the key `on` as True
    jobs = workflow["jobs"]
    build = "\n".join(s.get("run", "") for s in jobs["build"]["steps"])
    assert "python -m build" in build and "twine check" in build
    smoke = "\n".join(s.get("run", "") for s in jobs["smoke"]["steps"])
    assert "python -m venv" in smoke and "pip\" install dist/*.whl" in smoke
    assert "bptt-grader\" list" in smoke and "bptt-grader\" grade britz" in smoke
    assert jobs["smoke"]["strategy"]["matrix"]["python-version"] == list(PYTHONS)
    publish = jobs["publish"]
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/v')" and set(publish["needs"]) == {"build", "smoke"}
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing: no token stored
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in publish["steps"])


#: `pip install bptt-grader` (or `%pip`, `pip3`, `python -m pip`, with options, quotes, `==version`), but not
#: an extra (`bptt-grader[otter]`), a path or a URL that merely contains the name.
BARE = re.compile(r"pip3?\s+install\s+(?:-{1,2}[\w-]+\s+)*[\"']?bptt-grader(?:==[\w.]+)?[\"']?(?![\w\[/.@-])")
SKIP_DIRS = {".git", "build", "dist", "__pycache__", ".venv", "venv", "tests", "bptt_grader.egg-info"}


def test_the_bare_install_pattern():
    told = ["pip install bptt-grader", "%pip install bptt-grader", "pip install -U bptt-grader",
            "`pip install bptt-grader`, or", 'pip install "bptt-grader==0.1.0"', "python -m pip install bptt-grader\n"]
    fine = ['pip install "bptt-grader[otter]"', "pip install bptt-grader-0.1.0.tar.gz", "pip install .",
            'pip install "git+https://github.com/x/bptt-grader"', "pip install ./bptt_grader-0.1.0-py3-none-any.whl"]
    assert all(BARE.search(t) for t in told) and not any(BARE.search(t) for t in fine)


def test_no_file_tells_anyone_to_pip_install_bptt_grader_from_an_index():
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            if name.endswith((".md", ".ipynb", ".py", ".yml", ".yaml", ".sh", ".toml", ".cfg", ".txt")):
                path = Path(dirpath) / name
                text = path.read_text(encoding="utf-8", errors="replace")
                found += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in BARE.finditer(text)]
    assert not found, "bptt-grader is not on PyPI yet; say how to install it from a clone, git or a wheel:\n" + \
        "\n".join(found)
