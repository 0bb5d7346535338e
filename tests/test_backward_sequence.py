"""How a backward checked through its own forward is called and described (grader.authoring.backward_sequence,
own_forward_check), on the bundled cache assignment: messages that read right, and one mistake charged once."""

from __future__ import annotations

from pathlib import Path

from grader.assignments import get
from grader.grading import grade
from grader.target import LocalTarget

ROOT = Path(__file__).resolve().parent.parent
CORRECT = (ROOT / "solutions" / "examples" / "cache" / "correct_script.py").read_text()


def _checks(code: str, function: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<submission>", "exec"), namespace)
    functions = {k: v for k, v in namespace.items() if callable(v) and not k.startswith("_")}
    result = grade(get("cache"), LocalTarget(functions), None, only=[function])
    return {c.check: c for c in result.checks}


def test_a_backward_that_consumes_its_cache_is_told_so_in_words_that_read():
    popped = "    next_h, Wh, Wx, prev_h, x = cache.pop(), cache.pop(), cache.pop(), cache.pop(), cache.pop()\n"
    code = CORRECT.replace("    x, prev_h, Wx, Wh, next_h = cache\n", popped)
    code = code.replace("return next_h, (x, prev_h, Wx, Wh, next_h)", "return next_h, [x, prev_h, Wx, Wh, next_h]")
    contract = _checks(code, "rnn_step_backward")["contract"]
    assert not contract.passed
    assert "using the same cache a second time raised IndexError" in contract.message, contract.message
    assert "raised using the same cache" not in contract.message


def test_a_backward_that_writes_into_its_cache_is_told_which_argument():
    code = CORRECT.replace("return next_h, (x, prev_h, Wx, Wh, next_h)",
                           "return next_h, (x, prev_h, Wx, Wh, next_h, np.zeros_like(next_h))")
    code = code.replace("    x, prev_h, Wx, Wh, next_h = cache\n", "    x, prev_h, Wx, Wh, next_h, scratch = cache\n")
    code = code.replace("    da = dnext_h * (1 - next_h**2)  # gradient w.r.t. the pre-activation\n",
                        "    da = dnext_h * (1 - next_h**2)\n    scratch[...] = da\n")
    contract = _checks(code, "rnn_step_backward")["contract"]
    assert not contract.passed and "cache" in contract.message, contract.message
    assert "cache 1" not in contract.message, contract.message


def test_a_float32_forward_costs_its_contract_not_the_backwards_own_forward_point():
    code = CORRECT.replace("    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)\n",
                           "    next_h = np.tanh(x @ Wx + prev_h @ Wh + b).astype(np.float32)\n")
    own = _checks(code, "rnn_step_backward")["backward matches your own forward"]
    assert own.passed and "not judged" in own.message and "float32" in own.message, own.message
    # the check still fails a backward that is not the derivative of the student's own float64 forward
    wrong = CORRECT.replace("da = dnext_h * (1 - next_h**2)", "da = dnext_h * (1 - next_h)")
    assert not _checks(wrong, "rnn_step_backward")["backward matches your own forward"].passed
