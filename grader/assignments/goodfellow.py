"""goodfellow: the textbook RNN with biases (Deep Learning, section 10.2.2).

Column vectors; steps ``t = 1..T`` are stored at index ``t - 1``; ``h0`` is given.
"""

from __future__ import annotations

import numpy as np

from grader import strategies as gs
from grader import terms
from grader.oracles.derivative import complex_step_gradient, log_softmax, mv, softmax
from grader.questions import Assignment, Question, Rows
from grader.strategies import Instance, composite, st

PARAMS = ("b", "c", "U", "V", "W")


def hidden(x: np.ndarray, h0: np.ndarray, b: np.ndarray, U: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``h[1..T]`` as ``(..., T, H)``; parameters may carry leading perturbation axes.

    Each step goes through :func:`grader.terms.step` (the wrong programs of :mod:`grader.terms`).
    """
    h, out, p = h0, [], {"b": b, "U": U, "W": W}
    for t in range(len(x)):
        h = terms.step(t, lambda p, h, t=t: p["b"] + mv(p["W"], h) + mv(p["U"], x[t]), p, h, np.tanh)
        out.append(h)
    return np.stack(out, axis=-2)


def _output(p: dict, h: np.ndarray) -> np.ndarray:
    return p["c"] + mv(p["V"], h)


def loss(x: np.ndarray, y: np.ndarray, h0: np.ndarray, b: np.ndarray, c: np.ndarray, U: np.ndarray,
         V: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``-sum_t log yhat[t][y[t]]`` (eq. 10.8 summed over time)."""
    y = np.asarray(y, dtype=int)
    h = hidden(x, h0, b, U, W)
    if terms.active():  # each output through grader.terms.emit
        o = np.stack([terms.emit(t, _output, {"c": c, "V": V}, h[..., t, :]) for t in range(len(y))], axis=-2)
    else:
        o = c[..., None, :] + (V[..., None, :, :] @ h[..., None])[..., 0]
    return -log_softmax(o)[..., np.arange(len(y)), y].sum(axis=-1)


@composite
def _problem(draw: st.DrawFn) -> dict:
    T, H = draw(gs.sizes()), draw(st.integers(1, gs.MAX_H))
    n_in, K = draw(st.integers(1, 4)), draw(st.integers(2, gs.MAX_CLASSES))
    s = draw(gs.scale())
    return {"x": draw(gs.array((T, n_in))), "y": draw(gs.labels(T, K)), "h0": draw(gs.array((H,), 0.9)),
            "b": draw(gs.array((H,), s)), "c": draw(gs.array((K,), s)), "U": draw(gs.array((H, n_in), s)),
            "V": draw(gs.array((K, H), s)), "W": draw(gs.array((H, H), s)),
            "sizes": {"T": T, "H": H, "n_in": n_in, "K": K}}


@composite
def _jacobian(draw: st.DrawFn) -> Instance:
    K = draw(st.integers(1, gs.MAX_CLASSES))
    o = draw(gs.array((K,), 3 * draw(gs.scale())))
    return Instance(args=(softmax(o),), sizes={"K": K}, context={"o": o})


@composite
def _grad_o(draw: st.DrawFn) -> Instance:
    T, K = draw(gs.sizes()), draw(st.integers(2, gs.MAX_CLASSES))
    o = draw(gs.array((T, K), 3 * draw(gs.scale())))
    return Instance(args=(softmax(o), draw(gs.labels(T, K))), sizes={"T": T, "K": K}, context={"o": o})


@composite
def _grad_h(draw: st.DrawFn) -> Instance:
    p = draw(_problem())
    T, K = p["sizes"]["T"], p["sizes"]["K"]
    grad_o = draw(gs.array((T, K)))
    h = hidden(p["x"], p["h0"], p["b"], p["U"], p["W"])
    return Instance(args=(grad_o, h, p["V"], p["W"]), sizes=p["sizes"], context=p)


@composite
def _sequences(draw: st.DrawFn) -> Instance:
    p = draw(_problem())
    return Instance(args=tuple(p[k] for k in ("x", "y", "h0", *PARAMS)), sizes=p["sizes"])


def _jacobian_truth(inst: Instance) -> np.ndarray:
    o = inst.context["o"]
    return np.stack([complex_step_gradient(lambda p, i=i: softmax(p["o"])[:, i], {"o": o}, ["o"])["o"]
                     for i in range(len(o))])


def _grad_o_truth(inst: Instance) -> np.ndarray:
    y = np.asarray(inst.args[1], dtype=int)
    rows = np.arange(len(y))
    return complex_step_gradient(lambda p: -log_softmax(p["o"])[:, rows, y].sum(axis=1),
                                 {"o": inst.context["o"]}, ["o"])["o"]


def _grad_h_truth(inst: Instance) -> np.ndarray:
    """dL/dh[t] with L = sum_t <grad_o[t], o[t]>, later states recomputed from a perturbed h[t]."""
    grad_o, h, V, W = inst.args
    p = inst.context
    out = np.empty_like(h)
    for t in range(len(h)):
        def L(q: dict, t: int = t) -> np.ndarray:
            state, total = q["h"], 0
            for k in range(t, len(h)):
                if k > t:
                    state = terms.step(k, lambda w, s, k=k: w["b"] + mv(w["W"], s) + w["U"] @ p["x"][k],
                                       {"b": p["b"], "U": p["U"], "W": W}, state, np.tanh)
                total = total + terms.emit(k, lambda w, s: mv(w["V"], s), {"V": V}, state) @ grad_o[k]
            return total

        out[t] = complex_step_gradient(L, {"h": h[t]}, ["h"])["h"]
    return out


def _bptt_truth(inst: Instance) -> dict:
    x, y, h0, *params = inst.args
    g = complex_step_gradient(lambda p: loss(x, y, h0, **p), dict(zip(PARAMS, params)), PARAMS)
    return {k: g[k] for k in PARAMS}


# -- instances from bare arguments (a helper's truth where the student's bptt calls it) ---------------

def _from_outputs(args: tuple) -> Instance:
    """``y_hat`` is a softmax, unchanged by a shift: ``log y_hat`` is a pre-activation of it."""
    return Instance(args=args, context={"o": np.log(np.asarray(args[0], dtype=float))})


def _from_states(args: tuple) -> Instance:
    """``grad_h(grad_o, h, V, W)``: step ``k``'s input term ``b + U @ x[k]`` is ``arctanh(h[k]) - W @ h[k-1]``.

    The truth re-runs the later steps from a perturbed ``h[t]``; given that term as ``x[k]`` with
    ``U = I`` and ``b = 0`` it re-runs them exactly as the caller's forward pass did.
    """
    h, W = np.asarray(args[1], dtype=float), np.asarray(args[3], dtype=float)
    terms = np.arctanh(h)
    terms[1:] -= h[:-1] @ W.T
    H = h.shape[-1]
    return Instance(args=args, context={"b": np.zeros(H), "U": np.eye(H), "x": terms})


ASSIGNMENT = Assignment(
    name="goodfellow",
    title="The textbook RNN with biases (Goodfellow, Bengio and Courville, section 10.2.2)",
    source="seed 003: where the softmax Jacobian's extra factor goes",
    questions=(
        Question("softmax_jacobian", 1, ("y_hat",), _jacobian, _jacobian_truth, axes={"": ("i", "j")},
                 instance_from_args=_from_outputs),
        Question("grad_o", 1, ("y_hat", "y"), _grad_o, _grad_o_truth, axes={"": ("t", "k")},
                 rows=Rows({0: 0, 1: 0}), instance_from_args=_from_outputs),
        Question("grad_h", 2, ("grad_o", "h", "V", "W"), _grad_h, _grad_h_truth, axes={"": ("t", "unit")},
                 instance_from_args=_from_states, activations=(("h", "tanh"),),
                 variants=(
                     {"id": "goodfellow-grad-h-w-untransposed", "transpose": "W", "rebuild": True,
                      "says": "the gradient for W.T in place of W: W where W.T belongs on the way back "
                              "(the forward pass multiplies h(t) by W)"},
                     {"id": "goodfellow-grad-h-no-recurrence", "zeros": "W", "rebuild": True,
                      "says": "the gradient with W = 0: the path from h(t) through the later steps "
                              "(W.T @ ((1 - h(t+1)**2) * g(t+1))) is left out"},
                     {"id": "goodfellow-grad-h-last-output-only", "last_only": ("grad_o", 0), "rebuild": True,
                      "says": "the gradient with grad_o kept only at the last step: V.T @ grad_o(t) is added only "
                              "at t = T, where every step has an output"},
                     {"terms": {"state": "h[{t}]", "W": "W", "act": "tanh",
                                "kinds": ("no-derivative", "derivative-of-previous-step", "derivative-of-next-step",
                                          "derivative-twice")}},
                 )),
        Question("bptt", 4, ("x", "y", "h0", "b", "c", "U", "V", "W"), _sequences, _bptt_truth, parts=PARAMS,
                 axes={"b": ("unit",), "c": ("k",), "U": ("unit", "input"), "V": ("k", "unit"),
                       "W": ("unit", "from unit")},
                 variants=(
                     {"id": "goodfellow-h0-ignored", "zeros": "h0",
                      "says": "the gradient with h0 = 0: the initial state is ignored (a(1) = b + W @ h0 + U @ x(1))"},
                     {"id": "goodfellow-b-left-out", "zeros": "b",
                      "says": "the gradient of the network with b = 0: the hidden bias is left out of the forward "
                              "pass"},
                     {"terms": {"state": "h[{t}]", "W": "W", "act": "tanh", "init": "h0"}},  # every kind
                 )),
    ),
)
