"""The shared vocabulary of wrong programs (grader.terms, through grader.variants): with nothing wrong the edited
forward pass gives the truth itself; each kind names the hand-written program that makes that mistake, and only
that one; the kinds reach every assignment that declares its terms."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import checks, says

from grader import terms
from grader.assignments import NAMES, get
from grader.drawn import passing_draws
from grader.oracles.derivative import COMPLEX_STEP_TOL
from grader.relations import Case, part_arrays, wrong_parts
from grader.variants import declared, variant_findings

HOOKED = [(name, q.function) for name in NAMES for q in get(name).questions
          if any(isinstance(d, dict) and "terms" in d for d in q.variants)]


@pytest.mark.parametrize("assignment, function", HOOKED)
def test_with_nothing_wrong_the_edited_forward_pass_gives_the_truth(assignment, function):
    q = get(assignment).question(function)
    for inst in passing_draws(q)[:12]:
        e, x = part_arrays(q.truth(inst), q.parts), part_arrays(terms.truth_with(q.truth, inst, terms.EXACT), q.parts)
        assert all(np.allclose(e[k], x[k], rtol=1e-10, atol=1e-13) for k in e), inst.sizes


# -- goodfellow's bptt, written by hand, with each mistake of the vocabulary as a switch --------------------------

def _softmax_rows(o):
    e = np.exp(o - o.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _bptt(derivative="exact", recurrence="exact", state="exact", only=None, loss_only=None, first="own"):
    """Goodfellow's BPTT (a plain loop, as students write it), wrong in the ways the arguments say."""
    def bptt(x, y, h0, b, c, U, V, W):
        T, H = len(x), len(h0)
        h, prev = np.zeros((T, H)), h0
        for t in range(T):
            prev = np.tanh(b + W @ prev + U @ x[t])
            h[t] = prev
        go = _softmax_rows(h @ V.T + c)
        go[np.arange(T), y] -= 1
        step = {"first": 0, "last": T - 1}
        d = 1 - h**2
        g = {k: np.zeros_like(v, dtype=float) for k, v in {"b": b, "c": c, "U": U, "V": V, "W": W}.items()}
        back = np.zeros(H)  # what step t + 1 sends back to h[t]
        for t in reversed(range(T)):
            out = go[t] if loss_only is None or t == step[loss_only] else np.zeros_like(go[t])
            dh = V.T @ out + back
            da = dh * _factor(derivative, d, h0, t, first)
            if derivative == "stepping-back":  # the error from step t + 1 skips this step's derivative
                da = (V.T @ out) * d[t] + back
            if derivative == "stepping-back-later":  # ... and takes the derivative of step t + 1 instead
                da = (V.T @ out) * d[t] + back * (d[t + 1] if t + 1 < T else 0)
            da_w = dh if derivative == "weights" else da
            if only is None or t == step[only]:
                g["b"] += da_w
                g["U"] += np.outer(da_w, x[t])
                g["W"] += np.outer(da_w, _paired(state, h, h0, t, first))
                g["c"] += out
                g["V"] += np.outer(out, h[t])
            Wb = W if recurrence == "untransposed" else W.T
            back = np.zeros(H) if recurrence == "dropped" else Wb @ (dh if derivative == "states" else da)
        return g

    return bptt


def _factor(derivative, d, h0, t, first):
    T = len(d)
    if derivative == "none":
        return 1.0
    if derivative == "previous":
        return d[t - 1] if t > 0 else (1 - h0**2 if first == "initial" else d[t])
    if derivative == "next":
        return d[t + 1] if t < T - 1 else d[t]
    if derivative == "twice":
        return d[t] ** 2
    return d[t]


def _paired(state, h, h0, t, first):
    """The state W's term of step t pairs the error with."""
    T = len(h)
    if state == "current":
        return h0 if t == 0 and first == "initial" else h[t]
    if state == "last":
        return h[T - 1]
    if state == "initial-zero" and t == 0:
        return np.zeros_like(h0)
    if state == "wrapped" and t == 0:
        return h[T - 1]
    return h0 if t == 0 else h[t - 1]


KNOBS = {
    "no-derivative": [{"derivative": "none"}],
    "no-derivative-in-weights": [{"derivative": "weights"}],
    "no-derivative-in-state-gradients": [{"derivative": "states"}],
    "no-derivative-stepping-back": [{"derivative": "stepping-back"}],
    "derivative-of-later-step-stepping-back": [{"derivative": "stepping-back-later"}],
    "derivative-of-previous-step": [{"derivative": "previous"}, {"derivative": "previous", "first": "initial"}],
    "derivative-of-next-step": [{"derivative": "next"}],
    "derivative-twice": [{"derivative": "twice"}],
    "recurrent-untransposed": [{"recurrence": "untransposed"}],
    "no-recurrence": [{"recurrence": "dropped"}],
    "state-current": [{"state": "current"}, {"state": "current", "first": "initial"}],
    "state-overwritten": [{"state": "last"}],
    "initial-ignored-in-weights": [{"state": "initial-zero"}],
    "initial-wrapped": [{"state": "wrapped"}],
    "first-step-only": [{"only": "first"}],
    "last-step-only": [{"only": "last"}],
    "loss-first-step-only": [{"loss_only": "first"}],
    "loss-last-step-only": [{"loss_only": "last"}],
}


def test_every_kind_has_a_program():
    assert set(KNOBS) == {k.id for k in terms.KINDS}


def _cases(q, impl):
    cases = []
    for inst in passing_draws(q):
        c = Case(inst, q.truth(inst), impl(*inst.args))
        if wrong_parts(c, q.parts, q.tolerance):
            cases.append(c)
    return cases


def test_the_hand_written_program_is_right_with_nothing_wrong():
    q = get("goodfellow").question("bptt")
    assert not _cases(q, _bptt())


@pytest.mark.parametrize("kind, knobs", [(k, v) for k, vs in KNOBS.items() for v in vs],
                         ids=[f"{k}-{i}" for k, vs in KNOBS.items() for i in range(len(vs))])
def test_each_kind_names_its_program_and_no_other(kind, knobs):
    q = get("goodfellow").question("bptt")
    cases = _cases(q, _bptt(**knobs))
    assert cases
    found, _ = variant_findings(q, cases, COMPLEX_STEP_TOL, q.truth_name)
    named = {f.id.split(":")[1] for f in found}
    assert named == {kind}, [f.sentence for f in found]


def test_a_mistake_outside_the_vocabulary_is_named_by_none_of_it():
    """Gradients clipped to [-0.05, 0.05]: wrong, and none of the wrong programs."""
    q = get("goodfellow").question("bptt")
    right = _bptt()

    def clipped(*args):
        return {k: np.clip(v, -0.05, 0.05) for k, v in right(*args).items()}

    cases = _cases(q, clipped)
    assert cases and variant_findings(q, cases, COMPLEX_STEP_TOL, q.truth_name)[0] == []


def test_a_mistake_in_how_the_error_flows_is_not_named_of_one_part_when_the_others_are_right():
    """dh0 returned as zeros (the rest right) is not 'the path through later steps left out': that would make
    every gradient wrong."""
    q = get("cache").question("rnn_backward")
    cases = []
    for inst in passing_draws(q):
        e = q.truth(inst)
        answer = (e[0], np.zeros_like(e[1]), *e[2:])
        c = Case(inst, e, answer)
        if wrong_parts(c, q.parts, q.tolerance):
            cases.append(c)
    found, _ = variant_findings(q, cases, COMPLEX_STEP_TOL, q.truth_name)
    assert not any("no-recurrence" in f.id for f in found)


def test_the_sentence_is_the_assignments_own(load):
    r = checks(load, "goodfellow", "bptt", _bptt(state="current"))["derivative"]
    assert says(set(r.findings), "variant:state-current")
    assert "with h[t] where h[t-1] belongs in W's term" in r.message
    r = checks(load, "martens", "bptt_matrix", _martens_unshifted)["derivative"]
    assert "with H[:, t] where H[:, t-1] belongs in Whh's term" in r.message


def _martens_unshifted(X, H, h0, dY, Whh, Wyh):
    T = H.shape[1]
    dT = np.zeros_like(H)
    for i in range(T - 1, -1, -1):
        dT[:, i] = (Wyh.T @ dY[:, i] + (Whh.T @ dT[:, i + 1] if i + 1 < T else 0)) * (1 - H[:, i] ** 2)
    return {"Whx": dT @ X.T, "Whh": dT @ H.T, "Wyh": dY @ H.T, "bh": dT.sum(axis=1), "by": dY.sum(axis=1)}


def test_a_correct_program_is_never_named(load):
    for name, function in HOOKED:
        results = checks(load, name, function, load(name).reference.functions[function])
        assert all(r.passed and not r.findings for r in results.values()), (name, function)


# -- two mistakes at once ------------------------------------------------------------------------------------------

def test_two_mistakes_at_once_are_named_together(load):
    """britz's walk back one step short and without the tanh derivative stepping back (tests/bugs/britz/b14)."""
    def bptt(x, y, U, V, W, bptt_truncate=4):
        T, H = len(x), W.shape[0]
        s = np.zeros((T + 1, H))
        o = np.zeros((T, V.shape[0]))
        for t in range(T):
            s[t] = np.tanh(U[:, x[t]] + W @ s[t - 1])
            o[t] = _softmax_rows((V @ s[t])[None])[0]
        d_o = o.copy()
        d_o[np.arange(T), y] -= 1
        dU, dV, dW = np.zeros(U.shape), np.zeros(V.shape), np.zeros(W.shape)
        for t in range(T)[::-1]:
            dV += np.outer(d_o[t], s[t])
            d = V.T @ d_o[t] * (1 - s[t] ** 2)
            for k in range(max(0, t - bptt_truncate + 1), t + 1)[::-1]:
                dW += np.outer(d, s[k - 1])
                dU[:, x[k]] += d
                d = W.T @ d
        return dU, dV, dW

    r = checks(load, "britz", "bptt", bptt)["derivative"]
    assert says(set(r.findings), "variant:britz-truncation-short+no-derivative-stepping-back"), r.findings
    assert "; and, a second mistake, with the tanh derivative left out stepping back" in r.message


def test_the_vocabulary_reaches_every_assignment_with_a_recurrence():
    ids = {v.id for name in NAMES for q in get(name).questions for v in declared(q)}
    assert {k.id for k in terms.KINDS} <= ids
    assert {name for name, _ in HOOKED} == {"britz", "cache", "goodfellow", "martens", "trask"}
