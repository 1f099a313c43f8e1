"""Limit Transformer columns for `verify report` (fast: well under 1 s per case).

- "LT compiled": yes / no program / the compile error;
- "LT agreed ≤": the longest length up to which the compiled model was checked equal to the
  interpreter on 16 random words of length 64 (every prefix, so every length 1..64 is exercised), with every comparison separated by its margin — or "refuted"/"uncertified";
- "Δ", "τ": period and radius of the compiled model;
- "float64 ≤": the a-priori length up to which float64 separates every comparison.
Theorem 9's own check (theorems/theorem9.py) covers longer inputs.
"""
from __future__ import annotations

from typing import Dict


def columns(case) -> Dict[str, object]:
    from verify.limit.agreement import AgreementScope, check_agreement, float64_limit
    from verify.limit.compiler import compile_program
    from verify.problems import UserError
    try:
        program = case.build_program()
    except Exception as err:  # the catalogue's business: shown, not raised
        return {"LT compiled": f"error: {err}", "LT agreed ≤": None, "Δ": None, "τ": None, "float64 ≤": None}
    if program is None:
        return {"LT compiled": "no program", "LT agreed ≤": None, "Δ": None, "τ": None, "float64 ≤": None}
    try:
        model = compile_program(program)
    except UserError as err:
        return {"LT compiled": f"no: {err.message}", "LT agreed ≤": None, "Δ": None, "τ": None, "float64 ≤": None}
    scope = AgreementScope(exhaustive_up_to=0, long_lengths=(64,), long_samples=16)
    verdict = check_agreement(model, scope, name=case.name)
    agreed = {"holds": 64, "refuted": "refuted", "unknown": "uncertified"}[verdict.status]
    return {"LT compiled": "yes", "LT agreed ≤": agreed, "Δ": model.positions.shape[0], "τ": model.radius,
            "float64 ≤": float64_limit(model)}
