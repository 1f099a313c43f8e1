"""Constructive synthesis (REGULAR.md §6): a C-RASP[periodic,local] program that tracks a DFA's
state component by component, following the balanced-labelling procedure of §3.

The program computes, at every position j, which state the automaton was in *before* reading
w_j ("prev state"), from counts over positions < j only. Then
- end-marker acceptance reads it at the marker: accept = the prev state is accepting;
- last-position acceptance combines it with the visible letter: accept = δ(prev, w_j) is accepting.
Last-position acceptance therefore needs the prev state only up to "same outputs on every
non-empty continuation": the automaton is minimized as a Mealy machine whose output at (q, a) is
[δ(q, a) accepting] (Σ*b collapses to one state: accept = "b").

Strongly connected components (SCCs) are entered once and left once, in topological order:
- the run enters component D at the first position where an exact prev-state Boolean of an
  earlier component meets an edge into D (`enterD`); `afterD` = entered strictly before j;
- inside D the prev state is the unique member whose potential matches: for a balanced labelling
  E (every cycle of D sums to zero) with potential V, V(q_{j-1}) = V(entry) + Σ E(label) over
  the positions after the entry and before j — a difference of counts. Rounds relabel every
  internal edge with (old label, potential after it), exactly as §3 iterates, until the members
  of D are told apart (or the refinement stops: no program from this route);
- `raw` prev-state Booleans are exact until D is left, so the first raw exit is the real exit;
  `aliveD` = no raw exit strictly before j, and the exact prev state is raw ∧ alive.
For C-RASP[periodic,local] the same runs on the product with the phase (position mod Δ) and
the window of the last τ letters, which a program observes directly (`pos % Δ`, `#[a @ d]`).

Every program built here is only a candidate: `synthesis.synthesize` checks it exhaustively and
proves it with Z3 before returning it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product as cartesian
from math import gcd
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

import networkx as nx
import numpy as np

from verify.crasp import ast as A
from verify.crasp.builder import (ProgramBuilder, count, eq, ge, guarded, ite, lift, periodic, scale,
                                  sym)
from verify.regular.dfa import Dfa, from_automaton, reachable_order
from verify.smt.induction import rational_nullspace
from verify.spec import Automaton

LAST, END = "last", "end"
MAX_PRODUCT_STATES = 400        # product automaton (states × phases × windows) past this: not tried
MAX_ROUNDS = 12


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
    mode: str

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


def machine_for(automaton: Automaton, mode: str) -> Machine:
    dfa = from_automaton(automaton)
    out = dfa.accepting[:, None] if mode == END else dfa.accepting[dfa.delta]
    small, small_out = mealy_minimize(dfa, out)
    return Machine(small.alphabet, small.delta, small_out, small.start, mode)


def quotient_machine(automaton: Automaton, letter: str) -> Machine:
    """{w : w·letter ∈ L} under end-marker reading (the per-letter fallback for `last`)."""
    dfa = from_automaton(automaton)
    k = dfa.alphabet.index(letter)
    small, small_out = mealy_minimize(dfa, dfa.accepting[dfa.delta[:, k]][:, None])
    return Machine(small.alphabet, small.delta, small_out, small.start, END)


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


# ------------------------------------------------------------------ one component
@dataclass
class Round:
    E: Dict[Hashable, int]          # label -> weight (internal labels)
    V: Dict[int, int]               # member -> potential (relative to the component's root)


@dataclass
class ComponentPlan:
    members: Tuple[int, ...]
    rounds: List[Round] = field(default_factory=list)
    base: Dict[Tuple[int, int], Hashable] = field(default_factory=dict)   # internal edge -> round-1 label
    needed: Dict[int, int] = field(default_factory=dict)                  # member -> rounds it needs
    obs_parts: Tuple[bool, Tuple[int, ...]] = (False, ())                 # phase used?, window distances used


def _partition_size(keys) -> int:
    return len(set(keys))


def _integer(vec: List[Fraction]) -> List[int]:
    den = 1
    for f in vec:
        den = den * f.denominator // gcd(den, f.denominator)
    return [int(f * den) for f in vec]


def _projection(Vfull: Dict[int, tuple], Efull: Dict[Hashable, tuple], cls: Dict[int, Hashable],
                lab: Dict[Tuple[int, int], Hashable], dim: int) -> Tuple[int, ...]:
    """Integer weights c such that c·V separates what the full vectors separate (members within
    a class, and new edge labels): small ones first (unit vectors, then pairs)."""
    def ok(c):
        dot = lambda v: sum(ci * vi for ci, vi in zip(c, v))
        want_s = _partition_size((cls[s], Vfull[s]) for s in Vfull)
        got_s = _partition_size((cls[s], dot(Vfull[s])) for s in Vfull)
        after = {e: tuple(x + y for x, y in zip(Vfull[e[0]], Efull[l])) for e, l in lab.items()}
        want_e = _partition_size((lab[e], after[e]) for e in lab)
        got_e = _partition_size((lab[e], dot(after[e])) for e in lab)
        return want_s == got_s and want_e == got_e
    cands = [tuple(int(i == j) for j in range(dim)) for i in range(dim)]
    if dim <= 8:
        for i in range(dim):
            for j in range(i + 1, dim):
                for sj in (1, -1, 2, -2):
                    cands.append(tuple(1 if x == i else (sj if x == j else 0) for x in range(dim)))
    for c in cands:
        if ok(c):
            return c
    big = 1 + 2 * max([abs(x) for v in list(Vfull.values()) + list(Efull.values()) for x in v] + [1])
    return tuple(big ** i for i in range(dim))  # injective on the finitely many vectors involved


def plan_component(P: Product, members: Tuple[int, ...]) -> ComponentPlan:
    """Rounds of balanced labellings until the members are told apart (NoConstruction if the
    refinement stops first)."""
    inside = set(members)
    k = len(P.machine.alphabet)
    obs = {s: (P.states[s][1], P.states[s][2]) for s in members}
    use_phase = len({o[0] for o in obs.values()}) > 1
    radius = P.config.radius
    dists = tuple(d for d in range(1, radius + 1)
                  if len({(o[1][-d] if len(o[1]) >= d else None) for o in obs.values()}) > 1)

    def seen(s):
        phi, u = obs[s]
        return ((phi if use_phase else None),
                tuple((u[-d] if len(u) >= d else None) for d in dists))

    plan = ComponentPlan(members, obs_parts=(use_phase, dists))
    internal = [(s, a) for s in members for a in range(k) if int(P.delta[s, a]) in inside]
    for s, a in internal:
        if P.config.labels == "full":
            phi, u = obs[s]
            plan.base[(s, a)] = (a, (phi + 1) % P.config.period, u)
        else:
            plan.base[(s, a)] = a
    cls: Dict[int, Hashable] = {s: seen(s) for s in members}
    lab: Dict[Tuple[int, int], Hashable] = dict(plan.base)
    plan.needed = {s: 0 for s in members}

    def separated(s) -> bool:
        return sum(1 for x in members if cls[x] == cls[s]) == 1

    while not all(separated(s) for s in members):
        if len(plan.rounds) >= MAX_ROUNDS:
            raise NoConstruction(f"no separation after {MAX_ROUNDS} rounds")
        labels = list(dict.fromkeys(lab.values()))
        lcol = {l: i for i, l in enumerate(labels)}
        # V = P·E with P(q) the label counts on a BFS-tree path from the root; one constraint per
        # non-tree edge (its fundamental cycle sums to zero): the same null space as all cycles
        root = members[0]
        path: Dict[int, List[int]] = {root: [0] * len(labels)}
        tree = set()
        order = [root]
        for x in order:
            for a in range(k):
                t = int(P.delta[x, a])
                if (x, a) in lab and t not in path:
                    row = list(path[x])
                    row[lcol[lab[(x, a)]]] += 1
                    path[t] = row
                    tree.add((x, a))
                    order.append(t)
        rows = []
        for (x, a), l in lab.items():
            if (x, a) in tree:
                continue
            t = int(P.delta[x, a])
            row = [pt - px for pt, px in zip(path[t], path[x])]
            row[lcol[l]] -= 1
            if any(row):
                rows.append(row)
        if rows:
            basis = [_integer(v) for v in rational_nullspace(rows)]
        else:
            basis = [[int(i == j) for j in range(len(labels))] for i in range(len(labels))]
        if not basis:
            raise NoConstruction("the only balanced labelling is zero and members are not separated")
        Efull = {l: tuple(b[lcol[l]] for b in basis) for l in labels}
        Vfull = {s: tuple(sum(c * e for c, e in zip(path[s], b)) for b in basis) for s in members}
        new_cls = {s: (cls[s], Vfull[s]) for s in members}
        new_lab = {e: (l, tuple(x + y for x, y in zip(Vfull[e[0]], Efull[l]))) for e, l in lab.items()}
        if _partition_size(new_cls.values()) == _partition_size(cls.values()) and \
                _partition_size(new_lab.values()) == _partition_size(lab.values()):
            raise NoConstruction("the balanced-labelling refinement stopped before the members were separated")
        c = _projection(Vfull, Efull, cls, lab, len(basis))
        V = {s: sum(ci * vi for ci, vi in zip(c, Vfull[s])) for s in members}
        E = {l: sum(ci * vi for ci, vi in zip(c, Efull[l])) for l in labels}
        g = 0
        for x in list(V.values()) + list(E.values()):
            g = gcd(g, abs(x))
        if g > 1:
            V = {s: v // g for s, v in V.items()}
            E = {l: v // g for l, v in E.items()}
        if all(e <= 0 for e in E.values()):  # the same labelling, read with positive weights
            V = {s: -v for s, v in V.items()}
            E = {l: -v for l, v in E.items()}
        was = {s: separated(s) for s in members}
        plan.rounds.append(Round(E, V))
        cls = {s: (cls[s], V[s]) for s in members}
        lab = {e: (l, V[e[0]] + E[l]) for e, l in lab.items()}
        for s in members:
            if not was[s] and separated(s):
                plan.needed[s] = len(plan.rounds)
    return plan


# ------------------------------------------------------------------ Boolean helpers
TRUE, FALSE = A.BoolConst(True), A.BoolConst(False)


def AND(*xs) -> A.Expr:
    out = []
    for x in xs:
        x = lift(x)
        if x == FALSE:
            return FALSE
        if x != TRUE and x not in out:
            out.append(x)
    if not out:
        return TRUE
    e = out[0]
    for x in out[1:]:
        e = A.And(e, x)
    return e


def OR(*xs) -> A.Expr:
    out = []
    for x in xs:
        x = lift(x)
        if x == TRUE:
            return TRUE
        if x != FALSE and x not in out:
            out.append(x)
    if not out:
        return FALSE
    e = out[0]
    for x in out[1:]:
        e = A.Or(e, x)
    return e


def NOT(x) -> A.Expr:
    x = lift(x)
    if x == TRUE:
        return FALSE
    if x == FALSE:
        return TRUE
    return A.Not(x)


# ------------------------------------------------------------------ the program
class _Writer:
    """Emits `let`s with readable names; constants and names are never re-bound."""

    def __init__(self, alphabet: Sequence[str], source: str):
        self.alphabet = tuple(alphabet)
        self.b = ProgramBuilder(alphabet, source)
        self.names = set()

    def let(self, name: str, expr: A.Expr) -> A.Expr:
        if isinstance(expr, (A.BoolConst, A.IntConst, A.Ref, A.Symbol)):
            return expr
        base, k = name, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return self.b.let(name, expr)

    def letters(self, ids) -> A.Expr:
        ids = sorted(set(int(a) for a in ids))
        if len(ids) == len(self.alphabet):
            return TRUE
        return OR(*[sym(self.alphabet[a]) for a in ids])


SATURATE = False    # measured: more counts make the prover slower than the affine invariants help
DEAD_GUARD = False


def _strict_zero(w: _Writer, name: str, event: A.Expr, saturate: bool = False) -> A.Expr:
    """No `event` strictly before this position (it may hold here). With `saturate`, the first
    event is counted once more by a count that stops at 1: garbage events after it then grow
    only the inner count, which makes the prover's invariants (`left` = `entered`) affine."""
    if event == FALSE:
        return TRUE
    n = w.let(f"{name}_n", count(event))
    if not saturate:
        return OR(eq(n, 0), AND(event, eq(n, 1)))
    first = w.let(f"{name}_first", AND(event, eq(n, 1)))
    return OR(eq(w.let(f"{name}_left", count(first)), 0), first)


def _sum(terms: List[Tuple[int, A.Expr]]) -> A.Expr:
    """Σ w·x, written with + and - (weights ±1 without a factor)."""
    expr = None
    for wgt, x in terms:
        if wgt == 0:
            continue
        mag = x if abs(wgt) == 1 else scale(abs(wgt), x)
        if expr is None:
            expr = mag if wgt > 0 else scale(wgt, x)
        else:
            expr = A.Add(expr, mag) if wgt > 0 else A.Sub(expr, mag)
    return expr if expr is not None else A.IntConst(0)


def components(P: Product):
    """(component of each product state, components in topological order, members of each)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(len(P.states)))
    g.add_edges_from((s, int(t)) for s in range(len(P.states)) for t in P.delta[s])
    cond = nx.condensation(g)
    order = list(nx.topological_sort(cond))
    return cond.graph["mapping"], order, {c: tuple(sorted(cond.nodes[c]["members"])) for c in order}


def build_program(P: Product, prefix: str = "", source: str = "<synthesized>",
                  writer: Optional[_Writer] = None) -> Tuple[A.Expr, _Writer]:
    """The accept expression (and the writer holding the lets) tracking P's prev state."""
    m = P.machine
    w = writer or _Writer(m.alphabet, source)
    k = len(m.alphabet)
    live = m.live
    q_of = [s[0] for s in P.states]
    comp_of, order, members_of = components(P)
    live_comps = [c for c in order if live[q_of[members_of[c][0]]]]
    plans = {c: plan_component(P, members_of[c]) for c in live_comps}  # NoConstruction propagates
    exact: Dict[int, A.Expr] = {}          # product state -> exact prev-state Boolean
    names = {c: f"{prefix}c{i}" for i, c in enumerate(live_comps)}
    start_comp = comp_of[0]

    def window_is(u: Tuple[int, ...], dists) -> A.Expr:
        parts = []
        for d in dists:
            if len(u) >= d:
                parts.append(eq(guarded(sym(m.alphabet[u[-d]]), [d]), 1))
            else:
                parts.append(eq(guarded(TRUE, [d]), 0))
        return AND(*parts)

    def obs_expr(s: int, plan: ComponentPlan) -> A.Expr:
        _, phi, u = P.states[s]
        use_phase, dists = plan.obs_parts
        parts = []
        if use_phase:
            parts.append(periodic(P.config.period, [(phi + 1) % P.config.period]))
        parts.append(window_is(u, dists))
        return AND(*parts)

    for c in live_comps:
        plan, nm = plans[c], names[c]
        members = plan.members
        inside = set(members)
        # ---- entry
        if c == start_comp:
            after = TRUE
            entries = {0: None}
        else:
            entries: Dict[int, List] = {}
            for s in range(len(P.states)):
                if comp_of[s] == c or s not in exact:
                    continue
                for a in range(k):
                    t = int(P.delta[s, a])
                    if t in inside:
                        entries.setdefault(t, []).append((s, a))
            enter_r = {}
            for r, edges in sorted(entries.items()):
                by_src: Dict[int, List[int]] = {}
                for s, a in edges:
                    by_src.setdefault(s, []).append(a)
                enter_r[r] = OR(*[AND(exact[s], w.letters(al)) for s, al in sorted(by_src.items())])
            if len(enter_r) == 1:
                enter = w.let(f"{nm}_enter", next(iter(enter_r.values())))
                enter_r = {r: enter for r in enter_r}
            else:
                enter_r = {r: w.let(f"{nm}_enter_s{r}", e) for r, e in enter_r.items()}
                enter = w.let(f"{nm}_enter", OR(*enter_r.values()))
            if enter == FALSE:
                continue  # never entered (all its entries come from untracked states)
            after = w.let(f"{nm}_after", AND(ge(w.let(f"{nm}_entered", count(enter)), 1), NOT(enter)))
        if len(entries) > 1:
            came = {r: w.let(f"{nm}_from_s{r}", ge(count(enter_r[r]), 1)) for r in entries}
        else:
            came = {r: TRUE for r in entries}
        # ---- rounds: round-t label Booleans, counts, strict potentials
        lab_expr: Dict[Hashable, A.Expr] = {}

        def base_label(l) -> A.Expr:
            if P.config.labels == "full":
                a, ph, u = l
                parts = [sym(m.alphabet[a])]
                if P.config.period > 1:
                    parts.append(periodic(P.config.period, [ph]))
                parts.append(window_is(u, range(1, P.config.radius + 1)))
                return AND(*parts)
            return sym(m.alphabet[l])

        labels_now = {l: base_label(l) for l in dict.fromkeys(plan.base.values())}
        pots: List[A.Expr] = []     # strict potential of round t (relative to the entry)
        totals: List[A.Expr] = []   # non-strict
        for t, rnd in enumerate(plan.rounds, start=1):
            by_w: Dict[int, List[Hashable]] = {}
            for l, e in rnd.E.items():
                if e:
                    by_w.setdefault(e, []).append(l)
            terms, now = [], []
            for j, (wgt, ls) in enumerate(sorted(by_w.items(), key=lambda x: (x[0] < 0, abs(x[0])))):
                b = w.let(f"{nm}_r{t}_is{j}", AND(after, OR(*[labels_now[l] for l in ls])))
                cnt = w.let(f"{nm}_r{t}_n{j}", count(b))
                terms.append((wgt, cnt))
                now.append((wgt, b))
            total = w.let(f"{nm}_r{t}_sum", _sum(terms))
            cur = None
            for wgt, b in now:
                term = ite(b, wgt, 0)
                cur = term if cur is None else A.Add(cur, term)
            pot = w.let(f"{nm}_r{t}_pot", A.Sub(total, cur) if cur is not None else total)
            pots.append(pot)
            totals.append(total)
            if t < len(plan.rounds):   # labels of round t+1: (old label, potential after the edge)
                start_v = rnd.V[0] if c == start_comp else None
                new_labels = {}
                for l, e in list(rnd.E.items()):
                    for v in sorted({rnd.V[s] + e for (s, a), l0 in _labels_at(plan, t - 1).items() if l0 == l}):
                        if c == start_comp:
                            test = eq(total, v - start_v)
                        else:
                            test = OR(*[AND(came[r], eq(total, v - rnd.V[r])) for r in entries])
                        new_labels[(l, v)] = w.let(f"{nm}_r{t + 1}_lab", AND(labels_now[l], test))
                labels_now = new_labels
        # ---- raw prev-state Booleans, exits, alive
        raw: Dict[int, A.Expr] = {}
        for s in members:
            tests = []
            for t in range(plan.needed[s]):
                rnd = plan.rounds[t]
                if c == start_comp:
                    tests.append(eq(pots[t], rnd.V[s] - rnd.V[0]))
                else:
                    tests.append(OR(*[AND(came[r], eq(pots[t], rnd.V[s] - rnd.V[r])) for r in entries]))
            raw[s] = w.let(f"{nm}_raw_s{s}", AND(after, obs_expr(s, plan), *tests))
        exit_terms = []
        for s in members:
            out_letters = [a for a in range(k) if int(P.delta[s, a]) not in inside]
            if out_letters:
                exit_terms.append(AND(raw[s], w.letters(out_letters)))
        leave = w.let(f"{nm}_exit", OR(*exit_terms))
        alive = w.let(f"{nm}_alive", _strict_zero(w, f"{nm}_exit", leave, SATURATE))
        for s in members:
            exact[s] = w.let(f"{nm}_at_s{s}", AND(raw[s], alive))
    # ---- output
    guard = TRUE
    if DEAD_GUARD:  # once the run is in a dead state nothing is accepted: one count says so
        dead_terms = []
        for s in exact:
            dead = [a for a in range(k) if not live[q_of[int(P.delta[s, a])]]]
            if dead:
                dead_terms.append(AND(exact[s], w.letters(dead)))
        guard = _strict_zero(w, f"{prefix}dead", w.let(f"{prefix}dead", OR(*dead_terms)))
    if m.mode == END:
        accept = OR(*[exact[s] for s in exact if m.out[q_of[s], 0]])
    else:
        groups: Dict[Tuple[int, ...], List[int]] = {}
        for s in exact:
            outs = tuple(a for a in range(k) if m.out[q_of[s], a])
            if outs:
                groups.setdefault(outs, []).append(s)
        accept = OR(*[AND(OR(*[exact[s] for s in ss]), w.letters(outs)) for outs, ss in sorted(groups.items())])
    return AND(guard, accept), w


def _labels_at(plan: ComponentPlan, t: int) -> Dict[Tuple[int, int], Hashable]:
    """Internal edge -> its label in round t+1 (t = 0: the base labels)."""
    lab = dict(plan.base)
    for rnd in plan.rounds[:t]:
        lab = {e: (l, rnd.V[e[0]] + rnd.E[l]) for e, l in lab.items()}
    return lab


def construct(machine: Machine, config: Config, source: str = "<synthesized>") -> Tuple[A.Program, List[Product]]:
    """One candidate program for this configuration and the product it tracks (NoConstruction
    when the route fails)."""
    P = build_product(machine, config)
    accept, w = build_program(P, source=source)
    w.b.accept(accept)
    return w.b.build(), [P]


def construct_by_quotients(automaton: Automaton, config: Config,
                           source: str = "<synthesized>") -> Tuple[A.Program, List[Product]]:
    """Last-position acceptance, one tracker per letter: accept = OR_a (a ∧ the prefix before it is in
    {w : w·a ∈ L}), each quotient read as if the current position were an end marker."""
    w = _Writer(automaton.alphabet, source)
    parts, products = [], []
    for i, a in enumerate(automaton.alphabet):
        P = build_product(quotient_machine(automaton, a), config)
        acc, _ = build_program(P, prefix=f"x{i}_", writer=w)
        parts.append(AND(sym(a), acc))
        products.append(P)
    w.b.accept(OR(*parts))
    return w.b.build(), products


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
