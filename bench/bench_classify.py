"""Speed and coverage of `verify classify` (prints figures; no asserts). Targets from issue 10:

  1. decider: < 0.1 s per language up to 20 DFA states; < 5 s at 200 states
  2. side by side with an exponential decider that enumerates every simple cycle (written here, the way
     the public implementation works: one loop equation per simple cycle, sympy null spaces), on the
     same inputs: the answers must agree; the time ratio is reported
  3. synthesis + proof (verify/regular/synthesis.py): the fraction of C-RASP languages (random regexes over
     {a,b,c} plus the catalogue) with a program found and proved for all lengths, and the median time
  4. (if `automata-lib` is installed: `.venv/bin/pip install automata-lib`, not a dependency) the minimal
     DFA sizes agree with automata-lib's on the same regexes
  5. (issue 21) the whole of `classify` under one budget: random automata up to 200 states over <= 4 letters
     and counter automata up to 500 states, each with the default budget (decider, monoid, certificates,
     synthesis and proof): every run ends within its budget, with the stages it finished; and the
     certificate stage's cost (layers η(Σ^k) + certificates + their re-check) against monoid size × alphabet,
     with the fitted exponent (log-log least squares)

Run: .venv/bin/python bench/bench_classify.py [--quick | --full] [--synthesis N] [--only budget]
  default (quick): 300 random regexes, 6 large automata, 20 random regexes + the catalogue for synthesis
"""
from __future__ import annotations

import itertools
import statistics
import sys
import time
from typing import Dict, List

import networkx as nx
import numpy as np

from verify.regular.decider import decide
from verify.regular.dfa import Dfa
from verify.regular.randgen import counter_dfa, random_regexes
from verify.regular.regex import regex_dfa


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


# ------------------------------------------------------------------ large automata
def random_dfa(rng: np.random.Generator, n: int, k: int) -> Dfa:
    return Dfa(tuple("abcdefgh"[:k]), rng.integers(0, n, size=(n, k)), rng.random(n) < 0.5, 0).minimize()


def grid_dfa(width: int) -> Dfa:
    """Two bounded counters (#a − #b and #c − #d in [0, width)): width² states in one SCC."""
    n = width * width + 1
    sink = n - 1
    delta = np.full((n, 4), sink, dtype=np.int64)
    for i in range(width):
        for j in range(width):
            q = i * width + j
            if i + 1 < width:
                delta[q, 0] = q + width
            if i > 0:
                delta[q, 1] = q - width
            if j + 1 < width:
                delta[q, 2] = q + 1
            if j > 0:
                delta[q, 3] = q - 1
    acc = np.zeros(n, dtype=bool)
    acc[0] = True
    return Dfa(("a", "b", "c", "d"), delta, acc, 0).minimize()


# ------------------------------------------------------------------ the exponential baseline
class Timeout(Exception):
    pass


def baseline_decide_end(dfa: Dfa, deadline: float) -> bool:
    """Every simple cycle of each SCC gives one loop equation over the current labels (its label counts);
    exit edges only for the letters used inside the component (as the public code; ours follows
    REGULAR.md and keeps every exit, so agreement here also checks that the two readings coincide);
    the balanced labellings are the sympy null space; relabel by path sums from the first state;
    iterate until the null space stops changing; separated states pass. Exponential in the worst case."""
    from sympy import Matrix
    k = len(dfa.alphabet)
    g = nx.DiGraph()
    g.add_nodes_from(range(dfa.n_states))
    g.add_edges_from((q, int(t)) for q in range(dfa.n_states) for t in dfa.delta[q])
    for comp in nx.strongly_connected_components(g):
        states = sorted(comp)
        if len(states) == 1:
            continue
        internal = [(q, a, int(dfa.delta[q, a])) for q in states for a in range(k) if int(dfa.delta[q, a]) in comp]
        # as the public implementation: exit ("garbage") edges only for letters used inside the component
        used = {a for _, a, _ in internal}
        label = {(q, a): dfa.alphabet[a] for q in states for a in range(k) if a in used}
        sub = nx.DiGraph()
        sub.add_edges_from((q, t) for q, _, t in internal)
        multi: Dict[tuple, list] = {}
        for q, a, t in internal:
            multi.setdefault((q, t), []).append(a)
        cycles = []                                    # each: a list of edges (q, a)
        for nodes in nx.simple_cycles(sub):
            if time.perf_counter() > deadline:
                raise Timeout
            pairs = list(zip(nodes, nodes[1:] + nodes[:1]))
            for choice in itertools.product(*[multi[p] for p in pairs]):
                cycles.append([(p[0], a) for p, a in zip(pairs, choice)])
        # BFS paths from the first state
        path: Dict[int, list] = {states[0]: []}
        order = [states[0]]
        for q in order:
            for qq, a, t in internal:
                if qq == q and t not in path:
                    path[t] = path[q] + [(q, a)]
                    order.append(t)
        prev_rank, rounds = None, 0
        while True:
            if time.perf_counter() > deadline:
                raise Timeout
            letters = sorted({label[(q, a)] for q, a, _ in internal}, key=repr)
            col = {l: i for i, l in enumerate(letters)}
            rows = [[0] * len(letters) for _ in cycles]
            for r, cyc in zip(rows, cycles):
                for e in cyc:
                    r[col[label[e]]] += 1
            null = Matrix(rows).nullspace() if rows else [Matrix.eye(len(letters))[:, i] for i in range(len(letters))]
            if not null:
                break
            def vec(l):
                return tuple(nb[col[l]] for nb in null) if l in col else None
            new = {}
            for q in states:
                base = [0] * len(null)
                for e in path[q]:
                    base = [x + y for x, y in zip(base, vec(label[e]))]
                for a in sorted(used):
                    v = vec(label[(q, a)])
                    key = (tuple(x + y for x, y in zip(base, v)),) if v is not None else (tuple(base), label[(q, a)])
                    new[(q, a)] = key if rounds == 0 else (key, label[(q, a)])
            classes = len(set(new.values()))
            label, rounds = new, rounds + 1
            if rounds > 1 and classes == prev_rank:
                break
            prev_rank = classes
        outs = set()
        for q in states:
            s = frozenset(label[(q, a)] for a in used)
            if s in outs:
                return False
            outs.add(s)
    return True


# ------------------------------------------------------------------ sections
def decider_section(n_regex: int, n_large: int, baseline_s: float) -> None:
    print(f"1. decider, random regexes over {{a,b,c}} (target < 0.1 s per language up to 20 states)")
    times, sizes, base_times, agree, disagree, timeouts = [], [], [], 0, [], 0
    for p in random_regexes(n_regex, ("a", "b", "c"), seed=7, depth=6):
        dfa = regex_dfa(p, ("a", "b", "c"))
        if dfa.n_states > 20:
            continue
        (res, t) = timed(lambda: (decide(dfa, "end").passed, decide(dfa, "last").passed))
        times.append(t)
        sizes.append(dfa.n_states)
        try:
            b, tb = timed(lambda: baseline_decide_end(dfa, time.perf_counter() + baseline_s))
            _, t_end = timed(lambda: decide(dfa, "end"))
            base_times.append((tb, max(t_end, 1e-6)))
            if b == res[0]:
                agree += 1
            else:
                disagree.append(p)
        except Timeout:
            timeouts += 1
    print(f"   {len(times)} languages, {min(sizes)}..{max(sizes)} states: median {statistics.median(times) * 1e3:.2f} ms, "
          f"max {max(times) * 1e3:.1f} ms (both acceptance conventions)")
    if base_times:
        ratios = [b / o for b, o in base_times]
        print(f"   simple-cycle baseline (end marker): agrees on {agree}/{agree + len(disagree)}"
              f"{' — DISAGREES on ' + ', '.join(disagree[:5]) if disagree else ''}; {timeouts} over {baseline_s:g} s; "
              f"time ratio baseline/ours: median {statistics.median(ratios):.1f}x, max {max(ratios):.0f}x")
    print("   random complete DFAs (one big SCC, many simple cycles), ours vs the simple-cycle baseline:")
    rng = np.random.default_rng(1)
    for n in (10, 20, 30, 40, 60):
        dfa = random_dfa(rng, n, 2)
        (ours, t) = timed(lambda: decide(dfa, "end").passed)
        try:
            b, tb = timed(lambda: baseline_decide_end(dfa, time.perf_counter() + baseline_s))
            cmp = f"baseline {tb:.3f} s ({tb / max(t, 1e-6):.0f}x){'' if b == ours else ' DISAGREES'}"
        except Timeout:
            cmp = f"baseline > {baseline_s:g} s (gave up; > {baseline_s / max(t, 1e-6):.0f}x)"
        print(f"   {t:7.4f} s  {dfa.n_states} states  {cmp}")
    print("   at 200 states (target < 5 s):")
    rng = np.random.default_rng(0)
    large = [("random, 2 letters", random_dfa(rng, 200, 2)) for _ in range(n_large // 2)]
    large += [("random, 3 letters", random_dfa(rng, 200, 3)) for _ in range(n_large - n_large // 2)]
    large += [("Dyck depth 199 (one SCC, C-RASP)", counter_dfa(199)), ("two counters 14x14 (196 states)", grid_dfa(14))]
    worst: Dict[str, float] = {}
    for name, dfa in large:
        (passed, t) = timed(lambda: decide(dfa, "last").passed)
        worst[name] = max(worst.get(name, 0.0), t)
        if not name.startswith("random"):
            b = "not run (exponential)"
            try:
                _, tb = timed(lambda: baseline_decide_end(dfa, time.perf_counter() + baseline_s))
                b = f"{tb:.2f} s"
            except Timeout:
                b = f"> {baseline_s:g} s (gave up)"
            print(f"   {t:7.3f} s  {dfa.n_states} states  C-RASP={passed}  {name}; simple-cycle baseline: {b}")
    for name, t in worst.items():
        if name.startswith("random"):
            print(f"   {t:7.3f} s  worst of {sum(1 for n, _ in large if n == name)}  {name} (≈200 states)")


def automata_lib_section(n_regex: int) -> None:
    try:
        from automata.fa.dfa import DFA
        from automata.fa.nfa import NFA
    except ImportError:
        print("4. automata-lib not installed: skipped (`.venv/bin/pip install automata-lib` to compare)")
        return
    same, differ = 0, []
    for p in random_regexes(n_regex, ("a", "b"), seed=9, depth=5):
        q = p.replace("?", "*")                        # keep to the syntax both read the same way
        ours = regex_dfa(q, ("a", "b"))
        try:
            theirs = DFA.from_nfa(NFA.from_regex(q, input_symbols={"a", "b"}), minify=True)
        except Exception as ex:  # their parser is stricter; count, do not crash
            differ.append(f"{q} ({type(ex).__name__})")
            continue
        n = len(theirs.states) + (0 if theirs.allow_partial is False else 0)
        complete = n if all(len(theirs.transitions[s]) == 2 for s in theirs.states) else n + 1
        if complete == ours.n_states:
            same += 1
        else:
            differ.append(f"{q}: ours {ours.n_states}, automata-lib {complete}")
    print(f"4. minimal DFA sizes agree with automata-lib on {same}/{same + len(differ)} regexes"
          + (f"; differ: {differ[:3]}" if differ else ""))


def synthesis_section(count: int, budget_s: float) -> None:
    try:
        import verify.regular.synthesis  # noqa: F401  (present?)
    except ImportError:
        print("3. synthesis: verify/regular/synthesis.py not available — skipped")
        return
    from verify.catalogue import all_cases
    from verify.regular.classify import classify_automaton, classify_regex
    from verify.spec import Automaton
    langs = [("case " + c.name, lambda c=c: classify_automaton(c.spec, "last", c.name, budget_s))
             for c in all_cases() if isinstance(c.spec, Automaton)]
    for p in random_regexes(count, ("a", "b", "c"), seed=13, depth=5):
        langs.append((p, lambda p=p: classify_regex(p, ("a", "b", "c"), "last", budget_s)))
    crasp = proved = ape_only = ape_proved = 0
    times: List[float] = []
    missed: List[str] = []
    for name, fn in langs:
        r, t = timed(fn)
        if r.crasp.value:
            crasp += 1
            times.append(t)
            if r.program_proof and r.program_proof.startswith("proved"):
                proved += 1
            else:
                missed.append(name)
        elif r.ape.value is not False:
            ape_only += 1
            if r.program_proof and r.program_proof.startswith("proved"):
                ape_proved += 1
    print(f"3. synthesis + proof ({len(langs)} languages: the catalogue's automata and {count} random regexes over "
          f"{{a,b,c}}, budget {budget_s:g} s each)")
    if crasp:
        print(f"   C-RASP languages: {proved}/{crasp} with a program proved for all lengths "
              f"({100 * proved / crasp:.1f}%); median time {statistics.median(times):.2f} s, max {max(times):.1f} s")
    print(f"   quasi-aperiodic, not C-RASP: {ape_proved}/{ape_only} with a C-RASP[periodic,local] program proved")
    if missed:
        print(f"   no proved program: {missed[:8]}{' ...' if len(missed) > 8 else ''}")


def budget_section(full: bool) -> None:
    from verify.regular.budget import DEFAULT_BUDGET_S, DONE
    from verify.regular.classify import classify_dfa
    print(f"5. classify under one budget (default {DEFAULT_BUDGET_S:g} s: every stage, synthesis and proof included)")
    rng = np.random.default_rng(21)
    runs = [(f"random {n} states, {k} letters", Dfa(tuple("abcd"[:k]), rng.integers(0, n, size=(n, k)),
                                                    rng.random(n) < 0.5, 0))
            for n in ((10, 50, 200) if not full else (10, 20, 50, 100, 200)) for k in (2, 4)]
    runs += [(f"counter, depth {d}", counter_dfa(d)) for d in ((100, 498) if not full else (50, 100, 200, 300, 498))]
    over = 0
    for name, dfa in runs:
        for acceptance in ("last", "end"):
            c, t = timed(lambda: classify_dfa(dfa, acceptance, synthesis_budget_s=DEFAULT_BUDGET_S))
            over += t > DEFAULT_BUDGET_S + 0.5
            finished = [s for s, st in c.stages.items() if st.status == DONE]
            unfinished = [f"{s}: {st.reason}" for s, st in c.stages.items() if st.status == "not finished"]
            print(f"   {t:6.2f} s  {name} ({c.states} minimal), {acceptance}: NoPE {c.crasp.value}, APE {c.ape.value}; "
                  f"finished: {', '.join(finished)}" + (f"; not finished: {'; '.join(unfinished)}" if unfinished else ""))
    print(f"   runs past the budget (+0.5 s): {over}")
    # the certificate stage against monoid size × alphabet: random automata whose monoid fits, not quasi-aperiodic
    points: List[tuple] = []
    rng = np.random.default_rng(5)
    tries = 0
    while len(points) < (60 if full else 30) and tries < 4000:
        tries += 1
        n, k = int(rng.integers(3, 10)), int(rng.integers(1, 5))
        dfa = Dfa(tuple("abcd"[:k]), rng.integers(0, n, size=(n, k)), rng.random(n) < 0.5, 0).minimize()
        c = classify_dfa(dfa, "end")
        st = c.stages
        if st["certificates"].status != DONE or c.ape.value is not False:
            continue
        size = len(dfa.alphabet)
        from verify.regular.monoid import transition_monoid
        elements = transition_monoid(dfa).size
        if any(p[0] == elements for p in points):
            continue
        points.append((elements, size, st["layers"].seconds + st["certificates"].seconds, st["monoid"].seconds,
                       c.ape.witness["stability_index"]))
    points.sort()
    print("   certificate stage (layers + certificates for Δ = 1..4 + re-check), not-quasi-aperiodic random automata:")
    print("   |M|·|Σ|   |M|  |Σ|   s   monoid s  certificates s")
    for e, k, t, tm, s_idx in points:
        print(f"   {e * k:8d} {e:6d} {k:3d} {s_idx:4d} {tm:9.4f} {t:14.4f}")
    big = [(e * k, t) for e, k, t, _, _ in points if e * k >= 2000]
    if len(big) >= 3:
        x, y = np.log([b[0] for b in big]), np.log([b[1] for b in big])
        slope = np.polyfit(x, y, 1)[0]
        print(f"   fitted exponent: time ∝ (|M|·|Σ|)^{slope:.2f} over {len(big)} automata with |M|·|Σ| ≥ 2000 "
              f"(largest: |M|·|Σ| = {max(b[0] for b in big):,}, {max(b[1] for b in big):.3f} s)")


def main(argv: List[str]) -> None:
    full = "--full" in argv
    if "--only" in argv and argv[argv.index("--only") + 1] == "budget":
        budget_section(full)
        return
    n_syn = 500 if full else 20
    if "--synthesis" in argv:
        n_syn = int(argv[argv.index("--synthesis") + 1])
    decider_section(2000 if full else 300, 20 if full else 6, 20.0 if full else 5.0)
    synthesis_section(n_syn, 30.0 if full else 15.0)
    automata_lib_section(400 if full else 100)
    budget_section(full)


if __name__ == "__main__":
    main(sys.argv[1:])
