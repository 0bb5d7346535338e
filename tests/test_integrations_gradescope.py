"""The Gradescope route: the zip, run_autograder in a folder laid out like /autograder, visibility,
which file is graded, the privilege drop, and the wheel the autograder installs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader import cli, drawn
from grader.integrations import gradescope
from grader.integrations.gradescope import build_autograder, find_submission, grade_submission, gradescope_results
from grader.integrations.package import build_wheel, wheel_name

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXAMPLES = SOLUTIONS / "examples" / "britz"


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return build_autograder("britz", tmp_path_factory.mktemp("zip") / "britz-autograder.zip", SOLUTIONS)


def gradescope_root(base: Path, autograder: Path, submission: list[Path]) -> Path:
    """A folder laid out as Gradescope's /autograder: source/ (the unzipped autograder), submission/, results/."""
    root = base / "autograder"
    for sub in ("source", "submission", "results"):
        (root / sub).mkdir(parents=True)
    with zipfile.ZipFile(autograder) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # zipfile drops the executable bits; Gradescope's unzip keeps them
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode & 0o777)
    for path in submission:
        shutil.copy(path, root / "submission" / path.name)
    return root


def test_the_zip_has_what_gradescope_needs(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        config = json.loads(zf.read("bptt-autograder.json"))
        setup = zf.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "bptt-autograder.json", "requirements.txt", "solutions/britz/reference.py",
            "solutions/britz/misconceptions.py", wheel_name()} == names  # no other assignment's solutions
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert config == {"format": 1, "assignment": "britz", "sandbox": "auto",
                      "visibility": {"reference": "after_published"}}
    assert "pip install --no-cache-dir -r requirements.txt" in setup and "bubblewrap" in setup
    with zipfile.ZipFile(autograder_zip) as zf:
        requirements = zf.read("requirements.txt").decode().splitlines()
    assert f"./{wheel_name()}" in requirements  # the grader: this very wheel
    assert any(r.startswith("hypothesis>=") and ",<" in r for r in requirements)  # bounded, not pinned
    assert not any("==" in r for r in requirements)
    for script in ("setup.sh", "run_autograder"):
        with zipfile.ZipFile(autograder_zip) as zf:
            text = zf.read(script).decode()
        assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0  # valid bash


def test_run_autograder_grades_like_bptt_grader_grade(autograder_zip, tmp_path):
    root = gradescope_root(tmp_path, autograder_zip, [EXAMPLES / "aliasing.ipynb"])
    env = {**os.environ, "BPTT_AUTOGRADER_ROOT": str(root), "BPTT_PYTHON": sys.executable}
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "bptt-grader: britz, sandbox" in proc.stdout
    results = json.loads((root / "results" / "results.json").read_text())

    expected = json.loads((EXAMPLES / "EXPECTED.json").read_text())["aliasing"]
    per_function: dict[str, float] = {}
    for t in results["tests"]:
        per_function[t["extra_data"]["function"]] = per_function.get(t["extra_data"]["function"], 0) + t["score"]
    assert per_function == pytest.approx(expected["scores"])  # the same grade as bptt-grader grade
    assert results["score"] == pytest.approx(sum(expected["scores"].values()))

    for t in results["tests"]:
        hidden = t["extra_data"]["check"] == "reference"
        assert t["visibility"] == ("after_published" if hidden else "visible")
        assert set(t) == {"name", "score", "max_score", "status", "output", "output_format", "visibility",
                          "extra_data"}
    contract = next(t for t in results["tests"] if t["name"] == "delta_o: contract")
    assert contract["status"] == "failed" and "modified its argument o" in contract["output"]
    assert expected["misconceptions"]["delta_o"] == contract["extra_data"]["misconception"]
    assert results["stdout_visibility"] == "hidden"
    assert results["output"].startswith("Checks shown now: ") and "appear when grades are published" in results[
        "output"]
    assert "6.75" not in results["output"]  # the total is not given away while reference checks are hidden


def test_the_root_comes_from_the_environment(autograder_zip, tmp_path, monkeypatch, capsys, no_shipped_lists):
    root = gradescope_root(tmp_path, autograder_zip, [])
    monkeypatch.setenv(gradescope.ROOT_ENV, str(root))
    monkeypatch.setenv("BPTT_GRADER_CACHE", str(tmp_path / "drawn"))
    drawn.forget()  # as in setup.sh's new process: nothing remembered yet
    assert gradescope.main(["--self-test"]) == 0
    assert "bptt-grader ready for britz" in capsys.readouterr().out
    # lists the grader does not ship (changed sources) are drawn at image build time, not per submission
    assert len(list((tmp_path / "drawn").glob("britz.*.drawn"))) == 4
    monkeypatch.delenv(gradescope.ROOT_ENV)
    with pytest.raises(FileNotFoundError, match="/autograder/source/bptt-autograder.json"):
        gradescope.main(["--self-test"])  # the default root is Gradescope's


def test_nothing_to_grade_scores_zero_with_the_reason(autograder_zip, tmp_path):
    root = gradescope_root(tmp_path, autograder_zip, [])
    config = json.loads((root / "source" / "bptt-autograder.json").read_text())
    data = grade_submission(root, config)
    assert data["score"] == 0 and len(data["tests"]) == 12
    assert "no notebook (.ipynb) or Python file was submitted: submit britz.ipynb" in data["output"]
    assert all("not graded" in t["output"] for t in data["tests"])


def test_which_file_is_graded(tmp_path):
    (tmp_path / "notes.md").write_text("")
    assert "no notebook" in find_submission(tmp_path, "britz")
    (tmp_path / "work.py").write_text("")
    assert find_submission(tmp_path, "britz") == tmp_path / "work.py"
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    assert find_submission(tmp_path, "britz") == tmp_path / "a.ipynb"  # a notebook before a script
    (tmp_path / "b.ipynb").write_text("{}")
    assert "found several files to grade (a.ipynb, b.ipynb)" in find_submission(tmp_path, "britz")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "britz.ipynb").write_text("{}")
    assert find_submission(tmp_path, "britz") == tmp_path / "sub" / "britz.ipynb"  # the assignment's name wins


def test_visibility_and_the_summary_line():
    def test(function, check, score, top):
        return {"name": f"{function}: {check}", "function": function, "check": check, "score": score,
                "max_score": top, "status": "passed" if score == top else "failed", "output": "..."}

    data = {"score": 3.25, "max_score": 4, "execution_time": 1.0, "output": "", "extra_data": {"problems": []},
            "tests": [test("f", "derivative", 2, 2), test("f", "reference", 0, 1), test("f", "contract", 1.25, 1)]}
    out = gradescope_results(data, {"reference": "hidden"})
    assert [t["visibility"] for t in out["tests"]] == ["visible", "hidden", "visible"]
    assert out["output"].splitlines()[0] == "Checks shown now: 3.25 / 3 points."
    assert "The other 1 points" in out["output"]
    everything = gradescope_results(data, {})
    assert all(t["visibility"] == "visible" for t in everything["tests"])
    assert "appear when" not in everything["output"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="dropping privileges needs root")
def test_after_the_drop_student_code_cannot_read_the_solutions():
    base = Path(tempfile.mkdtemp(prefix="bptt-drop-"))  # not under pytest's root-only tmp folder
    try:
        os.chmod(base, 0o755)
        solutions = base / "solutions" / "britz"
        solutions.mkdir(parents=True)
        (solutions / "reference.py").write_text("SECRET = 1\n")
        (base / "public.txt").write_text("anyone may read this\n")
        for p in (base / "solutions", solutions):
            os.chmod(p, 0o755)
        os.chmod(solutions / "reference.py", 0o644)

        def as_nobody() -> dict:
            gradescope._drop_privileges(base / "solutions")
            readable = {}
            for path in (base / "public.txt", solutions / "reference.py"):
                try:
                    path.read_text()
                    readable[path.name] = True
                except PermissionError:
                    readable[path.name] = False
            return {"uid": os.getuid(), "readable": readable}

        seen = gradescope._in_child(as_nobody)
        assert seen == {"uid": gradescope.NOBODY, "readable": {"public.txt": True, "reference.py": False}}
        assert os.getuid() == 0  # the parent, which writes results.json, kept its rights
    finally:
        shutil.rmtree(base)


def test_an_error_in_the_child_reaches_the_parent():
    def broken() -> dict:
        raise KeyError("no such assignment")

    with pytest.raises(RuntimeError, match="KeyError: 'no such assignment'"):
        gradescope._in_child(broken)


def test_the_wheel_installs_a_working_grader(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    probe = ("import grader, grader.integrations.gradescope, importlib.metadata as m; "
             "print(grader.__file__); print(m.version('bptt-grader')); "
             "print([e.value for e in m.entry_points(group='console_scripts') if e.name == 'bptt-grader'])")
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(target)},
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].startswith(str(target)) and out[1] == "0.1.0" and out[2] == "['grader.cli:main']"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert not any("solutions" in n or "__pycache__" in n for n in names)
    assert "grader/integrations/gradescope.py" in names


def test_the_command_needs_solutions(tmp_path, capsys):
    code = cli.main(["gradescope", "britz", "--out", str(tmp_path / "a.zip"), "--solutions", str(tmp_path / "no")])
    assert code == 2 and "which is not a folder" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "a.zip").exists()


def test_a_course_assignment_goes_to_gradescope_with_its_public_folder(tmp_path, monkeypatch):
    """lstm is a course's own assignment (courses/bptt): the zip carries its public folder, and the image
    grades a submission with it as bptt-grader grade does."""
    from grader import assignments

    course = ROOT / "courses" / "bptt"
    monkeypatch.setattr(assignments, "_added", [])
    monkeypatch.delenv(assignments.ENV_VAR, raising=False)
    assignments.add_courses(course)
    zip_path = build_autograder("lstm", tmp_path / "lstm-autograder.zip", course / "solutions")
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        config = json.loads(zf.read("bptt-autograder.json"))
    assert {"course/lstm/assignment.py", "solutions/lstm/reference.py"} <= names and config["course"] == "course"
    assert not any(n.startswith("course/") and "solutions" in n for n in names)
    examples = course / "solutions" / "examples" / "lstm"
    root = gradescope_root(tmp_path, zip_path, [examples / "inplace_dnext_c.py"])
    env = {k: v for k, v in os.environ.items() if k != assignments.ENV_VAR}
    env.update({"BPTT_AUTOGRADER_ROOT": str(root), "BPTT_PYTHON": sys.executable,
                "BPTT_GRADER_CACHE": str(tmp_path / "cache")})
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    expected = json.loads((examples / "EXPECTED.json").read_text())["inplace_dnext_c"]
    per_function: dict[str, float] = {}
    for t in results["tests"]:
        per_function[t["extra_data"]["function"]] = per_function.get(t["extra_data"]["function"], 0) + t["score"]
    assert per_function == pytest.approx(expected["scores"])
