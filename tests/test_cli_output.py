"""What the commands say, and how it reaches a pipe or a CI log: whole lines, true sandbox messages, a
warning (and exit status 2) for a class graded as the wrong assignment, "did you mean" for a mistyped
name, and the small texts a new instructor reads first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from grader import cli

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXAMPLES = SOLUTIONS / "examples"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``bptt-grader`` in a subprocess whose output is a pipe, as in a CI log (no COLUMNS set)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "BPTT_GRADER_SOLUTIONS")}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


# -- output to a pipe --------------------------------------------------------------------------------

def test_output_to_a_pipe_keeps_every_line_whole(tmp_path):
    """Not a terminal: no line is wrapped at 80 columns (rich's default), so a path is never cut."""
    out = tmp_path / "a-very-long-folder-name-for-results" / "of-the-spring-semester-2027" / "britz-homework-3"
    proc = run("grade", "britz", str(EXAMPLES / "britz" / "correct.ipynb"), "--out", str(out),
               "--solutions", str(SOLUTIONS), "--sandbox", "none", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert any(line.startswith("graded 1 of 1") and line.endswith(f"results in {out}/")
               for line in proc.stderr.splitlines()), proc.stderr
    assert any(len(line) > 80 for line in proc.stderr.splitlines())  # long lines stay long
    missing = tmp_path / ("a-folder-that-does-not-exist-" * 4) / "submissions"
    proc = run("grade", "britz", str(missing), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2 and f"error: no such file or folder: {missing}\n" in proc.stderr
    proc = run("check", "britz", str(EXAMPLES / "britz" / "aliasing.ipynb"), cwd=tmp_path)
    assert proc.returncode == 1 and any(  # check's feedback lines: whole too
        line.strip().startswith("modified its argument o") and line.endswith("(work on a copy: np.array(x, copy=True))")
        for line in proc.stdout.splitlines())


# -- the sandbox, said as it is ---------------------------------------------------------------------

def test_sandbox_none_says_it_was_chosen_not_that_bubblewrap_is_missing(tmp_path):
    proc = run("grade", "britz", str(EXAMPLES / "britz" / "correct.ipynb"), "--out", str(tmp_path / "o"),
               "--solutions", str(SOLUTIONS), "--sandbox", "none", "--jobs", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning: --sandbox none: student code runs with limits and deadlines but no confinement" in proc.stderr
    assert "not available" not in proc.stderr and "Install bubblewrap" not in proc.stderr
    assert "(without the sandbox, 1 job); results in" in proc.stderr


def test_the_sandbox_words():
    assert "bubblewrap is not installed" in cli._without_sandbox("auto")
    assert "apt-get install bubblewrap" in cli._without_sandbox("auto")
    assert cli._without_sandbox("none").startswith("--sandbox none: ")
    assert cli._how("bwrap", 2) == "bwrap sandbox, 2 jobs" and cli._how("none", 1) == "without the sandbox, 1 job"


# -- the wrong assignment ---------------------------------------------------------------------------

def test_a_class_graded_as_the_wrong_assignment_is_said_and_exits_2(tmp_path, capsys):
    code = cli.main(["grade", "britz", str(EXAMPLES / "trask"), "--out", str(tmp_path / "o"),
                     "--solutions", str(SOLUTIONS), "--sandbox", "none", "--jobs", "1"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2, err
    assert "warning: none of the 6 submissions defines any of britz's functions (delta_o, delta_t, delta_t_prev, " \
           "bptt): every score is 0. But these submissions define trask's functions: did you mean bptt-grader " \
           "grade trask ...?" in err
    assert (tmp_path / "o" / "grades.csv").is_file()  # the results are written all the same


def test_check_of_the_wrong_assignment_says_which_it_looks_like(tmp_path, capsys):
    notebook = EXAMPLES / "trask" / "correct.ipynb"
    assert cli.main(["check", "britz", str(notebook), "--sandbox", "none"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "the submission defines none of britz's functions" in err
    assert f"But it defines trask's functions: did you mean bptt-grader check trask {notebook}?" in err
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert cli.main(["check", "britz", str(empty), "--sandbox", "none"]) == 2
    assert "Is it the right assignment, and the right folder?" in capsys.readouterr().err


def test_one_function_found_anywhere_is_an_ordinary_class(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "a.py").write_text("x = 1\n")
    (tmp_path / "class" / "b.py").write_text("def delta_o(o, y):\n    return o\n")
    code = cli.main(["grade", "britz", str(tmp_path / "class"), "--out", str(tmp_path / "o"),
                     "--solutions", str(SOLUTIONS), "--sandbox", "none", "--jobs", "1", "--examples", "5"])
    assert code == 0 and "defines any of" not in capsys.readouterr().err


def test_a_mistyped_assignment_name_gets_a_did_you_mean(capsys):
    for typed, meant in (("Britz", "britz"), ("brits", "britz"), ("goodfelow", "goodfellow")):
        assert cli.main(["check", typed, "x.py"]) == 2
        assert f"unknown assignment '{typed}' (did you mean {meant}?); the assignments are:" in capsys.readouterr().err
    assert cli.main(["grade", "xyz", "x.py", "--out", "o"]) == 2
    assert "did you mean" not in capsys.readouterr().err


# -- small texts -----------------------------------------------------------------------------------

def test_one_changed_entry_is_one_entry():
    from grader import check

    def delta_o(o, y):
        d = np.array(o, dtype=float, copy=True)
        d[np.arange(len(y)), np.asarray(y, dtype=int)] -= 1.0
        o[0, 0] = 7.0  # one entry of an argument, in place
        return d

    text = check("britz", delta_o, quiet=True).text
    assert "modified its argument o (1 entry changed, at index (0, 0))" in text and "1 entries" not in text


def test_the_notebook_of_a_bundled_assignment_mentions_no_assignment_py(tmp_path, capsys):
    import nbformat

    target = tmp_path / "britz.ipynb"
    assert cli.main(["notebook", "britz", "--out", str(target)]) == 0
    said = capsys.readouterr().out
    assert "give students the notebook alone (britz is bundled with the grader" in said
    assert "assignment.py" not in said
    text = "\n".join(c.source for c in nbformat.read(target, as_version=4).cells)
    assert "assignment.py" not in text and "`britz` is bundled with the grader" in text
    assert "- `o`: a float64 array of shape (T, word_dim)" in text  # its contract, the question having no doc
