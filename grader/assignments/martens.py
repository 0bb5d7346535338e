"""martens: matrix-form BPTT, time as columns (Martens' Hessian-free RNN equations).

``X (n_in, T)``, ``H (n_hid, T)`` holds ``h_1..h_T``; the graded function gets the
upstream gradient ``dY`` of the output pre-activations and returns the
gradient of ``sum_i <dY[:, i], s_i>`` with respect to every parameter.
"""

from __future__ import annotations

import numpy as np

from grader import strategies as gs
from grader import terms
from grader.oracles.derivative import complex_step_gradient, mv
from grader.questions import Assignment, Question
from grader.strategies import Instance, composite, st

PARAMS = ("Whx", "Whh", "Wyh", "bh", "by")


def hidden(X: np.ndarray, h0: np.ndarray, Whx: np.ndarray, Whh: np.ndarray, bh: np.ndarray) -> np.ndarray:
    """``h_1..h_T`` as columns ``(..., n_hid, T)``; parameters may carry leading perturbation axes.

    Each step goes through :func:`grader.terms.step` (the wrong programs of :mod:`grader.terms`).
    """
    h, out, p = h0, [], {"Whx": Whx, "Whh": Whh, "bh": bh}
    for i in range(X.shape[1]):
        h = terms.step(i, lambda p, h, i=i: mv(p["Whx"], X[:, i]) + mv(p["Whh"], h) + p["bh"], p, h, np.tanh)
        out.append(h)
    return np.stack(out, axis=-1)


def _output(p: dict, h: np.ndarray) -> np.ndarray:
    return mv(p["Wyh"], h) + p["by"]


def linear_loss(X: np.ndarray, h0: np.ndarray, dY: np.ndarray, Whx: np.ndarray, Whh: np.ndarray,
                Wyh: np.ndarray, bh: np.ndarray, by: np.ndarray) -> np.ndarray:
    """``sum_i <dY[:, i], s_i>`` with ``s_i = Wyh h_i + by``."""
    H = hidden(X, h0, Whx, Whh, bh)
    if terms.active():  # each output through grader.terms.emit
        S = np.stack([terms.emit(i, _output, {"Wyh": Wyh, "by": by}, H[..., i]) for i in range(H.shape[-1])], axis=-1)
    else:
        S = Wyh @ H + by[..., None]
    return (S * dY).reshape(S.shape[:-2] + (-1,)).sum(axis=-1)


@composite
def _instances(draw: st.DrawFn) -> Instance:
    T, n_hid = draw(gs.sizes()), draw(st.integers(1, gs.MAX_H))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = draw(gs.scale())
    p = {"Whx": draw(gs.array((n_hid, n_in), s)), "Whh": draw(gs.array((n_hid, n_hid), s)),
         "Wyh": draw(gs.array((n_out, n_hid), s)), "bh": draw(gs.array((n_hid,), s)), "by": draw(gs.array((n_out,)))}
    X, h0, dY = draw(gs.array((n_in, T))), draw(gs.array((n_hid,), 0.9)), draw(gs.array((n_out, T)))
    H = hidden(X, h0, p["Whx"], p["Whh"], p["bh"])
    return Instance(args=(X, H, h0, dY, p["Whh"], p["Wyh"]),
                    sizes={"T": T, "n_hid": n_hid, "n_in": n_in, "n_out": n_out}, context=p)


def _truth(inst: Instance) -> dict:
    X, _, h0, dY, _, _ = inst.args
    g = complex_step_gradient(lambda p: linear_loss(X, h0, dY, **p), inst.context, PARAMS)
    return {k: g[k] for k in PARAMS}


ASSIGNMENT = Assignment(
    name="martens",
    title="Matrix-form BPTT, time as columns (Martens)",
    source="seed 002: how step i's error depends on earlier steps, in matrix form",
    questions=(
        Question("bptt_matrix", 4, ("X", "H", "h0", "dY", "Whh", "Wyh"), _instances, _truth, parts=PARAMS,
                 axes={"Whx": ("unit", "input"), "Whh": ("unit", "from unit"), "Wyh": ("output", "unit"),
                       "bh": ("unit",), "by": ("output",)},
                 variants=(
                     {"id": "martens-last-column-only", "last_only": ("dY", 1),
                      "says": "the gradient with dY kept only in its last column: only the last step's output "
                              "gradient is used, where every step has an output (every column of dY counts)"},
                     {"terms": {"state": "H[:, {t}]", "W": "Whh", "act": "tanh", "init": "h0",
                                "kinds": tuple(k.id for k in terms.KINDS if k.id != "loss-last-step-only")}},
                 )),
    ),
)
