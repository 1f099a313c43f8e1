"""The search fallback of `synthesis.synthesize`: small programs enumerated bottom-up from a grammar
of features and fitted to the automaton on every prefix of every short word (CEGIS: a word on
which a fitted program is wrong joins the samples and the fit is redone).

Features, all evaluated at once with numpy over the samples (batch × positions):
  atoms      letters, `true`; for C-RASP[periodic,local] also `pos % m in {r}` (m from the
             automaton's cycle periods and 2..4) and the previous letters `#[a @ d] == 1` (d = 1, 2, and 3 over two letters);
  level 1    counts of atoms and of (letter ∧ atom), compared with 0..2, and differences of two
             counts compared with -1..1;
  level 2    counts of (level-1 Boolean ∧ atom), compared with 0 and 1.
accept is a conjunction of at most four literals or a disjunction of at most four (greedy
covering of the samples). Features with equal values on the samples are kept once (the first,
simplest, one). The fitted program is only a candidate: the caller checks it on every word up to
its filter length and proves it with Z3.
"""
from __future__ import annotations

import time
from typing import Dict, Generator, List, Optional, Sequence, Tuple

import numpy as np

from verify.checking import all_strings
from verify.crasp import ast as A
from verify.crasp.builder import ProgramBuilder, count, guarded, periodic, sym
from verify.crasp.interpreter import ACCEPT_LAST
from verify.regular.synthesis_filter import exhaustive_length, first_mismatch
from verify.regular.synthesis_machine import machine_for, scc_periods
from verify.spec import Automaton

SAMPLE_CELLS = 40_000          # words × positions of the base sample
MAX_LEVEL1 = 160               # level-1 Booleans carried into level 2
MAX_LITERALS = 4
MAX_ROUNDS = 12                # CEGIS refinements

Vals = List[np.ndarray]        # one array per sample block


class _Samples:
    """Blocks of words (ids, rows × n) with the positions that are compared (mask) and the wanted
    labels there. `last`: every prefix; `end`: the end marker after each word."""

    def __init__(self, automaton: Automaton, acceptance: str):
        self.automaton, self.acceptance = automaton, acceptance
        self.k = len(automaton.alphabet)
        self.blocks: List[np.ndarray] = []
        self.masks: List[np.ndarray] = []
        self.wants: List[np.ndarray] = []
        L = 1
        while (self.k ** (L + 1)) * (L + 1) * (1 if acceptance == ACCEPT_LAST else 2) <= SAMPLE_CELLS and L < 14:
            L += 1
        if acceptance == ACCEPT_LAST:
            self.add(all_strings(self.k, L).astype(np.int64))
        else:
            for n in range(1, L + 1):
                self.add(all_strings(self.k, n).astype(np.int64))

    def add(self, ids: np.ndarray) -> None:
        labels = self.automaton.labels(ids)
        if self.acceptance == ACCEPT_LAST:
            self.blocks.append(ids)
            self.masks.append(np.ones(ids.shape, dtype=bool))
            self.wants.append(labels)
        else:
            end = np.full((ids.shape[0], 1), self.k, dtype=np.int64)   # the end marker's id
            self.blocks.append(np.concatenate([ids, end], axis=1))
            mask = np.zeros((ids.shape[0], ids.shape[1] + 1), dtype=bool)
            mask[:, -1] = True
            self.masks.append(mask)
            want = np.zeros(mask.shape, dtype=bool)
            want[:, -1] = labels[:, -1]
            self.wants.append(want)

    def flat(self, vals: Vals) -> np.ndarray:
        return np.concatenate([v[m] for v, m in zip(vals, self.masks)])

    @property
    def target(self) -> np.ndarray:
        return self.flat(self.wants)


def _shift(x: np.ndarray, d: int) -> np.ndarray:
    y = np.zeros_like(x)
    if d < x.shape[1]:
        y[:, d:] = x[:, :-d]
    return y


class _Pool:
    """Boolean features (expression, values per block), deduplicated on the compared positions."""

    def __init__(self, samples: _Samples):
        self.s = samples
        self.exprs: List[A.Expr] = []
        self.vals: List[Vals] = []
        self.flat: List[np.ndarray] = []
        self.seen: Dict[bytes, int] = {}

    def add(self, expr: A.Expr, vals: Vals) -> Optional[int]:
        flat = self.s.flat(vals)
        key = np.packbits(flat).tobytes() + bytes([len(flat) % 8])
        if key in self.seen or not flat.any() or flat.all():
            return None
        self.seen[key] = len(self.exprs)
        self.exprs.append(expr)
        self.vals.append(vals)
        self.flat.append(flat)
        return len(self.exprs) - 1


def _features(samples: _Samples, alphabet: Sequence[str], fragment: str, periods: Sequence[int],
              deadline: float) -> _Pool:
    blocks = samples.blocks
    pool = _Pool(samples)
    atoms: List[Tuple[A.Expr, Vals]] = [(sym(a), [b == i for b in blocks]) for i, a in enumerate(alphabet)]
    letters = list(atoms)
    ones = [np.ones(b.shape, dtype=bool) for b in blocks]
    extra: List[Tuple[A.Expr, Vals]] = []
    if fragment != "crasp":
        for m in sorted({p for p in periods if 1 < p <= 6} | {2, 3, 4}):
            pos = [np.broadcast_to(np.arange(1, b.shape[1] + 1)[None, :] % m, b.shape) for b in blocks]
            for r in range(m):
                extra.append((periodic(m, [r]), [p == r for p in pos]))
        for d in ((1, 2, 3) if len(alphabet) <= 2 else (1, 2)):
            for (e, v) in letters:
                extra.append((A.Compare("==", guarded(e, [d]), A.IntConst(1)), [_shift(x, d) for x in v]))
    for e, v in atoms + extra:
        pool.add(e, v)
    # level 1: counts and their comparisons
    counts: List[Tuple[A.Expr, Vals]] = [(count(A.BoolConst(True)), [np.cumsum(o, axis=1) for o in ones])]
    for e, v in letters + extra:
        counts.append((count(e), [np.cumsum(x, axis=1) for x in v]))
    for le, lv in letters:
        for e, v in extra:
            counts.append((count(A.And(le, e)), [np.cumsum(x & y, axis=1) for x, y in zip(lv, v)]))
    level1: List[int] = []

    for ce, cv in counts:
        for op, c in (("==", 0), (">=", 1), ("==", 1), (">=", 2), ("<=", 1)):
            i = pool.add(*_cmp(op, ce, cv, c))
            if i is not None:
                level1.append(i)
    for x in range(len(counts)):
        for y in range(x + 1, len(counts)):
            if time.monotonic() > deadline:
                return pool
            (ex, vx), (ey, vy) = counts[x], counts[y]
            diff = [p - q for p, q in zip(vx, vy)]
            for op, c in (("==", 0), (">=", 0), ("<=", 0), (">=", 1), ("<=", -1), ("==", 1), ("==", -1)):
                i = pool.add(*_cmp(op, A.Sub(ex, ey), diff, c))
                if i is not None:
                    level1.append(i)
    # level 2: counts of (level-1 Boolean ∧ atom)
    for i in level1[:MAX_LEVEL1]:
        if time.monotonic() > deadline:
            return pool
        be, bv = pool.exprs[i], pool.vals[i]
        for ae, av in [(None, None)] + letters:
            inner = be if ae is None else A.And(ae, be)
            iv = bv if av is None else [x & y for x, y in zip(av, bv)]
            cv = [np.cumsum(x, axis=1) for x in iv]
            for op, c in (("==", 0), (">=", 1)):
                pool.add(*_cmp(op, count(inner), cv, c))
    return pool


def _cmp(op: str, left: A.Expr, lv: Vals, c: int):
    f = {"==": np.equal, ">=": np.greater_equal, "<=": np.less_equal}[op]
    return A.Compare(op, left, A.IntConst(c)), [f(x, c) for x in lv]


def _fit(pool: _Pool, target: np.ndarray) -> Optional[A.Expr]:
    """A conjunction (or disjunction) of at most MAX_LITERALS literals equal to target on the samples."""
    lits = [(e, f) for e, f in zip(pool.exprs, pool.flat)] + [(A.Not(e), ~f) for e, f in zip(pool.exprs, pool.flat)]
    for e, f in lits:
        if np.array_equal(f, target):
            return e
    # conjunction: literals true on every positive, greedily removing negatives
    for conj in (True, False):
        ok = [(e, f) for e, f in lits if (conj and not (target & ~f).any()) or (not conj and not (f & ~target).any())]
        if conj:
            wrong = ~target
        else:
            wrong = target.copy()
        chosen: List[A.Expr] = []
        cur = np.ones_like(target) if conj else np.zeros_like(target)
        for _ in range(MAX_LITERALS):
            if not ok:
                break
            gains = [int((wrong & (~f if conj else f)).sum()) for _, f in ok]
            best = int(np.argmax(gains))
            if gains[best] == 0:
                break
            e, f = ok[best]
            chosen.append(e)
            cur = (cur & f) if conj else (cur | f)
            wrong = wrong & (f if conj else ~f)
            if np.array_equal(cur, target):
                out = chosen[0]
                for x in chosen[1:]:
                    out = A.And(out, x) if conj else A.Or(out, x)
                return out
    return None


def search(automaton: Automaton, acceptance: str, fragment: str, deadline: float,
           notes: List[str]) -> Generator[Tuple[str, A.Program], Optional[Tuple[str, ...]], None]:
    """Yields fitted programs; send back a word the last one got wrong (it joins the samples)."""
    if time.monotonic() > deadline:
        return
    alphabet = tuple(automaton.alphabet)
    samples = _Samples(automaton, acceptance)
    periods = scc_periods(machine_for(automaton, acceptance)) if fragment != "crasp" else []
    max_len = exhaustive_length(len(alphabet), acceptance)
    tried = set()
    for round_ in range(MAX_ROUNDS):
        if time.monotonic() > deadline:
            notes.append("search: out of time")
            return
        pool = _features(samples, alphabet, fragment, periods, deadline)
        expr = _fit(pool, samples.target)
        if expr is None:
            notes.append(f"search: no conjunction or disjunction of ≤ {MAX_LITERALS} of {len(pool.exprs)} "
                         f"features fits the words up to the sample length")
            return
        b = ProgramBuilder(alphabet, "<synthesized>")
        b.accept(expr)
        program = b.build()
        if program in tried:
            notes.append("search: the fit repeats itself")
            return
        tried.add(program)
        word = first_mismatch(program, automaton, acceptance, max_len)
        if word is None:
            word = yield f"search (round {round_ + 1}, {len(pool.exprs)} features)", program
            if word is None:
                return
        ids = np.array([[alphabet.index(x) for x in word]], dtype=np.int64)
        samples.add(ids)
    notes.append(f"search: no fit after {MAX_ROUNDS} refinements")
