"""A course's own assignments: the authors' face (grader.authoring), course folders, and the fingerprint of a
module's code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader import assignments, drawn

ROOT = Path(__file__).resolve().parent.parent

#: A course assignment as small as one can be: one function, doubling its argument.
DOUBLE = '''
"""double: twice an array (a course assignment of the tests)."""

from grader.authoring import Assignment, Instance, Question, array, composite, size


@composite
def _instances(draw):
    n = draw(size(1, 3))
    return Instance(args=(draw(array((n,))),), sizes={"n": n})


ASSIGNMENT = Assignment("NAME", "Twice an array", "the tests", (
    Question("double", 1, ("x",), _instances, lambda inst: 2 * inst.args[0], axes={"": ("i",)},
             doc="""Return `2 * x`, a new array."""),
))
'''
REFERENCE = "def double(x):\n    return 2 * x\n"


def make_course(folder: Path, name: str = "double", module: str = DOUBLE, reference: bool = True) -> Path:
    """A course folder with the one assignment ``name`` (public part, and its reference)."""
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "assignment.py").write_text(module.replace("NAME", name))
    if reference:
        (folder / "solutions" / name).mkdir(parents=True, exist_ok=True)
        (folder / "solutions" / name / "reference.py").write_text(REFERENCE)
    return folder


@pytest.fixture
def courses(monkeypatch, tmp_path):
    """No course folder but the test's own: none added, none in the environment, none in the current folder."""
    monkeypatch.setattr(assignments, "_added", [])
    monkeypatch.delenv(assignments.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


#: The installed command (the one next to this Python), as an instructor runs it.
COMMAND = str(Path(sys.executable).parent / "bptt-grader")


def bptt_grader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (assignments.ENV_VAR, "BPTT_GRADER_SOLUTIONS")}
    return subprocess.run([COMMAND, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


# -- course folders --------------------------------------------------------------------------------

def test_only_the_bundled_assignments_without_a_course(courses):
    assert assignments.names() == assignments.NAMES
    assert assignments.course_of("cache") is None


def test_an_added_course_folder_is_searched_first(courses):
    make_course(courses / "course")
    assignments.add_courses(courses / "course")
    assert assignments.names() == (*assignments.NAMES, "double")
    a = assignments.get("double")
    assert a.name == "double" and a.question("double").doc.startswith("Return")
    assert assignments.course_of("double") == (courses / "course").resolve()
    assert assignments.solutions_for("double") == (courses / "course" / "solutions").resolve()
    # the grader's own processes (a batch's workers) find it too
    assert str((courses / "course").resolve()) in os.environ[assignments.ENV_VAR]


def test_a_course_assignment_shadows_a_bundled_one_of_its_name(courses):
    make_course(courses / "course", name="cache")
    assignments.add_courses(courses / "course")
    assert assignments.get("cache").title == "Twice an array"
    assert assignments.names() == assignments.NAMES  # listed once


def test_the_environment_and_a_course_file_name_course_folders(courses, monkeypatch):
    make_course(courses / "a", name="first")
    make_course(courses / "b", name="second")
    monkeypatch.setenv(assignments.ENV_VAR, str(courses / "a"))
    (courses / assignments.COURSE_FILE).write_text('# the course\nassignments = ["b"]  # relative to this file\n')
    assert assignments.names()[-2:] == ("first", "second")
    assert assignments.course_folders() == [(courses / "a").resolve(), (courses / "b").resolve()]


def test_the_course_file_is_read_without_tomllib(courses, monkeypatch):
    """Python 3.10 has no tomllib; tomli is optional: the one form the file needs is read by hand."""
    (courses / "x").mkdir()
    (courses / "y").mkdir()
    config = courses / assignments.COURSE_FILE
    config.write_text("# course folders\nassignments = [\n  \"x\",  # the first\n  'y',\n]\n")
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    assert assignments._toml(config) == {"assignments": [("x", ""), ("", "y")]}
    assert assignments.course_folders() == [(courses / "x").resolve(), (courses / "y").resolve()]


def test_a_students_copy_of_the_public_folder_is_found_from_inside_it(courses, monkeypatch):
    make_course(courses / "course", reference=False)
    monkeypatch.chdir(courses / "course" / "double")  # where Jupyter runs the student's notebook
    assert "double" in assignments.names()
    assert assignments.get("double").name == "double"


def test_what_cannot_be_used_says_why(courses, monkeypatch):
    with pytest.raises(assignments.CourseError, match="not a folder"):
        assignments.add_courses(courses / "nowhere")
    make_course(courses / "c1", module="ASSIGNMENT = None\n")
    make_course(courses / "c2", name="named", module=DOUBLE.replace('Assignment("NAME"', 'Assignment("other"'))
    make_course(courses / "c3", name="broken", module="def oops(:\n")
    assignments.add_courses(courses / "c1", courses / "c2", courses / "c3")
    with pytest.raises(assignments.CourseError, match="declares no ASSIGNMENT"):
        assignments.get("double")
    with pytest.raises(assignments.CourseError, match="must be named 'named'"):
        assignments.get("named")
    with pytest.raises(assignments.CourseError, match="SyntaxError"):
        assignments.get("broken")
    with pytest.raises(assignments.UnknownAssignment) as unknown:
        assignments.get("nosuch")
    assert "the assignments are: trask, britz, goodfellow, martens, cache, double, named, broken. " in str(
        unknown.value)  # every name, in the folders' order, then where course assignments are looked for


def test_the_command_checks_names_after_reading_the_course_folders(courses):
    make_course(courses / "course")
    proc = bptt_grader("check", "nosuch", "x.ipynb", "--assignments", "course", cwd=courses)
    assert proc.returncode == 2
    assert "unknown assignment 'nosuch'; the assignments are: trask, britz, goodfellow, martens, cache, double" \
        in " ".join(proc.stderr.split())
    proc = bptt_grader("list", "--assignments", "course", cwd=courses)
    assert proc.returncode == 0 and "double: Twice an array, 1 points" in proc.stdout
    proc = bptt_grader("otter", "double", "--out", "o", "--assignments", "course", cwd=courses)
    assert proc.returncode == 2 and "course assignment" in proc.stderr  # otter carries bundled ones only


def test_a_course_assignment_is_validated_and_graded_with_its_own_solutions(courses):
    make_course(courses / "course")
    (courses / "sub.py").write_text("def double(x):\n    return x + x\n")
    proc = bptt_grader("validate", "double", "--assignments", "course", cwd=courses)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   double: reference: 1 / 1" in proc.stdout
    proc = bptt_grader("grade", "double", "sub.py", "--out", "out", "--assignments", "course", cwd=courses)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sub: 1 / 1" in proc.stderr


# -- instance lists of a course assignment ----------------------------------------------------------------

def test_a_course_assignments_lists_are_drawn_once_and_kept_in_the_user_cache(courses, monkeypatch):
    from grader.drawn import passing_draws

    make_course(courses / "course")
    monkeypatch.setenv("BPTT_GRADER_CACHE", str(courses / "cache"))
    assignments.add_courses(courses / "course")
    q = assignments.get("double").question("double")
    drawn.forget()
    try:
        assert drawn.remembered(q, q.examples) is None  # nothing shipped for it
        first = passing_draws(q)
        (kept,) = (courses / "cache").glob("double.double.40.*.drawn")
        drawn.forget()
        assert drawn.remembered(q, q.examples) is not None and len(first) == q.examples
        assert kept.is_file()
    finally:
        drawn.forget()


def test_the_fingerprint_ignores_comments_docstrings_and_layout_but_not_code(tmp_path):
    code = textwrap.dedent('''
        """A module."""
        import numpy as np


        def f(x):
            """Doubles."""
            return 2 * x  # twice
        ''')
    cleaned = textwrap.dedent('''
        import numpy as np
        # a comment of its own
        def f(x):
            return 2 * x
        ''')
    changed = code.replace("2 * x", "3 * x")
    digest = [drawn._code_digest(text.encode()) for text in (code, cleaned, changed)]
    assert digest[0] == digest[1] != digest[2]
    assert drawn._code_digest(b"def f(:") != drawn._code_digest(b"def g(:")  # no syntax tree: the bytes


# -- the package knows nothing of a course's assignments -----------------------------------------------------

def test_the_package_never_mentions_a_course_assignment():
    """lstm is written through the authors' face alone: not a line of the package is specific to it."""
    for path in sorted((ROOT / "grader").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".toml", ".txt", ".md", ".json", ""):
            assert "lstm" not in path.read_text(errors="replace").lower(), path
    assert not list((ROOT / "grader").rglob("lstm*"))


# -- the face -----------------------------------------------------------------------------------------

def test_every_name_of_the_face_is_documented_with_an_example():
    from grader import authoring

    for name in authoring.__all__:
        obj = getattr(authoring, name)
        if name in ("st",) or not callable(obj):
            continue
        doc = obj.__doc__ or ""
        assert doc.strip(), f"{name} has no docstring"
        if name != "Instance":  # grader.strategies' own (every example builds one)
            assert "Examples\n" in doc, f"{name}'s docstring has no Examples section"


def test_the_examples_of_the_face_run():
    import doctest

    from grader import authoring, questions

    for module in (authoring, questions):
        failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert tried and not failures, module.__name__


def test_vjp_takes_any_arity_and_any_tuple_of_outputs():
    import numpy as np

    from grader.authoring import gradient, vjp

    def forward(a, b, c):
        return a * b, b * c, a + c

    args = (np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0]))
    up = (np.array([1.0, 1.0]), np.array([10.0, 10.0]), np.array([100.0, 100.0]))
    da, db, dc = vjp(forward, args, up)
    assert np.allclose(da, 3 * np.array([1, 1]) * [3, 4] / 3 + 100) and np.allclose(db, [1 + 50, 2 + 60])
    assert np.allclose(dc, [30 + 100, 40 + 100])
    by_name = vjp(forward, dict(zip("abc", args)), up, wrt=["c"])
    assert list(by_name) == ["c"] and np.allclose(by_name["c"], dc)
    (g,) = gradient(lambda a, b, c: (a * b * c).sum(axis=-1), args, wrt=["b"])
    assert np.allclose(g, [5, 12])
    with pytest.raises(TypeError, match="takes 3 arguments"):
        vjp(forward, args[:2], up)


# -- bptt-grader new and bptt-grader notebook ---------------------------------------------------------

def test_new_writes_a_course_that_validates_out_of_the_box(tmp_path):
    proc = bptt_grader("new", "demo", "--course", "course", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for part in ("demo/assignment.py", "solutions/demo/reference.py", "solutions/demo/misconceptions.py",
                 "bptt-course.toml"):
        assert (tmp_path / "course" / part).is_file(), part
    proc = bptt_grader("validate", "demo", "--assignments", "course", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   demo: reference: 2 / 2" in proc.stdout and "demo-missing-tanh-derivative" in proc.stdout
    proc = bptt_grader("validate", cwd=tmp_path / "course")  # the course file: no --assignments there
    assert proc.returncode == 0 and "ok   demo: reference" in proc.stdout, proc.stdout + proc.stderr
    again = bptt_grader("new", "demo", "--course", "course", cwd=tmp_path)
    assert again.returncode == 2 and "not overwritten" in again.stderr
    assert bptt_grader("new", "cache", "--course", "course", cwd=tmp_path).returncode == 2  # a bundled name
    assert bptt_grader("new", "Not-A-Name", "--course", "course", cwd=tmp_path).returncode == 2


def test_a_forward_pass_that_raises_is_the_assignments_to_mend_not_an_internal_error(tmp_path):
    """A forward pass written without the leading axes the derivative needs is the course's mistake: validate
    says which code raised and how to mend it, never "internal error in the grader"."""
    assert bptt_grader("new", "demo", "--course", "course", cwd=tmp_path).returncode == 0
    public = tmp_path / "course" / "demo" / "assignment.py"
    public.write_text(public.read_text().replace("tanh(x @ W + b[..., None, :])", "tanh(x @ W + b)"))
    proc = bptt_grader("validate", "demo", "--assignments", "course", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the assignment's truth for layer_backward" in proc.stdout and "needs mending" in proc.stdout
    assert "internal error in the grader" not in proc.stdout and "diagnosed as None" not in proc.stdout


def test_the_notebook_is_a_skeleton_whose_check_cells_run_in_the_public_folder(courses, monkeypatch):
    import contextlib
    import io

    import nbformat
    import numpy as np

    from grader.authoring import build_notebook, write_skeleton

    write_skeleton("demo", courses / "course")
    assignments.add_courses(courses / "course")
    proc = bptt_grader("notebook", "demo", "--assignments", "course", cwd=courses)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = courses / "course" / "demo" / "demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb == build_notebook("demo")
    text = "\n".join(c.source for c in nb.cells)
    assert text.startswith("# One step of a tanh layer, backward\n\n*Notation: replace: where the notation comes "
                           "from.*\n\ndemo: one step of a tanh layer")
    assert 'def layer_backward(x, W, b, dh):\n    """Return the tuple `(dx, dW, db)`' in text
    assert 'check("demo", layer_backward)' in text and 'check("demo", globals())' in text
    refused = bptt_grader("notebook", "demo", "--assignments", "course", cwd=courses)
    assert refused.returncode == 2 and "not overwritten" in refused.stderr
    # a student's kernel runs in the folder of the notebook: check finds the assignment there
    monkeypatch.setattr(assignments, "_added", [])
    monkeypatch.chdir(path.parent)
    out, ns = io.StringIO(), {"__name__": "__main__"}
    with contextlib.redirect_stdout(out), np.printoptions():  # the notebook sets its own
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(cell.source, ns)
    assert out.getvalue().count("NotImplementedError") >= 2 and "PASS" not in out.getvalue()


# -- docs/authoring.md: every command, from bptt-grader new to bptt-grader grade --------------------------------

def test_the_authoring_page_runs_from_nothing_to_a_graded_class(tmp_path):
    """Its blocks pasted into one terminal, in order (:mod:`docs_pages`): a block that goes into a folder
    comes back out of it, or the next one breaks."""
    import csv

    from docs_pages import blocks, not_ignored, reader_env, run_in_one_shell

    found = blocks("authoring.md", "sh")
    last = [b.strip().split("\n")[-1] for b in found]
    assert [line.split()[:2] for line in last] == [["bptt-grader", "new"], ["cd", ".."], ["bptt-grader", "notebook"],
                                                   ["cd", ".."], ["cp", "-r"], ["cd", "../.."],
                                                   ["bptt-grader", "grade"]]
    output = [out + err for out, err in run_in_one_shell(found, tmp_path, reader_env())]
    assert "ok   tanh_layer: reference: 2 / 2" in output[1]
    assert (tmp_path / "mycourse" / "tanh_layer" / "tanh_layer.ipynb").is_file()
    assert "PASS" in output[3]  # the reference, checked as a student checks
    assert "not written yet" in output[5]  # the handed-out notebook, from its own folder
    with open(tmp_path / "results" / "tanh_layer" / "grades.csv") as f:
        grades = {r["submission"]: float(r["score"]) for r in csv.DictReader(f)}
    assert grades == {"reference": 2, "untouched": 0}
    assert not not_ignored(tmp_path, set())  # tried in a clone of bptt-grader, nothing of it is committed


def test_the_course_folder_keeps_what_the_commands_write_out_of_git(tmp_path):
    """bptt-grader new writes a .gitignore: results, copies of students' work, autograders (which hold the
    solutions), rosters and gradebook files are ignored; the course's own files, solutions included, are not."""
    assert bptt_grader("new", "demo", "--course", "course", cwd=tmp_path).returncode == 0
    course = tmp_path / "course"
    subprocess.run(["git", "init", "-q"], cwd=course, check=True)
    generated = ["results/demo/grades.csv", "out/x.json", "shards/0/a.json", "submissions/alice.ipynb",
                 "handout/demo/demo.ipynb", "britz-autograder.zip", "ag/source/setup.sh",
                 "otter-demo/master/demo.ipynb", "roster.csv", "canvas.csv", "moodle.csv", "canvas-report.txt"]
    own = ["demo/assignment.py", "demo/demo.ipynb", "solutions/demo/reference.py", "bptt-course.toml", ".gitignore"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=course, capture_output=True,
                          text=True, input="\n".join(generated + own))
    assert sorted(proc.stdout.split()) == sorted(generated)
    (course / ".gitignore").write_text("mine\n")
    assert bptt_grader("new", "other", "--course", "course", cwd=tmp_path).returncode == 0
    assert (course / ".gitignore").read_text() == "mine\n"  # an existing one is the course's own: kept
