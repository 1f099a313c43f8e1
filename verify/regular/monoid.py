"""The transition monoid of a minimal complete DFA (= the syntactic monoid of its language) and the
algebraic classes of /work/shared/REGULAR.md §1: R-trivial, R_omega, aperiodic, quasi-aperiodic.

Elements are maps Q -> Q (numpy rows); element 0 is the identity (the empty word). Built by
breadth-first search over the right Cayley graph m -> m·a, one level at a time, so every element has a
shortest word. The monoid can have up to |Q|^|Q| elements: past MAX_MONOID elements (or MAX_CELLS
elements x states, or the work budget) `TooLarge` is raised and the classes are reported undecided
("monoid too large").

Everything after the construction is vectorized over the elements: powers by repeated squaring (a
transformation of n points has index at most n, so m^N with N >= n is in m's cyclic group, and the group
is trivial iff m^(N+1) = m^N), idempotents, R-classes (strongly connected components of the Cayley
graph), and the layers η(Σ^k) as boolean masks, computed once (`layers`) and shared by the stability
index, quasi-aperiodicity and the words of every length the certificates need."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Dict, FrozenSet, List, Optional, Tuple

import numpy as np

from verify.regular.budget import Budget, charge
from verify.regular.dfa import Dfa
from verify.regular.regex import TooLarge

MAX_MONOID = 50_000
MAX_CELLS = 20_000_000            # elements x states kept in memory (160 MB of int64)
MAX_STABILITY_STEPS = 10_000
CHUNK_CELLS = 1 << 20             # elements x states per vectorized power step (memory stays flat)


@dataclass(frozen=True)
class Layers:
    """η(Σ^j) for j >= 1 as packed bit masks over the elements: `masks[j - 1]` for j < t + p; from t on
    the sequence repeats with period p (η(Σ^j) = η(Σ^(j+p)) for j >= t), so every layer is known."""
    masks: Tuple[bytes, ...]
    t: int                        # the first layer that recurs
    p: int                        # its period

    @property
    def stability_index(self) -> int:
        """The least s >= 1 with η(Σ^s) = η(Σ^2s): the least multiple of p that is at least t."""
        return -(-self.t // self.p) * self.p

    def packed(self, j: int) -> bytes:
        if j >= self.t:
            j = self.t + (j - self.t) % self.p
        return self.masks[j - 1]

    def has(self, j: int, element: int) -> bool:
        """element ∈ η(Σ^j) (j >= 0; η(Σ^0) is the identity alone)."""
        if j == 0:
            return element == 0
        return bool(self.packed(j)[element >> 3] >> (7 - (element & 7)) & 1)

    def elements(self, j: int, size: int) -> np.ndarray:
        return np.flatnonzero(np.unpackbits(np.frombuffer(self.packed(j), dtype=np.uint8), count=size))


@dataclass(frozen=True, eq=False)
class Monoid:
    dfa: Dfa
    maps: np.ndarray                  # (elements, states): element m sends q to maps[m, q]
    right: np.ndarray                 # (elements, symbols): index of m·a
    words: Tuple[Tuple[str, ...], ...]  # a shortest word of each element
    budget: Optional[Budget] = None   # charged by the vectorized stages below (None: unlimited)

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
        charge(self.budget, k * self.dfa.n_states)
        i, p = seen[x], k - seen[x]
        # m^ω: the unique idempotent among m^i .. m^(i+p-1)
        y = x
        for _ in range(p):
            if self.mul(y, y) == y:
                return i, p, y
            y = self.mul(y, m)
        raise AssertionError("a cyclic semigroup has an idempotent")  # pragma: no cover

    # ------------------------------------------------------------------ vectorized over the elements
    @cached_property
    def _small(self) -> np.ndarray:
        """`maps` in the narrowest integer type (the power computations' working copy)."""
        return self.maps.astype(np.int16 if self.dfa.n_states < 2 ** 15 else np.int32)

    def _chunks(self, rows: np.ndarray):
        step = max(1, CHUNK_CELLS // max(self.dfa.n_states, 1))
        for i in range(0, len(rows), step):
            yield rows[i:i + step]

    def _trivial_group(self, rows: np.ndarray) -> np.ndarray:
        """For each element in `rows`: m^(ω+1) = m^ω (m generates no non-trivial group)."""
        n = self.dfa.n_states
        squarings = max(1, int(np.ceil(np.log2(max(n, 2)))))
        out = np.ones(len(rows), dtype=bool)
        start = 0
        for chunk in self._chunks(rows):
            x = self._small[chunk]
            p = x
            for _ in range(squarings):                     # p = m^(2^squarings), 2^squarings >= n >= index
                p = np.take_along_axis(p, p, axis=1)
            charge(self.budget, (squarings + 2) * x.size)
            out[start:start + len(chunk)] = (np.take_along_axis(x, p, axis=1) == p).all(axis=1)
            start += len(chunk)
        return out

    @cached_property
    def idempotents(self) -> Tuple[int, ...]:
        flags = np.zeros(self.size, dtype=bool)
        start = 0
        for chunk in self._chunks(np.arange(self.size)):
            x = self._small[chunk]
            charge(self.budget, 2 * x.size)
            flags[start:start + len(chunk)] = (np.take_along_axis(x, x, axis=1) == x).all(axis=1)
            start += len(chunk)
        return tuple(int(e) for e in np.flatnonzero(flags))

    @cached_property
    def _r_labels(self) -> np.ndarray:
        """The R-class of each element: m R n iff m·M = n·M, the strongly connected components of the right
        Cayley graph (iterative Tarjan over the table `right`)."""
        charge(self.budget, 4 * self.right.size)
        return _scc_labels(self.right)

    @cached_property
    def r_classes(self) -> Tuple[FrozenSet[int], ...]:
        labels = self._r_labels
        order = np.argsort(labels, kind="stable")
        cuts = np.flatnonzero(np.diff(labels[order])) + 1
        return tuple(frozenset(int(m) for m in part) for part in np.split(order, cuts))

    @cached_property
    def group_witness(self) -> Optional[int]:
        """The first element m with m^(ω+1) != m^ω (a non-trivial group inside M), or None: aperiodic."""
        bad = np.flatnonzero(~self._trivial_group(np.arange(self.size)))
        return int(bad[0]) if len(bad) else None

    @property
    def aperiodic(self) -> bool:
        return self.group_witness is None

    @property
    def r_trivial(self) -> bool:
        return len(np.unique(self._r_labels)) == self.size

    @property
    def r_omega(self) -> bool:
        if not self.aperiodic:
            return False
        idem = np.array(self.idempotents, dtype=np.int64)
        return int(np.bincount(self._r_labels[idem]).max(initial=0)) <= 1

    @cached_property
    def layers(self) -> Layers:
        """η(Σ^1), η(Σ^2), ... as masks (one scatter of m·a per element of a layer and letter) until one
        repeats: computed once, for the stability index, quasi-aperiodicity and every certificate's word."""
        size, k = self.right.shape
        right = self.right.astype(np.int32)
        mask = np.zeros(size, dtype=bool)
        mask[right[0]] = True
        seen: Dict[bytes, int] = {}
        masks: List[bytes] = []
        j = 1
        while True:
            key = np.packbits(mask).tobytes()
            if key in seen:
                return Layers(tuple(masks), seen[key], j - seen[key])
            if j > MAX_STABILITY_STEPS:
                raise TooLarge(f"η(Σ^k) did not repeat within {MAX_STABILITY_STEPS} steps")
            seen[key] = j
            masks.append(key)
            idx = np.flatnonzero(mask)
            charge(self.budget, len(idx) * k + size // 8)
            mask = np.zeros(size, dtype=bool)
            mask[right[idx].ravel()] = True
            j += 1

    @cached_property
    def stability(self) -> Tuple[int, FrozenSet[int]]:
        """(s, η(Σ^s)): the least s >= 1 with η(Σ^s) = η(Σ^2s), and the stable semigroup."""
        layers = self.layers
        s = layers.stability_index
        return s, frozenset(int(m) for m in layers.elements(s, self.size))

    @cached_property
    def stable_group_witness(self) -> Optional[int]:
        """The first element of the stable semigroup generating a non-trivial group, or None."""
        stable = self.layers.elements(self.layers.stability_index, self.size)
        bad = stable[~self._trivial_group(stable)]
        return int(bad[0]) if len(bad) else None

    @property
    def quasi_aperiodic(self) -> bool:
        return self.stable_group_witness is None

    @cached_property
    def _predecessors(self) -> Tuple[np.ndarray, np.ndarray]:
        """The reversed Cayley graph: for element t, the pairs (m, a) with m·a = t, in the order of m·k + a."""
        flat = self.right.ravel()
        charge(self.budget, 2 * flat.size)
        order = np.argsort(flat, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=self.size))])
        return order, starts

    def layer_word(self, element: int, length: int) -> Optional[Tuple[str, ...]]:
        """A word of exactly `length` letters whose element is `element`, or None: read backwards through
        the shared layers, each letter from the predecessor (m, a) with m ∈ η(Σ^(j-1)) of least m, then a."""
        layers, k = self.layers, self.right.shape[1]
        if length < 1 or not layers.has(length, element):
            return None
        order, starts = self._predecessors
        word: List[str] = []
        m = element
        for j in range(length, 0, -1):
            preds = order[starts[m]:starts[m + 1]]
            charge(self.budget, len(preds))
            pick = next(int(e) for e in preds if layers.has(j - 1, int(e) // k))
            word.append(self.dfa.alphabet[pick % k])
            m = pick // k
        assert m == 0
        return tuple(reversed(word))


def _scc_labels(right: np.ndarray) -> np.ndarray:
    """Strongly connected components of the graph m -> right[m, a] (iterative Tarjan): a label per node."""
    size, k = right.shape
    succ = right.tolist()
    index = [-1] * size
    low = [0] * size
    on_stack = [False] * size
    labels = np.empty(size, dtype=np.int64)
    stack: List[int] = []
    counter = n_comp = 0
    for root in range(size):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, i = work[-1]
            if i < k:
                work[-1] = (v, i + 1)
                w = succ[v][i]
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work.pop()
            if work and low[v] < low[work[-1][0]]:
                low[work[-1][0]] = low[v]
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    labels[w] = n_comp
                    if w == v:
                        break
                n_comp += 1
    return labels


def transition_monoid(dfa: Dfa, cap: int = MAX_MONOID, budget: Optional[Budget] = None) -> Monoid:
    """Raises TooLarge past `cap` elements, past MAX_CELLS stored state images (memory: 8 bytes each), or
    past the work budget. Breadth-first, one level at a time (the same numbering as one element at a time:
    every element found from level d is on level d + 1)."""
    n, k = dfa.n_states, len(dfa.alphabet)
    cap = min(cap, max(1, MAX_CELLS // max(n, 1)))
    delta = np.ascontiguousarray(dfa.delta, dtype=np.int64)
    identity = np.arange(n, dtype=np.int64)
    blocks = [identity[None, :]]
    words: List[Tuple[str, ...]] = [()]
    index = {identity.tobytes(): 0}
    right: List[List[int]] = []
    frontier, first = identity[None, :], 0
    while len(frontier):
        charge(budget, len(frontier) * k * (n + 8))
        images = delta[frontier][:, :, :]                     # (f, n, k): q -> delta[m[q], a]
        images = np.ascontiguousarray(images.transpose(0, 2, 1))  # (f, k, n)
        new_rows: List[np.ndarray] = []
        for i in range(len(frontier)):
            row = []
            w = words[first + i]
            for a in range(k):
                key = images[i, a].tobytes()
                e = index.get(key)
                if e is None:
                    e = len(index)
                    if e >= cap:
                        raise TooLarge(f"the transition monoid has more than {cap} elements")
                    index[key] = e
                    new_rows.append(images[i, a])
                    words.append(w + (dfa.alphabet[a],))
                row.append(e)
            right.append(row)
        first += len(frontier)
        frontier = np.array(new_rows, dtype=np.int64).reshape(-1, n)
        if len(frontier):
            blocks.append(frontier)
    maps = np.concatenate(blocks)
    monoid = Monoid(dfa, maps, np.array(right, dtype=np.int64).reshape(-1, k), tuple(words), budget)
    monoid.__dict__["index"] = index             # the cached_property, already built
    return monoid
