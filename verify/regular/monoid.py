"""The transition monoid of a minimal complete DFA (= the syntactic monoid of its language) and the
algebraic classes of /work/shared/REGULAR.md §1: R-trivial, R_omega, aperiodic, quasi-aperiodic.

Elements are maps Q -> Q (numpy rows); element 0 is the identity (the empty word). Built by
breadth-first search over the right Cayley graph m -> m·a, so every element has a shortest word.
The monoid can have up to |Q|^|Q| elements: past MAX_MONOID elements (or MAX_CELLS elements x states,
checked before each element is stored) `TooLarge` is raised and the classes are reported undecided
("monoid too large")."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Dict, FrozenSet, List, Optional, Tuple

import networkx as nx
import numpy as np

from verify.regular.dfa import Dfa
from verify.regular.regex import TooLarge

MAX_MONOID = 50_000
MAX_CELLS = 20_000_000            # elements x states kept in memory (160 MB of int64)
MAX_STABILITY_STEPS = 10_000


@dataclass(frozen=True, eq=False)
class Monoid:
    dfa: Dfa
    maps: np.ndarray                  # (elements, states): element m sends q to maps[m, q]
    right: np.ndarray                 # (elements, symbols): index of m·a
    words: Tuple[Tuple[str, ...], ...]  # a shortest word of each element

    @property
    def size(self) -> int:
        return int(self.maps.shape[0])

    @cached_property
    def index(self) -> Dict[bytes, int]:
        return {self.maps[m].tobytes(): m for m in range(self.size)}

    def of(self, row: np.ndarray) -> int:
        return self.index[np.ascontiguousarray(row, dtype=np.int64).tobytes()]

    def mul(self, m: int, n: int) -> int:
        """m·n: first m, then n."""
        return self.of(self.maps[n][self.maps[m]])

    def element_of(self, word) -> int:
        q = np.arange(self.dfa.n_states)
        k = {a: i for i, a in enumerate(self.dfa.alphabet)}
        for a in word:
            q = self.dfa.delta[q, k[a]]
        return self.of(q)

    def power_cycle(self, m: int) -> Tuple[int, int, int]:
        """(index i, period p, idempotent power m^ω) with m^(i+p) = m^i."""
        seen: Dict[int, int] = {}
        x, k = m, 1
        while x not in seen:
            seen[x] = k
            x, k = self.mul(x, m), k + 1
        i, p = seen[x], k - seen[x]
        # m^ω: the unique idempotent among m^i .. m^(i+p-1)
        y = x
        for _ in range(p):
            if self.mul(y, y) == y:
                return i, p, y
            y = self.mul(y, m)
        raise AssertionError("a cyclic semigroup has an idempotent")  # pragma: no cover

    @cached_property
    def idempotents(self) -> Tuple[int, ...]:
        m = self.maps
        return tuple(int(e) for e in range(self.size) if np.array_equal(m[e][m[e]], m[e]))

    @cached_property
    def r_classes(self) -> Tuple[FrozenSet[int], ...]:
        """m R n iff m·M = n·M: the strongly connected components of the right Cayley graph."""
        g = nx.DiGraph()
        g.add_nodes_from(range(self.size))
        g.add_edges_from((m, int(t)) for m in range(self.size) for t in self.right[m])
        return tuple(frozenset(c) for c in nx.strongly_connected_components(g))

    @cached_property
    def group_witness(self) -> Optional[int]:
        """An element m with m^(ω+1) != m^ω (a non-trivial group inside M), or None: aperiodic."""
        for m in range(self.size):
            if self.power_cycle(m)[1] > 1:
                return m
        return None

    @property
    def aperiodic(self) -> bool:
        return self.group_witness is None

    @property
    def r_trivial(self) -> bool:
        return all(len(c) == 1 for c in self.r_classes)

    @property
    def r_omega(self) -> bool:
        idem = set(self.idempotents)
        return self.aperiodic and all(len(c & idem) <= 1 for c in self.r_classes)

    @cached_property
    def stability(self) -> Tuple[int, FrozenSet[int]]:
        """(s, η(Σ^s)): the least s >= 1 with η(Σ^s) = η(Σ^2s), and the stable semigroup."""
        layers: List[FrozenSet[int]] = []
        first_seen: Dict[FrozenSet[int], int] = {}
        cur = frozenset(int(x) for x in self.right[0])          # η(Σ^1): the letters
        k = 1
        while cur not in first_seen:
            if k > MAX_STABILITY_STEPS:
                raise TooLarge(f"η(Σ^k) did not repeat within {MAX_STABILITY_STEPS} steps")
            first_seen[cur] = k
            layers.append(cur)
            cur = frozenset(int(self.right[m, a]) for m in cur for a in range(self.right.shape[1]))
            k += 1
        t, p = first_seen[cur], k - first_seen[cur]        # layers are periodic from t with period p
        s = next(s for s in range(max(t, 1), t + p + 1) if s % p == 0)
        return s, layers[s - 1]

    @cached_property
    def stable_group_witness(self) -> Optional[int]:
        """An element of the stable semigroup generating a non-trivial group, or None."""
        _, stable = self.stability
        for m in sorted(stable):
            if self.power_cycle(m)[1] > 1:
                return m
        return None

    @property
    def quasi_aperiodic(self) -> bool:
        return self.stable_group_witness is None

    def layer_word(self, element: int, length: int) -> Optional[Tuple[str, ...]]:
        """A word of exactly `length` letters whose element is `element` (layered search), or None."""
        back: List[Dict[int, Tuple[int, int]]] = []
        cur = {int(self.right[0, a]): (0, a) for a in range(self.right.shape[1])}
        back.append(cur)
        for _ in range(length - 1):
            nxt: Dict[int, Tuple[int, int]] = {}
            for m in cur:
                for a in range(self.right.shape[1]):
                    nxt.setdefault(int(self.right[m, a]), (m, a))
            back.append(nxt)
            cur = nxt
        if element not in cur:
            return None
        word, m = [], element
        for layer in reversed(back):
            prev, a = layer[m]
            word.append(self.dfa.alphabet[a])
            m = prev
        return tuple(reversed(word))


def transition_monoid(dfa: Dfa, cap: int = MAX_MONOID) -> Monoid:
    """Raises TooLarge past `cap` elements, or past MAX_CELLS stored state images (memory: 8 bytes each)."""
    n, k = dfa.n_states, len(dfa.alphabet)
    cap = min(cap, max(1, MAX_CELLS // max(n, 1)))
    identity = np.arange(n, dtype=np.int64)
    maps = [identity]
    words: List[Tuple[str, ...]] = [()]
    index = {identity.tobytes(): 0}
    right: List[List[int]] = []
    head = 0
    while head < len(maps):
        row = []
        for a in range(k):
            img = dfa.delta[maps[head], a]
            key = img.tobytes()
            if key not in index:
                if len(maps) >= cap:
                    raise TooLarge(f"the transition monoid has more than {cap} elements")
                index[key] = len(maps)
                maps.append(img)
                words.append(words[head] + (dfa.alphabet[a],))
            row.append(index[key])
        right.append(row)
        head += 1
    return Monoid(dfa, np.array(maps, dtype=np.int64), np.array(right, dtype=np.int64), tuple(words))
