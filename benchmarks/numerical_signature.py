"""How far a derived gradient and a numerical one sit from the complex-step truth (grader.credit).

For each bundled backward question, over the instances every submission is judged on, the normwise
relative error ``max |answer - truth| / max |truth|`` of

* analytic answers: the reference solution, and every correct submission of the real-code corpus
  (``tests/corpus``) and of the bundled examples, each written in its own way;
* numerical answers: central and forward differences of the public forward pass at several steps,
  and the complex step (which no error signature can tell from a formula).

    python benchmarks/numerical_signature.py          # prints a table; docs/numerical.md quotes it
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.assignments import britz, cache, get, goodfellow, martens, trask  # noqa: E402
from grader.credit import NUMERICAL_ERROR, relative_error  # noqa: E402
from grader.drawn import passing_draws  # noqa: E402
from grader.notebook import read_submission  # noqa: E402
from grader.oracles.reference import load_solutions  # noqa: E402
from grader.strategies import Instance  # noqa: E402
from grader.target import LocalTarget  # noqa: E402


def _loss_and_params(assignment: str, inst: Instance) -> tuple[Callable[[dict], complex], dict, Callable]:
    """The scalar function a student would difference, its parameters, and how its gradient is answered."""
    a = inst.args
    if assignment == "britz":
        x, y, U, V, W = a[:5]
        k = inst.sizes["bptt_truncate"]
        return (lambda p: britz.surrogate_loss(x, y, p["U"], p["V"], p["W"], k), {"U": U, "V": V, "W": W},
                lambda g: (g["U"], g["V"], g["W"]))
    if assignment == "goodfellow":
        x, y, h0, *params = a
        names = goodfellow.PARAMS
        return (lambda p: goodfellow.loss(x, y, h0, **p), dict(zip(names, params)),
                lambda g: {k: g[k] for k in names})
    if assignment == "trask":
        X, Y, *w = a
        names = ("synapse_0", "synapse_1", "synapse_h")
        return (lambda p: -trask.loss(X, Y, **p), dict(zip(names, w)), lambda g: tuple(g[k] for k in names))
    if assignment == "martens":
        X, _, h0, dY, _, _ = a
        return (lambda p: martens.linear_loss(X, h0, dY, **p), dict(inst.context),
                lambda g: {k: g[k] for k in martens.PARAMS})
    x, h0, Wx, Wh, b, dh = a
    names = cache.SEQUENCE
    return (lambda p: np.sum(cache.forward(**p) * dh), dict(zip(names, (x, h0, Wx, Wh, b))),
            lambda g: tuple(g[k] for k in names))


def _differences(f: Callable[[dict], complex], params: dict, how: str, h: float) -> dict:
    """The gradient of ``f`` by ``central`` or ``forward`` differences, or the ``complex`` step, of step ``h``."""
    kind = complex if how == "complex" else float

    def at(name: str, idx: tuple, step: complex) -> complex:
        p = {k: np.array(v, dtype=kind) for k, v in params.items()}
        p[name][idx] += step
        return complex(np.sum(f(p)))

    base = complex(np.sum(f({k: np.array(v, dtype=float) for k, v in params.items()}))).real
    grads = {}
    for name, value in params.items():
        g = np.zeros(np.shape(value))
        for idx in np.ndindex(g.shape):
            if how == "central":
                g[idx] = (at(name, idx, h).real - at(name, idx, -h).real) / (2 * h)
            elif how == "forward":
                g[idx] = (at(name, idx, h).real - base) / h
            else:
                g[idx] = at(name, idx, 1j * h).imag / h
        grads[name] = g
    return grads


QUESTIONS = [("britz", "bptt"), ("goodfellow", "bptt"), ("trask", "bptt_updates"), ("martens", "bptt_matrix"),
             ("cache", "rnn_backward")]
METHODS = [("central", 1e-3), ("central", 1e-4), ("central", 1e-5), ("central", 1e-6), ("central", 1e-7),
           ("forward", 1e-6), ("forward", 1e-7), ("forward", 1e-8), ("complex", 1e-20)]


def _analytic_targets(assignment: str) -> dict[str, LocalTarget]:
    targets = {"reference": load_solutions(assignment, ROOT / "solutions").reference}
    files = sorted((ROOT / "solutions/examples" / assignment).glob("correct*"))
    manifest = ROOT / "tests/corpus/MANIFEST.json"
    if manifest.is_file():
        for name, entry in json.loads(manifest.read_text()).items():
            verdicts = entry.get("functions", {})
            if entry.get("assignment") == assignment and verdicts and all(v == "correct" for v in verdicts.values()):
                files.append(ROOT / "tests/corpus" / assignment / Path(name).name)
    for path in files:
        if not path.is_file():
            continue
        namespace: dict = {"__name__": "submission"}
        try:
            for cell in read_submission(path).cells:
                exec(compile(cell.source, str(path), "exec"), namespace)  # trusted: our own corpus
        except Exception:  # noqa: BLE001, S112
            continue
        targets[path.name] = LocalTarget({k: v for k, v in namespace.items() if callable(v)}, watch=False)
    return targets


def main() -> None:
    rows = []
    for assignment, function in QUESTIONS:
        q = get(assignment).question(function)
        instances = passing_draws(q)
        truths = [q.truth(i) for i in instances]
        analytic: list[float] = []
        for target in _analytic_targets(assignment).values():
            for inst, truth in zip(instances, truths):
                out = q.invoke(target, list(inst.args), inst.kwargs)
                if out.ok and (e := relative_error(truth, out.value, q.parts)) is not None and e < 1e-6:
                    analytic.append(e)
        numeric = {}
        for how, h in METHODS:
            errs = []
            for inst, truth in zip(instances, truths):
                f, params, shape = _loss_and_params(assignment, inst)
                e = relative_error(truth, shape(_differences(f, params, how, h)), q.parts)
                if e is not None:
                    errs.append(e)
            numeric[f"{how} h={h:g}"] = errs
        rows.append((assignment, function, analytic, numeric))
    print(f"threshold NUMERICAL_ERROR = {NUMERICAL_ERROR:g}\n")
    print("| question | answers | n | min | median | max | share above threshold |")
    print("|---|---|---|---|---|---|---|")
    for assignment, function, analytic, numeric in rows:
        for label, errs in [("analytic (reference, corpus, examples)", analytic), *numeric.items()]:
            if not errs:
                continue
            e = np.array(errs)
            print(f"| {assignment}.{function} | {label} | {len(e)} | {e.min():.1e} | {np.median(e):.1e} | "
                  f"{e.max():.1e} | {np.mean(e > NUMERICAL_ERROR):.0%} |")


if __name__ == "__main__":
    main()
