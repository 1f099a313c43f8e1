"""Does a case's program compute its task? Proved for all lengths, checked up to a length, or refuted.

`verify compile CASE` prints this beside the Theorem 9 claim, which is about the program only: a Limit
Transformer that computes a wrong program exactly is still wrong for the task.

- checked: the program against the case's reference (verify.checking.check_case), with the report's settings
  (every input up to the length 2^15 inputs allow, then 500 random ones: `verify report`'s scope);
- proved: a Z3 proof for every length against the case's machine-readable spec — run with `prove=True`
  (`verify compile --prove`, the settings of `verify prove`, recorded in the proof cache), otherwise taken from
  the proof cache when `verify prove` or `verify report --prove` left one for this program and spec (keyed by
  their content, so a changed program never reuses a result);
- refuted: a counterexample from either, which replays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

from verify.verdict import HOLDS, REFUTED, Verdict

PROVED, CHECKED, REFUTED_TASK, UNKNOWN_TASK = "proved", "checked", "refuted", "unknown"
CHECK_BUDGET, CHECK_SAMPLES = 1 << 15, 500          # verify.report.ReportSettings' defaults


@dataclass(frozen=True)
class TaskVerdict:
    case: str
    status: str                    # proved / checked / refuted / unknown
    summary: str                   # one line, as `verify compile` prints it
    check: Verdict                 # the bounded check against the reference
    proof: Optional[Dict[str, Any]] = None   # {"cell", "source"}: the Z3 result, when one was run or cached

    def as_dict(self) -> Dict[str, Any]:
        return {"case": self.case, "status": self.status, "summary": self.summary,
                "check": self.check.as_dict(), "proof": self.proof}


def _proof(case, program, prove: bool) -> Optional[Dict[str, Any]]:
    """The Z3 result for the program against the case's spec: run now (`prove`) or from the cache; None
    when neither (or the case has no machine-readable spec)."""
    if case.spec is None:
        return None
    from verify.smt import report_columns as cache
    if prove:
        from verify.smt.cli_support import induction_settings
        from verify.smt.induction import prove as induction
        from verify.smt.miter import Miter
        verdict = induction(Miter(program, case.spec), induction_settings(1.0, timeout_s=60.0))
        cache.remember(cache.fingerprint(program, case.spec), verdict)
        return {"cell": cache.cell(verdict), "source": "Z3 k-induction, run now (the settings of `verify prove`)"}
    hit = cache.cached_proof(program, case.spec)
    return None if hit is None else {"cell": hit["cell"], "source": "the proof cache (`verify prove` or "
                                                                    "`verify report --prove`)"}


def task_verdict(case, program, prove: bool = False, seed: int = 0) -> TaskVerdict:
    """The program against the case's task: the bounded check always, a proof when asked or cached."""
    from verify.checking import check_case
    check = check_case(case, program, budget=CHECK_BUDGET, samples=CHECK_SAMPLES, seed=seed)
    proof = _proof(case, program, prove)
    cell = proof["cell"] if proof else ""
    if check.status == REFUTED:
        ce = check.counterexample
        return TaskVerdict(case.name, REFUTED_TASK, f"refuted: {' '.join(map(str, ce.input))} ({ce.detail})",
                           check, proof)
    if cell.startswith("refuted"):
        return TaskVerdict(case.name, REFUTED_TASK, f"{cell} (Z3, replayed)", check, proof)
    if cell.startswith("proved for all lengths"):
        return TaskVerdict(case.name, PROVED, f"{cell} against the case's spec, from {proof['source']}",
                           check, proof)
    if check.status != HOLDS:
        return TaskVerdict(case.name, UNKNOWN_TASK, f"unknown: {check.reason}", check, proof)
    why = ("the case has no machine-readable spec" if case.spec is None else
           f"the proof did not close ({cell})" if cell else
           "no proof run or cached: add --prove, or run `verify prove " + case.name + "`")
    return TaskVerdict(case.name, CHECKED, f"checked, not proved: {check.scope} ({why})", check, proof)
