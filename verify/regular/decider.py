"""Deciding plain C-RASP membership of a regular language: the SCC-wise balanced-labelling
procedure of /work/shared/REGULAR.md §3 [paper: ADT App. J; recon: the polynomial algebra].

One strongly connected component C of the minimal DFA at a time (L is C-RASP iff every one passes):
edges inside C keep their label, every other edge out of a state of C goes to an exit node.
A balanced labelling is E: labels -> Q^d with a potential V on C, V(t) = V(q) + E(label) on every
internal edge, V(root) = 0. With a BFS spanning tree, V = P·E where P(q) counts the labels on
the tree path root -> q, and the remaining constraints are one per non-tree edge ("fundamental
cycle"): (P(t) - P(q) - 1_label)·E = 0, the rows of an integer matrix B. Balanced labellings are
null(B); this spans the same space as all simple cycles, in polynomial time.

Relabelling gives edge q --l--> the value V(q) + E(l) over every balanced labelling, i.e. the linear
functional P(q) + 1_l on null(B). Two edges get the same new label iff their functionals differ
by an element of rowspace(B): we reduce each functional to its exact normal form modulo an echelon
basis of rowspace(B) (Fractions, sparse rows), which is canonical. A label used only on exit
edges has an unconstrained E, so such an edge is labelled (normal form of P(q), old label).
As in ADT's implementation, round 1 replaces letters by vectors, later rounds keep the previous
label beside the new vector (so partitions only refine) and the rounds stop when the partition
stops refining, or when the only balanced labelling is 0 (then the labels are kept). The
component passes iff no two of its states have the same set of outgoing labels.

Acceptance: `end` (output read at an appended end marker) is the procedure on L's minimal DFA;
`last` (output read at the last position, where the current letter is visible) decides every
quotient L·σ⁻¹ = {w : wσ ∈ L} under `end` [recon: a last-position program reads the current
letter; an end-marker program for each quotient is simulated at the last position by evaluating
the final position's operations as if it were the marker]."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Dict, Hashable, List, Optional, Sequence, Tuple

import networkx as nx

from verify.crasp.interpreter import ACCEPT_END, ACCEPT_LAST
from verify.regular.dfa import Dfa, quotient_dfa

MAX_ROUNDS = 10_000
Check = Optional[Callable[[], None]]     # called between steps: raises to stop (the classify budget's deadline)


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class SccResult:
    states: Tuple[int, ...]
    passed: bool
    rounds: int
    nullity: Tuple[int, ...]                 # dimension of the balanced labellings, per round
    unseparated: Optional[Tuple[int, int]] = None   # two states with the same outgoing labels
    system: Tuple[str, ...] = ()             # round 1's equations V(t) = V(q) + E(a)
    round1_basis: Tuple[Tuple[str, ...], ...] = ()  # a basis of the balanced letter labellings


@dataclass(frozen=True)
class DeciderResult:
    passed: bool
    acceptance: str
    sccs: Tuple[SccResult, ...]
    quotient: Optional[str] = None          # `last`: the letter σ whose quotient L·σ⁻¹ failed
    dfa: Optional[Dfa] = None               # the DFA the failing component lives in

    @property
    def failing(self) -> Optional[SccResult]:
        return next((s for s in self.sccs if not s.passed), None)


class _Echelon:
    """An exact echelon basis (sparse Fraction rows) and canonical normal forms modulo its span."""

    def __init__(self):
        self.rows: List[Tuple[int, Dict[int, Fraction]]] = []    # (pivot, row with row[pivot] = 1)

    def reduce(self, x: Dict[int, Fraction]) -> Dict[int, Fraction]:
        x = {k: v for k, v in x.items() if v}
        for p, row in self.rows:             # insertion order: row i is zero at earlier pivots
            c = x.get(p)
            if c:
                for k, v in row.items():
                    nv = x.get(k, 0) - c * v
                    if nv:
                        x[k] = nv
                    else:
                        x.pop(k, None)
        return x

    def insert(self, x: Dict[int, Fraction]) -> bool:
        x = self.reduce(x)
        if not x:
            return False
        p = min(x)
        inv = 1 / Fraction(x[p])
        self.rows.append((p, {k: Fraction(v) * inv for k, v in x.items()}))
        return True

    @property
    def rank(self) -> int:
        return len(self.rows)


def _components(dfa: Dfa) -> List[Tuple[int, ...]]:
    g = nx.DiGraph()
    g.add_nodes_from(range(dfa.n_states))
    g.add_edges_from((q, int(t)) for q in range(dfa.n_states) for t in dfa.delta[q])
    return [tuple(sorted(c)) for c in nx.strongly_connected_components(g)]


def _tree(states: Sequence[int], internal: List[Tuple[int, int, int]]):
    """BFS spanning tree of the component from its least state: parent edge index per state."""
    out: Dict[int, List[int]] = {}
    for i, (q, _, t) in enumerate(internal):
        out.setdefault(q, []).append(i)
    root = states[0]
    parent: Dict[int, Optional[int]] = {root: None}
    order = [root]
    for q in order:
        for i in out.get(q, ()):
            t = internal[i][2]
            if t not in parent:
                parent[t] = i
                order.append(t)
    return parent, order


def decide_scc(dfa: Dfa, states: Tuple[int, ...], names: Optional[Sequence[str]] = None,
               check: Check = None) -> SccResult:
    check = check or _nothing
    inside = set(states)
    internal: List[Tuple[int, int, int]] = []    # (source, edge id in the DFA, target)
    exits: List[Tuple[int, int]] = []            # (source, edge id)
    k = len(dfa.alphabet)
    for q in states:
        for a in range(k):
            t = int(dfa.delta[q, a])
            if t in inside:
                internal.append((q, q * k + a, t))
            else:
                exits.append((q, q * k + a))
    label: Dict[int, Hashable] = {q * k + a: dfa.alphabet[a] for q in states for a in range(k)}
    if len(states) == 1:
        return SccResult(states, True, 0, ())
    parent, order = _tree(states, internal)
    nullity: List[int] = []
    system: Tuple[str, ...] = ()
    basis1: Tuple[Tuple[str, ...], ...] = ()
    n_classes = len(set(label.values()))
    rounds = 0
    while rounds < MAX_ROUNDS:
        internal_labels = sorted({label[e] for _, e, _ in internal}, key=repr)
        col = {l: i for i, l in enumerate(internal_labels)}
        # P(q): label counts on the tree path root -> q
        paths: Dict[int, Dict[int, int]] = {}
        for q in order:
            i = parent[q]
            if i is None:
                paths[q] = {}
            else:
                src, e, _ = internal[i]
                p = dict(paths[src])
                p[col[label[e]]] = p.get(col[label[e]], 0) + 1
                paths[q] = p
        tree_edges = {i for i in parent.values() if i is not None}
        ech = _Echelon()
        for i, (q, e, t) in enumerate(internal):
            if i in tree_edges:
                continue
            if not i & 63:
                check()
            row: Dict[int, Fraction] = {}
            for c, v in paths[t].items():
                row[c] = row.get(c, 0) + v
            for c, v in paths[q].items():
                row[c] = row.get(c, 0) - v
            row[col[label[e]]] = row.get(col[label[e]], 0) - 1
            ech.insert({c: Fraction(v) for c, v in row.items()})
        nullity.append(len(internal_labels) - ech.rank)
        if rounds == 0:
            system, basis1 = _round1(dfa, states, internal, ech, internal_labels, names)
        if ech.rank == len(internal_labels):
            break                            # only the zero labelling: keep the current labels
        # normal forms are linear: nf(P(t)) = nf(P(q)) + nf(e_label) along the tree, and an edge's
        # functional P(q) + e_label reduces to nf(P(q)) + nf(e_label); each is supported on the free columns
        unit = {c: ech.reduce({c: Fraction(1)}) for c in range(len(internal_labels))}
        nf: Dict[int, Dict[int, Fraction]] = {}
        for q in order:
            i = parent[q]
            nf[q] = {} if i is None else _add(nf[internal[i][0]], unit[col[label[internal[i][1]]]])
        check()
        new: Dict[int, Hashable] = {}
        for q, e in [(q, e) for q, e, _ in internal] + exits:
            l = label[e]
            if l in col:
                key = ("v", tuple(sorted(_add(nf[q], unit[col[l]]).items())))
            else:
                key = ("x", tuple(sorted(nf[q].items())), l)
            new[e] = key if rounds == 0 else (key, l)
        rounds += 1
        classes = len(set(new.values()))
        label = new
        if rounds > 1 and classes == n_classes:
            break
        n_classes = classes
    outs: Dict[frozenset, int] = {}
    for q in states:
        labels = frozenset(label[q * k + a] for a in range(k))
        if labels in outs:
            return SccResult(states, False, rounds, tuple(nullity), (outs[labels], q), system, basis1)
        outs[labels] = q
    return SccResult(states, True, rounds, tuple(nullity), None, system, basis1)


def _add(x: Dict[int, Fraction], y: Dict[int, Fraction]) -> Dict[int, Fraction]:
    out = dict(x)
    for k, v in y.items():
        nv = out.get(k, 0) + v
        if nv:
            out[k] = nv
        else:
            out.pop(k, None)
    return out


def _round1(dfa, states, internal, ech, letters, names):
    """Round 1's system in words, and a basis of its balanced letter labellings (for certificates)."""
    name = (lambda q: names[q]) if names else (lambda q: f"q{q}")
    system = tuple(f"V({name(t)}) = V({name(q)}) + E({dfa.alphabet[e % len(dfa.alphabet)]})"
                   for q, e, t in internal[:60])
    pivots = {p for p, _ in ech.rows}
    free = [c for c in range(len(letters)) if c not in pivots]
    basis = []
    for f in free:                           # solve B·E = 0 with E[f] = 1, other free columns 0
        vec = {f: Fraction(1)}
        for p, row in reversed(ech.rows):
            vec[p] = -sum(v * vec.get(c, 0) for c, v in row.items() if c != p)
        basis.append(tuple(f"E({letters[c]})={vec.get(c, 0)}" for c in range(len(letters))))
    return system, tuple(basis)


def decide_end(dfa: Dfa, names: Optional[Sequence[str]] = None, check: Check = None) -> DeciderResult:
    """End-marker acceptance: the procedure on the minimal DFA itself."""
    results = []
    for comp in sorted(_components(dfa)):
        if check is not None:
            check()
        r = decide_scc(dfa, comp, names, check)
        results.append(r)
        if not r.passed:
            return DeciderResult(False, ACCEPT_END, tuple(results), dfa=dfa)
    return DeciderResult(True, ACCEPT_END, tuple(results), dfa=dfa)


def decide(dfa: Dfa, acceptance: str = ACCEPT_LAST, names: Optional[Sequence[str]] = None,
           check: Check = None) -> DeciderResult:
    """Is the language of the minimal DFA `dfa` in plain C-RASP under this acceptance convention?
    `check` is called between steps and may raise to stop (`verify classify`'s deadline)."""
    if acceptance == ACCEPT_END:
        return decide_end(dfa, names, check)
    if acceptance != ACCEPT_LAST:
        raise ValueError(f"acceptance must be last or end, not {acceptance!r}")
    all_results: List[SccResult] = []
    for a in dfa.alphabet:
        if check is not None:
            check()
        q = quotient_dfa(dfa, a)
        r = decide_end(q, check=check)
        all_results.extend(r.sccs)
        if not r.passed:
            return DeciderResult(False, ACCEPT_LAST, tuple(all_results), quotient=a, dfa=q)
    return DeciderResult(True, ACCEPT_LAST, tuple(all_results))


def access_words(dfa: Dfa) -> List[Tuple[str, ...]]:
    """A shortest word reaching each state (BFS, letters in alphabet order)."""
    words: List[Optional[Tuple[str, ...]]] = [None] * dfa.n_states
    words[dfa.start] = ()
    order = [dfa.start]
    for q in order:
        for a, t in enumerate(dfa.delta[q]):
            t = int(t)
            if words[t] is None:
                words[t] = words[q] + (dfa.alphabet[a],)
                order.append(t)
    return words  # type: ignore[return-value]
