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

from typing import Dict, Hashable, List, Optional, Tuple

from verify.crasp import ast as A
from verify.crasp.builder import (ProgramBuilder, count, eq, ge, guarded, ite, lift, periodic, scale,
                                  sym)
from verify.crasp.interpreter import ACCEPT_END
from verify.regular.synthesis_machine import (Config, Machine, NoConstruction, Product,  # noqa: F401 (re-exported)
                                              build_product, components, configs, machine_for,
                                              quotient_machine, scc_periods, unfolded)
from verify.regular.synthesis_plan import ComponentPlan, labels_at, plan_component
from verify.spec import Automaton


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
                    for v in sorted({rnd.V[s] + e for (s, a), l0 in labels_at(plan, t - 1).items() if l0 == l}):
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
    if m.acceptance == ACCEPT_END:
        accept = OR(*[exact[s] for s in exact if m.out[q_of[s], 0]])
    else:
        groups: Dict[Tuple[int, ...], List[int]] = {}
        for s in exact:
            outs = tuple(a for a in range(k) if m.out[q_of[s], a])
            if outs:
                groups.setdefault(outs, []).append(s)
        accept = OR(*[AND(OR(*[exact[s] for s in ss]), w.letters(outs)) for outs, ss in sorted(groups.items())])
    return AND(guard, accept), w



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
