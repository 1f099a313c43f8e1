"""Specifications of languages that every backend can read: a DFA, or a counter specification
(an optional DFA plus linear constraints over prefix symbol counts).

The catalogue's references are computed from these (vectorized), and the Z3 backend encodes the
same objects, so "reference" and "specification" never drift apart.

CounterSpec membership of w = w_1..w_n:
    automaton accepts w (if given)
    and every proper prefix w_1..w_i (i < n) satisfies all `always` constraints
    and w itself satisfies all `final` constraints.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

OPS = ("<", "<=", "==", "!=", ">=", ">")
_NP = {"<": np.less, "<=": np.less_equal, "==": np.equal, "!=": np.not_equal,
       ">=": np.greater_equal, ">": np.greater}


@dataclass(frozen=True)
class Automaton:
    """A DFA. `transitions` maps (state, symbol) -> state; missing entries go to a rejecting sink."""

    alphabet: Tuple[str, ...]
    states: Tuple[str, ...]
    start: str
    accepting: frozenset
    transitions: Tuple[Tuple[Tuple[str, str], str], ...]

    @staticmethod
    def make(alphabet: Sequence[str], transitions: Mapping[Tuple[str, str], str], start: str,
             accepting: Sequence[str]) -> "Automaton":
        states = []
        for (s, _), t in transitions.items():
            for x in (s, t):
                if x not in states:
                    states.append(x)
        for x in (start, *accepting):
            if x not in states:
                states.append(x)
        for (s, a) in transitions:
            if a not in alphabet:
                raise ValueError(f"transition on {a!r} outside the alphabet")
        return Automaton(tuple(alphabet), tuple(states), start, frozenset(accepting),
                         tuple(sorted(transitions.items())))

    @property
    def delta(self) -> Dict[Tuple[str, str], str]:
        return dict(self.transitions)

    def tables(self) -> Tuple[np.ndarray, np.ndarray, int]:
        """(delta[state, symbol_id], accepting[state], start) with the sink as the last state.
        Symbol id len(alphabet) (the end marker) always goes to the sink."""
        index = {s: k for k, s in enumerate(self.states)}
        sink = len(self.states)
        delta = np.full((sink + 1, len(self.alphabet) + 1), sink, dtype=np.int64)
        for (s, a), t in self.transitions:
            delta[index[s], self.alphabet.index(a)] = index[t]
        final = np.zeros(sink + 1, dtype=bool)
        final[[index[s] for s in self.accepting]] = True
        return delta, final, index[self.start]

    def prefix_states(self, ids: np.ndarray) -> np.ndarray:
        """State after each prefix, shape (batch, n); one vectorized step per position."""
        delta, _, start = self.tables()
        ids = np.asarray(ids)
        state = np.full(ids.shape[0], start, dtype=np.int64)
        out = np.empty(ids.shape, dtype=np.int64)
        for i in range(ids.shape[1]):
            state = delta[state, ids[:, i]]
            out[:, i] = state
        return out

    def labels(self, ids: np.ndarray) -> np.ndarray:
        _, final, _ = self.tables()
        return final[self.prefix_states(ids)]

    def accepts(self, word: Sequence[str]) -> bool:
        d, state = self.delta, self.start
        for a in word:
            state = d.get((state, a))
            if state is None:
                return False
        return state in self.accepting


@dataclass(frozen=True)
class LinearConstraint:
    """sum_a coeffs[a] * #a  op  bound, over the counts of symbols in a prefix."""

    coeffs: Tuple[Tuple[str, int], ...]
    op: str
    bound: int

    @staticmethod
    def make(coeffs: Mapping[str, int], op: str, bound: int = 0) -> "LinearConstraint":
        if op not in OPS:
            raise ValueError(f"op must be one of {OPS}")
        return LinearConstraint(tuple(sorted(coeffs.items())), op, int(bound))

    def holds(self, counts: Mapping[str, object]):
        """Works on ints, numpy arrays and z3 integer terms alike."""
        total = sum(c * counts[a] for a, c in self.coeffs)
        return {"<": lambda x, y: x < y, "<=": lambda x, y: x <= y, "==": lambda x, y: x == y,
                "!=": lambda x, y: x != y, ">=": lambda x, y: x >= y, ">": lambda x, y: x > y}[self.op](
            total, self.bound)

    def __str__(self) -> str:
        terms = " + ".join(f"{c}*#{a}" for a, c in self.coeffs) or "0"
        return f"{terms} {self.op} {self.bound}"


@dataclass(frozen=True)
class CounterSpec:
    alphabet: Tuple[str, ...]
    always: Tuple[LinearConstraint, ...] = ()
    final: Tuple[LinearConstraint, ...] = ()
    automaton: Optional[Automaton] = None

    def labels(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        batch, n = ids.shape
        counts = {a: np.cumsum(ids == k, axis=1, dtype=np.int64) for k, a in enumerate(self.alphabet)}
        always_ok = np.ones((batch, n), dtype=bool)
        for c in self.always:
            always_ok &= c.holds(counts)
        # every proper prefix satisfies `always`: a running AND, shifted by one position
        proper = np.ones((batch, n), dtype=bool)
        if n > 1:
            proper[:, 1:] = np.logical_and.accumulate(always_ok, axis=1)[:, :-1]
        final_ok = np.ones((batch, n), dtype=bool)
        for c in self.final:
            final_ok &= c.holds(counts)
        out = proper & final_ok
        if self.automaton is not None:
            out &= self.automaton.labels(ids)
        return out

    def accepts(self, word: Sequence[str]) -> bool:
        if not word:
            raise ValueError("CounterSpec membership is defined for non-empty words")
        ids = np.array([[self.alphabet.index(a) for a in word]])
        return bool(self.labels(ids)[0, -1])


Spec = Union[Automaton, CounterSpec]


def spec_labels(spec: Spec):
    """A Case.labels function from a specification."""
    return spec.labels
