"""Benchmarks for verify.limit (figures printed, no timed asserts).

    .venv/bin/python bench/bench_limit.py            # quick: forward at 4096, the two compile targets
    .venv/bin/python bench/bench_limit.py --full     # also the full Theorem 9 check and the regularizer table

Targets (issue 11 §5): `verify compile unique_copy --N 4096` under 10 s and 1 GB; `verify compile dyck1
--N 65536` under 10 s; the regularizer table N = 64…4096 for every catalogue program under 60 s in total.
(issue 3: compiled Dyck-1 and majority on one input of length 4096 in under 2 s each.) The compile runs
are separate processes, timed with their peak memory (ru_maxrss of the child). Issue 11 §1: `compile`
checks the float64 Limit Transformer at N, 16·N and near its float64 horizon by streaming
(verify.limit.stream); the rates below say how far each program's 2 s budget reaches.

Figures measured 2026-11-29 on the 2 shared CPU cores (load average ~2-5 from other jobs):
  verify compile dyck1 --N 256          2.1 s, 94 MiB; long lengths 256 and 4,096 (offsets 0, 7, 1000003),
                                        262,144..1,048,576 (rate calibration), 4,194,304 (offset 1000003)
                                        — 2^24 (horizon 21,221,684) would take ~4 s: over the 2 s budget
  verify compile dyck1 --N 65536        3.4 s; long lengths 65,536, 1,048,576, ..., 8,388,608
  verify compile unique_copy --N 4096   8.4 s, 320 MiB (targets 10 s, 1 GB); long lengths 4,096 (3 offsets),
                                        65,536 (offset 7); its horizon 1.8e7 would take ~17 min at ~16,000/s
  streamed check rates                  0.4-15 M positions/s for widths <= 100, 7-16 k/s for widths 838-1362
  streamed dyck1 at 2^24 (--full)       4.4 s (8.9 s under tracemalloc), agree and separated, smallest
                                        margin 4.3e-8; peak traced memory 5 MiB besides the 16 MiB input
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


def _stream_rates(full: bool):
    """Streamed float64 check (verify.limit.stream.stream_check) per catalogue program: positions per second,
    and what the run at the float64 horizon's power of two would take at that rate; --full runs dyck1 at 2^24."""
    from verify.catalogue import all_cases
    from verify.limit.agreement import float64_limit
    from verify.limit.compiler import compile_program
    from verify.limit.stream import default_block, stream_check
    from verify.problems import UserError
    print("streamed float64 check vs the blockwise interpreter, one random word, offset 1000003:")
    rng = np.random.default_rng(0)
    for case in all_cases():
        try:
            model = compile_program(case.build_program())
        except UserError:
            continue
        n = 1 << 13 if model.width > 200 else 1 << 18
        word = rng.integers(0, len(model.alphabet), size=n).astype(np.int16)
        c = stream_check(model, word, 1_000_003)
        rate = n / c.seconds
        H = float64_limit(model)
        top = None if H is None else 1 << (min(H, 1 << 30).bit_length() - 1)
        print(f"  {case.name:24s} width {model.width:4d}  block {default_block(model):5d}  {rate:12,.0f} positions/s"
              f"  agree {c.agree} separated {c.separated}"
              + (f"  horizon {H:,}: 2^{top.bit_length() - 1} would take ~{top / rate:,.1f} s" if H else ""))
    if full:
        case = next(c for c in all_cases() if c.name == "dyck1")
        model = compile_program(case.build_program())
        n = 1 << 24
        word = rng.integers(0, 2, size=n).astype(np.int8)
        import tracemalloc
        tracemalloc.start()
        c = stream_check(model, word, 1_000_003)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  dyck1 at 2^24 = {n:,} (float64 horizon {float64_limit(model):,}): {c.seconds:.1f} s, "
              f"agree {c.agree}, separated {c.separated}, smallest margin {c.min_margin:.3g}, largest error {c.max_error:.3g}, "
              f"peak traced memory of the check {peak / 2 ** 20:.0f} MiB (the {n / 2 ** 20:.0f} MiB input aside)")


if __name__ == "__main__":
    _forward_4096()
    _compile(["unique_copy", "--N", "4096"], 10, 1024)
    _compile(["dyck1", "--N", "65536"], 10)
    _compile(["dyck1", "--N", "256"], 10)
    _stream_rates("--full" in sys.argv)
    if "--full" in sys.argv:
        _regularizers()
        _theorem9_full()
