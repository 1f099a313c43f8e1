"""The machine `synthesis_construct` tracks, and its product with a phase and a window (REGULAR.md §6).

- `machine_for(automaton, acceptance)`: the automaton minimized as a Mealy machine for the acceptance
  convention (`end`: one output, the prev state accepting; `last`: one per letter, δ(prev, a) accepting);
  `quotient_machine` the per-letter quotients {w : w·a ∈ L} read as `end`;
- `build_product(machine, config)`: states (q, φ, u) — machine state, letters read mod Δ, the last ≤ τ
  letters — for C-RASP[periodic,local] (`pos % Δ`, `#[a @ d]`); `components` its strongly connected
  components in topological order; `configs` the (Δ, τ, labels) to try, cheapest first, with
  `scc_periods` the candidate Δ;
- `unfolded`: the automaton run beside the trackers, for the prover (`synthesis.prove_candidate`).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product as cartesian
from math import gcd
from typing import List, Optional, Sequence, Tuple

import networkx as nx
import numpy as np

from verify.crasp.interpreter import ACCEPT_END
from verify.regular.dfa import Dfa, from_automaton, reachable_order
from verify.spec import Automaton

MAX_PRODUCT_STATES = 400        # product automaton (states × phases × windows) past this: not tried


class NoConstruction(Exception):
    """This route finds no program for this configuration (the reason is the message)."""


# ------------------------------------------------------------------ the machine to track
@dataclass(frozen=True, eq=False)
class Machine:
    """A complete DFA with an output per (state, output letter): under `end` one output letter
    (the marker; out[q, 0] = q accepting), under `last` one per letter (out[q, a] = δ(q, a) accepting).
    Minimal for those outputs; `live[q]`: some output is reachable from q."""

    alphabet: Tuple[str, ...]
    delta: np.ndarray
    out: np.ndarray
    start: int
    acceptance: str                 # ACCEPT_LAST or ACCEPT_END: what `out` reads

    @property
    def n_states(self) -> int:
        return int(self.delta.shape[0])

    @property
    def live(self) -> np.ndarray:
        live = self.out.any(axis=1)
        while True:
            nxt = live | live[self.delta].any(axis=1)
            if (nxt == live).all():
                return live
            live = nxt


def mealy_minimize(dfa: Dfa, out: np.ndarray) -> Tuple[Dfa, np.ndarray]:
    """Reachable part, then Moore refinement started from the output rows instead of acceptance
    (`verify.regular.dfa.minimize` is the case out = accepting[:, None]). Returns the quotient
    (its `accepting` unused) and its output rows."""
    order = reachable_order(dfa)
    remap = np.full(dfa.n_states, -1, dtype=np.int64)
    remap[order] = np.arange(len(order))
    delta = remap[dfa.delta[order]]
    out = np.asarray(out, dtype=bool)[order]
    _, cls = np.unique(out, axis=0, return_inverse=True)
    cls = cls.reshape(-1).astype(np.int64)
    n_cls = int(cls.max()) + 1
    while True:
        sig = np.concatenate([cls[:, None], cls[delta]], axis=1)
        _, new = np.unique(sig, axis=0, return_inverse=True)
        new = new.reshape(-1).astype(np.int64)
        n_new = int(new.max()) + 1
        cls = new
        if n_new == n_cls:
            break
        n_cls = n_new
    reps = np.zeros(n_cls, dtype=np.int64)
    reps[cls[::-1]] = np.arange(len(cls))[::-1]
    quotient = Dfa(dfa.alphabet, cls[delta[reps]], np.zeros(n_cls, dtype=bool), int(cls[0]))
    return quotient, out[reps]


def machine_for(automaton: Automaton, acceptance: str) -> Machine:
    dfa = from_automaton(automaton)
    out = dfa.accepting[:, None] if acceptance == ACCEPT_END else dfa.accepting[dfa.delta]
    small, small_out = mealy_minimize(dfa, out)
    return Machine(small.alphabet, small.delta, small_out, small.start, acceptance)


def quotient_machine(automaton: Automaton, letter: str) -> Machine:
    """{w : w·letter ∈ L} under end-marker reading (the per-letter fallback for `last`)."""
    dfa = from_automaton(automaton)
    k = dfa.alphabet.index(letter)
    small, small_out = mealy_minimize(dfa, dfa.accepting[dfa.delta[:, k]][:, None])
    return Machine(small.alphabet, small.delta, small_out, small.start, ACCEPT_END)


# ------------------------------------------------------------------ product with phase and window
@dataclass(frozen=True)
class Config:
    """Δ (period of `pos % Δ` predicates), τ (local radius) and the edge labels of round 1:
    `letter` (the symbol) or `full` (symbol, phase, window)."""

    period: int = 1
    radius: int = 0
    labels: str = "letter"

    def describe(self) -> str:
        parts = []
        if self.period > 1:
            parts.append(f"Δ = {self.period}")
        if self.radius:
            parts.append(f"τ = {self.radius}")
        parts.append(f"{self.labels} labels")
        return ", ".join(parts)


@dataclass(frozen=True, eq=False)
class Product:
    """States (q, φ, u): machine state, letters read mod Δ, the last ≤ τ letters (oldest first)."""

    machine: Machine
    config: Config
    states: Tuple[Tuple[int, int, Tuple[int, ...]], ...]
    delta: np.ndarray


def build_product(m: Machine, config: Config) -> Product:
    start = (m.start, 0, ())
    index = {start: 0}
    states = [start]
    rows = []
    k = len(m.alphabet)
    for s in states:  # grows while we iterate (BFS)
        q, phi, u = s
        row = []
        for a in range(k):
            t = (int(m.delta[q, a]), (phi + 1) % config.period, (u + (a,))[-config.radius:] if config.radius else ())
            if t not in index:
                index[t] = len(states)
                states.append(t)
                if len(states) > MAX_PRODUCT_STATES:
                    raise NoConstruction(f"the product with {config.describe()} passes {MAX_PRODUCT_STATES} states")
            row.append(index[t])
        rows.append(row)
    return Product(m, config, tuple(states), np.array(rows, dtype=np.int64).reshape(len(states), k))



def components(P: Product):
    """(component of each product state, components in topological order, members of each)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(len(P.states)))
    g.add_edges_from((s, int(t)) for s in range(len(P.states)) for t in P.delta[s])
    cond = nx.condensation(g)
    order = list(nx.topological_sort(cond))
    return cond.graph["mapping"], order, {c: tuple(sorted(cond.nodes[c]["members"])) for c in order}



MAX_UNFOLDED = 2000


def unfolded(automaton: Automaton, products: Sequence[Product]) -> Optional[Automaton]:
    """The automaton run beside the trackers, each state also recording which components of each
    tracker the run has visited (the automaton's dead states merged into one). It recognizes the same
    language; its states tell the prover which of the program's components were entered, so the
    invariants it needs become per-state equalities. None past MAX_UNFOLDED states."""
    delta, final, start = automaton.tables()
    k = len(automaton.alphabet)
    info = []
    for P in products:
        comp_of, _, _ = components(P)
        info.append((P, comp_of))
    DEAD = ("dead",)
    alive = final.copy()   # states of the automaton from which some word is accepted
    while True:
        more = alive | alive[delta[:, :k]].any(axis=1)
        if (more == alive).all():
            break
        alive = more

    def key(a, ps):
        return DEAD if not alive[a] else (a, ps)
    first = key(start, tuple((0, frozenset([comp_of[0]])) for _, comp_of in info))
    names = {first: "u0"}
    todo, table = [first], {}
    while todo:
        cur = todo.pop()
        if cur == DEAD:
            for x in automaton.alphabet:
                table[(names[cur], x)] = names[cur]
            continue
        a, ps = cur
        for x in range(k):
            nps = []
            for (P, comp_of), (p, seen) in zip(info, ps):
                t = int(P.delta[p, x])
                nps.append((t, seen | {comp_of[t]}))
            nxt = key(int(delta[a, x]), tuple(nps))
            if nxt not in names:
                names[nxt] = f"u{len(names)}"
                todo.append(nxt)
                if len(names) > MAX_UNFOLDED:
                    return None
            table[(names[cur], automaton.alphabet[x])] = names[nxt]
    accepting = [n for st, n in names.items() if st != DEAD and final[st[0]]]
    return Automaton.make(automaton.alphabet, table, "u0", accepting)


def configs(fragment: str, alphabet_size: int, periods: Sequence[int]) -> List[Config]:
    """Configurations to try, cheapest first: plain; then (APE) windows, periods, both."""
    out = [Config()]
    if fragment == "crasp":
        return out
    per = sorted({p for p in periods if 1 < p <= 12})
    radii = [r for r in (1, 2, 3) if alphabet_size ** r <= 64]
    for r in radii:
        out += [Config(1, r, "letter"), Config(1, r, "full")]
    for p in per:
        out += [Config(p, 0, "letter"), Config(p, 0, "full")]
    for p, r in cartesian(per, radii[:2]):
        out += [Config(p, r, "letter"), Config(p, r, "full")]
    return out


def scc_periods(machine: Machine) -> List[int]:
    """The period (gcd of cycle lengths) of every non-trivial SCC, and their lcm."""
    from math import lcm
    g = nx.DiGraph()
    g.add_edges_from((q, int(t)) for q in range(machine.n_states) for t in machine.delta[q])
    out = []
    for comp in nx.strongly_connected_components(g):
        sub = g.subgraph(comp)
        if sub.number_of_edges() == 0:
            continue
        root = min(comp)
        level = {root: 0}
        todo = [root]
        p = 0
        while todo:
            x = todo.pop()
            for y in sub.successors(x):
                if y not in level:
                    level[y] = level[x] + 1
                    todo.append(y)
                else:
                    p = gcd(p, abs(level[x] + 1 - level[y]))
        if p > 1:
            out.append(p)
    if out:
        out.append(lcm(*out))
    return sorted(set(out))
