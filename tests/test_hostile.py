"""Hostile and broken submissions: each gets a clear message and a zero for exactly what it broke.

Every submission below attacks or breaks one thing and implements the other
britz functions correctly, so each test can check both halves: the broken
function scores zero with a clear message, the others keep full marks. The
whole set is graded in one batch (with bubblewrap when it works here, and
again without it), as an instructor would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, SOLUTIONS
from nbformat.v3 import new_code_cell as v3_cell
from nbformat.v3 import new_notebook as v3_notebook
from nbformat.v3 import new_worksheet
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.batch import Job, run_batch
from grader.sandbox import Limits, bwrap_works

GOOD = {
    "delta_o": "def delta_o(o, y):\n    d = o.copy()\n    d[np.arange(len(y)), y] -= 1.0\n    return d\n",
    "delta_t": "def delta_t(V, delta_o_t, s_t):\n    return V.T @ delta_o_t * (1 - s_t**2)\n",
    "delta_t_prev": "def delta_t_prev(W, delta_t, s_prev):\n    return W.T @ delta_t * (1 - s_prev**2)\n",
    # self-contained, so that breaking one of the helpers above does not break it too
    "bptt": """def bptt(x, y, U, V, W, bptt_truncate=4):
    o, s = forward_propagation(x, U, V, W)
    dU, dV, dW = np.zeros(U.shape), np.zeros(V.shape), np.zeros(W.shape)
    d_o = o.copy()
    d_o[np.arange(len(y)), y] -= 1.0
    for t in reversed(range(len(y))):
        dV += np.outer(d_o[t], s[t])
        d = V.T @ d_o[t] * (1 - s[t] ** 2)
        for k in range(t, max(0, t - bptt_truncate) - 1, -1):
            dW += np.outer(d, s[k - 1])
            dU[:, x[k]] += d
            d = W.T @ d * (1 - s[k - 1] ** 2)
    return dU, dV, dW
""",
}
FORWARD = (SOLUTIONS / "britz" / "reference.py").read_text().split("def delta_o")[0]
FULL = {"delta_o": 1.0, "delta_t": 1.0, "delta_t_prev": 1.0, "bptt": 4.0}
LIMITS = Limits(call_seconds=2.0, cell_seconds=3.0, memory_bytes=1 << 30)


def source(**replace: str | None) -> str:
    """A correct britz submission with some functions replaced (None: left out)."""
    parts = [FORWARD]
    for name, code in GOOD.items():
        new = replace.get(name, code)
        if new is not None:
            parts.append(new)
    return "\n\n".join(parts)


def notebook(*cells: str, outputs: list | None = None) -> str:
    nb = new_notebook(cells=[new_code_cell(c, outputs=outputs or []) for c in cells])
    return nbformat.writes(nb)


# name -> (file contents (str or bytes), suffix, expected per-function scores, text the results must contain)
CASES: dict[str, tuple[object, str, dict[str, float], str]] = {
    "not_json": ("{ this is not json", ".ipynb", dict.fromkeys(FULL, 0.0), "not valid JSON"),
    "empty": (notebook(), ".ipynb", dict.fromkeys(FULL, 0.0), "has no code"),
    "not_utf8": (b"import numpy as np\n# caf\xe9\n", ".py", dict.fromkeys(FULL, 0.0), "not UTF-8"),
    "syntax_cell": (notebook(FORWARD, GOOD["delta_o"], GOOD["delta_t"], GOOD["delta_t_prev"],
                             "def bptt(x, y, U, V, W, bptt_truncate=4):\n    return (\n"),
                    ".ipynb", {**FULL, "bptt": 0.0}, "cell 5, line"),
    "main_guard": ("import numpy as np\nif __name__ == '__main__':\n" + "\n".join(
        "    " + line for line in source().splitlines()), ".py", FULL, ""),
    "not_callable": (source(delta_t="delta_t = 3\n"), ".py", {**FULL, "delta_t": 0.0}, "not callable (int)"),
    "exit_at_import": (notebook(source(), "import sys\nsys.exit(1)\n"), ".ipynb", FULL, "exit(1)"),
    "os_exit_in_function": (source(delta_t="def delta_t(V, d, s):\n    import os\n    os._exit(3)\n"), ".py",
                            {**FULL, "delta_t": 0.0}, "os._exit(3)"),
    "infinite_loop": (source(delta_t="def delta_t(V, d, s):\n    while True:\n        pass\n"), ".py",
                      {**FULL, "delta_t": 0.0}, "did not return within"),
    "memory_bomb": (source(delta_t="def delta_t(V, d, s):\n    x = [bytearray(1 << 26) for _ in range(10**4)]\n"
                                   "    return V.T @ d\n"), ".py", {**FULL, "delta_t": 0.0}, "delta_t"),
    "output_flood": (source(delta_t="def delta_t(V, d, s):\n    import os\n    print('x' * 10**6)\n"
                                    "    os.write(1, b'y' * 10**6)\n    os.write(2, b'z' * 10**5)\n"
                                    "    return V.T @ d * (1 - s**2)\n"), ".py", FULL, ""),
    "hang_at_import": (notebook(source(), "while True:\n    pass\n"), ".ipynb", FULL, "did not finish within"),
    "subprocess": (source(delta_t="def delta_t(V, d, s):\n    import subprocess\n"
                                  "    subprocess.Popen(['sleep', '60'])\n    return V.T @ d * (1 - s**2)\n"),
                   ".py", FULL, ""),
    # at most 2**6 processes even if every limit failed; the pids limit stops it well before
    "fork_bomb": (source(delta_t="def delta_t(V, d, s):\n    import os\n    for _ in range(6):\n"
                                 "        try:\n            os.fork()\n        except OSError:\n            break\n"
                                 "    return V.T @ d * (1 - s**2)\n"), ".py", FULL, ""),
    "monkeypatch_numpy": (source(delta_t="np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
                                         "np.testing.assert_allclose = lambda *a, **k: None\n"
                                         "np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)\n"
                                         "def delta_t(V, d, s):\n    return V.T @ d\n"),
                          ".py", {**FULL, "delta_t": 0.0}, "differs from the derivative"),  # wrong: no form credit
    "subclass": (source(delta_t="class M(np.ndarray):\n    pass\n"
                                "def delta_t(V, d, s):\n    return (V.T @ d * (1 - s**2)).view(M)\n"),
                 ".py", {**FULL, "delta_t": 0.75}, "subclass of numpy.ndarray"),
    "object_array": (source(delta_t="def delta_t(V, d, s):\n    return np.array(list(V.T @ d * (1 - s**2)), "
                                    "dtype=object)\n"), ".py", {**FULL, "delta_t": 0.0}, "only numeric arrays"),
    "nan": (source(delta_t="def delta_t(V, d, s):\n    return np.full(len(s), np.nan)\n"), ".py",
            {**FULL, "delta_t": 0.0}, "NaN"),
    "wrong_shape": (source(delta_t="def delta_t(V, d, s):\n    return (V.T @ d * (1 - s**2))[None]\n"), ".py",
                    {**FULL, "delta_t": 0.0}, "should have shape"),
    "files": (source(delta_t="def delta_t(V, d, s):\n    open('junk.txt', 'w').write('x' * 1000)\n"
                             "    import os\n    os.remove('junk.txt')\n    return V.T @ d * (1 - s**2)\n"),
              ".py", FULL, ""),
}


def _write_cases(folder: Path, cases: dict) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (content, suffix, _, _) in cases.items():
        p = folder / f"{name}{suffix}"
        (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)
        paths.append(p)
    # nbformat 3, converted as Jupyter converts it
    nb3 = v3_notebook(worksheets=[new_worksheet(cells=[v3_cell(input=source())])])
    p = folder / "nbformat3.ipynb"
    p.write_text(nbformat.v3.writes_json(nb3))
    paths.append(p)
    # a huge output blob: outputs are not code
    blob = notebook(source(), outputs=[new_output("stream", name="stdout", text="x" * (20 << 20))])
    p = folder / "huge_output.ipynb"
    p.write_text(blob)
    paths.append(p)
    return paths


def _scores(data: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in data["tests"]:
        out[t["function"]] = out.get(t["function"], 0.0) + t["score"]
    return out


MODES = ["none", pytest.param("bwrap", marks=pytest.mark.skipif(not bwrap_works(), reason="bwrap cannot run here"))]


@pytest.fixture(scope="module", params=MODES)
def graded(request, tmp_path_factory):
    mode = request.param
    tmp = tmp_path_factory.mktemp(f"hostile-{mode}")
    paths = _write_cases(tmp / "subs", CASES)
    start = time.monotonic()
    results, errors = run_batch(Job("britz", SOLUTIONS, mode, LIMITS, examples=12), paths, tmp / "out", jobs=2)
    assert not errors, errors
    return mode, {r["extra_data"]["submission"]: r for r in results}, time.monotonic() - start


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_submission_is_graded_exactly_where_it_broke(graded, case):
    mode, results, _ = graded
    _, _, expected, text = CASES[case]
    data = results[case]
    assert _scores(data) == pytest.approx(expected), json.dumps(data, indent=1)[:3000]
    everything = data["output"] + "\n".join(t["output"] for t in data["tests"])
    assert text in everything


@pytest.mark.parametrize("case", ["nbformat3", "huge_output"])
def test_converted_and_bloated_notebooks_get_full_marks(graded, case):
    _, results, _ = graded
    assert _scores(results[case]) == pytest.approx(FULL)


def test_the_batch_completes(graded):
    _, results, seconds = graded
    assert len(results) == len(CASES) + 2


SNOOP = '''
import os, glob

def _find():
    found = []
    for pid in ("1", str(os.getppid())):
        try:
            found.append(open(f"/proc/{pid}/cmdline").read())
        except OSError:
            pass
    found += [v for k, v in os.environ.items() if "SOLUTION" in k or "BPTT" in k]
    text = " ".join(found)
    paths = [w for w in text.replace("\\0", " ").split() if "solution" in w.lower()]
    paths += ["../solutions", "solutions", "/work/main/solutions", "ROOT_DIR/solutions",
              os.path.expanduser("~/solutions")]
    hits = []
    for p in paths:
        hits += glob.glob(os.path.join(p, "*", "reference.py"))
    try:
        import solutions  # noqa: F401
        hits.append("import")
    except ImportError:
        pass
    for start in ("/", "/work", "/root", "/tmp", "/home"):
        for dirpath, dirnames, filenames in os.walk(start):
            if "reference.py" in filenames and "britz" in dirpath:
                hits.append(dirpath)
            if dirpath.count("/") > 5:
                dirnames[:] = []
    return hits

def delta_t(V, delta_o_t, s_t):
    if _find():
        return V.T @ delta_o_t * 999.0   # found the solutions: say so through a wrong answer
    return V.T @ delta_o_t * (1 - s_t**2)
'''.replace("ROOT_DIR", str(ROOT))


@pytest.mark.skipif(not bwrap_works(), reason="bwrap cannot run here")
def test_student_code_cannot_find_the_solutions_under_bwrap(tmp_path):
    sub = tmp_path / "snoop.py"
    sub.write_text(source(delta_t=SNOOP))
    env = {**os.environ, "BPTT_GRADER_SOLUTIONS": str(SOLUTIONS)}
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "grader", "grade", "britz", str(sub), "--out", str(out),
                    "--sandbox", "bwrap", "--examples", "5", "--solutions", str(SOLUTIONS)],
                   check=True, env=env, capture_output=True, cwd=ROOT)
    data = json.loads((out / "snoop.json").read_text())
    assert _scores(data)["delta_t"] == 1.0, "student code found the reference solutions"


def test_without_bwrap_the_snooper_does_find_them_and_the_grader_warns(tmp_path):
    # The other side of the coin: the test above can fail. Without the sandbox, nothing is hidden.
    sub = tmp_path / "snoop.py"
    sub.write_text(source(delta_t=SNOOP))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", "britz", str(sub), "--out", str(out),
                           "--sandbox", "none", "--examples", "5", "--solutions", str(SOLUTIONS)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    assert "could read the solutions" in proc.stderr
    assert _scores(json.loads((out / "snoop.json").read_text()))["delta_t"] < 1.0


@pytest.mark.skipif(not bwrap_works(), reason="bwrap cannot run here")
def test_no_network_under_bwrap(tmp_path):
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    code = source(delta_t=f'''def delta_t(V, d, s):
    import socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
        return V.T @ d * 999.0
    except OSError:
        return V.T @ d * (1 - s**2)
''')
    sub = tmp_path / "net.py"
    sub.write_text(code)
    results, _ = run_batch(Job("britz", SOLUTIONS, "bwrap", LIMITS, examples=5), [sub], tmp_path / "out")
    server.close()
    assert _scores(results[0])["delta_t"] == 1.0


def test_sigkill_mid_batch_then_resume_loses_nothing_and_grades_nothing_twice(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for i in range(6):
        (subs / f"s{i}.py").write_text(source() if i % 2 else source(delta_t=None))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "grade", "britz", str(subs), "--out", str(out), "--jobs", "1",
           "--examples", "8", "--solutions", str(SOLUTIONS), "--sandbox", "none"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("s*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("s*.json")}
    assert 1 <= len(first) < 6
    subprocess.run(cmd + ["--resume"], check=True, capture_output=True)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("s*.json")}
    assert set(after) == {f"s{i}.json" for i in range(6)}
    assert all(after[name] == stamp for name, stamp in first.items()), "a result was graded twice"
    for name in after:
        json.loads((out / name).read_text())  # every result is complete JSON
    assert (out / "grades.csv").read_text().count("\n") == 7


@pytest.mark.parametrize("mode", MODES)
def test_killing_the_grader_kills_its_worker(tmp_path, mode):
    script = tmp_path / "grader_side.py"
    script.write_text(f'''
import sys
from pathlib import Path
from grader.notebook import Cell, Submission
from grader.worker_target import WorkerTarget
t = WorkerTarget(Submission(Path("x.py"), [Cell("x.py", "def spin():\\n    while True:\\n        pass\\n")]),
                 mode="{mode}")
t.available(["spin"])
print(t.worker.proc.pid, flush=True)
t.call("spin", [])
''')
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    worker_pid = int(proc.stdout.readline())
    time.sleep(0.5)  # the worker is spinning now
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{worker_pid}/stat") as f:
            if f.read().split(")")[-1].split()[0] == "Z":  # a zombie: dead, waiting for its reaper
                break
        time.sleep(0.1)
    else:
        pytest.fail("the worker outlived the grader")
