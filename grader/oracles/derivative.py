"""The derivative oracle: true gradients from the forward pass alone.

Every graded function is a derivative of a forward pass (a gradient, a delta,
or a vector-Jacobian product), so its true value can be computed without any
reference solution, by differentiating the grader's own forward pass.

Complex step (the default)
    ``f'(x) = Im f(x + ih) / h``. No difference of nearby values is taken, so
    there is no cancellation and ``h`` can be tiny (``1e-30``): the
    truncation error ``h**2 |f'''| / 6`` vanishes and what remains is the
    rounding of one forward evaluation, a few ulps (measured on the tanh RNN:
    relative error about 1e-13). It needs a forward pass written with
    analytic operations (``tanh``, ``exp``, ``@``; no ``abs``, comparisons
    or ``.real``), which the grader's forward passes are. ``np.real(x)`` is
    a stop-gradient, which is how truncated BPTT's surrogate loss is written.

Central differences (where complex numbers cannot go, e.g. through student code)
    ``(f(x + h) - f(x - h)) / 2h`` with ``h = eps**(1/3) * max(1, |x|)``:
    truncation ``h**2 |f'''| / 6`` and rounding ``eps |f| / h`` balance at a
    relative error near ``eps**(2/3)``, about 4e-11 for well-scaled losses.

Both are vectorised over perturbations: the forward pass receives every
parameter with one extra leading axis (``P`` perturbed copies, or 1 copy
broadcast) and returns ``P`` losses, so one call of numpy-level code
evaluates many perturbations instead of one Python call per parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Loss = Callable[[Mapping[str, np.ndarray]], np.ndarray]

COMPLEX_STEP_H = 1e-30
#: Perturbations evaluated per forward call; bounds memory at P * (size of the forward states).
#: Small enough that a chunk's states stay in the CPU caches: on a T = 50, H = 32, 64-word
#: RNN, 256 is about twice as fast as 2048 (``benchmarks/``); the Python overhead of a
#: call is paid once per 256 perturbations.
CHUNK = 256


@dataclass(frozen=True)
class Tolerance:
    """``|got - expected| <= rtol * |expected| + atol * max(1, max |expected|)``, elementwise."""

    rtol: float
    atol: float

    def close(self, got: np.ndarray, expected: np.ndarray) -> np.ndarray:
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        with np.errstate(invalid="ignore", over="ignore"):
            return np.abs(got - expected) <= self.rtol * np.abs(expected) + self.atol * scale


#: Against complex-step truth (error ~1e-13 relative), a student's float64
#: evaluation is the larger error: each output entry sums at most a few
#: thousand products here, so its rounding stays below 1e3 * eps ~ 2e-13 of
#: the magnitudes involved; saturated activations add an absolute error of a
#: few eps times the upstream gradient (``1 - s**2`` from a rounded ``s``),
#: which ``atol`` covers. 1e-7 leaves five orders of margin over both, and a
#: wrong formula moves entries by O(1) relative: seven orders the other way.
COMPLEX_STEP_TOL = Tolerance(rtol=1e-7, atol=1e-10)
#: Against central-difference truth (relative error ~eps**(2/3) ~ 4e-11 times
#: the loss scale, which the instances keep below ~1e2): same margins.
CENTRAL_TOL = Tolerance(rtol=1e-5, atol=1e-7)
#: Two calls of deterministic code with the same arguments in one process are bitwise equal; this
#: only absorbs a multi-threaded BLAS summing in another order.
REPEAT_TOL = Tolerance(rtol=1e-12, atol=1e-14)


def _perturbed(params: Mapping[str, np.ndarray], name: str, flat_idx: np.ndarray, step: complex | float,
               dtype: type) -> dict[str, np.ndarray]:
    """Every parameter with a leading axis: ``name`` perturbed at one flat index per copy."""
    p = np.asarray(params[name])
    m = len(flat_idx)
    # .copy() makes a C-ordered array (each copy contiguous); np.array() would keep the broadcast's
    # layout, the copy axis innermost, which makes every later operation on it strided and slow.
    batch = np.broadcast_to(p.astype(dtype), (m,) + p.shape).copy()
    batch.reshape(m, -1)[np.arange(m), flat_idx] += step
    # The others stay real: numpy multiplies a complex array by a real one faster than two complex ones.
    out = {k: np.asarray(v, dtype=float)[None] for k, v in params.items() if k != name}
    out[name] = batch
    return out


def complex_step_gradient(loss: Loss, params: Mapping[str, np.ndarray], wrt: Sequence[str],
                          h: float = COMPLEX_STEP_H) -> dict[str, np.ndarray]:
    """Gradient of a scalar ``loss`` with respect to each parameter named in ``wrt``.

    ``loss`` takes a dict of arrays, each with a leading perturbation axis of
    length ``P`` or 1, and returns an array of ``P`` losses. It must be
    analytic in the parameters (see the module notes).
    """
    grads = {}
    for name in wrt:
        p = np.asarray(params[name], dtype=float)
        flat = np.empty(p.size)
        for start in range(0, p.size, CHUNK):
            idx = np.arange(start, min(start + CHUNK, p.size))
            values = np.asarray(loss(_perturbed(params, name, idx, 1j * h, complex)))
            flat[idx] = values.imag.reshape(len(idx)) / h
        grads[name] = flat.reshape(p.shape)
    return grads


def central_difference_gradient(loss: Loss, params: Mapping[str, np.ndarray], wrt: Sequence[str],
                                ) -> dict[str, np.ndarray]:
    """The same gradient by central differences, in real arithmetic only."""
    grads = {}
    eps3 = np.finfo(float).eps ** (1 / 3)
    for name in wrt:
        p = np.asarray(params[name], dtype=float)
        flat = np.empty(p.size)
        steps = eps3 * np.maximum(1.0, np.abs(p.reshape(-1)))
        for start in range(0, p.size, CHUNK):
            idx = np.arange(start, min(start + CHUNK, p.size))
            h = steps[idx]
            plus = np.asarray(loss(_perturbed_real(params, name, idx, h)), dtype=float)
            minus = np.asarray(loss(_perturbed_real(params, name, idx, -h)), dtype=float)
            flat[idx] = (plus.reshape(-1) - minus.reshape(-1)) / (2 * h)
        grads[name] = flat.reshape(p.shape)
    return grads


def _perturbed_real(params: Mapping[str, np.ndarray], name: str, idx: np.ndarray, h: np.ndarray,
                    ) -> dict[str, np.ndarray]:
    out = _perturbed(params, name, idx, 0.0, float)
    out[name].reshape(len(idx), -1)[np.arange(len(idx)), idx] += h
    return out


def vjp(forward: Callable[..., Any], primals: Mapping[str, np.ndarray], cotangent: Any,
        wrt: Sequence[str], method: str = "complex") -> dict[str, np.ndarray]:
    """Vector-Jacobian product ``cotangent^T J`` of ``forward(**primals)``.

    ``forward`` is batched like a loss (leading perturbation axis) and returns
    an array or a tuple of arrays matching ``cotangent``.
    """
    cots = cotangent if isinstance(cotangent, tuple) else (cotangent,)

    def loss(p: Mapping[str, np.ndarray]) -> np.ndarray:
        outs = forward(**p)
        outs = outs if isinstance(outs, tuple) else (outs,)
        total = 0
        for out, cot in zip(outs, cots):
            total = total + (out * cot).reshape(out.shape[0], -1).sum(axis=1)
        return total

    if method == "complex":
        return complex_step_gradient(loss, primals, wrt)
    return central_difference_gradient(loss, primals, wrt)


# -- analytic building blocks that keep a forward pass complex-step safe ----------------

#: Below this, an imaginary part is a complex step's: ``cos(b) == 1`` and ``sin(b) == b`` in float64.
_TINY_IMAG = 1e-8


def _complex_step_input(z: Any) -> bool:
    """A complex array whose imaginary parts are all negligible next to 1 (as a complex step's are)."""
    if not np.iscomplexobj(z):
        return False
    # The sum of squares bounds every entry (a NaN or an overflow fails the test), in one strided BLAS
    # pass with no temporary array: five times faster than max() and min() (numpy's).
    b = np.imag(z).reshape(-1)
    return bool(np.dot(b, b) < _TINY_IMAG * _TINY_IMAG)


def tanh(z: np.ndarray) -> np.ndarray:
    """``np.tanh``, about twice as fast on complex-step inputs.

    ``tanh(a + ib) = (sinh 2a + i sin 2b) / (cosh 2a + cos 2b)``, which for
    ``|b| < 1e-8`` (``cos 2b == 1`` and ``sin 2b == 2b`` in float64) is
    ``tanh a + i b / cosh(a)**2`` to float64 rounding, with the imaginary part
    free of the cancellation in ``1 - tanh(a)**2``. Other inputs go to ``np.tanh``.
    """
    if not _complex_step_input(z):
        return np.tanh(z)
    out = np.empty(z.shape, dtype=complex)
    np.tanh(z.real, out=out.real)
    with np.errstate(over="ignore"):  # cosh(a)**2 = inf for |a| > 355: the derivative underflows to 0, as it should
        c = np.cosh(z.real)
        np.divide(z.imag, c * c, out=out.imag)
    return out


def _sum_exp(z: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``exp(z - shift).sum(axis=-1)`` for a real ``shift``.

    On complex-step inputs ``exp(a + ib) = e^a + i e^a b`` in float64 (as in
    :func:`tanh`), so the sum takes real exponentials only and forms no complex array.
    """
    if _complex_step_input(z):
        e = np.exp(z.real - shift)
        return e.sum(axis=-1) + 1j * np.einsum("...k,...k->...", e, z.imag)
    return np.exp(z - shift).sum(axis=-1)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, analytic (no clipping, which would break the complex step)."""
    return 1.0 / (1.0 + np.exp(-z))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Over the last axis; shifted by the real part of the max, which is a constant for derivatives."""
    shift = np.max(np.real(z), axis=-1, keepdims=True)
    e = np.exp(z - shift)
    return z - shift - np.log(e.sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(z))


def nll(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``-sum_t log softmax(z[..., t, :])[y[t]]``: a sequence's cross-entropy, one value per leading index.

    The same operations as :func:`log_softmax` on the entries it keeps, without
    forming the log-probabilities of every class.
    """
    y = np.asarray(y, dtype=int)
    shift = np.max(np.real(z), axis=-1, keepdims=True)
    picked = z[..., np.arange(len(y)), y] - shift[..., 0]
    return -(picked - np.log(_sum_exp(z, shift))).sum(axis=-1)


# A parameter that is not being perturbed arrives with a leading axis of length 1 (see
# ``_perturbed``): the same matrix for every perturbation. Products with it are then one
# matrix product over all perturbations (one BLAS call) instead of one small product per
# perturbation, which is what numpy's broadcasting ``matmul`` would do.

def _shared(m: np.ndarray) -> bool:
    return all(d == 1 for d in m.shape[:-2])


def _rows_times_t(a: np.ndarray, m: np.ndarray, batch_axes: int) -> np.ndarray:
    """``a @ m.T`` for a shared ``m``: every row of ``a`` in one product; ``m``'s unit axes put back in front."""
    m2 = m.reshape(m.shape[-2:])
    out = (a.reshape(-1, a.shape[-1]) @ m2.T).reshape(a.shape[:-1] + m2.shape[:1])
    extra = (m.ndim - 2) - batch_axes
    return out.reshape((1,) * extra + out.shape) if extra > 0 else out


def mv(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Batched matrix-vector product ``m @ v`` over any leading axes (broadcast)."""
    if _shared(m):
        return _rows_times_t(v, m, v.ndim - 1)
    return (m @ v[..., None])[..., 0]


def matmul_t(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``a @ m.T`` over the last two axes (rows of ``a`` times ``m`` transposed), broadcast over leading axes."""
    if _shared(m):
        return _rows_times_t(a, m, a.ndim - 2)
    return a @ np.swapaxes(m, -1, -2)
