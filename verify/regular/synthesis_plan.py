"""One strongly connected component of the product, planned for `synthesis_construct` (REGULAR.md §3):
rounds of balanced labellings (every cycle sums to zero; potentials V, edge weights E), each relabelling
every internal edge with (old label, potential after it), until the members are told apart
(`plan_component`; NoConstruction when the refinement stops first).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import Dict, Hashable, List, Tuple

from verify.regular.synthesis_machine import NoConstruction, Product
from verify.smt.linear import rational_nullspace

MAX_ROUNDS = 12


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



def labels_at(plan: ComponentPlan, t: int) -> Dict[Tuple[int, int], Hashable]:
    """Internal edge -> its label in round t+1 (t = 0: the base labels)."""
    lab = dict(plan.base)
    for rnd in plan.rounds[:t]:
        lab = {e: (l, rnd.V[e[0]] + rnd.E[l]) for e, l in lab.items()}
    return lab

