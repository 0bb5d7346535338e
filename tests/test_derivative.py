"""The derivative oracle agrees with analytic derivatives and with itself across methods."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.assignments import britz, trask
from grader.oracles.derivative import (
    CENTRAL_TOL,
    COMPLEX_STEP_TOL,
    central_difference_gradient,
    complex_step_gradient,
    log_softmax,
    sigmoid,
    vjp,
)


def _quadratic(p):
    # f(A, x) = x^T A x + sum(sin(A)): gradients 2... known in closed form
    A, x = p["A"], p["x"]
    return (x[..., None, :] @ A @ x[..., :, None])[..., 0, 0] + np.sin(A).reshape(A.shape[0], -1).sum(axis=1)


@given(st.integers(1, 5).flatmap(lambda n: st.tuples(gs.array((n, n), 2.0), gs.array((n,), 2.0))))
def test_complex_step_matches_closed_form(args):
    A, x = args
    g = complex_step_gradient(_quadratic, {"A": A, "x": x}, ["A", "x"])
    assert np.allclose(g["A"], np.outer(x, x) + np.cos(A), rtol=1e-13, atol=1e-13)
    assert np.allclose(g["x"], (A + A.T) @ x, rtol=1e-13, atol=1e-13)


@given(st.integers(1, 5).flatmap(lambda n: st.tuples(gs.array((n, n), 2.0), gs.array((n,), 2.0))))
def test_central_differences_match_closed_form_within_their_error(args):
    A, x = args
    g = central_difference_gradient(_quadratic, {"A": A, "x": x}, ["A", "x"])
    assert CENTRAL_TOL.close(g["A"], np.outer(x, x) + np.cos(A)).all()
    assert CENTRAL_TOL.close(g["x"], (A + A.T) @ x).all()


def test_complex_step_is_far_more_accurate_than_central_differences(load):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 6), rng.integers(0, 5, 6)
    p = {"U": rng.normal(size=(4, 5)), "V": rng.normal(size=(5, 4)), "W": rng.normal(size=(4, 4)) * 0.5}
    loss = lambda q: britz.surrogate_loss(x, y, q["U"], q["V"], q["W"], 10)  # noqa: E731
    cs = complex_step_gradient(loss, p, ["W"])["W"]
    cd = central_difference_gradient(loss, p, ["W"])["W"]
    # an independent analytic gradient: the reference solution's loop
    exact = load("britz").reference.functions["bptt"](x, y, p["U"], p["V"], p["W"], 10)[2]
    err_cs = np.max(np.abs(cs - exact)) / np.max(np.abs(exact))
    err_cd = np.max(np.abs(cd - exact)) / np.max(np.abs(exact))
    assert err_cs < 1e-12
    assert err_cs < err_cd / 100


def test_stop_gradient_is_the_real_part():
    # d/dx [x * real(x)] through complex step sees only the first factor
    g = complex_step_gradient(lambda p: (p["x"] * np.real(p["x"])).sum(axis=1), {"x": np.array([3.0])}, ["x"])
    assert g["x"] == pytest.approx([3.0])


@given(st.integers(1, 4), st.integers(1, 4))
def test_vjp_of_a_matrix_product(n, m):
    rng = np.random.default_rng(n * 10 + m)
    A, x, g = rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m)
    out = vjp(lambda A, x: (A @ x[..., None])[..., 0], {"A": A, "x": x}, g, ["A", "x"])
    assert np.allclose(out["x"], A.T @ g, rtol=1e-13)
    assert np.allclose(out["A"], np.outer(g, x), rtol=1e-13)
    central = vjp(lambda A, x: (A @ x[..., None])[..., 0], {"A": A, "x": x}, g, ["A", "x"], method="central")
    assert CENTRAL_TOL.close(central["A"], out["A"]).all()


def test_analytic_building_blocks():
    z = np.linspace(-30, 30, 7)
    assert np.allclose(sigmoid(z), 1 / (1 + np.exp(-z)))
    assert np.allclose(np.exp(log_softmax(z)).sum(), 1.0)
    assert np.isfinite(log_softmax(np.array([1000.0, 0.0]))).all()


def test_tolerance_rejects_a_wrong_gradient_and_accepts_rounding():
    exact = np.array([1.0, -2.0, 1e-9])
    assert COMPLEX_STEP_TOL.close(exact * (1 + 1e-12), exact).all()
    assert not COMPLEX_STEP_TOL.close(exact * 1.001, exact).all()
    assert not COMPLEX_STEP_TOL.close(np.array([1.0, -2.0, 1e-3]), exact).all()


def test_trask_forward_is_the_sigmoid_rnn():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, (3, 2, 2)).astype(float)
    s0, s1, sh = rng.normal(size=(2, 4)), rng.normal(size=(4, 1)), rng.normal(size=(4, 4))
    hs, ys = trask.forward(X, s0, s1, sh)
    h = np.zeros((2, 4))
    for t in range(3):
        h = 1 / (1 + np.exp(-(X[t] @ s0 + h @ sh)))
        assert np.allclose(hs[t], h)
        assert np.allclose(ys[t], 1 / (1 + np.exp(-(h @ s1))))


def test_complex_step_shortcuts_only_take_complex_step_inputs():
    """tanh's and the softmax's shortcuts hold for imaginary parts below 1e-8 only; any other complex
    input (a large, NaN or infinite imaginary part) must get numpy's exact function."""
    from grader.oracles import derivative as d

    step = np.array([0.3 + 1e-30j, -2.0 + 3e-25j])
    assert d._complex_step_input(step)
    np.testing.assert_allclose(d.tanh(step).imag, step.imag / np.cosh(step.real) ** 2, rtol=1e-15)
    for bad in (np.array([0.3 + 0.5j]), np.array([0.3 + 1e-30j, 1.0 + 1e-7j]), np.array([0.1 + np.nan * 1j]),
                np.array([1.0 + 1e200j])):
        assert not d._complex_step_input(bad)
    z = np.array([1.0 + 0.5j, -0.3 + 2.0j])
    np.testing.assert_allclose(d.tanh(z), np.tanh(z), rtol=1e-15)
