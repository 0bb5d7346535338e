"""The instance strategies reach every edge the contract has, and hand students consistent states."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, given, settings

from grader.assignments import britz, cache, get, goodfellow, martens, trask

TRASK_SEQ = trask._sequences()
BRITZ_SEQ = britz._sequences()
GOODFELLOW_SEQ = goodfellow._sequences()
MARTENS = martens._instances()
CACHE_SEQ = cache._sequence()
BRITZ_OUT = britz._outputs()
BRITZ_DELTA_T = britz._delta_t()


_samples: dict[int, list] = {}


def sample(strategy, n: int = 200) -> list:
    """Instances the grader's own derandomized search would draw (generation only, no shrinking)."""
    key = id(strategy)
    if key not in _samples:
        drawn = []

        @settings(max_examples=n, derandomize=True, database=None, phases=[Phase.generate])
        @given(strategy)
        def collect(inst):
            drawn.append(inst)

        collect()
        _samples[key] = drawn
    return _samples[key]


def reaches(strategy, condition) -> bool:
    return any(condition(i) for i in sample(strategy))


@pytest.mark.parametrize("strategy, key", [
    (TRASK_SEQ, "T"), (BRITZ_SEQ, "T"), (GOODFELLOW_SEQ, "T"),
    (MARTENS, "T"), (CACHE_SEQ, "T"),
])
def test_sequence_lengths_from_1_to_8(strategy, key):
    assert reaches(strategy, lambda i: i.sizes[key] == 1)
    assert reaches(strategy, lambda i: i.sizes[key] == 8)


def test_sizes_batches_and_non_square_shapes():
    seq = TRASK_SEQ
    assert reaches(seq, lambda i: i.sizes["H"] == 1) and reaches(seq, lambda i: i.sizes["H"] == 6)
    assert reaches(seq, lambda i: i.sizes["B"] == 1) and reaches(seq, lambda i: i.sizes["B"] == 4)
    assert reaches(BRITZ_SEQ, lambda i: i.sizes["word_dim"] != i.sizes["H"])
    assert reaches(CACHE_SEQ, lambda i: i.sizes["N"] == 4 and i.sizes["D"] != i.sizes["H"])


def test_truncation_below_at_and_above_T_minus_1_and_the_default():
    s = BRITZ_SEQ
    assert reaches(s, lambda i: i.sizes["bptt_truncate"] < i.sizes["T"] - 1 and len(i.args) == 6)
    assert reaches(s, lambda i: i.sizes["bptt_truncate"] == i.sizes["T"] - 1 and len(i.args) == 6)
    assert reaches(s, lambda i: i.sizes["bptt_truncate"] > i.sizes["T"] - 1 and len(i.args) == 6)
    assert reaches(s, lambda i: len(i.args) == 5)  # the default, 4


def test_labels_as_arrays_and_as_lists():
    s = BRITZ_OUT
    assert reaches(s, lambda i: isinstance(i.args[1], list))
    assert reaches(s, lambda i: isinstance(i.args[1], np.ndarray))


def test_near_linear_and_saturated_activations():
    s = BRITZ_DELTA_T
    assert reaches(s, lambda i: np.all(np.abs(i.args[2]) < 0.3) and np.any(i.args[2] != 0))
    assert reaches(s, lambda i: np.any(np.abs(i.args[2]) > 0.999))


def test_weight_matrices_are_rarely_symmetric():


    symmetric = []

    @settings(max_examples=300, derandomize=True, database=None)
    @given(britz._delta_t_prev())
    def count(inst):
        W = inst.args[0]
        if W.shape[0] == 3:
            symmetric.append(bool(np.allclose(W, W.T)))

    count()
    assert len(symmetric) > 20 and sum(symmetric) / len(symmetric) < 0.1


@pytest.mark.parametrize("name", ["trask", "britz", "goodfellow"])
def test_states_handed_to_students_are_the_forward_pass(name):


    q = get(name).questions[2]  # layer_1_delta / delta_t_prev / grad_h: each receives states

    @settings(max_examples=30, derandomize=True, database=None)
    @given(q.instances())
    def consistent(inst):
        if name == "trask":
            assert np.allclose(inst.args[4], 1 / (1 + np.exp(-inst.context["z"])))
        elif name == "britz":
            assert np.allclose(inst.args[2], np.tanh(inst.context["z"]))
        else:
            p = inst.context
            assert np.allclose(inst.args[1], goodfellow.hidden(p["x"], p["h0"], p["b"], p["U"], p["W"]))

    consistent()
