"""Section 1: the derivative oracle on Britz's ``bptt``, against the usual ways of checking a gradient.

Methods, each computing (or checking) the gradient of the whole-sequence loss
``-sum_t log o[t, y[t]]`` with respect to ``U, V, W`` (``bptt_truncate = T - 1``,
so the truncated gradient is the exact one):

* ``ours (complex step)``: the grader's own truth for ``bptt``
  (``britz._bptt_truth``: :func:`complex_step_gradient` of ``britz.surrogate_loss``);
* ``ours (central differences)``: :func:`central_difference_gradient` of the same loss;
* ``loop``: the classic notebook gradient check, central differences with
  ``h = 1e-5`` one parameter at a time, each a plain numpy forward pass;
* ``torch.autograd.gradcheck`` (CPU, float64) on a torch version of the same
  loss, in its default (slow) mode and with ``fast_mode=True``.

Accuracy is measured against the exact analytic gradient (the reference
solution's loop) as ``max_i |g_i - e_i| / max(|e_i|, 1e-6 max|e|)``: the
largest elementwise relative error, with a floor so that entries that are
(nearly) zero do not divide by zero.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from common import SOLUTIONS, Ratio, measure_within

from grader.assignments import britz
from grader.oracles.derivative import COMPLEX_STEP_H, central_difference_gradient
from grader.strategies import Instance

NAMES = ("U", "V", "W")
LOOP_H = 1e-5
REL_FLOOR = 1e-6


def problem(T: int, H: int, K: int, seed: int = 0) -> dict[str, Any]:
    """A random instance with Britz's initialisation (uniform in +-1/sqrt(fan-in))."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.integers(0, K, T), "y": rng.integers(0, K, T),
        "U": rng.uniform(-1, 1, (H, K)) / np.sqrt(K),
        "V": rng.uniform(-1, 1, (K, H)) / np.sqrt(H),
        "W": rng.uniform(-1, 1, (H, H)) / np.sqrt(H),
        "T": T, "H": H, "K": K,
    }


def _reference_module() -> Any:
    spec = importlib.util.spec_from_file_location("britz_reference", SOLUTIONS / "britz" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exact(p: dict[str, Any]) -> dict[str, np.ndarray]:
    """The analytic gradient: the reference solution's BPTT loop, untruncated."""
    dU, dV, dW = _reference_module().bptt(p["x"], p["y"], p["U"], p["V"], p["W"], bptt_truncate=p["T"] - 1)
    return {"U": dU, "V": dV, "W": dW}


def rel_error(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> float:
    g = np.concatenate([np.ravel(got[n]) for n in NAMES])
    e = np.concatenate([np.ravel(want[n]) for n in NAMES])
    floor = REL_FLOOR * np.max(np.abs(e))
    return float(np.max(np.abs(g - e) / np.maximum(np.abs(e), floor)))


# -- the methods ---------------------------------------------------------------------------------

def ours_complex(p: dict[str, Any]) -> dict[str, np.ndarray]:
    """Exactly what grading computes as the truth of a ``bptt`` instance."""
    inst = Instance(args=(p["x"], p["y"], p["U"], p["V"], p["W"], p["T"] - 1), sizes={"bptt_truncate": p["T"] - 1})
    dU, dV, dW = britz._bptt_truth(inst)
    return {"U": dU, "V": dV, "W": dW}


PROJECTION = "ours: complex step along one random direction"


def ours_projection(p: dict[str, Any], seed: int = 0) -> tuple[float, dict[str, np.ndarray]]:
    """gradcheck fast mode's job done by the complex step: the derivative along one random direction
    ``v``, ``grad L . v``, from one forward pass at ``theta + i h v``; and ``v``."""
    rng = np.random.default_rng(seed)
    v = {n: rng.standard_normal(p[n].shape) for n in NAMES}
    q = {n: (p[n] + 1j * COMPLEX_STEP_H * v[n])[None] for n in NAMES}
    value = britz.surrogate_loss(p["x"], p["y"], q["U"], q["V"], q["W"], p["T"] - 1)
    return float(np.imag(np.asarray(value)).reshape(-1)[0] / COMPLEX_STEP_H), v


def projection_error(result: tuple[float, dict[str, np.ndarray]], want: dict[str, np.ndarray]) -> float:
    got, v = result
    exact_value = sum(float(np.sum(want[n] * v[n])) for n in NAMES)
    return abs(got - exact_value) / abs(exact_value)


def ours_central(p: dict[str, Any]) -> dict[str, np.ndarray]:
    x, y, k = p["x"], p["y"], p["T"] - 1
    return central_difference_gradient(lambda q: britz.surrogate_loss(x, y, q["U"], q["V"], q["W"], k),
                                       {n: p[n] for n in NAMES}, NAMES)


def plain_loss(x: np.ndarray, y: np.ndarray, U: np.ndarray, V: np.ndarray, W: np.ndarray) -> float:
    """One forward pass, written the way a course notebook writes it."""
    s = np.zeros(W.shape[0])
    loss = 0.0
    for t in range(len(x)):
        s = np.tanh(U[:, x[t]] + W @ s)
        z = V @ s
        z = z - z.max()
        loss -= z[y[t]] - np.log(np.sum(np.exp(z)))
    return loss


def loop(p: dict[str, Any], h: float = LOOP_H) -> dict[str, np.ndarray]:
    """The classic check: nudge one parameter up and down, run the forward pass twice, repeat."""
    params = {n: p[n].copy() for n in NAMES}
    grads = {}
    for name in NAMES:
        w = params[name]
        g = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            old = w[i]
            w[i] = old + h
            up = plain_loss(p["x"], p["y"], **params)
            w[i] = old - h
            down = plain_loss(p["x"], p["y"], **params)
            w[i] = old
            g[i] = (up - down) / (2 * h)
        grads[name] = g
    return grads


# -- torch -------------------------------------------------------------------------------------

def torch_available() -> str | None:
    """None when torch can be used, else why not."""
    try:
        import torch  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return f"torch is not installed ({type(e).__name__}); `pip install torch==2.13.0` (CPU build)"
    return None


def _torch_setup(p: dict[str, Any]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    import torch

    x, y = [int(v) for v in p["x"]], [int(v) for v in p["y"]]

    def loss(U: Any, V: Any, W: Any) -> Any:
        s = torch.zeros(W.shape[0], dtype=torch.float64)
        total = torch.zeros((), dtype=torch.float64)
        for t in range(len(x)):
            s = torch.tanh(U[:, x[t]] + W @ s)
            total = total - torch.log_softmax(V @ s, dim=0)[y[t]]
        return total

    inputs = tuple(torch.tensor(p[n], dtype=torch.float64, requires_grad=True) for n in NAMES)
    return loss, inputs


def gradcheck(p: dict[str, Any], fast: bool) -> bool:
    import torch

    loss, inputs = _torch_setup(p)
    return torch.autograd.gradcheck(loss, inputs, fast_mode=fast)


def gradcheck_numerical(p: dict[str, Any]) -> dict[str, np.ndarray]:
    """The numerical Jacobian slow-mode gradcheck compares (its own routine, its default eps)."""
    import torch.autograd.gradcheck  # noqa: F401  (the module, not the function of the same name)

    module = sys.modules["torch.autograd.gradcheck"]
    eps = module.gradcheck.__kwdefaults__.get("eps", 1e-6)
    loss, inputs = _torch_setup(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if hasattr(module, "_get_numerical_jacobian"):
            jac = [t[0] for t in module._get_numerical_jacobian(loss, inputs, eps=eps)]
        else:
            jac = list(module.get_numerical_jacobian(lambda inp: loss(*inp), inputs, eps=eps))
    return {n: j.detach().numpy().reshape(p[n].shape) for n, j in zip(NAMES, jac)}


def torch_backward(p: dict[str, Any]) -> dict[str, np.ndarray]:
    """torch's own reverse-mode gradient (what gradcheck calls the analytical Jacobian)."""
    loss, inputs = _torch_setup(p)
    loss(*inputs).backward()
    return {n: t.grad.numpy().copy() for n, t in zip(NAMES, inputs)}


# -- the section ------------------------------------------------------------------------------------

@contextlib.contextmanager
def one_thread() -> Iterator[str]:
    """BLAS (and torch) limited to one thread: every method on one core, as the sandboxed worker runs."""
    torch = None
    if torch_available() is None:
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    try:
        if threadpool_limits is None:
            yield "BLAS threads not limited (threadpoolctl is not installed: pip install -e '.[bench]')"
        else:
            with threadpool_limits(1):
                yield "1 BLAS thread (threadpoolctl)" + (", 1 torch thread" if torch else "")
    finally:
        if torch is not None:
            torch.set_num_threads(before)


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "default (threadpoolctl not installed)"
    return ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info()) or "none found"


def run(configs: list[tuple[int, int, int]], repeats: int, budget: float, log: Callable[[str], None],
        ) -> list[dict[str, Any]]:
    """For each ``(T, H, word_dim)``: time and accuracy of every method, on one thread; ours also on the default."""
    no_torch = torch_available()
    torch_note = no_torch
    if no_torch is None:
        import torch

        torch_note = f"torch {torch.__version__}"
    default_threads = blas_threads()
    out = []
    for T, H, K in configs:
        p = problem(T, H, K)
        prefix = f"  T={T} H={H} word_dim={K}: "
        with one_thread() as threads:
            rows = _rows(p, repeats, budget, no_torch is None, lambda m, prefix=prefix: log(prefix + m))
        log(prefix + "ours: complex step, default threads")
        stats, result = measure_within(lambda p=p: ours_complex(p), repeats, budget)
        rows.insert(1, {"method": f"ours: complex step, default threads ({default_threads})", "time": stats,
                        "error": rel_error(result, exact(p)), "note": "as in the grading process",
                        "ratio_to_ours": Ratio.of(stats, rows[0]["time"])})
        out.append({"T": T, "H": H, "word_dim": K, "parameters": sum(p[n].size for n in NAMES), "rows": rows,
                    "torch": torch_note, "threads": threads})
    return out


def _rows(p: dict[str, Any], repeats: int, budget: float, torch: bool, log: Callable[[str], None],
          ) -> list[dict[str, Any]]:
    want = exact(p)
    gradient: Callable[[Any], float] = lambda g: rel_error(g, want)  # noqa: E731
    methods: list[tuple[str, Callable[[], Any], Callable[[Any], float | None], str]] = [
        ("ours: complex step", lambda: ours_complex(p), gradient, ""),
        ("ours: central differences", lambda: ours_central(p), gradient, ""),
        (f"loop of central differences (h = {LOOP_H:g})", lambda: loop(p), gradient, ""),
        (PROJECTION, lambda: ours_projection(p), lambda r: projection_error(r, want),
         "gradcheck fast mode's job (one projection, no gradient) by one complex-step forward pass; not what "
         "grading computes; error: of grad L . v"),
    ]
    if torch:
        methods += [
            ("torch.autograd.gradcheck (slow mode)", lambda: gradcheck(p, fast=False),
             lambda _: rel_error(gradcheck_numerical(p), want),
             "error of the numerical Jacobian gradcheck compares (its eps)"),
            ("torch.autograd.gradcheck (fast_mode=True)", lambda: gradcheck(p, fast=True), lambda _: None,
             "checks one random projection u^T J v numerically against autograd; computes no gradient"),
            ("torch autograd backward (for scale)", lambda: torch_backward(p), gradient,
             "reverse mode, analytic: what gradcheck checks against"),
        ]
    rows = []
    for method, fn, error, note in methods:
        log(method)
        stats, result = measure_within(fn, repeats, budget)
        rows.append({"method": method, "time": stats, "error": error(result), "note": note})
    for r in rows:
        r["ratio_to_ours"] = Ratio.of(r["time"], rows[0]["time"])
    return rows
