"""Catalogue figures: sampler throughput and program evaluation time per case.

    .venv/bin/python bench/bench_cases.py [--batch 10000] [--length 500]

Languages: one sampler call of `batch` strings of length `length`, then the program's accept output
at every position and the reference labels on that batch. Sequences: `batch // 10` inputs of the
longest length the task allows (<= 50, the paper's training length), full sequences encoded, then
teacher-forced `next_tokens`.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from verify.case import LANGUAGE
from verify.catalogue import all_cases
from verify.crasp.interpreter import encode, next_tokens, prefix_outputs


def clock(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--length", type=int, default=500)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'case':24s} {'sampler':>10s} {'reference':>10s} {'program':>10s}  workload")
    for case in all_cases():
        if case.format == LANGUAGE:
            ids, t_sample = clock(lambda: case.sampler(rng, args.batch, args.length))
            _, t_ref = clock(lambda: case.labels(ids))
            t_prog = float("nan")
            if case.program is not None:
                program = case.program()
                _, t_prog = clock(lambda: prefix_outputs(program, ids))
            work = f"{args.batch} x {args.length}"
        else:
            n = min(case.max_input_len, 50) // case.length_multiple * case.length_multiple
            batch = args.batch // 10
            inputs, t_sample = clock(lambda: case.sampler(rng, batch, n))
            fulls, t_ref = clock(lambda: [case.full_sequence(x) for x in inputs])
            t_prog = float("nan")
            if case.program is not None:
                program = case.program()
                _, t_prog = clock(lambda: next_tokens(program, encode(case.alphabet, fulls)))
            work = f"{batch} inputs of length {n}"
        prog = "no program" if t_prog != t_prog else f"{t_prog:9.3f}s"
        print(f"{case.name:24s} {t_sample:9.3f}s {t_ref:9.3f}s {prog:>10s}  {work}")


if __name__ == "__main__":
    main()
