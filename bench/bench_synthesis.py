"""Synthesis + proof for the "yes" side of `verify classify` (issue 10 item 3). Prints figures; no asserts.

Languages: the catalogue's regular languages (every case whose spec is an automaton) in both
fragments, and N random regular expressions over {a, b, c} kept when the plain-C-RASP decider
(`verify.regular.decider`) accepts them (`verify.regular.randgen`, the expressions the
decider's own tests use). For each: was a program found and proved equal to the
automaton for every length (Z3 k-induction), and how long it took (median, max).
Cross-check: for random languages the decider rejects, the construction must not find a program
that passes the exhaustive filter (such a program, once proved, would contradict the decider).

Run: .venv/bin/python bench/bench_synthesis.py [--n 100] [--acceptance last|end|both] [--budget 30] [--seed 0]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import List

from verify.catalogue import all_cases
from verify.regular.dfa import minimal_dfa
from verify.regular.synthesis import exhaustive_length, first_mismatch, synthesize
from verify.regular.randgen import random_regexes
from verify.regular.regex import TooLarge, regex_dfa
from verify.spec import Automaton


def catalogue() -> List[tuple]:
    return [(c.name, c.spec, c.expected_ape) for c in all_cases() if isinstance(c.spec, Automaton)]


def run_one(name: str, auto: Automaton, acceptance: str, fragment: str, budget: float, rows: list) -> None:
    r = synthesize(auto, acceptance, fragment, budget_s=budget)
    status = r.proof.status if r.proof else "none"
    rows.append((name, acceptance, fragment, status, r.seconds))
    print(f"  {name:32s} {acceptance:4s} {fragment:21s} {status:8s} {r.seconds:6.2f} s"
          + ("" if status == "holds" else f"   {r.reason[:140]}"), flush=True)


def summary(title: str, rows: list) -> None:
    if not rows:
        print(f"{title}: no languages")
        return
    ok = [r for r in rows if r[3] == "holds"]
    times = [r[4] for r in rows]
    print(f"{title}: {len(ok)}/{len(rows)} proved for every length ({100 * len(ok) / len(rows):.0f}%); "
          f"time median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100, help="random regular expressions")
    ap.add_argument("--acceptance", default="both", choices=["last", "end", "both"])
    ap.add_argument("--budget", type=float, default=30.0, help="seconds per language")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-catalogue", action="store_true")
    args = ap.parse_args()
    modes = ["last", "end"] if args.acceptance == "both" else [args.acceptance]
    from verify.regular.decider import decide

    cat_rows: list = []
    if not args.no_catalogue:
        print("catalogue (regular cases; both fragments)")
        ape_rows: list = []
        for name, auto, ape in catalogue():
            for mode in modes:
                if decide(minimal_dfa(auto), mode).passed:
                    run_one(name, auto, mode, "crasp", args.budget, cat_rows)
                run_one(name, auto, mode, "crasp_periodic_local", args.budget, ape_rows if ape else [])
        summary("catalogue, plain C-RASP (decider: yes)", cat_rows)
        summary("catalogue, C-RASP[periodic,local] (paper's APE label: yes)", ape_rows)

    rand_rows: list = []
    rejected = contradictions = 0
    seen = set()
    print(f"random regular expressions over {{a,b,c}} (n = {args.n}, seed {args.seed}); kept: decider says C-RASP")
    started = time.monotonic()
    for pattern in random_regexes(args.n, ("a", "b", "c"), seed=args.seed):
        try:
            dfa = regex_dfa(pattern, ("a", "b", "c"))
        except TooLarge:
            continue
        auto = dfa.to_automaton()
        for mode in modes:
            key = (dfa.delta.tobytes(), dfa.accepting.tobytes(), mode)
            if key in seen:
                continue
            seen.add(key)
            if decide(dfa, mode).passed:
                run_one(pattern, auto, mode, "crasp", args.budget, rand_rows)
            else:
                rejected += 1
                contradictions += _constructs(auto, mode, pattern)
    summary(f"random ({len(rand_rows)} distinct C-RASP languages of {args.n} expressions × {len(modes)} "
            f"acceptance modes)", rand_rows)
    print(f"decider rejected {rejected} distinct languages; construction found a filtered program for "
          f"{contradictions} of them (should be 0); random part took {time.monotonic() - started:.0f} s")


def _constructs(auto: Automaton, mode: str, pattern: str) -> int:
    """1 if the plain construction yields a program that passes the exhaustive filter."""
    from verify.regular import synthesis_construct as C
    makers = [lambda: C.construct(C.machine_for(auto, mode), C.Config())]
    if mode == "last":
        makers.append(lambda: C.construct_by_quotients(auto, C.Config()))
    for make in makers:
        try:
            program, _ = make()
        except C.NoConstruction:
            continue
        if first_mismatch(program, auto, mode, exhaustive_length(len(auto.alphabet), mode)) is None:
            print(f"  !! decider rejects {pattern} ({mode}) but the construction passes the filter")
            return 1
    return 0


if __name__ == "__main__":
    main()
