"""Independent ground truth for the real-code regression corpus.

For every corpus file and every graded function it defines, this checker decides
"correct" or "buggy" from the student-facing contract alone
(``docs/contract.md``), with its own numpy forward passes and central
finite differences. It imports nothing from ``grader/`` or ``solutions/``.

A function is correct when, on every instance below (several shapes each,
including non-square matrices, T = 1, H = 1 and more than one batch row):

* it returns the structure the contract names (a tuple, or a list of the same
  items; a dict with exactly the listed keys), each array of the documented
  shape, float64 and finite;
* its values equal the derivative the contract defines, computed here by
  central differences of the contract's forward pass (or, for the cache
  assignment's forward functions, equal the contract's forward pass itself);
* it leaves every argument unchanged (a backward also its cache: called twice
  on one cache it gives the same result).

Run ``python tests/corpus/checker.py`` to print every verdict, or
``python tests/corpus/checker.py --write`` to record them in MANIFEST.json
(keeping the human notes already there).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "MANIFEST.json"

FUNCTIONS = {
    "trask": ("sigmoid_output_to_derivative", "layer_2_delta", "layer_1_delta", "bptt_updates"),
    "britz": ("delta_o", "delta_t", "delta_t_prev", "bptt"),
    "goodfellow": ("softmax_jacobian", "grad_o", "grad_h", "bptt"),
    "martens": ("bptt_matrix",),
    "cache": ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"),
    "lstm": ("lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"),
}

EPS = 1e-6  # central-difference step
RTOL = 1e-5  # central differences of these smooth, O(1) functions are accurate to ~1e-9
ATOL = 1e-6


class Fail(Exception):
    """One reason a function is not correct."""


# -- helpers ----------------------------------------------------------------------------------------

def load(path: Path) -> types.ModuleType:
    """Execute a corpus file in a fresh module (its prints swallowed). A file that is not Python 3 as a
    whole (a Python 2 ``print`` in course starter code) is run one top-level definition at a time, the
    ones that do not compile left out: the contract judges the graded functions, not the rest."""
    module = types.ModuleType(f"corpus_{path.stem}")
    module.__file__ = str(path)
    text = path.read_text()
    try:
        pieces = [compile(text, str(path), "exec")]
    except SyntaxError:
        chunks = re.split(r"\n(?=(?:def|class|import|from) )", text)
        pieces = []
        for chunk in chunks:
            try:
                pieces.append(compile(chunk, str(path), "exec"))
            except SyntaxError:
                continue
    with contextlib.redirect_stdout(io.StringIO()):
        for code in pieces:
            exec(code, module.__dict__)
    return module


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def softmax_rows(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def num_grad(f: Callable[..., float], args: list[Any], i: int) -> np.ndarray:
    """Central differences of the scalar ``f(*args)`` with respect to the float array ``args[i]``."""
    base = np.array(args[i], dtype=float)
    g = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        plus, minus = base.copy(), base.copy()
        plus[idx] += EPS
        minus[idx] -= EPS
        a_plus, a_minus = list(args), list(args)
        a_plus[i], a_minus[i] = plus, minus
        g[idx] = (f(*a_plus) - f(*a_minus)) / (2 * EPS)
    return g


def snapshot(args: list[Any]) -> list[Any]:
    return [copy.deepcopy(a) for a in args]


def unchanged(before: list[Any], after: list[Any], names: list[str]) -> None:
    for b, a, n in zip(before, after, names):
        if isinstance(b, np.ndarray):
            if not (isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                    and np.array_equal(a, b, equal_nan=True)):
                raise Fail(f"modifies its argument {n}")
        elif not same(b, a):
            raise Fail(f"modifies its argument {n}")


def call(fn: Callable[..., Any], args: list[Any], names: list[str], kwargs: dict | None = None) -> Any:
    """Call with copies kept, check that no argument changed, return the result."""
    before = snapshot(args)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            out = fn(*args, **(kwargs or {}))
    except Exception as e:  # noqa: BLE001 - a student function may raise anything
        raise Fail(f"raises {type(e).__name__}: {e}") from None
    unchanged(before, args, names)
    return out


def array_ok(got: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    if not isinstance(got, np.ndarray):
        raise Fail(f"{what} is a {type(got).__name__}, not a numpy array")
    if got.shape != tuple(shape):
        raise Fail(f"{what} has shape {got.shape}, expected {tuple(shape)}")
    if got.dtype != np.float64:
        raise Fail(f"{what} has dtype {got.dtype}, not float64")
    if not np.all(np.isfinite(got)):
        raise Fail(f"{what} is not finite")
    return got


def close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    err = np.abs(got - want)
    if np.any(err > ATOL * scale + RTOL * np.abs(want)):
        i = np.unravel_index(int(np.argmax(err)), err.shape)
        raise Fail(f"{what} is wrong: at {tuple(int(k) for k in i)} expected {want[i]:.6g}, got {got[i]:.6g}")


def sequence(got: Any, n: int, what: str) -> list[Any]:
    if not isinstance(got, (tuple, list)) or len(got) != n:
        raise Fail(f"{what} should return a tuple of {n} items, got {type(got).__name__}"
                   + (f" of {len(got)}" if isinstance(got, (tuple, list)) else ""))
    return list(got)


def mapping(got: Any, keys: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(got, dict) or set(got) != set(keys):
        raise Fail(f"{what} should return a dict with exactly the keys {sorted(keys)}, got "
                   + (f"keys {sorted(map(str, got))}" if isinstance(got, dict) else type(got).__name__))
    return got


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            np.array_equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if hasattr(a, "__dict__") and type(a) is type(b) and not callable(a):
        return same(vars(a), vars(b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def repeat(fn: Callable[..., Any], args: list[Any], names: list[str], first: Any, kwargs: dict | None = None) -> None:
    if not same(call(fn, args, names, kwargs), first):
        raise Fail("gives a different result when called twice")


# -- trask ------------------------------------------------------------------------------------------

def trask_forward(X, s0, s1, sh):
    T, B, _ = X.shape
    h = np.zeros((T, B, sh.shape[0]))
    yhat = np.zeros((T, B, s1.shape[1]))
    prev = np.zeros((B, sh.shape[0]))
    for t in range(T):
        h[t] = sigmoid(X[t] @ s0 + prev @ sh)
        yhat[t] = sigmoid(h[t] @ s1)
        prev = h[t]
    return h, yhat


def trask_loss(X, Y, s0, s1, sh):
    return 0.5 * float(np.sum((Y - trask_forward(X, s0, s1, sh)[1]) ** 2))


TRASK_SHAPES = [  # T, B, n_in, H, n_out
    (3, 2, 2, 4, 1), (1, 1, 2, 3, 2), (4, 3, 3, 1, 1), (5, 2, 2, 6, 3), (8, 1, 2, 16, 1)]


def check_trask(m: types.ModuleType, name: str, rng: np.random.Generator) -> None:
    for shape in TRASK_SHAPES:
        _trask_instance(getattr(m, name), name, rng, *shape)


def _trask_instance(fn: Callable[..., Any], name: str, rng: np.random.Generator,
                    T: int, B: int, n_in: int, H: int, n_out: int) -> None:
    if name == "sigmoid_output_to_derivative":
        a = rng.normal(0, 2, (B, H))
        out = sigmoid(a)
        got = array_ok(call(fn, [out], ["output"]), out.shape, "the result")
        # d sigmoid / d a, elementwise: the derivative of sum(sigmoid(a)) is exactly that
        want = num_grad(lambda z: float(np.sum(sigmoid(z))), [a], 0)
        close(got, want, "the derivative")
        repeat(fn, [out], ["output"], got)
    elif name == "layer_2_delta":
        z = rng.normal(0, 2, (B, n_out))
        y = rng.integers(0, 2, (B, n_out)).astype(float)
        l2 = sigmoid(z)
        got = array_ok(call(fn, [y, l2], ["y", "layer_2"]), (B, n_out), "the delta")
        want = -num_grad(lambda zz: 0.5 * float(np.sum((y - sigmoid(zz)) ** 2)), [z], 0)
        close(got, want, "layer_2_delta (minus dL/d pre-activation)")
        repeat(fn, [y, l2], ["y", "layer_2"], got)
    elif name == "layer_1_delta":
        fut, sh = rng.normal(size=(B, H)), rng.normal(size=(H, H))
        l2d, s1 = rng.normal(size=(B, n_out)), rng.normal(size=(H, n_out))
        z1 = rng.normal(0, 2, (B, H))
        args = [fut, sh, l2d, s1, sigmoid(z1)]
        names = ["future_layer_1_delta", "synapse_h", "layer_2_delta", "synapse_1", "layer_1"]
        got = array_ok(call(fn, args, names), (B, H), "the delta")
        # minus dL/dz1 where -dL/d(next pre-act) = future and -dL/d(output pre-act) = layer_2_delta
        want = num_grad(lambda zz: float(np.sum(fut * (sigmoid(zz) @ sh)) + np.sum(l2d * (sigmoid(zz) @ s1))),
                        [z1], 0)
        close(got, want, "layer_1_delta")
        repeat(fn, args, names, got)
    elif name == "bptt_updates":
        X = rng.integers(0, 2, (T, B, n_in)).astype(float)
        Y = rng.integers(0, 2, (T, B, n_out)).astype(float)
        s0, s1, sh = rng.normal(0, 1, (n_in, H)), rng.normal(0, 1, (H, n_out)), rng.normal(0, 1, (H, H))
        args = [X, Y, s0, s1, sh]
        names = ["X", "Y", "synapse_0", "synapse_1", "synapse_h"]
        got = sequence(call(fn, args, names), 3, "bptt_updates")
        for arr, i in zip(got, (2, 3, 4)):
            array_ok(arr, args[i].shape, names[i] + "_update")
            close(arr, -num_grad(trask_loss, args, i), names[i] + "_update")
        repeat(fn, args, names, call(fn, args, names))


# -- britz ------------------------------------------------------------------------------------------

def britz_forward(x, U, V, W):
    T, H = len(x), W.shape[0]
    s = np.zeros((T + 1, H))
    o = np.zeros((T, V.shape[0]))
    for t in range(T):
        s[t] = np.tanh(U[:, x[t]] + W @ s[t - 1])
        o[t] = softmax_rows(V @ s[t])
    return o, s


def britz_surrogate(x, y, U, V, W, trunc, s_fixed):
    """sum_t L_t with the state s[t - trunc - 1] held at its value s_fixed (the contract's surrogate)."""
    T, H = len(x), W.shape[0]
    total = 0.0
    for t in range(T):
        k0 = max(0, t - trunc)
        s = s_fixed[k0 - 1] if k0 > 0 else np.zeros(H)
        for k in range(k0, t + 1):
            s = np.tanh(U[:, x[k]] + W @ s)
        total -= float(np.log(softmax_rows(V @ s)[y[t]]))
    return total


BRITZ_SHAPES = [  # T, word_dim, H, bptt_truncate (None: the default, 4)
    (5, 4, 3, None), (1, 3, 2, None), (6, 5, 1, 2), (4, 6, 3, 0), (7, 3, 4, 1), (8, 4, 2, None), (3, 2, 2, 10)]


def check_britz(m: types.ModuleType, name: str, rng: np.random.Generator) -> None:
    for n, shape in enumerate(BRITZ_SHAPES):
        _britz_instance(getattr(m, name), name, rng, n, *shape)


def _britz_instance(fn: Callable[..., Any], name: str, rng: np.random.Generator, n: int,
                    T: int, wd: int, H: int, trunc: int | None) -> None:
    as_list = n % 2 == 1  # word indices also as plain lists of ints
    x = rng.integers(0, wd, T)
    y = rng.integers(0, wd, T)
    xs, ys = (x.tolist(), y.tolist()) if as_list else (x, y)
    if name == "delta_o":
        v = rng.normal(0, 1.5, (T, wd))
        o = softmax_rows(v)
        got = array_ok(call(fn, [o, ys], ["o", "y"]), (T, wd), "delta_o")
        want = num_grad(lambda vv: -float(np.sum(np.log(softmax_rows(vv)[np.arange(T), y]))), [v], 0)
        close(got, want, "delta_o")
        repeat(fn, [o, ys], ["o", "y"], got)
    elif name == "delta_t":
        V, d_o, z = rng.normal(size=(wd, H)), rng.normal(size=wd), rng.normal(0, 1, H)
        args = [V, d_o, np.tanh(z)]
        got = array_ok(call(fn, args, ["V", "delta_o_t", "s_t"]), (H,), "delta_t")
        close(got, num_grad(lambda zz: float(d_o @ (V @ np.tanh(zz))), [z], 0), "delta_t")
        repeat(fn, args, ["V", "delta_o_t", "s_t"], got)
    elif name == "delta_t_prev":
        W, d, z = rng.normal(size=(H, H)), rng.normal(size=H), rng.normal(0, 1, H)
        args = [W, d, np.tanh(z)]
        got = array_ok(call(fn, args, ["W", "delta_t", "s_prev"]), (H,), "delta_t_prev")
        close(got, num_grad(lambda zz: float(d @ (W @ np.tanh(zz))), [z], 0), "delta_t_prev")
        repeat(fn, args, ["W", "delta_t", "s_prev"], got)
    elif name == "bptt":
        U, V, W = rng.normal(0, 0.8, (H, wd)), rng.normal(0, 0.8, (wd, H)), rng.normal(0, 0.8, (H, H))
        args = [xs, ys, U, V, W]
        names = ["x", "y", "U", "V", "W"]
        kwargs = {} if trunc is None else {"bptt_truncate": trunc}
        tr = 4 if trunc is None else trunc
        got = sequence(call(fn, args, names, kwargs), 3, "bptt")
        s_fixed = britz_forward(x, U, V, W)[1]
        for arr, i, what in zip(got, (2, 3, 4), ("dLdU", "dLdV", "dLdW")):
            array_ok(arr, args[i].shape, what)
            want = num_grad(lambda U_, V_, W_: britz_surrogate(x, y, U_, V_, W_, tr, s_fixed),
                            [U, V, W], i - 2)
            close(arr, want, f"{what} (bptt_truncate={tr})")
        repeat(fn, args, names, call(fn, args, names, kwargs), kwargs)


# -- goodfellow ---------------------------------------------------------------------------------------

def gf_forward(x, h0, b, c, U, V, W):
    h, prev = np.zeros((len(x), len(h0))), h0
    for t in range(len(x)):
        prev = np.tanh(b + W @ prev + U @ x[t])
        h[t] = prev
    return h, softmax_rows(c + h @ V.T)


def gf_loss(x, y, h0, b, c, U, V, W):
    return -float(np.sum(np.log(gf_forward(x, h0, b, c, U, V, W)[1][np.arange(len(y)), y])))


GF_SHAPES = [  # T, n_in, H, K, scale
    (4, 3, 5, 6, 0.7), (1, 2, 1, 3, 0.7), (3, 1, 2, 2, 0.7), (5, 2, 3, 4, 1.0), (10, 3, 3, 4, 2.5)]


def check_goodfellow(m: types.ModuleType, name: str, rng: np.random.Generator) -> None:
    for n, shape in enumerate(GF_SHAPES):
        _goodfellow_instance(getattr(m, name), name, rng, n, *shape)


def _goodfellow_instance(fn: Callable[..., Any], name: str, rng: np.random.Generator, n: int,
                         T: int, n_in: int, H: int, K: int, sc: float) -> None:
    y = rng.integers(0, K, T)
    ys = y.tolist() if n % 2 else y
    if name == "softmax_jacobian":
        o = rng.normal(0, 1.5, K)
        yh = softmax_rows(o)
        got = array_ok(call(fn, [yh], ["y_hat"]), (K, K), "J")
        want = np.stack([num_grad(lambda oo, i=i: float(softmax_rows(oo)[i]), [o], 0) for i in range(K)])
        close(got, want, "the softmax Jacobian")
        repeat(fn, [yh], ["y_hat"], got)
    elif name == "grad_o":
        o = rng.normal(0, 1.5, (T, K))
        args = [softmax_rows(o), ys]
        got = array_ok(call(fn, args, ["y_hat", "y"]), (T, K), "grad_o")
        want = num_grad(lambda oo: -float(np.sum(np.log(softmax_rows(oo)[np.arange(T), y]))), [o], 0)
        close(got, want, "grad_o")
        repeat(fn, args, ["y_hat", "y"], got)
    elif name == "grad_h":
        go, V, W = rng.normal(size=(T, K)), rng.normal(size=(K, H)), rng.normal(0, 0.8, (H, H))
        a = rng.normal(0, 1, (T, H))
        h = np.tanh(a)

        def F(hh: np.ndarray) -> float:
            # h[t] perturbed: every later state follows through a[k] = a_orig[k] + W (h'[k-1] - h[k-1])
            states = hh.copy()
            for k in range(T):
                if not np.array_equal(hh[k], h[k]):
                    for j in range(k + 1, T):
                        states[j] = np.tanh(a[j] + W @ (states[j - 1] - h[j - 1]))
                    break
            return float(np.sum(go * (states @ V.T)))

        args = [go, h, V, W]
        names = ["grad_o", "h", "V", "W"]
        got = array_ok(call(fn, args, names), (T, H), "grad_h")
        close(got, num_grad(F, [h], 0), "dL/dh")
        repeat(fn, args, names, got)
    elif name == "bptt":
        x = rng.normal(0, sc, (T, n_in))
        h0, b, c = rng.normal(0, 0.5, H), rng.normal(0, 0.5, H), rng.normal(0, 0.5, K)
        U, V, W = rng.normal(0, sc * 0.6, (H, n_in)), rng.normal(0, sc, (K, H)), rng.normal(0, 0.7, (H, H))
        args = [x, ys, h0, b, c, U, V, W]
        names = ["x", "y", "h0", "b", "c", "U", "V", "W"]
        got = mapping(call(fn, args, names), ("b", "c", "U", "V", "W"), "bptt")
        for key, i in zip(("b", "c", "U", "V", "W"), (3, 4, 5, 6, 7)):
            array_ok(got[key], args[i].shape, f"the gradient {key}")
            want = num_grad(lambda *p: gf_loss(x, y, h0, *p), args[3:], i - 3)
            close(got[key], want, f"dL/d{key}")
        repeat(fn, args, names, call(fn, args, names))


# -- martens ------------------------------------------------------------------------------------------

def martens_forward(X, h0, Whx, Whh, bh):
    H, h = np.zeros((len(h0), X.shape[1])), h0
    for i in range(X.shape[1]):
        h = np.tanh(Whx @ X[:, i] + Whh @ h + bh)
        H[:, i] = h
    return H


MARTENS_SHAPES = [(3, 4, 2, 5), (1, 1, 1, 1), (2, 3, 4, 3), (3, 1, 2, 4), (2, 5, 3, 6)]  # n_in, n_hid, n_out, T


def check_martens(m: types.ModuleType, name: str, rng: np.random.Generator) -> None:
    for shape in MARTENS_SHAPES:
        _martens_instance(getattr(m, name), rng, *shape)


def _martens_instance(fn: Callable[..., Any], rng: np.random.Generator, n_in: int, n_hid: int, n_out: int,
                      T: int) -> None:
    keys = ("Whx", "Whh", "Wyh", "bh", "by")
    X, h0 = rng.normal(size=(n_in, T)), rng.normal(0, 0.5, n_hid)
    Whx, Whh, bh = rng.normal(size=(n_hid, n_in)), rng.normal(0, 0.7, (n_hid, n_hid)), rng.normal(0, 0.5, n_hid)
    Wyh, by, dY = rng.normal(size=(n_out, n_hid)), rng.normal(size=n_out), rng.normal(size=(n_out, T))
    H = martens_forward(X, h0, Whx, Whh, bh)

    def E(Whx_, Whh_, Wyh_, bh_, by_):
        S = Wyh_ @ martens_forward(X, h0, Whx_, Whh_, bh_) + by_[:, None]
        return float(np.sum(dY * S))

    params = [Whx, Whh, Wyh, bh, by]
    args = [X, H, h0, dY, Whh, Wyh]
    names = ["X", "H", "h0", "dY", "Whh", "Wyh"]
    got = mapping(call(fn, args, names), keys, "bptt_matrix")
    for i, key in enumerate(keys):
        array_ok(got[key], params[i].shape, f"the gradient {key}")
        close(got[key], num_grad(E, params, i), f"d/d{key}")
    repeat(fn, args, names, got)


# -- cache ---------------------------------------------------------------------------------------------

def step_fwd(x, prev_h, Wx, Wh, b):
    return np.tanh(x @ Wx + prev_h @ Wh + b)


def seq_fwd(x, h0, Wx, Wh, b):
    h, out = h0, []
    for t in range(x.shape[1]):
        h = step_fwd(x[:, t, :], h, Wx, Wh, b)
        out.append(h)
    return np.stack(out, axis=1)


STEP_SHAPES = [(2, 3, 4), (1, 1, 1), (3, 2, 1), (4, 5, 3), (1, 4, 2)]  # N, D, H
SEQ_SHAPES = [(2, 3, 4, 5), (1, 1, 2, 1), (3, 4, 2, 3), (2, 5, 1, 2), (1, 2, 3, 3)]  # N, T, D, H
STEP_NAMES = ["x", "prev_h", "Wx", "Wh", "b"]
SEQ_NAMES = ["x", "h0", "Wx", "Wh", "b"]


def _value_and_cache(out: Any, what: str) -> tuple[np.ndarray, Any]:
    value, cache = sequence(out, 2, what)
    return value, cache


def check_cache(m: types.ModuleType, name: str, rng: np.random.Generator) -> None:
    for shape in STEP_SHAPES if name in ("rnn_step_forward", "rnn_step_backward") else SEQ_SHAPES:
        _cache_instance(m, name, rng, shape)


def _cache_instance(m: types.ModuleType, name: str, rng: np.random.Generator, shape: tuple[int, ...]) -> None:
    fn = getattr(m, name)
    step = name in ("rnn_step_forward", "rnn_step_backward")
    if step:
        N, D, H = shape
        args = [rng.normal(size=(N, D)), np.tanh(rng.normal(0, 2, (N, H))), rng.normal(size=(D, H)),
                rng.normal(0, 0.7, (H, H)), rng.normal(0, 0.5, H)]
        names, forward, fwd_name, out_shape = STEP_NAMES, step_fwd, "rnn_step_forward", (N, H)
    else:
        N, T, D, H = shape
        args = [rng.normal(size=(N, T, D)), np.tanh(rng.normal(0, 2, (N, H))), rng.normal(size=(D, H)),
                rng.normal(0, 0.7, (H, H)), rng.normal(0, 0.5, H)]
        names, forward, fwd_name, out_shape = SEQ_NAMES, seq_fwd, "rnn_forward", (N, T, H)
    if name in ("rnn_step_forward", "rnn_forward"):
        value, _ = _value_and_cache(call(fn, args, names), name)
        array_ok(value, out_shape, "the hidden state" + ("" if step else "s"))
        close(value, forward(*args), "the hidden state" + ("" if step else "s"))
        value2, _ = _value_and_cache(call(fn, args, names), name)
        if not same(value, value2):
            raise Fail("gives a different result when called twice")
        return
    # a backward: the student's own forward makes the cache, the backward must be the VJP of the contract's
    fwd = getattr(m, fwd_name, None)
    if fwd is None:
        raise Fail(f"cannot be checked without {fwd_name}")
    upstream = rng.normal(size=out_shape)
    try:
        _, cache = _value_and_cache(call(fwd, args, names), fwd_name)
    except Fail as e:
        raise Fail(f"{fwd_name} (run first, to make the cache) failed: {e}") from None
    every = [*args, upstream]
    before = snapshot(every)
    # call() also checks that the cache itself is left as it was (compared by value, attributes included)
    first = sequence(call(fn, [upstream, cache], ["dnext_h" if step else "dh", "cache"]), 5, name)
    unchanged(before, every, [*names, "dnext_h" if step else "dh"])  # the cache may hold the arguments
    for arr, i in zip(first, range(5)):
        array_ok(arr, args[i].shape, "d" + names[i])
        want = num_grad(lambda *p: float(np.sum(upstream * forward(*p))), args, i)
        close(arr, want, "d" + names[i])
    again = call(fn, [upstream, cache], ["dnext_h" if step else "dh", "cache"])
    if not same(list(first), list(again) if isinstance(again, (tuple, list)) else again):
        raise Fail("using the same cache a second time gives a different result (the cache was changed)")


# -- lstm ----------------------------------------------------------------------------------------------
# The course assignment courses/bptt/lstm (its docstring is the contract): gates i, f, o, g in that order
# along the 4H axis, a zero initial cell state, caches of the file's own choosing.

def lstm_step_fwd(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    next_c = f * prev_c + i * np.tanh(a[:, 3 * H:])
    return o * np.tanh(next_c), next_c


def lstm_seq_fwd(x, h0, Wx, Wh, b):
    h, c, out = h0, np.zeros_like(h0), []
    for t in range(x.shape[1]):
        h, c = lstm_step_fwd(x[:, t, :], h, c, Wx, Wh, b)
        out.append(h)
    return np.stack(out, axis=1)


LSTM_STEP_SHAPES = [(2, 3, 4, 1.0), (1, 1, 1, 1.0), (3, 2, 1, 0.5), (4, 3, 2, 4.0), (1, 2, 3, 0.1)]  # N, D, H, scale
LSTM_SEQ_SHAPES = [(2, 3, 4, 3, 1.0), (1, 1, 2, 1, 1.0), (3, 4, 2, 2, 0.5), (2, 5, 1, 2, 4.0), (1, 2, 3, 3, 0.1)]
LSTM_STEP_NAMES = ["x", "prev_h", "prev_c", "Wx", "Wh", "b"]


def check_lstm(m: types.ModuleType, name: str, rng: np.random.Generator) -> None:
    step = name.startswith("lstm_step")
    for shape in LSTM_STEP_SHAPES if step else LSTM_SEQ_SHAPES:
        _lstm_instance(m, name, rng, step, shape)


def _no_view(results: list[Any], args: list[Any], what: str) -> None:
    """The contract: a result is a new array, never an argument or a view of one."""
    for r in results:
        if isinstance(r, np.ndarray) and any(isinstance(a, np.ndarray) and np.shares_memory(r, a) for a in args):
            raise Fail(f"{what} returns an argument or a view of one")


def _lstm_instance(m: types.ModuleType, name: str, rng: np.random.Generator, step: bool,
                   shape: tuple[Any, ...]) -> None:
    fn = getattr(m, name)
    if step:
        N, D, H, s = shape
        args = [rng.normal(size=(N, D)), np.tanh(rng.normal(0, 2, (N, H))), rng.normal(0, 1.5, (N, H)),
                rng.normal(0, s, (D, 4 * H)), rng.normal(0, s, (H, 4 * H)), rng.normal(0, s, 4 * H)]
        names, fwd_name, values = LSTM_STEP_NAMES, "lstm_step_forward", [(N, H), (N, H)]
    else:
        N, T, D, H, s = shape
        args = [rng.normal(size=(N, T, D)), np.tanh(rng.normal(0, 2, (N, H))),
                rng.normal(0, s, (D, 4 * H)), rng.normal(0, s, (H, 4 * H)), rng.normal(0, s, 4 * H)]
        names, fwd_name, values = SEQ_NAMES, "lstm_forward", [(N, T, H)]
    forward = lstm_step_fwd if step else lstm_seq_fwd
    n_out = len(values) + 1  # the values, then the cache
    if name == fwd_name:
        first = sequence(call(fn, args, names), n_out, name)
        want = forward(*args)
        want = list(want) if step else [want]
        for got, w, what in zip(first, want, ["next_h", "next_c"] if step else ["h"]):
            close(array_ok(got, w.shape, what), w, what)
        _no_view(first[:-1], args, name)
        again = sequence(call(fn, args, names), n_out, name)
        if not same(first[:-1], again[:-1]):
            raise Fail("gives a different result when called twice")
        return
    # a backward: the file's own forward makes the cache; the backward must be the VJP of the contract's forward
    fwd = getattr(m, fwd_name, None)
    if fwd is None:
        raise Fail(f"cannot be checked without {fwd_name}")
    upstream = [rng.normal(size=v) for v in values]
    up_names = ["dnext_h", "dnext_c"] if step else ["dh"]
    try:
        cache = sequence(call(fwd, args, names), n_out, fwd_name)[-1]
    except Fail as e:
        raise Fail(f"{fwd_name} (run first, to make the cache) failed: {e}") from None
    every = [*args, *upstream]
    before = snapshot(every)
    # call() also checks that the cache itself is left as it was (compared by value, attributes included)
    first = sequence(call(fn, [*upstream, cache], [*up_names, "cache"]), len(args), name)
    unchanged(before, every, [*names, *up_names])  # the cache may hold the arguments
    _no_view(first, every, name)

    def functional(*p: np.ndarray) -> float:
        out = forward(*p)
        return float(sum(np.sum(u * v) for u, v in zip(upstream, out if step else [out])))

    for arr, i in zip(first, range(len(args))):
        what = ("dh0" if names[i] == "h0" else "d" + names[i])
        array_ok(arr, args[i].shape, what)
        close(arr, num_grad(functional, args, i), what)
    again = call(fn, [*upstream, cache], [*up_names, "cache"])
    if not same(list(first), list(again) if isinstance(again, (tuple, list)) else again):
        raise Fail("using the same cache a second time gives a different result (the cache was changed)")


CHECKERS = {"trask": check_trask, "britz": check_britz, "goodfellow": check_goodfellow,
            "martens": check_martens, "cache": check_cache, "lstm": check_lstm}


# -- verdicts -------------------------------------------------------------------------------------------

def verdicts(path: Path, assignment: str) -> dict[str, tuple[str, str]]:
    """{function: ("correct" | "buggy", reason)} for every graded function the file defines."""
    module = load(path)
    out: dict[str, tuple[str, str]] = {}
    for name in FUNCTIONS[assignment]:
        if not callable(getattr(module, name, None)):
            continue
        rng = np.random.default_rng(_seed(path.name, name))
        try:
            CHECKERS[assignment](module, name, rng)
            out[name] = ("correct", "")
        except Fail as e:
            out[name] = ("buggy", str(e))
    return out


def correct_once_fixed(path: Path, assignment: str, function: str, fixed: Path) -> bool:
    """Whether ``function`` of ``path`` is right once its helpers are fixed: ``fixed`` holds the file's own
    helpers with their bug corrected (written for the file's own cache layout), run into its module."""
    module = load(path)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(fixed.read_text(), str(fixed), "exec"), module.__dict__)
    try:
        CHECKERS[assignment](module, function, np.random.default_rng(_seed(path.name, function)))
    except Fail:
        return False
    return True


def _seed(*parts: str) -> int:
    """A seed that is the same on every run (Python's hash() of a string is salted per process)."""
    import zlib

    return zlib.crc32("/".join(parts).encode())


def corpus_files() -> list[tuple[str, Path]]:
    return [(a, p) for a in FUNCTIONS for p in sorted((HERE / a).glob("*.py"))]


def main(argv: list[str]) -> int:
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}
    new: dict[str, Any] = {}
    disagree = 0
    for assignment, path in corpus_files():
        key = f"{assignment}/{path.name}"
        found = verdicts(path, assignment)
        old = manifest.get(key, {}).get("functions", {})
        entry = {**manifest.get(key, {}), "assignment": assignment, "functions": {}}
        for fn, (verdict, reason) in found.items():
            note = old.get(fn, {}).get("note", "")
            entry["functions"][fn] = {**old.get(fn, {}), "verdict": verdict, "note": note}  # "through" kept
            want = old.get(fn, {}).get("verdict")
            flag = "" if want in (None, verdict) else f"   <-- MANIFEST says {want}"
            disagree += bool(flag)
            print(f"{key:45s} {fn:30s} {verdict:8s} {reason}{flag}")
        new[key] = entry
    if "--write" in argv:
        MANIFEST.write_text(json.dumps(new, indent=2, ensure_ascii=False) + "\n")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
