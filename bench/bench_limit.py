"""Benchmarks for verify.limit (figures printed, no timed asserts).

    .venv/bin/python bench/bench_limit.py            # forward at 4096 + full Theorem 9 check
    .venv/bin/python bench/bench_limit.py --quick    # forward only
    .venv/bin/python bench/bench_limit.py --regularizers   # also the regularizer table, N = 64..4096

Targets (issue 3): compiled Dyck-1 and majority on one input of length 4096 in under 2 s each;
the full Theorem 9 check over the catalogue (SCOPE_FULL: every word up to length 12, sampled for
larger alphabets, random words of length 100/500/2000) in under 3 minutes.
"""
from __future__ import annotations

import sys
import time

import numpy as np


def _forward_4096():
    from verify.crasp.interpreter import evaluate
    from verify.limit import examples
    from verify.limit.compiler import compile_program
    from verify.limit.forward import forward
    programs = [("dyck1 (builder)", examples.dyck1()), ("binary majority (builder)", examples.majority())]
    try:
        from verify.catalogue import get_case
        for name in ("dyck1", "bin_majority", "majority"):
            programs.append((f"{name} (catalogue)", get_case(name).build_program()))
    except Exception as err:  # pragma: no cover - catalogue missing
        print("catalogue unavailable:", err)
    rng = np.random.default_rng(0)
    for label, program in programs:
        model = compile_program(program)
        k = len(program.alphabet)
        ids = rng.integers(0, k, (1, 4096))
        t = time.perf_counter()
        out = forward(model, ids)
        dt = time.perf_counter() - t
        ev = evaluate(program, ids)
        same = all((out.outputs[key] == ev.output(key)).all() for key in model.output_keys)
        print(f"forward, length 4096: {label:28s} {dt:7.3f} s  (layers {model.depth}, heads {model.total_heads}, "
              f"width {model.width}; equal to interpreter: {same})")


def _theorem9_full():
    from theorems.theorem9 import SCOPE_FULL, theorem9_items
    t = time.perf_counter()
    items = theorem9_items(SCOPE_FULL)
    dt = time.perf_counter() - t
    statuses = {}
    for v in items:
        statuses[v.status] = statuses.get(v.status, 0) + 1
    print(f"Theorem 9 full check (SCOPE_FULL) over the catalogue: {dt:7.1f} s  verdicts {statuses}")
    for v in items:
        if v.status != "holds":
            print("   ", v.summary()[:200])


def _regularizers(sizes=(64, 128, 256, 512, 1024, 2048, 4096)):
    from verify.catalogue import all_cases
    from verify.limit.compiler import compile_program
    from verify.limit.regularizers import DEFAULT_THEORETICAL, nonlocal_example, nonperiodic_example, tabulate
    print("regularizers of T_N (practical | theoretical) for N =", list(sizes))
    t0 = time.perf_counter()
    for case in all_cases():
        program = case.build_program()
        if program is None:
            continue
        model = compile_program(program)
        local_heads = sum(h.phi is not None for layer in model.layers for h in layer.heads)
        # T_N stores an (N+1)² Toeplitz block per local head: keep memory in check for many-head models
        use = [N for N in sizes if local_heads <= 4 or N <= 1024]
        rows = tabulate(model, use)
        print(f"  {case.name:24s} " + "  ".join(f"{r['practical']:.4g}|{r['theoretical']:.4g}" for r in rows)
              + (f"   (N <= 1024: {local_heads} local heads)" if len(use) < len(sizes) else ""))
    for label, make in (("non-local φ ≡ 1", nonlocal_example), ("non-periodic sinusoid", nonperiodic_example)):
        print(f"  {label:24s} " + "  ".join(f"{DEFAULT_THEORETICAL(make(N)).total:.4g}" for N in sizes))
    print(f"  ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    _forward_4096()
    if "--quick" not in sys.argv:
        _theorem9_full()
    if "--regularizers" in sys.argv:
        _regularizers()
