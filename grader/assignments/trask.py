"""trask: binary addition with a sigmoid RNN (row vectors, no biases).

Trask's sign convention: a *delta* is minus the gradient of the loss with
respect to a pre-activation, and an *update* is minus the gradient with
respect to a weight matrix (it is added to the weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader import strategies as gs
from grader import terms
from grader.loops import trask_train
from grader.oracles.derivative import complex_step_gradient, sigmoid
from grader.questions import Assignment, Behaviour, Question, Rows
from grader.strategies import Instance, composite, st
from grader.target import run_near


def forward(X: np.ndarray, synapse_0: np.ndarray, synapse_1: np.ndarray, synapse_h: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray]:
    """Hidden states ``layer_1`` (T, B, H) and outputs ``layer_2`` (T, B, n_out).

    Weights may carry extra leading axes (the derivative oracle's
    perturbations); ``X`` is ``(T, B, n_in)``.
    """
    T, B = X.shape[:2]
    h = np.zeros(synapse_h.shape[:-2] + (B, synapse_h.shape[-1]), dtype=np.result_type(synapse_h, X))
    hs, ys, p, q = [], [], {"synapse_0": synapse_0, "synapse_h": synapse_h}, {"synapse_1": synapse_1}
    for t in range(T):  # each step and output through grader.terms (the wrong programs of grader.terms)
        h = terms.step(t, lambda p, h, t=t: X[t] @ p["synapse_0"] + h @ p["synapse_h"], p, h, sigmoid)
        hs.append(h)
        ys.append(terms.emit(t, _output, q, h))
    return np.stack(hs, axis=-3), np.stack(ys, axis=-3)


def _output(p: dict, h: np.ndarray) -> np.ndarray:
    return sigmoid(h @ p["synapse_1"])


def loss(X: np.ndarray, Y: np.ndarray, synapse_0: np.ndarray, synapse_1: np.ndarray,
         synapse_h: np.ndarray) -> np.ndarray:
    """``0.5 * sum_t ||Y[t] - layer_2[t]||^2`` (one value per leading weight copy)."""
    _, yhat = forward(X, synapse_0, synapse_1, synapse_h)
    return 0.5 * ((Y - yhat) ** 2).reshape(yhat.shape[:-3] + (-1,)).sum(axis=-1)


# -- instances ------------------------------------------------------------------------------

@composite
def _sigmoid_outputs(draw: st.DrawFn) -> Instance:
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    z = draw(gs.array(shape, draw(gs.scale()) * 3))
    return Instance(args=(sigmoid(z),), sizes={"shape": shape}, context={"z": z})


@composite
def _layer_2(draw: st.DrawFn) -> Instance:
    B, n_out = draw(st.integers(1, gs.MAX_BATCH)), draw(st.integers(1, 3))
    z = draw(gs.array((B, n_out), draw(gs.scale()) * 3))
    y = draw(st.one_of(gs.one_hot_targets((B, n_out)), gs.probabilities((B, n_out))))
    return Instance(args=(y, sigmoid(z)), sizes={"B": B, "n_out": n_out}, context={"z": z})


@composite
def _layer_1(draw: st.DrawFn) -> Instance:
    B, H, n_out = draw(st.integers(1, gs.MAX_BATCH)), draw(st.integers(1, gs.MAX_H)), draw(st.integers(1, 3))
    s = draw(gs.scale())
    z = draw(gs.array((B, H), 3 * s))
    future = draw(gs.array((B, H), 0.3))
    synapse_h = draw(gs.array((H, H), s))
    l2 = draw(gs.array((B, n_out), 0.3))
    synapse_1 = draw(gs.array((H, n_out), s))
    return Instance(args=(future, synapse_h, l2, synapse_1, sigmoid(z)),
                    sizes={"B": B, "H": H, "n_out": n_out}, context={"z": z})


@composite
def _sequences(draw: st.DrawFn) -> Instance:
    T, B = draw(gs.sizes()), draw(st.integers(1, gs.MAX_BATCH))
    H, n_in, n_out = draw(st.integers(1, gs.MAX_H)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    s = draw(gs.scale())
    X = draw(st.one_of(gs.one_hot_targets((T, B, n_in)), gs.array((T, B, n_in))))
    Y = draw(st.one_of(gs.one_hot_targets((T, B, n_out)), gs.probabilities((T, B, n_out))))
    weights = (draw(gs.array((n_in, H), s)), draw(gs.array((H, n_out), s)), draw(gs.array((H, H), s)))
    return Instance(args=(X, Y, *weights), sizes={"T": T, "B": B, "H": H, "n_in": n_in, "n_out": n_out})


# -- truths from the forward pass ----------------------------------------------------------------

def _elementwise_derivative(inst: Instance) -> np.ndarray:
    z = inst.context["z"]
    g = complex_step_gradient(lambda p: sigmoid(p["z"]).reshape(p["z"].shape[0], -1).sum(axis=1), {"z": z}, ["z"])
    return g["z"]


def _layer_2_truth(inst: Instance) -> np.ndarray:
    y = inst.args[0]

    def L(p: dict) -> np.ndarray:
        return 0.5 * ((y - sigmoid(p["z"])) ** 2).sum(axis=(1, 2))

    return -complex_step_gradient(L, {"z": inst.context["z"]}, ["z"])["z"]


def _layer_1_truth(inst: Instance) -> np.ndarray:
    future, synapse_h, l2, synapse_1, _ = inst.args

    def minus_L(p: dict) -> np.ndarray:  # -L as a function of z, to first order around the instance
        h = sigmoid(p["z"])
        return (future * (h @ synapse_h)).sum(axis=(1, 2)) + (l2 * (h @ synapse_1)).sum(axis=(1, 2))

    return complex_step_gradient(minus_L, {"z": inst.context["z"]}, ["z"])["z"]


def _updates_truth(inst: Instance) -> tuple[np.ndarray, ...]:
    X, Y, *weights = inst.args
    names = ("synapse_0", "synapse_1", "synapse_h")
    g = complex_step_gradient(lambda p: loss(X, Y, **p), dict(zip(names, weights)), names)
    return tuple(-g[n] for n in names)


# -- end to end: the network learns to add ------------------------------------------------------

TRAIN_STEPS, TRAIN_BATCH, HIDDEN, LEARNING_RATE, SEED = 600, 32, 16, 0.1, 0
TEST_PAIRS, PASS_ACCURACY = 500, 0.99


def _bits(n: np.ndarray) -> np.ndarray:
    return ((n[..., None] >> np.arange(8)) & 1).astype(float)  # least significant bit first: time order


def _addition_batch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X`` (..., 8, B, 2) and targets ``Y`` (..., 8, B, 1) of the sums ``a + b`` (each (..., B))."""
    X = np.stack([_bits(a), _bits(b)], axis=-1)  # (..., B, 8, 2)
    return np.swapaxes(X, -3, -2), np.swapaxes(_bits(a + b)[..., None], -3, -2)


def learns_binary_addition(target: Any) -> tuple[bool, str]:
    """Train with the student's ``bptt_updates`` and test on unseen 8-bit sums (the test is the grader's)."""
    rng = np.random.default_rng(SEED)
    w = [2 * rng.random((2, HIDDEN)) - 1, 2 * rng.random((HIDDEN, 1)) - 1, 2 * rng.random((HIDDEN, HIDDEN)) - 1]
    # one call, step by step the same numbers (and generator state) as a call per step's a and b: 0.3 ms, not 16
    ab = rng.integers(0, 128, (TRAIN_STEPS, 2, TRAIN_BATCH))
    a, b = ab[:, 0], ab[:, 1]
    # every step's batch made here: the loop in the worker only calls the student's function and adds updates
    out = run_near(target, trask_train, w, *_addition_batch(a, b), LEARNING_RATE)
    result = out.value if out.ok else {"failure": f"training stopped: {out.describe_failure()}"}
    if not isinstance(result, dict) or not isinstance(result.get("failure", ""), str):
        return False, "training gave back something that is not a result"
    if "failure" in result:
        return False, result["failure"]
    w_end = result.get("weights")
    if not (isinstance(w_end, list) and len(w_end) == 3 and all(
            isinstance(u, np.ndarray) and u.shape == v.shape for u, v in zip(w_end, w))):
        return False, "training gave back something that is not three synapses"
    seen = np.zeros((128, 128), dtype=bool)
    seen[a.ravel(), b.ravel()] = True
    unseen = np.argwhere(~seen)
    pick = unseen[rng.choice(len(unseen), size=min(TEST_PAIRS, len(unseen)), replace=False)]
    X, _ = _addition_batch(pick[:, 0], pick[:, 1])
    with np.errstate(all="ignore"):
        _, yhat = forward(X, *(np.asarray(u, dtype=float) for u in w_end))
    value = ((yhat[:, :, 0] > 0.5).T * (1 << np.arange(8))).sum(axis=1)
    accuracy = float(np.mean(value == pick.sum(axis=1)))
    verdict = (f"after {TRAIN_STEPS} steps of batch {TRAIN_BATCH} at learning rate {LEARNING_RATE}, "
               f"{accuracy:.1%} of {len(pick)} unseen 8-bit sums were right (needed {PASS_ACCURACY:.0%})")
    return accuracy >= PASS_ACCURACY, verdict


DELTA = "the true delta (minus the derivative of the loss, trask's sign convention)"
UPDATE = "the true updates (minus the derivative of the loss, trask's sign convention)"

# -- instances from bare arguments (a helper's truth where the student's bptt_updates calls it) ---------

def _from_sigmoid(position: int):
    """The pre-activation of the sigmoid output at ``position``: ``logit(output)``."""
    def rebuild(args: tuple) -> Instance:
        p = np.asarray(args[position], dtype=float)
        with np.errstate(divide="ignore"):
            return Instance(args=args, context={"z": np.log(p) - np.log1p(-p)})

    return rebuild


ASSIGNMENT = Assignment(
    name="trask",
    title="Binary addition with a sigmoid RNN (Trask)",
    source="seed 000: the layer_1_delta line of Trask's binary-addition RNN",
    questions=(
        Question("sigmoid_output_to_derivative", 1, ("output",), _sigmoid_outputs, _elementwise_derivative,
                 instance_from_args=_from_sigmoid(0), activations=(("output", "sigmoid"),)),
        Question("layer_2_delta", 1, ("y", "layer_2"), _layer_2, _layer_2_truth,
                 axes={"": ("row", "unit")}, rows=Rows({0: 0, 1: 0}), truth_name=DELTA,
                 instance_from_args=_from_sigmoid(1), activations=(("layer_2", "sigmoid"),)),
        Question("layer_1_delta", 2,
                 ("future_layer_1_delta", "synapse_h", "layer_2_delta", "synapse_1", "layer_1"),
                 _layer_1, _layer_1_truth, axes={"": ("row", "unit")}, rows=Rows({0: 0, 2: 0, 4: 0}),
                 truth_name=DELTA, instance_from_args=_from_sigmoid(4), activations=(("layer_1", "sigmoid"),),
                 variants=(
                     {"id": "trask-no-future-delta", "zeros": "future_layer_1_delta",
                      "says": "the delta with future_layer_1_delta = 0: the error from the next step "
                              "(future_layer_1_delta @ synapse_h.T) is left out"},
                     {"id": "trask-synapse-h-untransposed", "transpose": "synapse_h",
                      "says": "the delta for synapse_h.T in place of synapse_h: synapse_h where synapse_h.T belongs "
                              "(forward is h[t] @ synapse_h)"},
                     {"id": "trask-no-output-delta", "zeros": "layer_2_delta",
                      "says": "the delta with layer_2_delta = 0: this step's output error "
                              "(layer_2_delta @ synapse_1.T) is left out"},
                 )),
        Question("bptt_updates", 4, ("X", "Y", "synapse_0", "synapse_1", "synapse_h"), _sequences,
                 _updates_truth, parts=("synapse_0_update", "synapse_1_update", "synapse_h_update"),
                 axes={"synapse_0_update": ("input", "hidden"), "synapse_1_update": ("hidden", "output"),
                       "synapse_h_update": ("from", "to")},
                 rows=Rows({0: 1, 1: 1}, summed=True), examples=40, truth_name=UPDATE,
                 variants=({"terms": {"state": "layer_1[{t}]", "W": "synapse_h", "act": "sigmoid",
                                      "what": "the updates"}},),  # every kind but those of an initial state
                 behaviours=(Behaviour("learns 8-bit binary addition", 2, learns_binary_addition, parallel=True),)),
    ),
)
