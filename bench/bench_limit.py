"""Benchmarks for verify.limit (figures printed, no timed asserts).

    .venv/bin/python bench/bench_limit.py            # quick: forward at 4096, the two compile targets
    .venv/bin/python bench/bench_limit.py --full     # also the full Theorem 9 check and the regularizer table

Targets (issue 11 §5): `verify compile unique_copy --N 4096` under 10 s and 1 GB; `verify compile dyck1
--N 65536` under 10 s; the regularizer table N = 64…4096 for every catalogue program under 60 s in total.
(issue 3: compiled Dyck-1 and majority on one input of length 4096 in under 2 s each.) The compile runs
are separate processes, timed with their peak memory (ru_maxrss of the child).
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _forward_4096():
    from verify.crasp.interpreter import evaluate
    from verify.limit import examples
    from verify.limit.compiler import compile_program
    from verify.limit.forward import forward
    programs = [("dyck1 (builder)", examples.dyck1()), ("binary majority (builder)", examples.majority())]
    from verify.catalogue import get_case
    for name in ("dyck1", "bin_majority", "majority", "tomita4", "unique_copy"):
        programs.append((f"{name} (catalogue)", get_case(name).build_program()))
    rng = np.random.default_rng(0)
    for label, program in programs:
        model = compile_program(program)
        ids = rng.integers(0, len(program.alphabet), (1, 4096))
        t = time.perf_counter()
        out = forward(model, ids)
        dt = time.perf_counter() - t
        ev = evaluate(program, ids)
        same = all((out.outputs[key] == ev.output(key)).all() for key in model.output_keys)
        print(f"forward, length 4096: {label:28s} {dt:7.3f} s  (layers {model.depth}, heads {model.total_heads}, "
              f"width {model.width}; equal to interpreter: {same})")


def _compile(args, target_s, target_mb=None):
    exe = str(ROOT / ".venv" / "bin" / "verify")
    if not os.path.exists(exe):
        exe = "verify"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run([exe, "compile", *args], capture_output=True, text=True, cwd=ROOT)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ok = dt < target_s and (target_mb is None or peak < target_mb)
    print(f"verify compile {' '.join(args):28s} exit {proc.returncode}  {dt:6.1f} s (target {target_s} s)  "
          f"peak {peak:6.0f} MiB{f' (target {target_mb})' if target_mb else ''}  "
          f"{'met' if ok else 'NOT met'}{'' if before <= peak else ''}")
    for line in proc.stdout.splitlines():
        if line.startswith(("HOLDS", "REFUTED", "UNKNOWN", "    long lengths", "note")):
            print("    " + line[:150])


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
    from verify.limit.regularizers import DEFAULT_THEORETICAL, GROWING_EXAMPLES, tabulate
    print(f"regularizers of the banded T_N (practical | theoretical {DEFAULT_THEORETICAL.name}) for N =", list(sizes))
    t0 = time.perf_counter()
    for case in all_cases():
        program = case.build_program()
        if program is None:
            continue
        rows = tabulate(compile_program(program), sizes)
        print(f"  {case.name:24s} " + "  ".join(f"{r['practical']:.4g}|{r['theoretical']:.4g}" for r in rows))
    print(f"  catalogue table: {time.perf_counter() - t0:.1f} s (target 60 s)")
    for label, make in GROWING_EXAMPLES:
        t = time.perf_counter()
        print(f"  {label:42s} " + "  ".join(f"{DEFAULT_THEORETICAL(make(N)).total:.4g}" for N in sizes)
              + f"   ({time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    _forward_4096()
    _compile(["unique_copy", "--N", "4096"], 10, 1024)
    _compile(["dyck1", "--N", "65536"], 10)
    if "--full" in sys.argv:
        _regularizers()
        _theorem9_full()
