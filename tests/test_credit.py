"""Credit follows correctness (grader.credit, grader.stand_ins, grader.diagnose.match).

Each test grades a known-wrong (or known-right) implementation and checks the rule that must decide
its points; each fails if its rule is removed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.assignments import britz, get
from grader.credit import ValueProfile, relative_error
from grader.grading import grade, grade_question
from grader.results import Grade
from grader.target import FUNCTION, LocalTarget, Outcome

EXAMPLES = 25


def checks(load, assignment, function, impl, **options):
    sol = load(assignment)
    functions = {**sol.reference.functions, function: impl}
    results = grade_question(get(assignment).question(function), LocalTarget(functions), sol, FUNCTION,
                             EXAMPLES, **options)
    return {r.check: r for r in results}


def ref(load, assignment, function):
    return load(assignment).reference.functions[function]


# -- form earns nothing without values ----------------------------------------------------------

STUBS = {
    "zeros": lambda V, d, s: np.zeros_like(s),
    "a copy of an argument": lambda V, d, s: np.array(s, copy=True),
    "random numbers": lambda V, d, s: np.random.default_rng(len(s)).normal(size=s.shape),
}


@pytest.mark.parametrize("stub", list(STUBS), ids=list(STUBS))
def test_a_stub_of_the_right_shape_earns_nothing(load, stub):
    results = checks(load, "britz", "delta_t", STUBS[stub])
    assert not any(r.passed for r in results.values())
    assert "earns no points for its form" in results["contract"].message


def test_a_stub_earns_nothing_in_the_students_check_either(load):
    results = grade_question(get("britz").question("delta_t"), LocalTarget({"delta_t": STUBS["zeros"]}), None,
                             FUNCTION, EXAMPLES)
    assert not any(r.passed for r in results)


def test_a_function_wrong_only_on_an_edge_case_keeps_its_contract_points(load):
    good = ref(load, "britz", "delta_t")

    def wrong_when_one_unit(V, d, s):
        out = good(V, d, s)
        return out + 1.0 if len(s) == 1 else out

    results = checks(load, "britz", "delta_t", wrong_when_one_unit)
    assert not results["derivative"].passed
    assert results["contract"].passed


def test_the_majority_rule():
    assert ValueProfile(judged=40, right=20).mostly_right
    assert not ValueProfile(judged=40, right=19).mostly_right
    assert not ValueProfile().mostly_right


def test_a_stub_behaviour_earns_nothing(load):
    """cache's 'backward matches your own forward' would pass a zero backward of a zero forward."""
    def fwd(x, prev_h, Wx, Wh, b):
        return np.zeros((x.shape[0], Wh.shape[0])), None

    def back(dnext_h, c):
        return tuple(np.zeros(s) for s in [(2, 3), (2, 4), (3, 4), (4, 4), (4,)])

    behaviour = get("cache").question("rnn_step_backward").behaviours[0]
    passed, message = behaviour.run(LocalTarget({"rnn_step_forward": fwd, "rnn_step_backward": back}))
    assert not passed and "zero" in message


# -- numbers are not derivations -----------------------------------------------------------------

def numerical_bptt(x, y, h0, b, c, U, V, W, step=1e-6):
    """goodfellow's bptt by central differences of the notebook's forward pass: no chain rule at all."""
    params = {"b": b, "c": c, "U": U, "V": V, "W": W}

    def loss(p):
        h, total = h0, 0.0
        for t in range(len(y)):
            h = np.tanh(p["b"] + p["W"] @ h + p["U"] @ x[t])
            o = p["c"] + p["V"] @ h
            total -= o[y[t]] - np.log(np.exp(o - o.max()).sum()) - o.max()
        return total

    grads = {}
    for name, value in params.items():
        g = np.zeros_like(value, dtype=float)
        for idx in np.ndindex(value.shape):
            up = {k: np.array(v, dtype=float) for k, v in params.items()}
            down = {k: np.array(v, dtype=float) for k, v in params.items()}
            up[name][idx] += step
            down[name][idx] -= step
            g[idx] = (loss(up) - loss(down)) / (2 * step)
        grads[name] = g
    return grads


def test_finite_differences_earn_no_derivative_or_reference_points(load):
    results = checks(load, "goodfellow", "bptt", numerical_bptt)
    assert not results["derivative"].passed and not results["reference"].passed
    assert results["derivative"].misconception.id == "numerical-approximation"
    assert results["reference"].misconception.id == "numerical-approximation"


def near_truth(load, assignment, function, relative=1e-9):
    """The reference's answer off by ``relative`` in each entry: the error of a good numerical approximation."""
    good = ref(load, assignment, function)

    def approximate(*args):
        out = good(*args)
        return {k: v * (1 + relative * np.cos(np.arange(v.size)).reshape(v.shape)) for k, v in out.items()}

    return approximate


def test_an_answer_with_the_error_of_differences_is_flagged(load):
    results = checks(load, "goodfellow", "bptt", near_truth(load, "goodfellow", "bptt"))
    assert not results["derivative"].passed and "numerical approximation" in results["derivative"].message
    assert results["contract"].passed


def test_an_instructor_may_allow_finite_differences(load):
    results = checks(load, "goodfellow", "bptt", near_truth(load, "goodfellow", "bptt"), allow_numerical=True)
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}
    assert results["derivative"].misconception.id == "numerical-approximation"  # flagged all the same


def test_a_sloppy_but_derived_answer_is_not_flagged(load):
    def sloppy(V, delta_o_t, s_t):  # another order of operations, a sech**2 for 1 - tanh**2
        z = np.arctanh(s_t)
        return np.einsum("ki,k->i", V, delta_o_t) / np.cosh(z) ** 2

    results = checks(load, "britz", "delta_t", sloppy)
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}


def test_a_float32_answer_is_not_taken_for_finite_differences(load):
    """float32 rounding (about 6e-8) looks like the error of differences, but says nothing about the method:
    the answer is judged on its values, and the contract check alone names the dtype."""
    good = ref(load, "britz", "delta_t")
    results = checks(load, "britz", "delta_t", lambda V, d, s: good(V, d, s).astype(np.float32))
    assert all(r.misconception is None for r in results.values()), {k: r.misconception for k, r in results.items()}
    assert not results["contract"].passed and "float32" in results["contract"].message
    assert "numerical approximation" not in results["derivative"].message


def test_relative_error_is_normwise_over_parts():
    e = {"a": np.array([1.0, 2.0]), "b": np.array([4.0])}
    assert relative_error(e, {"b": np.array([4.0]), "a": np.array([1.0, 2.0 + 4e-9])}, ()) == pytest.approx(1e-9)
    assert relative_error(np.zeros(3), np.zeros(3), ()) is None


# -- no false diagnosis ----------------------------------------------------------------------------

def test_britzs_list_return_is_correct_and_named_nothing(load):
    good = ref(load, "britz", "bptt")
    results = checks(load, "britz", "bptt", lambda *a: list(good(*a)))
    assert all(r.passed for r in results.values())
    assert not any(r.misconception for r in results.values())


def test_a_mistake_that_coincides_with_the_truth_is_not_named(load):
    """A mistake is named only where it differs from the truth: not on instances where both agree."""
    from grader.diagnose import match

    q = get("britz").question("delta_t")
    sol = load("britz")
    truth = lambda inst: q.truth(inst)  # noqa: E731
    wrong = [m for m in sol.mistakes if m.id == "britz-missing-tanh-derivative"]
    V, d = np.eye(2), np.array([0.5, -0.25])
    inst = britz._from_state(2)((V, d, np.zeros(2)))  # s_t = 0: the missing factor (1 - s**2) is 1
    student = lambda i: Outcome(value=V.T @ d)  # noqa: E731 - the truth itself
    assert match(wrong, q, [inst], student, sol.reference.functions) is not None  # the old rule named it
    assert match(wrong, q, [inst], student, sol.reference.functions, truth) is None


# -- one mistake costs once --------------------------------------------------------------------------

#: A student's notebook: a wrong delta_t_prev (W where W.T belongs), and a bptt that is right but calls it.
HELPER_CALLED = """
import numpy as np

def delta_t_prev(W, delta_t, s_prev):
    return W @ delta_t * (1 - s_prev ** 2)

def bptt(x, y, U, V, W, bptt_truncate=4):
    x, y = np.asarray(x, dtype=int), np.asarray(y, dtype=int)
    T, H = len(y), W.shape[0]
    s = np.zeros((T + 1, H))
    o = np.zeros((T, V.shape[0]))
    for t in range(T):
        s[t] = np.tanh(U[:, x[t]] + W @ s[t - 1])
        z = V @ s[t]
        o[t] = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    dLdU, dLdV, dLdW = np.zeros(U.shape), np.zeros(V.shape), np.zeros(W.shape)
    d_o = o.copy()
    d_o[np.arange(T), y] -= 1
    for t in reversed(range(T)):
        dLdV += np.outer(d_o[t], s[t])
        d = (V.T @ d_o[t]) * (1 - s[t] ** 2)
        for k in range(t, max(0, t - bptt_truncate) - 1, -1):
            dLdW += np.outer(d, s[k - 1])
            dLdU[:, x[k]] += d
            d = delta_t_prev(W, d, s[k - 1])
    return [dLdU, dLdV, dLdW]
"""


def _helper_called(load):
    namespace: dict = {}
    exec(HELPER_CALLED, namespace)
    sol = load("britz")
    functions = {**sol.reference.functions, "delta_t_prev": namespace["delta_t_prev"], "bptt": namespace["bptt"]}
    return grade(get("britz"), LocalTarget(functions), sol, examples=EXAMPLES, only=["delta_t_prev", "bptt"])


def test_a_caller_is_right_once_its_helper_is_fixed(load):
    result = _helper_called(load)
    per = _per_function(result)
    assert per["delta_t_prev"] == 0
    assert per["bptt"] == 4, [c.message for c in result.checks if c.function == "bptt"]
    assert "right once delta_t_prev is fixed" in next(c.message for c in result.checks if c.function == "bptt")


def test_without_the_stand_in_the_caller_pays_twice(load, monkeypatch):
    """Stand-ins switched off, the same notebook loses bptt's points too: what the test above relies on."""
    from grader import stand_ins

    monkeypatch.setattr(stand_ins, "stand_in", lambda q: None)
    result = _helper_called(load)
    assert _per_function(result)["bptt"] < 4
    assert "calls your delta_t_prev" in next(c.message for c in result.checks if c.function == "bptt" and not c.passed)


def test_the_stand_in_is_the_truth_of_the_forward_pass(load):
    from grader.stand_ins import stand_in

    q = get("britz").question("delta_t_prev")
    true = stand_in(q)
    rng = np.random.default_rng(0)
    W, d, s_prev = rng.normal(size=(3, 3)), rng.normal(size=3), np.tanh(rng.normal(size=3))
    np.testing.assert_allclose(true(W, d, s_prev), ref(load, "britz", "delta_t_prev")(W, d, s_prev), rtol=1e-12)


def _per_function(result: Grade) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in result.checks:
        out[c.function] = out.get(c.function, 0.0) + c.score
    return out


# -- the grader's own failures ------------------------------------------------------------------------

class _InternalTarget(LocalTarget):
    def call(self, name, args, kwargs=None, keep=()):
        if name == "delta_t":
            return Outcome(error="internal error in the grader's worker (watching the arguments): boom",
                           internal=True)
        return super().call(name, args, kwargs, keep)


def test_an_internal_error_is_not_graded_and_never_scored_as_the_students(load):
    sol = load("britz")
    result = grade(get("britz"), _InternalTarget(dict(sol.reference.functions)), sol, examples=EXAMPLES,
                   only=["delta_t", "delta_t_prev"])
    delta_t = [c for c in result.checks if c.function == "delta_t"]
    assert all(c.message.startswith("not graded: internal error") for c in delta_t)
    assert all(c.misconception is None for c in delta_t)
    assert result.internal_errors and "delta_t" in result.internal_errors[0]
    assert all(c.passed for c in result.checks if c.function == "delta_t_prev")


TRASK = (Path(__file__).resolve().parent.parent / "solutions" / "examples" / "trask" / "correct_script.py").read_text()
NO_FUTURE = TRASK.replace("back = np.dot(future_layer_1_delta, synapse_h.T) + np.dot(layer_2_delta, synapse_1.T)",
                          "back = np.dot(layer_2_delta, synapse_1.T)")  # the recurrent path dropped


def _trask(code: str, load):
    namespace: dict = {}
    exec(compile(code, "<submission>", "exec"), namespace)
    functions = {k: v for k, v in namespace.items() if callable(v) and not k.startswith("_")}
    result = grade(get("trask"), LocalTarget(functions), load("trask"), examples=EXAMPLES)
    return {c.check: c for c in result.checks if c.function == "bptt_updates"}


def test_trasks_training_does_not_charge_a_helpers_mistake_to_the_caller(load):
    """bptt_updates is right; only layer_1_delta is wrong. Its network does not learn with the wrong helper,
    but with the true one every check passes: the learning test's points are not lost a second time."""
    checks = _trask(NO_FUTURE, load)
    learns = checks["learns 8-bit binary addition"]
    assert all(c.passed for c in checks.values()), {k: c.message for k, c in checks.items()}
    assert "not run again with the true layer_1_delta" in learns.message


def test_a_caller_with_a_mistake_of_its_own_still_loses_the_training_points(load):
    own_too = NO_FUTURE.replace("np.einsum(\"tbi,tbj->ij\", X, d1),", "-np.einsum(\"tbi,tbj->ij\", X, d1),")
    assert own_too != NO_FUTURE
    checks = _trask(own_too, load)
    assert not checks["derivative"].passed and not checks["learns 8-bit binary addition"].passed


def test_a_caller_wrong_on_its_own_too_is_told_its_own_mistake_as_well_as_the_helpers(load):
    """britz b12: delta_t lacks the tanh derivative, and bptt transposes dLdW as well. Graded again with
    the true delta_t, bptt still fails, and that regrade says what is bptt's own: the transposed dLdW."""
    import runpy

    path = Path(__file__).resolve().parent / "bugs" / "britz" / "b12_outer_reversed.py"
    namespace = runpy.run_path(str(path))
    functions = {k: v for k, v in namespace.items() if callable(v) and not k.startswith("_")}
    result = grade(get("britz"), LocalTarget(functions), load("britz"), examples=EXAMPLES, only=["delta_t", "bptt"])
    bptt = next(c for c in result.checks if c.function == "bptt" and c.check == "derivative")
    assert not bptt.passed and "With the true delta_t, bptt still fails" in bptt.message, bptt.message
    assert any(f.startswith("transposed:dLdW") for f in bptt.findings), bptt.findings
