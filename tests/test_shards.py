"""A class graded on many machines: ``grade --shard K/N`` and ``collect`` give what one machine gives.

A class of six britz submissions is graded once whole and once in three shards (K given as K/N, from
``$JOB_COMPLETION_INDEX`` and from ``$SLURM_ARRAY_TASK_ID``, the files in another order for one of them);
the merged folder's grades.csv, summary.txt and index.html are the single run's byte for byte, and its
results the same apart from timings. Then each refusal of ``collect``, and docs/scale.md.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from docs_pages import fresh_clone, run_page

from grader import batch, cli
from grader.batch import ShardError, parse_shard, result_names, shard_of
from grader.collect import CollectError, collect

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXAMPLES = ROOT / "solutions" / "examples" / "britz"
FAST = ["--examples", "5", "--sandbox", "none", "--jobs", "2"]


def grade(*args: str) -> int:
    return cli.main(["grade", "britz", *args, "--solutions", str(SOLUTIONS), *FAST])


def without_timing(path: Path) -> dict:
    data = json.loads(path.read_text())
    data.pop("execution_time")
    return data


# -- which shard -------------------------------------------------------------------------------------

def test_the_shard_syntax_and_where_auto_finds_k():
    assert parse_shard("1/3", {}) == (1, 3)
    assert parse_shard("0/1", {}) == (0, 1)
    assert parse_shard("auto/4", {"JOB_COMPLETION_INDEX": "3"}) == (3, 4)  # a Kubernetes Indexed Job
    assert parse_shard("4", {"SLURM_ARRAY_TASK_ID": "2"}) == (2, 4)  # a Slurm job array
    assert parse_shard("auto/4", {"JOB_COMPLETION_INDEX": "1", "SLURM_ARRAY_TASK_ID": "1"}) == (1, 4)
    for spec, env, says in [
        ("3/3", {}, "not below the number of shards 3"),
        ("auto/3", {}, "neither is set"),
        ("3", {"SLURM_ARRAY_TASK_ID": "3"}, "--array=0-2"),
        ("auto/3", {"JOB_COMPLETION_INDEX": "0", "SLURM_ARRAY_TASK_ID": "1"}, "disagree"),
        ("a/3", {}, "whole number from 0 to 2"),
        ("1/0", {}, ">= 1"),
        ("-1/3", {}, "whole number"),
    ]:
        with pytest.raises(ShardError, match=re.escape(says)):
            parse_shard(spec, env)


def test_a_submissions_shard_depends_on_its_name_alone(tmp_path):
    # pinned: every machine and every version must agree on where a name goes (docs/scale.md: the sha256)
    assert [shard_of(n, 3) for n in ("alice-hw", "bob-hw", "carol-hw", "correct", "partial")] == [2, 2, 1, 2, 1]
    assert [shard_of(n, 7) for n in ("alice-hw", "bob-hw")] == [1, 4]
    names = [f"student{i:03d}-hw" for i in range(300)]
    counts = [sum(shard_of(n, 4) == k for n in names) for k in range(4)]
    assert sum(counts) == 300 and min(counts) > 50  # every name in one shard; roughly balanced
    # a late submission moves no other one
    files = [tmp_path / f"{n}.py" for n in names[:20]]
    before = {p: shard_of(n, 4) for p, n in result_names(files, tmp_path).items()}
    after = {p: shard_of(n, 4) for p, n in result_names([*files, tmp_path / "late.py"], tmp_path).items()}
    assert {p: after[p] for p in files} == before


def test_a_file_named_index_does_not_take_the_class_overview(tmp_path):
    names = result_names([tmp_path / "index.py", tmp_path / "INDEX.ipynb", tmp_path / "alice.py"], tmp_path)
    assert names[tmp_path / "alice.py"] == "alice"
    assert all(n.lower() != "index" and n.lower().startswith("index-") for p, n in names.items() if p.stem.lower()
               == "index")


# -- one class, three shards ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded whole (``one``) and in three shards (``s0``, ``s1``, ``s2``), then collected (``all``)."""
    base = tmp_path_factory.mktemp("shards")
    klass = base / "class"
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix in (".py", ".ipynb"):
            (klass / path.stem).mkdir(parents=True)
            shutil.copy(path, klass / path.stem / f"hw{path.suffix}")
    files = sorted(klass.rglob("hw.*"))
    assert len(files) == 6
    mp = pytest.MonkeyPatch()
    try:
        assert grade(str(klass), "--out", str(base / "one")) == 0
        assert grade(str(klass), "--out", str(base / "s0"), "--shard", "0/3") == 0
        mp.setenv("JOB_COMPLETION_INDEX", "1")  # a Kubernetes pod of index 1
        assert grade(str(klass), "--out", str(base / "s1"), "--shard", "auto/3") == 0
        mp.delenv("JOB_COMPLETION_INDEX")
        mp.setenv("SLURM_ARRAY_TASK_ID", "2")  # a Slurm task, and the files named one by one, in another order
        assert grade(*map(str, files[::-1]), "--out", str(base / "s2"), "--shard", "3") == 0
        mp.delenv("SLURM_ARRAY_TASK_ID")
    finally:
        mp.undo()
    assert cli.main(["collect", str(base / "s0"), str(base / "s1"), str(base / "s2"), "--out", str(base / "all")]) == 0
    return base


def test_collected_shards_are_one_machines_grading(graded):
    one, merged = graded / "one", graded / "all"
    for name in ("grades.csv", "summary.txt", "index.html"):
        assert (merged / name).read_bytes() == (one / name).read_bytes(), name
    results = sorted(p.name for p in one.glob("*.json"))
    assert len(results) == 6 and sorted(p.name for p in merged.glob("*.json")) == results
    for name in results:
        assert without_timing(merged / name) == without_timing(one / name), name
        page = name.replace(".json", ".html")
        assert (merged / page).read_bytes() == (one / page).read_bytes(), page
    assert "Sandbox: none (6)" in (merged / "summary.txt").read_text()


def test_each_shard_grades_its_own_part_into_its_own_folder(graded):
    parts = []
    for k in range(3):
        folder = graded / f"s{k}"
        manifest = json.loads((folder / batch.MANIFEST).read_text())
        assert (manifest["shard"], manifest["shards"], manifest["complete"]) == (k, 3, True)
        assert len(manifest["class"]) == 6 and manifest["not_written"] == []
        mine = sorted(p.stem for p in folder.glob("*.json"))
        assert mine == manifest["names"] and all(shard_of(n, 3) == k for n in mine)
        rows = (folder / "grades.csv").read_text().splitlines()[1:]
        assert sorted(r.split(",")[0] for r in rows) == mine  # its own partial grades.csv
        assert (folder / "summary.txt").read_text().startswith(
            f"britz: {len(mine)} submissions" if mine else "britz: no submissions graded")
        assert (folder / "index.html").is_file()
        parts += mine
    assert sorted(parts) == sorted(p.stem for p in (graded / "one").glob("*.json"))  # a partition of the class


def test_a_shard_folder_takes_no_other_shard(graded, tmp_path, capsys):
    folder = tmp_path / "s0"
    shutil.copytree(graded / "s0", folder)
    klass = graded / "class"
    assert grade(str(klass), "--out", str(folder), "--shard", "1/3") == 2
    assert grade(str(klass), "--out", str(folder)) == 2  # nor the whole class
    err = " ".join(capsys.readouterr().err.split())
    assert "holds shard 0/3's results" in err and "give each shard its own --out" in err
    # the same shard again, with --resume: kept
    assert grade(str(klass), "--out", str(folder), "--shard", "0/3", "--resume") == 0
    assert "kept" in " ".join(capsys.readouterr().err.split())


def test_an_empty_shard_and_a_one_submission_class(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(EXAMPLES / "partial.ipynb", klass / "partial.ipynb")
    assert grade(str(klass), "--out", str(tmp_path / "one")) == 0
    folders = []
    for k in range(3):
        folders.append(tmp_path / f"s{k}")
        assert grade(str(klass), "--out", str(folders[-1]), "--shard", f"{k}/3") == 0
    empty = [f for f in folders if not list(f.glob("*.json"))]
    assert len(empty) == 2
    for f in empty:
        assert (f / "grades.csv").read_text().count("\n") == 1  # the header alone
        assert (f / "summary.txt").read_text() == "britz: no submissions graded\n"
    collect(folders, tmp_path / "all")
    for name in ("grades.csv", "summary.txt", "index.html"):
        assert (tmp_path / "all" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


# -- what collect refuses ------------------------------------------------------------------------------

def copies(graded: Path, tmp_path: Path) -> list[Path]:
    out = []
    for k in range(3):
        shutil.copytree(graded / f"s{k}", tmp_path / f"s{k}")
        out.append(tmp_path / f"s{k}")
    return out


def first_result(folder: Path) -> Path:
    return sorted(folder.glob("*.json"))[0]


def test_overlapping_shards_merge_when_equal_and_are_refused_when_they_differ(graded, tmp_path, capsys):
    s = copies(graded, tmp_path)
    again = tmp_path / "s0-again"
    shutil.copytree(s[0], again)  # the same shard graded twice, to the same results
    collect([*s, again], tmp_path / "ok")
    result = first_result(again)
    data = json.loads(result.read_text())
    data["execution_time"] += 1.0  # timings may differ
    result.write_text(json.dumps(data))
    collect([*s, again], tmp_path / "ok2")
    data["score"] = data["score"] - 1
    data["tests"][0]["score"] = data["tests"][0]["score"] - 1
    result.write_text(json.dumps(data))
    assert cli.main(["collect", *map(str, [*s, again]), "--out", str(tmp_path / "bad")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{result.stem} has different results in" in err and "overlap and disagree" in err
    assert not (tmp_path / "bad").exists()  # nothing written


def test_results_of_another_assignment_are_refused(graded, tmp_path):
    s = copies(graded, tmp_path)
    other = tmp_path / "goodfellow"
    assert cli.main(["grade", "goodfellow", str(ROOT / "solutions/examples/goodfellow/correct_script.py"),
                     "--out", str(other), "--solutions", str(SOLUTIONS), *FAST]) == 0
    with pytest.raises(CollectError, match="results of different assignments: britz in .*; goodfellow in"):
        collect([*s, other], tmp_path / "all")


def test_shards_graded_with_different_solutions_are_refused(graded, tmp_path):
    s = copies(graded, tmp_path)
    solutions = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS / "britz", solutions / "britz", ignore=shutil.ignore_patterns("__pycache__"))
    with open(solutions / "britz" / "reference.py", "a") as f:
        f.write("\n# edited after shard 0 and 1 were graded\n")
    shutil.rmtree(s[2])
    assert cli.main(["grade", "britz", str(graded / "class"), "--out", str(s[2]), "--shard", "2/3",
                     "--solutions", str(solutions), *FAST]) == 0
    with pytest.raises(CollectError, match=r"not all graded by the same .*the reference solution \(reference.py\) "
                                           r"changed"):
        collect(s, tmp_path / "all")


def test_a_missing_an_unfinished_or_a_different_class_shard_is_refused(graded, tmp_path):
    s = copies(graded, tmp_path)
    lost = sorted(p.stem for p in s[1].glob("*.json"))
    with pytest.raises(CollectError, match=f"shard 1 of 3 is missing .*{lost[0]}"):
        collect([s[0], s[2]], tmp_path / "all")
    manifest = json.loads((s[1] / batch.MANIFEST).read_text())
    (s[1] / batch.MANIFEST).write_text(json.dumps({**manifest, "complete": False}))
    with pytest.raises(CollectError, match="did not finish grading .* again with --resume"):
        collect(s, tmp_path / "all")
    (s[1] / batch.MANIFEST).write_text(json.dumps({**manifest, "class": [*manifest["class"], "zed-hw"]}))
    with pytest.raises(CollectError, match="the shards saw different submissions: .*only .* saw zed-hw"):
        collect(s, tmp_path / "all")
    (s[1] / batch.MANIFEST).write_text(json.dumps({**manifest, "shards": 4}))
    with pytest.raises(CollectError, match="shards of different counts"):
        collect(s, tmp_path / "all")
    (s[1] / batch.MANIFEST).write_text(json.dumps(manifest))
    first_result(s[1]).unlink()  # a result listed in the manifest, gone
    with pytest.raises(CollectError, match="has no result for .* grade the shard again with --resume"):
        collect(s, tmp_path / "all")


def test_collect_refuses_an_out_folder_that_is_a_shard_or_holds_other_results(graded, tmp_path):
    s = copies(graded, tmp_path)
    with pytest.raises(CollectError, match="is one of the folders collected"):
        collect(s, s[0])
    (tmp_path / "all").mkdir()
    (tmp_path / "all" / "someone-else.json").write_text((first_result(s[0])).read_text())
    with pytest.raises(CollectError, match=r"holds results that no folder collected has \(someone-else\)"):
        collect(s, tmp_path / "all")
    collect(s, tmp_path / "again")
    collect(s, tmp_path / "again")  # a folder collect wrote: collected into again


def test_collect_exits_3_and_names_a_submission_the_grader_failed_on(graded, tmp_path, capsys):
    s = copies(graded, tmp_path)
    result = first_result(s[0])
    data = json.loads(result.read_text())
    data["internal_errors"] = ["worker lost: the grader could not finish delta_o"]
    result.write_text(json.dumps(data))
    assert cli.main(["collect", *map(str, s), "--out", str(tmp_path / "all")]) == 3
    assert f"  {result.stem}: worker lost" in (tmp_path / "all" / "summary.txt").read_text()


# -- docs/scale.md ---------------------------------------------------------------------------------------

PAGE = ROOT / "docs" / "scale.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", PAGE.read_text(), flags=re.S | re.M)


def commands() -> list[str]:
    """Every bptt-grader command of the page's code blocks (YAML values, shell lines, --wrap '...')."""
    yaml = pytest.importorskip("yaml")
    found = []
    for block in blocks("yaml"):
        def walk(node):
            if isinstance(node, dict):
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
            elif isinstance(node, str):
                found.extend(line.strip() for line in node.splitlines() if line.strip().startswith("bptt-grader "))
        walk(yaml.safe_load(block))
    for kind in ("sh", "bash", "console", "text"):
        for block in blocks(kind):
            for line in block.splitlines():
                found += re.findall(r"(bptt-grader (?:grade|collect) [^';\n]*)", line)
    return found


def test_every_command_of_the_page_parses_and_the_shard_counts_agree():
    yaml = pytest.importorskip("yaml")
    parser = cli.build_parser()
    found = commands()
    assert len(found) >= 8
    for command in found:
        line = re.sub(r"\$\{\{ *matrix\.shard *\}\}", "0", command)
        line = re.sub(r"\$\{\{ *strategy\.[a-z-]+ *\}\}", "1", line)
        line = re.sub(r"\bK/N\b|\bK\b/N", "0/2", line)
        line = re.sub(r"\$\{?[A-Za-z_]+\}?", "1", line)  # the shell's variables: an index, a core count
        args = shlex.split(line.split("    ")[0])[1:]  # (the text block's notes after four spaces)
        if "..." in args or "ASSIGNMENT" in args:
            continue
        parser.parse_args(args)
    (job,) = [yaml.safe_load(b) for b in blocks("yaml") if "kind: Job" in b]
    assert job["spec"]["completionMode"] == "Indexed"
    assert f"--shard auto/{job['spec']['completions']}" in job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    (workflow,) = [yaml.safe_load(b) for b in blocks("yaml") if "matrix" in b]
    n = len(workflow["jobs"]["grade"]["strategy"]["matrix"]["shard"])
    assert any(f"/{n} " in s.get("run", "") for s in workflow["jobs"]["grade"]["steps"])
    merge = next(s["run"] for s in workflow["jobs"]["collect"]["steps"] if "collect" in s.get("run", ""))
    assert all(f"shards/shard-{k}" in merge for k in range(n))
    (sbatch,) = blocks("bash")
    array = re.search(r"#SBATCH --array=0-(\d+)", sbatch)
    assert array and f"--shard auto/{int(array.group(1)) + 1}" in sbatch


def test_the_pages_local_example_runs_and_matches(tmp_path):
    """The page's ``sh`` blocks, as a reader runs them (in order, in one shell, from a fresh clone)."""
    outputs = run_page("scale.md", fresh_clone(tmp_path))
    assert "collected 3 results of britz from 3 folders, shards 0/3, 1/3, 2/3" in " ".join(outputs[-1][1].split())


def test_the_docs_index_links_the_page():
    assert "](scale.md)" in (ROOT / "docs" / "README.md").read_text()
