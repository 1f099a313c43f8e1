"""Complete DFAs as numpy tables, and their minimization (Moore's partition refinement).

`Dfa` is the one automaton object every stage of `verify classify` works on:
- `delta[q, k]`: the state after reading symbol `alphabet[k]` in state q (always defined: complete);
- `accepting[q]`: membership of the words that end in q;
- `start`: the start state.
`minimal_dfa(automaton)` turns a `verify.spec.Automaton` (missing transitions go to a rejecting
sink) into the minimal complete DFA with states numbered in breadth-first order from the start,
symbols in alphabet order, so two equal languages over the same alphabet get identical tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from verify.problems import UserError
from verify.spec import Automaton

# `verify classify` decides last-position acceptance through one quotient DFA per symbol, each a table of
# states × symbols: time grows with the square of the alphabet, so the alphabet is capped (docs/classify.md)
MAX_ALPHABET = 256


def require_alphabet_size(size: int, what: str = "the alphabet") -> None:
    """A UserError when a language for `verify classify` has more than MAX_ALPHABET symbols."""
    if size > MAX_ALPHABET:
        raise UserError(f"{what} has {size:,} symbols; `verify classify` takes at most {MAX_ALPHABET} "
                        "(docs/classify.md lists the limits)")


@dataclass(frozen=True, eq=False)
class Dfa:
    alphabet: Tuple[str, ...]
    delta: np.ndarray          # (states, symbols) int64, complete
    accepting: np.ndarray      # (states,) bool
    start: int = 0

    @property
    def n_states(self) -> int:
        return int(self.delta.shape[0])

    def run(self, word: Sequence[str], state: int = -1) -> int:
        """The state after `word` (from the start unless `state` is given)."""
        index = {a: k for k, a in enumerate(self.alphabet)}
        q = self.start if state < 0 else state
        for a in word:
            q = int(self.delta[q, index[a]])
        return q

    def accepts(self, word: Sequence[str]) -> bool:
        return bool(self.accepting[self.run(word)])

    def same_as(self, other: "Dfa") -> bool:
        return (self.alphabet == other.alphabet and self.start == other.start
                and np.array_equal(self.delta, other.delta) and np.array_equal(self.accepting, other.accepting))

    def with_accepting(self, accepting: np.ndarray) -> "Dfa":
        return Dfa(self.alphabet, self.delta, np.asarray(accepting, dtype=bool), self.start)

    def minimize(self) -> "Dfa":
        return minimize(self)

    def to_automaton(self, prefix: str = "q") -> Automaton:
        """A `verify.spec.Automaton` with every transition explicit (states named q0, q1, ...)."""
        names = [f"{prefix}{q}" for q in range(self.n_states)]
        table = {(names[q], a): names[int(self.delta[q, k])]
                 for q in range(self.n_states) for k, a in enumerate(self.alphabet)}
        acc = [names[q] for q in range(self.n_states) if self.accepting[q]]
        auto = Automaton.make(self.alphabet, table, names[self.start], acc)
        # keep the numbering: Automaton.make orders states by first appearance, so restore it
        return Automaton(auto.alphabet, tuple(names), auto.start, auto.accepting, auto.transitions)


def from_automaton(automaton: Automaton) -> Dfa:
    """The complete DFA of an Automaton: its states in order, then the rejecting sink."""
    delta, final, start = automaton.tables()
    return Dfa(tuple(automaton.alphabet), np.ascontiguousarray(delta[:, :len(automaton.alphabet)]),
               final.copy(), int(start))


def reachable_order(dfa: Dfa) -> np.ndarray:
    """The states reachable from the start, in breadth-first order."""
    rows = dfa.delta.tolist()                 # plain ints: one conversion, not one per transition
    seen = bytearray(len(rows))
    order = [dfa.start]
    seen[dfa.start] = 1
    k = 0
    while k < len(order):
        for t in rows[order[k]]:
            if not seen[t]:
                seen[t] = 1
                order.append(t)
        k += 1
    return np.array(order, dtype=np.int64)


def reachable(dfa: Dfa) -> Dfa:
    """Keeps the states reachable from the start, renumbered in breadth-first order."""
    old = reachable_order(dfa)
    remap = np.full(dfa.n_states, -1, dtype=np.int64)
    remap[old] = np.arange(len(old))
    return Dfa(dfa.alphabet, remap[dfa.delta[old]], dfa.accepting[old].copy(), 0)


def minimize(dfa: Dfa) -> Dfa:
    """Minimal complete DFA: reachable part, Hopcroft's partition refinement (O(n·k·log n): splitters
    taken from a worklist, the smaller half re-queued), then BFS numbering from the start."""
    d = reachable(dfa)
    n, k = d.n_states, len(d.alphabet)
    inverse = [[[] for _ in range(n)] for _ in range(k)]       # inverse[a][t]: states q with q·a = t
    for a in range(k):
        for q, t in enumerate(d.delta[:, a].tolist()):
            inverse[a][t].append(q)
    block = [0] * n
    blocks: List[set] = []
    for members in (set(np.nonzero(d.accepting)[0].tolist()), set(np.nonzero(~d.accepting)[0].tolist())):
        if members:
            for q in members:
                block[q] = len(blocks)
            blocks.append(members)
    # splitters: the smaller initial block with every letter (one block: nothing can split it)
    work = set() if len(blocks) < 2 else {(min((0, 1), key=lambda b: len(blocks[b])), a) for a in range(k)}
    while work:
        b, a = work.pop()
        touched: Dict[int, set] = {}
        for t in blocks[b]:
            for q in inverse[a][t]:
                touched.setdefault(block[q], set()).add(q)
        for y, inside in touched.items():
            if len(inside) == len(blocks[y]):
                continue
            # split in time proportional to |inside| (Hopcroft's bound): the smaller half leaves y
            if 2 * len(inside) <= len(blocks[y]):
                blocks[y] -= inside                  # in place: O(|inside|)
                small = inside
            else:                                   # |y| < 2·|inside|: the difference is as cheap
                small = blocks[y] - inside
                blocks[y] = inside
            z = len(blocks)
            blocks.append(small)
            for q in small:
                block[q] = z
            # Hopcroft's rule: if (y, c) was queued, y (now the larger half) stays queued and z joins it;
            # otherwise queuing the smaller half suffices. z is always the smaller half: queue (z, c).
            for c in range(k):
                work.add((z, c))
    cls = np.array(block, dtype=np.int64)
    reps = np.zeros(len(blocks), dtype=np.int64)
    reps[cls[::-1]] = np.arange(n)[::-1]
    quotient = Dfa(d.alphabet, cls[d.delta[reps]], d.accepting[reps].copy(), int(cls[d.start]))
    return reachable(quotient)


def minimal_dfa(automaton: Automaton) -> Dfa:
    """The minimal complete DFA of an Automaton (BFS-numbered; the start is state 0)."""
    return minimize(from_automaton(automaton))


def quotient_dfa(dfa: Dfa, symbol: str) -> Dfa:
    """The minimal DFA of {w : w·symbol ∈ L}: same transitions, accepting where `symbol` leads to
    acceptance. Used for last-position acceptance (the last letter is visible there)."""
    k = dfa.alphabet.index(symbol)
    return minimize(dfa.with_accepting(dfa.accepting[dfa.delta[:, k]]))


def table_dict(dfa: Dfa) -> Dict[str, object]:
    """The DFA file format of `verify classify` (docs/classify.md)."""
    return {"alphabet": list(dfa.alphabet), "start": f"q{dfa.start}",
            "accepting": [f"q{q}" for q in range(dfa.n_states) if dfa.accepting[q]],
            "transitions": {f"q{q}": {a: f"q{int(dfa.delta[q, k])}" for k, a in enumerate(dfa.alphabet)}
                            for q in range(dfa.n_states)}}
