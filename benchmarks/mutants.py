"""A class of generated submissions: the reference solution, and copies with one small edit each.

The edits are the slips students make (a sign, a missing factor, a transpose,
an off-by-one in the truncation, an alias); every file also differs by a
header comment, so no two submissions are byte-identical.
"""

from __future__ import annotations

from pathlib import Path

from common import SOLUTIONS

#: name -> (text in the reference, replacement). ``None``: the correct solution.
BRITZ_EDITS: dict[str, tuple[str, str] | None] = {
    "correct": None,
    "delta_o_sign": ("] -= 1.0", "] += 1.0"),
    "delta_o_alias": ("d = np.array(o, dtype=float, copy=True)", "d = o"),
    "delta_t_no_derivative": ("return V.T @ delta_o_t * (1 - s_t**2)", "return V.T @ delta_o_t"),
    "delta_t_prev_untransposed": ("return W.T @ delta_t * (1 - s_prev**2)", "return W @ delta_t * (1 - s_prev**2)"),
    "delta_t_prev_wrong_factor": ("return W.T @ delta_t * (1 - s_prev**2)", "return W.T @ delta_t * (1 - s_prev)"),
    "truncation_off_by_one": ("max(0, t - bptt_truncate)", "max(0, t - bptt_truncate + 1)"),
    "dLdW_wrong_state": ("dLdW += np.outer(d, s[bptt_step - 1])", "dLdW += np.outer(d, s[bptt_step])"),
    "dLdV_wrong_state": ("dLdV += np.outer(d_o[t], s[t])", "dLdV += np.outer(d_o[t], s[t - 1])"),
}

#: Positions, in each run of 5 submissions, of the correct ones (40 %); the others cycle through the edits.
CORRECT_AT = (0, 2)


def kind_of(index: int) -> str:
    """The edit of submission ``index`` (deterministic; any prefix of the class mixes both kinds)."""
    if index % 5 in CORRECT_AT:
        return "correct"
    buggy = [k for k, e in BRITZ_EDITS.items() if e is not None]
    before = index // 5 * (5 - len(CORRECT_AT)) + sum(1 for i in range(index % 5) if i not in CORRECT_AT)
    return buggy[before % len(buggy)]


def write_class(folder: Path, n: int) -> dict[str, str]:
    """``n`` britz submissions as .py files in ``folder``; returns file stem -> kind."""
    reference = (SOLUTIONS / "britz" / "reference.py").read_text()
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for i in range(n):
        kind = kind_of(i)
        text = reference
        edit = BRITZ_EDITS[kind]
        if edit is not None:
            old, new = edit
            if old not in text:
                raise RuntimeError(f"the reference no longer contains {old!r} (edit {kind}): update mutants.py")
            text = text.replace(old, new, 1)
        stem = f"s{i:04d}_{kind}"
        (folder / f"{stem}.py").write_text(f"# generated submission {i} ({kind})\n{text}")
        kinds[stem] = kind
    return kinds
