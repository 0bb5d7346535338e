"""A .py submission that is not Python 3 as a whole is read as a notebook's cells would be (grader.notebook).

Course starter code of 2016 wraps the student's functions in Python 2 (``print 'dx_flat: ', ...`` in
``temporal_softmax_loss``): the top-level statement that does not parse is left out and reported, and the rest
runs, with the line numbers of the file. (tests/corpus/lstm/l17_py2_starter_print.py is such a file, graded
in full by tests/test_corpus.py.)
"""

from __future__ import annotations

import pytest

from grader.notebook import SubmissionError, read_submission

GOOD = "import numpy as np\n\n\ndef f(x):\n    return np.tanh(x)\n"
PY2 = "\n\ndef loss(x, verbose=False):\n    if verbose: print 'x: ', x.shape\n    return x\n"


def test_a_file_that_parses_is_one_cell(tmp_path):
    (tmp_path / "a.py").write_text(GOOD)
    sub = read_submission(tmp_path / "a.py")
    assert [(c.label, c.source.strip()) for c in sub.cells] == [("a.py", GOOD.strip())] and not sub.problems


def test_a_python_2_statement_costs_only_its_own_definition(tmp_path):
    text = GOOD + PY2 + "\n\n@staticmethod\ndef g(x):\n    return x\n\n\nif True:\n    h = 1\nelse:\n    h = 2\n"
    (tmp_path / "layers.py").write_text(text)
    sub = read_submission(tmp_path / "layers.py")
    (problem,) = sub.problems
    assert problem.startswith("syntax error in layers.py, line 9: Missing parentheses in call to 'print'")
    assert "(lines 8-12 were skipped; the rest of the file was run)" in problem
    assert [c.label for c in sub.cells] == ["layers.py, lines 1-7", "layers.py, lines 13-21"]
    namespace: dict = {}
    for cell in sub.cells:
        exec(compile(cell.source, cell.label, "exec"), namespace)
    assert "loss" not in namespace and namespace["h"] == 1 and isinstance(namespace["g"], staticmethod)
    assert namespace["f"].__code__.co_firstlineno == 4  # the file's own line numbers
    decorator = text.splitlines().index("@staticmethod") + 1  # a decorated def starts at its decorator
    assert namespace["g"].__func__.__code__.co_firstlineno == decorator


def test_a_file_with_nothing_that_parses_is_refused(tmp_path):
    (tmp_path / "b.py").write_text("print 'hello'\n")
    with pytest.raises(SubmissionError, match="syntax error in b.py, line 1"):
        read_submission(tmp_path / "b.py")


def test_a_file_with_many_statements_that_do_not_parse_is_refused(tmp_path):
    """Each statement left out costs a parse of the file: past MAX_SKIPPED_STATEMENTS the file is refused."""
    from grader.notebook import MAX_SKIPPED_STATEMENTS

    (tmp_path / "c.py").write_text(GOOD + "print 'x'\n" * (MAX_SKIPPED_STATEMENTS + 1))
    with pytest.raises(SubmissionError, match="syntax error in c.py"):
        read_submission(tmp_path / "c.py")
    (tmp_path / "d.py").write_text(GOOD + "print 'x'\n" * MAX_SKIPPED_STATEMENTS)
    assert len(read_submission(tmp_path / "d.py").problems) == MAX_SKIPPED_STATEMENTS
