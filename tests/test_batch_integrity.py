"""The integrity of a batch: whose file a result is, what may be read, what the files written hold.

Each test here was a hole: another student's file taking a result's name (and ``--resume`` keeping
it), the grader reading through a symbolic link (the reference solution graded as the student's, a
system file quoted in the feedback), spreadsheet formulas in ``grades.csv``, a mistyped path graded
as a zero, results written readable by their owner only, and the grader's own errors passing as
grades.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from grader import batch, cli, notebook, report
from grader.assignments import get
from grader.batch import Job, result_names, run_batch
from grader.notebook import SubmissionError, read_submission, read_submission_bytes, submission_files

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
REFERENCE = SOLUTIONS / "britz" / "reference.py"
EXAMPLES = 5  # instances per check: enough to tell a right answer from a wrong one, fast
WRONG = "def delta_o(o, y):\n    return o * 2.0\n"  # wrong: scores at most the contract quarter


def job(sandbox: str = "none") -> Job:
    return Job("britz", SOLUTIONS, sandbox, examples=EXAMPLES)


def scores(data: dict) -> dict[str, float]:
    per: dict[str, float] = {}
    for t in data["tests"]:
        per[t["function"]] = per.get(t["function"], 0.0) + t["score"]
    return per


def stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


@pytest.fixture
def klass(tmp_path: Path) -> Path:
    """The layout of the review: Aaron's file is called alice-hw.py; Alice's and Carol's are hw.py."""
    root = tmp_path / "class"
    for who in ("aaron", "alice", "carol"):
        (root / who).mkdir(parents=True)
    (root / "aaron" / "alice-hw.py").write_text("x = 1\n")  # no function at all: zero
    (root / "alice" / "hw.py").write_text(REFERENCE.read_text())  # full marks
    (root / "carol" / "hw.py").write_text(WRONG)
    return root


# -- 1. whose file a result is ---------------------------------------------------------------------

def test_result_names_come_from_the_path_and_not_from_the_order_files_are_found_in(klass):
    files = [klass / "aaron" / "alice-hw.py", klass / "alice" / "hw.py", klass / "carol" / "hw.py"]
    want = {files[0]: "aaron-alice-hw", files[1]: "alice-hw", files[2]: "carol-hw"}
    for order in itertools.permutations(files):
        assert result_names(list(order)) == want
        assert result_names(list(order), root=klass) == want


def test_result_names_never_collide_even_after_sanitising(tmp_path):
    rels = ["a-b/c.py", "a/b-c.py", "a b/c.py", "a_b/c.py", "hw.py", "hw.ipynb", "HW.py", "é/hw.py", "_/hw.py",
            ".hidden.py", "../up.py", "x/y/z.py", "x-y-z.py", "=HYPERLINK(\"x\")a.py", "-2.py", "+1.py",
            "n" * 300 + ".py"]
    paths = [tmp_path / "root" / r for r in rels]
    names = result_names(paths, root=tmp_path / "root")
    assert len({n.lower() for n in names.values()}) == len(paths)  # unique, even on a case-insensitive disk
    for n in names.values():
        assert n and all(c.isascii() and (c.isalnum() or c in "._-") for c in n), n
        assert not n.startswith(".") and len(n) < 200
    # readable where nothing collides
    assert names[tmp_path / "root" / "x/y/z.py"] != names[tmp_path / "root" / "x-y-z.py"]
    assert names[tmp_path / "root" / "-2.py"] == "-2" and names[tmp_path / "root" / ".hidden.py"] == "_hidden"
    assert names[tmp_path / "root" / "_/hw.py"] != names[tmp_path / "root" / "é/hw.py"]
    shuffled = list(paths)
    random.Random(0).shuffle(shuffled)
    for order in (paths[::-1], shuffled):
        assert result_names(order, root=tmp_path / "root") == names
    # a file named like another's disambiguated name does not take it either
    hashed = names[tmp_path / "root" / "hw.py"]
    assert hashed.startswith("hw-") and len(hashed) == len("hw-") + 8
    again = result_names([*paths, tmp_path / "root" / f"{hashed}.py"], root=tmp_path / "root")
    assert len({n.lower() for n in again.values()}) == len(paths) + 1


def test_each_result_records_the_path_it_graded_and_the_digest_of_its_bytes(klass, tmp_path):
    results, errors = run_batch(job(), sorted(klass.rglob("*.py")), tmp_path / "out")
    assert not errors
    for name, rel in (("aaron-alice-hw", "aaron/alice-hw.py"), ("alice-hw", "alice/hw.py"),
                      ("carol-hw", "carol/hw.py")):
        data = json.loads((tmp_path / "out" / f"{name}.json").read_text())
        assert data["extra_data"]["source"] == {
            "path": rel, "sha256": hashlib.sha256((klass / rel).read_bytes()).hexdigest()}
    alice = json.loads((tmp_path / "out" / "alice-hw.json").read_text())
    assert alice["score"] == 7.0  # Alice's own file, her own row
    assert json.loads((tmp_path / "out" / "aaron-alice-hw.json").read_text())["score"] == 0.0


def test_resume_regrades_a_result_that_names_another_file(klass, tmp_path):
    out = tmp_path / "out"
    run_batch(job(), sorted(klass.rglob("*.py")), out)
    # as the old naming left it: Aaron's result under the name Alice's file now has
    shutil.copy(out / "aaron-alice-hw.json", out / "alice-hw.json")
    kept = stamp(out / "carol-hw.json")
    statuses: dict[str, str] = {}
    results, _ = run_batch(job(), sorted(klass.rglob("*.py")), out, resume=True,
                           progress=lambda name, data, status: statuses.__setitem__(name, status))
    alice = json.loads((out / "alice-hw.json").read_text())
    assert alice["extra_data"]["source"]["path"] == "alice/hw.py"
    assert alice["score"] == 7.0, "Alice's code never ran: another file's result was kept as hers"
    assert statuses == {"alice-hw": "graded", "aaron-alice-hw": "kept", "carol-hw": "kept"}
    assert stamp(out / "carol-hw.json") == kept
    assert sorted(r["extra_data"]["submission"] for r in results) == ["aaron-alice-hw", "alice-hw", "carol-hw"]


def test_resume_keeps_no_result_of_another_path_even_for_the_same_bytes(klass, tmp_path):
    out = tmp_path / "out"
    shutil.copy(klass / "alice" / "hw.py", klass / "aaron" / "alice-hw.py")  # Aaron copied Alice's file
    run_batch(job(), sorted(klass.rglob("*.py")), out)
    shutil.copy(out / "aaron-alice-hw.json", out / "alice-hw.json")  # the same digest, another file's result
    run_batch(job(), sorted(klass.rglob("*.py")), out, resume=True)
    assert json.loads((out / "alice-hw.json").read_text())["extra_data"]["source"]["path"] == "alice/hw.py"


def test_resume_regrades_a_changed_file_and_a_result_without_a_source(klass, tmp_path):
    out = tmp_path / "out"
    run_batch(job(), sorted(klass.rglob("*.py")), out)
    (klass / "carol" / "hw.py").write_text(REFERENCE.read_text())  # Carol resubmits, a correct file
    aaron = json.loads((out / "aaron-alice-hw.json").read_text())
    del aaron["extra_data"]["source"]  # a result that does not say what it graded
    (out / "aaron-alice-hw.json").write_text(json.dumps(aaron))
    kept = stamp(out / "alice-hw.json")
    run_batch(job(), sorted(klass.rglob("*.py")), out, resume=True)
    carol = json.loads((out / "carol-hw.json").read_text())
    assert carol["score"] == 7.0 and carol["extra_data"]["source"]["sha256"] == hashlib.sha256(
        (klass / "carol" / "hw.py").read_bytes()).hexdigest()
    assert json.loads((out / "aaron-alice-hw.json").read_text())["extra_data"]["source"]["path"] == \
        "aaron/alice-hw.py"
    assert stamp(out / "alice-hw.json") == kept  # unchanged: not graded again


def test_grade_names_results_from_the_root_of_the_arguments(klass, tmp_path, capsys):
    out = tmp_path / "out"
    # only Alice's file below the folder given: still "alice-hw", as when the whole class is there
    (klass / "aaron" / "alice-hw.py").unlink()
    (klass / "carol" / "hw.py").unlink()
    assert cli.main(["grade", "britz", str(klass), "--out", str(out), "--solutions", str(SOLUTIONS),
                     "--jobs", "1", "--examples", str(EXAMPLES), "--sandbox", "none"]) == 0
    assert sorted(p.name for p in out.glob("*.json")) == ["alice-hw.json"]


# -- 2. what may be read ---------------------------------------------------------------------------

def test_a_symlink_to_the_reference_is_refused_not_graded_as_the_students(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "bob.py").symlink_to(REFERENCE)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FIRST-LINE of a private file\n")
    (subs / "eve.py").symlink_to(secret)
    (subs / "carol.py").write_text(WRONG)
    results, errors = run_batch(job(), sorted(subs.iterdir()), tmp_path / "out")
    assert not errors
    by = {r["extra_data"]["submission"]: r for r in results}
    for name in ("bob", "eve"):
        assert by[name]["score"] == 0, f"{name}'s link was followed"
        assert "is refused: it is a symbolic link" in by[name]["output"]
        assert by[name]["extra_data"]["source"] == {"path": f"{name}.py", "sha256": None}
    for written in (tmp_path / "out").iterdir():
        assert "TOP-SECRET" not in written.read_text(), f"{written.name} quotes the file the link points at"


def test_a_folder_below_the_submission_folder_that_is_a_link_is_refused_and_not_walked(tmp_path):
    klass, elsewhere = tmp_path / "class", tmp_path / "elsewhere"
    (klass / "alice").mkdir(parents=True)
    (klass / "alice" / "hw.py").write_text(WRONG)
    elsewhere.mkdir()
    shutil.copy(REFERENCE, elsewhere / "hw.py")
    (klass / "bob").symlink_to(elsewhere)
    links: list[Path] = []
    assert submission_files(klass, links=links) == [klass / "alice" / "hw.py"]  # bob/ is not walked
    assert links == [klass / "bob"]
    assert list(cli._submissions([str(klass)])) == [klass / "alice" / "hw.py"]
    with pytest.raises(SubmissionError, match="the folder 'bob' it is in is a symbolic link"):
        read_submission_bytes(klass / "bob" / "hw.py", klass)
    # and given as a file of that folder in a batch, it is a zero with the reason
    results, _ = run_batch(job(), [klass / "alice" / "hw.py", klass / "bob" / "hw.py"], tmp_path / "out",
                           root=klass, folders={klass / "bob" / "hw.py": klass})
    bob = next(r for r in results if r["extra_data"]["submission"] == "bob-hw")
    assert bob["score"] == 0 and "symbolic link" in bob["output"]


def test_a_file_outside_the_submission_folder_is_refused(tmp_path):
    (tmp_path / "class").mkdir()
    outside = tmp_path / "other.py"
    outside.write_text("x = 1\n")
    with pytest.raises(SubmissionError, match="not inside the submission folder"):
        read_submission_bytes(outside, tmp_path / "class")
    with pytest.raises(SubmissionError, match="not inside the submission folder"):
        read_submission_bytes(tmp_path / "class" / ".." / "other.py", tmp_path / "class")


def test_fifos_sockets_devices_and_folders_are_refused_before_they_are_read(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            outcome.append(read_submission_bytes(fifo))
        except BaseException as e:
            outcome.append(e)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the reader the grader left hanging on the FIFO
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert outcome and isinstance(outcome[0], SubmissionError), "the grader opened a FIFO (and waited on it)"
    assert "FIFO" in str(outcome[0])

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.py"))
    try:
        with pytest.raises(SubmissionError, match="a socket"):
            read_submission_bytes(tmp_path / "sock.py")
    finally:
        sock.close()
    with pytest.raises(SubmissionError, match="a device"):
        read_submission_bytes("/dev/null", "/dev")
    (tmp_path / "dir.py").mkdir()
    with pytest.raises(SubmissionError, match="a folder"):
        read_submission_bytes(tmp_path / "dir.py")


def test_a_file_swapped_for_a_link_after_it_was_looked_at_is_refused_when_opened(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    link = tmp_path / "sub" / "hw.py"
    link.symlink_to(REFERENCE)
    regular = os.lstat(REFERENCE)
    real_lstat = os.lstat
    # lstat sees a regular file (as it was a moment ago); the descriptor opened must still not follow it
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: regular if os.fspath(p) == os.fspath(link)
                        else real_lstat(p, *a, **k))
    monkeypatch.setattr(os.path, "realpath", lambda p, *a, **k: os.path.abspath(p))
    with pytest.raises(SubmissionError, match="symbolic link"):
        read_submission_bytes(link, tmp_path / "sub")
    # a folder on the way swapped too
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "bob").symlink_to(REFERENCE.parent)
    folder = os.lstat(tmp_path)
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: folder if os.fspath(p) == os.fspath(tmp_path / "top" / "bob")
                        else regular if os.fspath(p).endswith("bob/reference.py") else real_lstat(p, *a, **k))
    with pytest.raises(SubmissionError, match="symbolic link"):
        read_submission_bytes(tmp_path / "top" / "bob" / "reference.py", tmp_path / "top")


def test_the_size_cap_holds_on_what_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_SUBMISSION_BYTES", 1000)
    (tmp_path / "big.py").write_text("#" * 1001)
    with pytest.raises(SubmissionError, match="over the"):
        read_submission_bytes(tmp_path / "big.py")
    (tmp_path / "ok.py").write_text("#" * 1000)
    assert read_submission_bytes(tmp_path / "ok.py") == b"#" * 1000


def test_a_file_name_that_is_not_utf8_gets_its_result(tmp_path):
    subs = os.fsencode(tmp_path / "subs")
    os.mkdir(subs)
    with open(os.path.join(subs, b"\xffx.py"), "w") as f:
        f.write(WRONG)
    os.symlink(REFERENCE, os.path.join(subs, b"\xfel.py"))
    results, errors = run_batch(job(), submission_files(os.fsdecode(subs)), tmp_path / "out")
    assert not errors
    assert sorted(r["extra_data"]["submission"] for r in results) == ["_l", "_x"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.html")) == ["_l.html", "_x.html", "index.html"]


def test_check_refuses_a_link(tmp_path, capsys):
    (tmp_path / "mine.py").symlink_to(REFERENCE)  # it would pass every check if it were read
    assert cli.main(["check", "britz", str(tmp_path / "mine.py"), "--examples", str(EXAMPLES),
                     "--sandbox", "none"]) == 2
    assert "is refused: it is a symbolic link" in " ".join(capsys.readouterr().err.split())


def test_the_gradescope_route_refuses_a_link(tmp_path):
    from grader.integrations.gradescope import grade_submission

    root = tmp_path / "autograder"
    shutil.copytree(SOLUTIONS / "britz", root / "source" / "solutions" / "britz",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "submission").mkdir()
    (root / "submission" / "britz.py").symlink_to(root / "source" / "solutions" / "britz" / "reference.py")
    data = grade_submission(root, {"assignment": "britz", "sandbox": "none", "visibility": {}})
    assert data["score"] == 0, "the reference solution was graded as the student's"
    assert "is refused: it is a symbolic link" in data["output"]
    # a link to a folder below the submission is not searched for a file to grade
    (root / "submission" / "britz.py").unlink()
    (root / "submission" / "work").symlink_to(root / "source" / "solutions" / "britz")
    data = grade_submission(root, {"assignment": "britz", "sandbox": "none", "visibility": {}})
    assert data["score"] == 0 and "no notebook (.ipynb) or Python file was submitted" in data["output"]


# -- 3. spreadsheet formulas -------------------------------------------------------------------------

def test_grades_csv_cells_cannot_start_a_formula_and_numbers_stay_numbers(tmp_path):
    a = get("britz")
    names = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-1+1", "@SUM(A1)", "\tx", "\rx", "alice"]
    rows = []
    for name in names:
        rows.append({"score": -1.5, "max_score": 7.0, "extra_data": {"submission": name},
                     "tests": [{"function": "delta_o", "score": -1.5}]})
    report.write_grades_csv(rows, a, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    cells = {row[0] for row in table[1:]}
    assert cells == {"'" + n for n in names[:-1]} | {"alice"}
    for row in table[1:]:
        assert row[1:] == ["-1.5", "0", "0", "0", "-1.5", "7"]  # numbers: not quoted, not prefixed


def test_a_formula_file_name_is_kept_readably_in_the_json_and_harmless_in_the_csv(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    evil = subs / '=HYPERLINK("evil")a.py'
    evil.write_text(WRONG)
    results, _ = run_batch(job(), [evil], tmp_path / "out")
    assert results[0]["extra_data"]["source"]["path"] == '=HYPERLINK("evil")a.py'
    with open(tmp_path / "out" / "grades.csv", newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            assert not any(cell.startswith(report.FORMULA_STARTS) for cell in row), row


# -- 4. a mistyped path ----------------------------------------------------------------------------

def test_a_path_that_does_not_exist_is_an_error_and_nothing_is_written(tmp_path, capsys):
    good = tmp_path / "good.py"
    good.write_text(WRONG)
    out = tmp_path / "out"
    assert cli.main(["grade", "britz", str(good), str(tmp_path / "nonexistent"), "--out", str(out),
                     "--solutions", str(SOLUTIONS), "--sandbox", "none"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"no such file or folder: {tmp_path / 'nonexistent'}" in err
    assert not out.exists()


# -- 5. small ones ---------------------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_every_file_written_is_mode_0666_less_the_umask(tmp_path, umask, mode):
    (tmp_path / "s.py").write_text(WRONG)
    old = os.umask(umask)
    try:
        run_batch(job(), [tmp_path / "s.py"], tmp_path / "out")
    finally:
        os.umask(old)
    written = sorted((tmp_path / "out").iterdir())
    assert {p.name for p in written} == {"s.json", "s.html", "grades.csv", "summary.txt",
                                         "index.html"}  # no temporaries left
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == mode, p.name


def test_results_folders_are_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in ("results/grades.csv", "out/britz/s.json"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path


def test_every_positional_argument_and_solutions_option_has_help():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict))
    for name, p in sub.choices.items():
        for action in p._actions:
            if not action.option_strings or "--solutions" in action.option_strings:
                assert action.help, f"{name}: {action.dest} has no help"


def test_resume_that_keeps_everything_says_so(tmp_path, capsys):
    (tmp_path / "s.py").write_text(WRONG)
    argv = ["grade", "britz", str(tmp_path / "s.py"), "--out", str(tmp_path / "out"), "--solutions", str(SOLUTIONS),
            "--jobs", "1", "--examples", str(EXAMPLES), "--sandbox", "none"]
    assert cli.main(argv) == 0
    assert "graded 1 of 1 submissions" in " ".join(capsys.readouterr().err.split())
    assert cli.main([*argv, "--resume"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "graded 0, kept 1 (--resume)" in err and "graded 1 of 1" not in err


# -- the grader's own errors and its sandbox ---------------------------------------------------------

@pytest.fixture
def flaky(monkeypatch):
    """Grading that meets an internal error of the grader on submissions whose name starts with "bad"."""
    real = batch.grade_submission

    def grade(*args, **kwargs):
        result = real(*args, **kwargs)
        if kwargs.get("name", "").startswith("bad"):
            result.internal_errors.append("worker lost: the grader could not finish delta_o\nTraceback ...")
        return result

    monkeypatch.setattr(batch, "grade_submission", grade)
    return monkeypatch


def test_results_record_the_sandbox_and_internal_errors_and_the_summary_lists_them(tmp_path, flaky):
    for name in ("bad1", "good"):
        (tmp_path / f"{name}.py").write_text(WRONG)
    results, _ = run_batch(job("none"), [tmp_path / "bad1.py", tmp_path / "good.py"], tmp_path / "out")
    bad = json.loads((tmp_path / "out" / "bad1.json").read_text())
    good = json.loads((tmp_path / "out" / "good.json").read_text())
    assert bad["sandbox"] == good["sandbox"] == "none"
    assert bad["internal_errors"] == ["worker lost: the grader could not finish delta_o\nTraceback ..."]
    assert good["internal_errors"] == []
    text = (tmp_path / "out" / "summary.txt").read_text()
    assert "Sandbox: none (2)" in text
    section = text.split("Not graded (internal error), grade again with --resume:\n")[1]
    assert section.splitlines()[0] == "  bad1: worker lost: the grader could not finish delta_o"
    assert "good" not in section.split("\n\n")[0]


def test_resume_regrades_a_result_with_an_internal_error(tmp_path, flaky):
    for name in ("bad1", "good"):
        (tmp_path / f"{name}.py").write_text(WRONG)
    paths = [tmp_path / "bad1.py", tmp_path / "good.py"]
    run_batch(job("none"), paths, tmp_path / "out")
    kept = stamp(tmp_path / "out" / "good.json")
    flaky.undo()  # the grader works again
    run_batch(job("none"), paths, tmp_path / "out", resume=True)
    assert json.loads((tmp_path / "out" / "bad1.json").read_text())["internal_errors"] == []
    assert stamp(tmp_path / "out" / "good.json") == kept
    assert "Not graded (internal error)" not in (tmp_path / "out" / "summary.txt").read_text()


def test_grade_exits_3_when_a_submission_has_an_internal_error(tmp_path, flaky, capsys):
    (tmp_path / "bad1.py").write_text(WRONG)
    assert cli.main(["grade", "britz", str(tmp_path / "bad1.py"), "--out", str(tmp_path / "out"),
                     "--solutions", str(SOLUTIONS), "--jobs", "1", "--examples", str(EXAMPLES),
                     "--sandbox", "none"]) == 3
    err = " ".join(capsys.readouterr().err.split())
    assert "1 of 1 submissions not graded because of an internal error of the grader" in err
    assert "grade them again with --resume" in err


def test_a_read_submission_records_the_digest_of_what_it_read(tmp_path):
    (tmp_path / "s.py").write_text(WRONG)
    assert read_submission(tmp_path / "s.py").sha256 == hashlib.sha256(WRONG.encode()).hexdigest()
