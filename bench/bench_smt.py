"""Speed of the Z3 backend (prints figures; no asserts). Targets from issue 5:

  1. shortest counterexample for a wrong binary-alphabet program: < 1 s when one exists up to length 20
  2. bounded check to length 100 of a ~10-operation program: < 60 s
  3. each unbounded proof for the catalogue's regular and counter languages: < 10 s
and from issue 12:
  4. `verify refute` defaults (--max-len 40, invariants from length INVARIANTS_FROM, --work 1): every
     catalogue program searched to length 40 within 10 s (CPU seconds: the machine may be shared),
     with and without the invariant, and the Z3 work each used against the default budget;
  5. budgets are deterministic: the same proof twice (the second beside a busy process) spends the
     same Z3 work and gives the same verdict.

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


def cpu_timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def refute_defaults(quick: bool = False) -> None:
    from verify.commands.refute import INVARIANTS_FROM
    from verify.smt.cli_support import REFUTE_WORK, induction_settings
    print(f"4. refute defaults: length 40, invariants past length {INVARIANTS_FROM}, work {REFUTE_WORK:,} "
          "(target: every catalogue program within 10 s)")
    worst = 0.0
    for case in all_cases():
        if case.spec is None or case.program is None:
            continue
        miter = Miter(case.build_program(), case.spec)

        def with_invariant():
            inv = infer_invariant(miter, induction_settings(1.0, timeout_s=60))
            return refute(miter, 40, timeout_s=60, invariant=inv, work=REFUTE_WORK)
        v, wall, cpu = cpu_timed(with_invariant)
        worst = max(worst, cpu)
        reached = v.evidence.get("max_len", v.evidence.get("checked_up_to"))
        line = (f"   {case.name:14s} invariant: {v.status:8s} to {reached}"
                f"  {cpu:5.2f} s CPU ({wall:5.2f} s wall)  work {v.evidence.get('work', 0):>11,}")
        if not quick:
            p, pwall, pcpu = cpu_timed(lambda: refute(miter, 40, timeout_s=20, work=REFUTE_WORK))
            line += (f" | plain: {p.status:8s} to {p.evidence.get('max_len', p.evidence.get('checked_up_to'))}"
                     f" {pcpu:5.2f} s CPU")
        print(line, flush=True)
        if quick and case.name == "dyck1":
            break
    print(f"   slowest: {worst:.2f} s CPU (target < 10 s)")


def _proof_summary(name: str):
    case = get_case(name)
    v = prove(Miter(case.build_program(), case.spec), InductionSettings())
    return v.status, v.evidence.get("k"), v.evidence.get("work"), v.evidence["seconds"]


def _fresh(name: str):
    """One proof in a fresh process (as each command run is): Z3's work counter then repeats exactly."""
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(_proof_summary, (name,))


def determinism(name: str = "tomita4") -> None:
    import multiprocessing
    print(f"5. one proof ({name}), alone and beside a busy process, each in a fresh process: same verdict, same work")
    alone = _fresh(name)
    hog = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    hog.start()
    try:
        busy = _fresh(name)
    finally:
        hog.terminate()
    same = alone[:3] == busy[:3]
    print(f"   alone: {alone[0]} (k={alone[1]}), work {alone[2]:,} in {alone[3]} s; beside a busy process: "
          f"{busy[0]} (k={busy[1]}), work {busy[2]:,} in {busy[3]} s: {'identical' if same else 'DIFFERENT'}; "
          f"time ratio {busy[3] / max(alone[3], 1e-9):.2f}x, work ratio {busy[2] / max(alone[2], 1):.2f}x")


def _spin() -> None:
    while True:
        pass


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

    refute_defaults(quick)
    determinism()


if __name__ == "__main__":
    main("--quick" in sys.argv)
