"""Every check passes a correct implementation and fails known-wrong ones.

Each wrong implementation below breaks exactly one rule; the test names the
check that must catch it (and that the others it does not concern still pass).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.assignments import get
from grader.grading import grade_question
from grader.target import FUNCTION, LocalTarget

EXAMPLES = 25


class Tagged(np.ndarray):
    """An ndarray subclass a student might return by accident."""


def run(load, assignment: str, function: str, impl, with_solutions: bool = True, **extra):
    sol = load(assignment)
    functions = {**sol.reference.functions, function: impl, **extra}
    results = grade_question(get(assignment).question(function), LocalTarget(functions),
                             sol if with_solutions else None, FUNCTION, EXAMPLES)
    return {r.check: r for r in results}


def ref(load, assignment, function):
    return load(assignment).reference.functions[function]


# -- correct implementations pass everything -------------------------------------------------------

@pytest.mark.parametrize("assignment, function", [
    ("trask", "sigmoid_output_to_derivative"), ("trask", "layer_2_delta"), ("trask", "layer_1_delta"),
    ("britz", "delta_o"), ("britz", "delta_t"), ("britz", "delta_t_prev"), ("britz", "bptt"),
])
def test_reference_passes_every_check(load, assignment, function):
    results = run(load, assignment, function, ref(load, assignment, function))
    assert set(results) == {"derivative", "reference", "contract"}
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}


def test_an_independent_correct_implementation_passes(load):
    def delta_t_prev(W, delta_t, s_prev):  # written differently: einsum, math on lists
        return np.einsum("ij,i->j", W, delta_t) * (1.0 - np.square(s_prev))

    assert all(r.passed for r in run(load, "britz", "delta_t_prev", delta_t_prev).values())


# -- the derivative and reference checks catch wrong values ---------------------------------------

def test_wrong_formula_fails_derivative_and_reference(load):
    results = run(load, "britz", "delta_t", lambda V, d, s: V.T @ d)  # (1 - s**2) missing
    assert not results["derivative"].passed and not results["reference"].passed
    # wrong on most instances: its form earns nothing either (grader.credit)
    assert not results["contract"].passed and "earns no points for its form" in results["contract"].message
    assert "differs from the derivative of the forward pass" in results["derivative"].message


def test_derivative_check_needs_no_solutions(load):
    results = run(load, "britz", "delta_t", lambda V, d, s: V.T @ d, with_solutions=False)
    assert set(results) == {"derivative", "contract"}
    assert not results["derivative"].passed


def test_small_relative_error_is_caught(load):
    good = ref(load, "britz", "delta_t")
    results = run(load, "britz", "delta_t", lambda V, d, s: good(V, d, s) * (1 + 1e-4))
    assert not results["derivative"].passed


def test_a_bug_that_shows_only_at_T_above_5_is_caught(load):
    good = ref(load, "britz", "bptt")

    def bptt(x, y, U, V, W, bptt_truncate=4):
        dU, dV, dW = good(x, y, U, V, W, bptt_truncate)
        return dU, dV, (dW * 1.5 if len(x) > 5 else dW)

    results = run(load, "britz", "bptt", bptt)
    assert not results["derivative"].passed
    assert results["derivative"].instance.sizes["T"] > 5


def test_a_bug_that_shows_only_with_list_labels_is_caught(load):
    good = ref(load, "britz", "delta_o")
    results = run(load, "britz", "delta_o", lambda o, y: good(o, y) if not isinstance(y, list) else o.copy())
    assert not results["derivative"].passed
    assert isinstance(results["derivative"].instance.args[1], list)


def test_a_bug_that_shows_only_at_H_1_is_caught(load):
    good = ref(load, "britz", "delta_t_prev")
    results = run(load, "britz", "delta_t_prev", lambda W, d, s: good(W, d, s) * (2 if len(d) == 1 else 1))
    assert not results["derivative"].passed and results["derivative"].instance.sizes["H"] == 1


def test_truncation_is_checked_against_the_surrogate_loss(load):
    good = ref(load, "britz", "bptt")
    # ignores bptt_truncate: the exact gradient, wrong whenever truncation bites
    results = run(load, "britz", "bptt", lambda x, y, U, V, W, bptt_truncate=4: good(x, y, U, V, W, 10**6))
    assert not results["derivative"].passed
    inst = results["derivative"].instance
    assert inst.sizes["bptt_truncate"] < inst.sizes["T"] - 1


def test_the_default_truncation_must_be_4(load):
    good = ref(load, "britz", "bptt")
    results = run(load, "britz", "bptt", lambda x, y, U, V, W, bptt_truncate=1: good(x, y, U, V, W, bptt_truncate))
    assert not results["derivative"].passed
    assert len(results["derivative"].instance.args) == 5  # the failing call relied on the default


def test_an_exception_is_reported_with_its_traceback(load):
    def delta_t(V, delta_o_t, s_t):
        raise ValueError("not yet")

    results = run(load, "britz", "delta_t", delta_t)
    assert not any(r.passed for r in results.values())
    assert "ValueError: not yet" in results["derivative"].message


# -- the contract check ---------------------------------------------------------------------------

def test_modifying_an_argument_fails_the_contract(load):
    def delta_o(o, y):
        o[np.arange(len(y)), y] -= 1.0
        return o.copy()

    results = run(load, "britz", "delta_o", delta_o)
    assert results["derivative"].passed and not results["contract"].passed
    assert "modified its argument o" in results["contract"].message


def test_returning_an_argument_itself_fails_the_contract(load):
    results = run(load, "britz", "delta_o", lambda o, y: o)  # no copy, no subtraction: wrong and aliased
    assert not results["contract"].passed and "shares memory" in results["contract"].message


@pytest.mark.parametrize("wrong, complaint", [
    (lambda V, d, s: (V.T @ d * (1 - s**2)).astype(np.float32), "dtype float64"),
    (lambda V, d, s: (V.T @ d * (1 - s**2)).view(Tagged), "subclass"),
    (lambda V, d, s: (V.T @ d * (1 - s**2))[:, None], "shape"),
    (lambda V, d, s: list(V.T @ d * (1 - s**2)), "array"),
    (lambda V, d, s: np.where(s > 0.99, np.nan, V.T @ d * (1 - s**2)), "NaN"),
])
def test_wrong_types_fail_the_contract(load, wrong, complaint):
    results = run(load, "britz", "delta_t", wrong)
    assert not results["contract"].passed
    assert complaint in results["contract"].message


def test_a_list_where_a_tuple_is_named_passes_every_check(load):
    # the contract accepts a list of the same items in the same order (Britz's own bptt returns one)
    good = ref(load, "britz", "bptt")
    results = run(load, "britz", "bptt", lambda *a: list(good(*a)))
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}
    assert not any(r.misconception for r in results.values())


def test_a_set_where_a_tuple_is_named_still_fails(load):
    good = ref(load, "britz", "bptt")
    results = run(load, "britz", "bptt", lambda *a: {0: good(*a)[0]})
    assert not results["contract"].passed


def test_hidden_state_between_calls_fails_the_contract(load):
    good = ref(load, "britz", "delta_t_prev")
    calls = []

    def delta_t_prev(W, delta_t, s_prev):
        calls.append(1)
        return good(W, delta_t, s_prev) * (1 + (len(calls) % 2))  # every other call is wrong

    results = run(load, "britz", "delta_t_prev", delta_t_prev)
    assert not results["contract"].passed
    assert "keeps state between calls" in results["contract"].message or "differs" in results["contract"].message


def test_rows_that_leak_into_each_other_fail_the_contract(load):
    good = ref(load, "trask", "layer_2_delta")
    # right for a single row; with more rows each row is shifted by how it differs from the batch mean
    results = run(load, "trask", "layer_2_delta", lambda y, l2: good(y, l2) + (l2.mean(axis=0) - l2[0]))
    assert not results["contract"].passed
    assert "rows" in results["contract"].message


def test_summed_rows_must_add_up(load):
    good = ref(load, "trask", "bptt_updates")

    def bptt_updates(X, Y, s0, s1, sh):  # averages over the batch instead of summing
        return tuple(u / X.shape[1] for u in good(X, Y, s0, s1, sh))

    results = run(load, "trask", "bptt_updates", bptt_updates)
    assert not results["derivative"].passed and not results["contract"].passed


# -- the end-to-end behaviour --------------------------------------------------------------------------

def test_trask_network_learns_with_the_reference_and_not_with_flipped_signs(load):
    from grader.assignments.trask import learns_binary_addition

    good = ref(load, "trask", "bptt_updates")
    ok, why = learns_binary_addition(LocalTarget({"bptt_updates": good}))
    assert ok, why
    ok, why = learns_binary_addition(LocalTarget({"bptt_updates": lambda *a: tuple(-u for u in good(*a))}))
    assert not ok and "unseen" in why


# -- the step/cache style: a backward runs on its own forward's cache -------------------------------------

class _CountingTarget(LocalTarget):
    """A LocalTarget that counts the calls of each function."""

    def __init__(self, functions):
        super().__init__(functions)
        self.count: dict[str, int] = {}

    def call(self, name, args, kwargs=None, keep=()):
        self.count[name] = self.count.get(name, 0) + 1
        return super().call(name, args, kwargs, keep)


def test_a_backward_that_changes_its_cache_fails_when_the_cache_is_used_again(load):
    good = ref(load, "cache", "rnn_step_backward")

    def rnn_step_backward(dnext_h, cache):
        out = good(dnext_h, cache)
        cache[4][...] = 0.0  # next_h zeroed in place: right the first time, wrong on the same cache again
        return out

    results = run(load, "cache", "rnn_step_backward", rnn_step_backward)
    assert not results["derivative"].passed
    assert "using the same cache a second time gave a different result" in results["derivative"].message


def test_a_backward_with_state_between_calls_fails(load):
    good = ref(load, "cache", "rnn_step_backward")
    calls = []

    def rnn_step_backward(dnext_h, cache):  # drifts by 1e-6 per call: every answer differs from the last
        calls.append(1)
        return tuple(g * (1 + 1e-6 * len(calls)) for g in good(dnext_h, cache))

    results = run(load, "cache", "rnn_step_backward", rnn_step_backward)
    assert not results["contract"].passed
    assert "a second time" in results["contract"].message


def test_the_contract_runs_a_backward_once_per_further_call_and_twice_on_the_first(load, monkeypatch):
    """The cache's reuse is checked on the first call; the contract's repeat and batch-row calls run the
    forward and the backward once each."""
    from grader.answers import Answers

    further = []
    again = Answers.further
    monkeypatch.setattr(Answers, "further", lambda self, inst, args: further.append(1) or again(self, inst, args))
    sol = load("cache")
    question = get("cache").question("rnn_step_backward")
    target = _CountingTarget(dict(sol.reference.functions))
    results = {r.check: r for r in grade_question(question, target, sol, FUNCTION, EXAMPLES)}
    assert all(r.passed for r in results.values())
    assert len(further) >= EXAMPLES  # a repeat per instance at least, and batch-row calls
    # first calls: one per instance, and the own-forward behaviour's one (a first call too)
    assert target.count["rnn_step_backward"] == 2 * (EXAMPLES + 1) + len(further)
    assert len(question.calls([None] * 6)) == 3 and len(question.calls([None] * 6, further=True)) == 2
