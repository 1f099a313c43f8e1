"""Communication columns for `verify report`: growth class and bits at N = 64 (fast, < 1 s per case).

- a task with a C-RASP program: the exact protocol's message length at N = 64 (from the layout;
  the agreement check itself is Theorem 12's) — logarithmic with unguarded counts, else constant;
- a task with an injectivity certificate: the certified lower bound at N = 64 (Z3, small check);
- a regular language: constant, ⌈log₂ #DFA states⌉ bits (Alice sends her state);
- otherwise: the exact one-way bound at the small N that fit a tiny budget, and its growth class.
"""
from __future__ import annotations

from typing import Dict

N_REPORT = 64
CERTIFIED_LINEAR = "linear (certified lower bound)"  # verify/report.py upgrades a cited ✗ on this
PROGRAM_PROTOCOL = "(program protocol)"  # bits from the task's own program: verify/report.py withdraws them if refuted


def columns(case) -> Dict[str, object]:
    from verify.comm.certificates import certify, model_for
    from verify.comm.growth import classify
    from verify.comm.matrix import one_way_rows
    from verify.comm.protocol import make_protocol
    from verify.comm.reference import from_case
    from verify.crasp.interpreter import straight_line
    from verify.spec import Automaton
    try:
        task = from_case(case)
        if model_for(task) is not None:
            cert = certify(task, N_REPORT, samples=10, small=2)
            if cert.verified:
                return {"comm growth": CERTIFIED_LINEAR, "comm bits@64": cert.bits}
        program = case.build_program()
        if program is not None:
            line = straight_line(program)
            alice = N_REPORT + (1 if case.format == "sequence" else 0)
            kind = "logarithmic" if any(op.kind == "count" for op in line.ops) else "constant"
            return {"comm growth": f"{kind} {PROGRAM_PROTOCOL}", "comm bits@64": make_protocol(line, alice).bits_sent}
        if isinstance(case.spec, Automaton):
            states = len(case.spec.states) + 1
            return {"comm growth": "constant (regular)", "comm bits@64": (states - 1).bit_length()}
        k = len(task.symbols)
        budget = (1 << 14) if task.vectorized else (1 << 10)
        rows = []
        for n in range(1, 9):
            if k ** (2 * n) > budget:
                break
            rows.append(one_way_rows(task, n))
        if len(rows) >= 3:
            g = classify([r.n for r in rows], [r.bits for r in rows])
            return {"comm growth": f"{g.kind} (exact, N ≤ {rows[-1].n})", "comm bits@64": None}
        return {"comm growth": "undetermined", "comm bits@64": None}
    except Exception as err:  # a report column never breaks the report
        return {"comm growth": f"error: {type(err).__name__}", "comm bits@64": None}
