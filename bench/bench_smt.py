"""Speed of the Z3 backend (prints figures; no asserts). Targets from issue 5:

  1. shortest counterexample for a wrong binary-alphabet program: < 1 s when one exists up to length 20
  2. bounded check to length 100 of a ~10-operation program: < 60 s
  3. each unbounded proof for the catalogue's regular and counter languages: < 10 s

Run: .venv/bin/python bench/bench_smt.py [--quick]
"""
from __future__ import annotations

import sys
import time

from verify.catalogue import all_cases, get_case
from verify.crasp import builder as B
from verify.crasp.linear import flatten
from verify.smt.induction import InductionSettings, infer_invariant, prove
from verify.smt.miter import Miter
from verify.smt.refute import refute
from verify.smt.specs import regex_to_automaton


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def wrong_programs():
    """Binary-alphabet programs wrong at various depths (1..20)."""
    from theorems.smt_claims import wrong_programs as attempts
    out = [(f"{name}: {p.source}", p, spec) for name, p, spec, _ in attempts()]
    for k in (9, 14, 19):  # "at most k ones" claimed for 1*-free... wrong first at length k + 1
        b = B.ProgramBuilder(["0", "1"], f"#1 <= {k} claimed for (0|1)*")
        b.accept(B.le(B.count(B.sym("1")), k))
        out.append((b.build().source, b.build(), regex_to_automaton("(0|1)*", ("0", "1"))))
    b = B.ProgramBuilder(["0", "1"], "balanced 01-blocks claimed for (01)*, off at 20")
    z = b.let("z", B.count(B.sym("0")))
    o = b.let("o", B.count(B.sym("1")))
    bad = b.let("bad", B.count(B.or_(B.and_(B.sym("0"), B.periodic(2, [0])),
                                     B.and_(B.sym("1"), B.periodic(2, [1])))))
    b.accept(B.and_(B.eq(bad, 0), B.eq(z, o), B.lt(z, 10)))
    out.append((b.build().source, b.build(), regex_to_automaton("(01)*", ("0", "1"))))
    return out


def main(quick: bool = False) -> None:
    print("1. shortest counterexample, binary alphabet (target < 1 s, max length 20)")
    for name, program, spec in wrong_programs():
        v, s = timed(lambda: refute(Miter(program, spec), 20))
        n = len(v.counterexample.input) if v.counterexample else None
        print(f"   {s:7.3f} s  length {n}  {v.status:8s} {name}")

    print("2. bounded check to length 100 (target < 60 s): plain, and strengthened by the proved "
          "invariant (inference time included)")
    for case_name in (("dyck1",) if quick else ("dyck1", "tomita4", "anbn", "shuffle2", "boolean3")):
        case = get_case(case_name)
        ops = len(flatten(case.build_program()).ops)
        miter = Miter(case.build_program(), case.spec)
        v, s = timed(lambda: refute(miter, 100, timeout_s=60))
        reached = v.evidence.get("max_len", v.evidence.get("checked_up_to"))
        w, t = timed(lambda: refute(miter, 100, timeout_s=60, invariant=infer_invariant(miter)))
        reached_w = w.evidence.get("max_len", w.evidence.get("checked_up_to"))
        print(f"   {case_name} ({ops} operations): plain {s:6.2f} s ({v.status}, length {reached}); "
              f"strengthened {t:6.2f} s ({w.status}, length {reached_w})")

    print("3. proofs for all lengths (target < 10 s each); default settings, and without "
          "printing-minimization")
    for case in all_cases():
        if case.spec is None or case.program is None:
            continue
        miter = Miter(case.build_program(), case.spec)
        v, s = timed(lambda: prove(miter, InductionSettings()))
        v0, s0 = timed(lambda: prove(miter, InductionSettings(minimize_s=0)))
        print(f"   {s:6.2f} s ({s0:5.2f} s unminimized)  {case.name:16s} {v.status:8s} "
              f"k={v.evidence.get('k')} invariant {len(v.evidence.get('invariant', []))} conjuncts")
        if quick:
            break


if __name__ == "__main__":
    main("--quick" in sys.argv)
