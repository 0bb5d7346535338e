"""Section 6: how often the feedback names the mistake, on the repository's realistic buggy submissions.

``tests/bugs/`` holds whole submissions with one or two realistic mistakes each, and a manifest of what
names each one (a catalogued misconception, or a finding of the feedback: a variant, a relation, a
condition, state kept between calls). Each is graded in this process as ``bptt-grader grade`` does
(with the reference and the catalogue) and as a student's ``check`` does (without them); a failing
buggy function counts as named when its checks carry one of the ids that name its mistake.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import Any

from common import ROOT

MODES = ("grade", "check")


def _measure_module() -> Any:
    path = ROOT / "tests" / "bugs" / "measure.py"
    spec = importlib.util.spec_from_file_location("bugs_measure", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(log: Any) -> dict[str, Any]:
    measure = _measure_module()
    out: dict[str, Any] = {"files": len(measure.MANIFEST), "modes": {}}
    for mode in MODES:
        log(f"6. feedback coverage: {mode}")
        start = time.perf_counter()
        tallies = measure.measure(mode)
        out["modes"][mode] = {
            "seconds": time.perf_counter() - start,
            "by_assignment": {name: {"named": t.named, "failing": t.failing, "share": t.share,
                                     "undetected": len(t.undetected), "collateral": len(t.collateral)}
                              for name, t in tallies.items()},
            "missed": list(tallies["all"].missed),
        }
    return out


def render(res: dict[str, Any], goals: dict[str, float]) -> list[str]:
    modes = res["modes"]
    names = sorted({n for m in modes.values() for n in m["by_assignment"]}, key=lambda n: (n == "all", n))
    L = ["## 6. Feedback that names the mistake", "",
         f"{res['files']} realistic buggy submissions (`tests/bugs/`: one or two mistakes each, written as students "
         "write, ten or more per assignment), graded as `bptt-grader grade` does (reference and catalogue) and as "
         "a student's `check` does (the public forward pass and declaration only). *Named*: the failing buggy "
         "functions whose feedback names their mistake (a catalogued misconception or a finding that says what "
         "it is, `docs/feedback.md`); locating it (\"only dLdW is wrong\") does not count. "
         "`python tests/bugs/measure.py` prints the misses.", "",
         "| assignment | " + " | ".join(f"{m}: named" for m in modes) + " |",
         "|---|" + "---|" * len(modes)]
    for n in names:
        cells = []
        for m in modes.values():
            t = m["by_assignment"].get(n)
            cells.append("—" if t is None else f"{t['named']} / {t['failing']} ({100 * t['share']:.0f} %)")
        label = "**all**" if n == "all" else n
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    undetected = {m: v["by_assignment"]["all"]["undetected"] for m, v in modes.items()}
    L += ["", "Buggy functions that kept full marks: " + ", ".join(f"{m} {k}" for m, k in undetected.items())
          + f". Goals: {100 * goals['named_grade']:.0f} % in grade, {100 * goals['named_check']:.0f} % in check.", ""]
    return L
