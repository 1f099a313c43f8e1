"""Speed figures for verify/comm (targets from issue 4; printed, never asserted).

    .venv/bin/python bench/bench_comm.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def timed(label: str, target: float, fn):
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    flag = "ok" if wall < target else "OVER"
    print(f"{label:62s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  (target < {target:g} s: {flag})  {result}")


def cli_copy():
    exe = ROOT / ".venv" / "bin" / "verify"
    r0 = os.times()
    out = subprocess.run([str(exe), "comm-complexity", "copy", "--N", "64", "--json"], capture_output=True,
                         text=True, cwd=ROOT)
    r1 = os.times()
    import json
    data = json.loads(out.stdout)
    return f"lower {data['lower_bound']['bits']} bits, crossing N = {data['upper_bound']['any_program']['crossing_N']}" \
           f" (child cpu {r1.children_user - r0.children_user + r1.children_system - r0.children_system:.2f} s)"


def protocol_majority(name="majority"):
    from verify.catalogue import get_case
    from verify.comm.protocol import check_protocol
    from verify.crasp.interpreter import encode
    case = get_case(name)
    program = case.build_program()
    rng = np.random.default_rng(0)
    n = 100_000
    seqs = [case.full_sequence(w) for w in case.sampler(rng, 4, 2 * n)]
    ids = encode(program.alphabet, seqs)
    check = check_protocol(program, ids, 1 + n)
    return (f"{name}: N = {n}, 4 inputs × {check.bob_positions} Bob positions × {len(program_ops(program))} ops, "
            f"agree = {check.agree}, bits = {check.bits_sent} (bound {check.protocol.bound})")


def program_ops(program):
    from verify.crasp.interpreter import straight_line
    return straight_line(program).ops


def transformer_dyck():
    from verify.catalogue import get_case
    from verify.comm.transformer_protocol import check_transformer_protocol
    from verify.limit.compiler import compile_program
    case = get_case("dyck1")
    model = compile_program(case.build_program())
    out = []
    for n in (64, 256, 1024):
        ids = np.random.default_rng(n).integers(0, 2, size=(2, 2 * n))
        run = check_transformer_protocol(model, ids, n)
        out.append(f"N={n}: agree={run.agree}, types/head {run.types}, {run.bits} bits")
    return "; ".join(out)


ROWS_CHILD = """
import resource, sys, time
from verify.catalogue import get_case
from verify.comm.matrix import one_way_rows
from verify.comm.reference import from_case
import dataclasses
task = from_case(get_case("dyck1"))
if sys.argv[2] == "enumeration":  # the spec hidden: every (Alice half, Bob half) pair
    task = dataclasses.replace(task, case=None)
t0 = time.perf_counter()
r = one_way_rows(task, int(sys.argv[1]))
print(time.perf_counter() - t0, r.distinct_rows, r.bits, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def rows_dyck(n: int, how: str) -> str:
    """Exact one-way rows for dyck1 in a fresh process: time and peak RSS (ru_maxrss, KiB on Linux)."""
    out = subprocess.run([sys.executable, "-c", ROWS_CHILD, str(n), how], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    secs, rows, bits, rss = float(out[0]), int(out[1]), int(out[2]), int(out[3])
    return f"{rows} distinct rows, {bits} bits, counting {secs:.2f} s, peak RSS {rss / 1024:.0f} MB"


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(f"bench_comm on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    timed("verify comm-complexity copy --N 64 (subprocess)", 5, cli_copy)
    timed("protocol check, majority (26 letters), N = 10^5", 10, protocol_majority)
    timed("protocol check, bin_majority, N = 10^5", 10, lambda: protocol_majority("bin_majority"))
    timed("Limit Transformer protocol, dyck1, N = 64/256/1024", 60, transformer_dyck)
    for n in (12, 14):  # issue 12 §3 target: N = 14 in 30 s and 1 GB
        timed(f"exact rows dyck1 N = {n}, machine states (subprocess)", 30, lambda: rows_dyck(n, "states"))
    if "--full" in sys.argv:  # the old way, for comparison: 4^N pairs
        timed("exact rows dyck1 N = 12, full enumeration (subprocess)", 30, lambda: rows_dyck(12, "enumeration"))
