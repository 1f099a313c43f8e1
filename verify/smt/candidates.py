"""Candidate invariants for the k-induction prover (verify/smt/induction.py): the product's states reached on
sampled words, and the guesses made from them — affine equalities among the integer components, bounds,
bounds on pairwise differences, the finite parts seen, globally and split by finite values, and one
disjunction of the (finite part, sign pattern) combinations seen. Each is only a guess until Houdini proves it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import z3

from verify.smt.encode import BOOL, FINITE, INT, StateVar
from verify.smt.linear import LEAN_UPPER, affine_equalities
from verify.smt.miter import PHASE, Miter

if TYPE_CHECKING:
    from verify.smt.induction import InductionSettings


@dataclass(frozen=True)
class Candidate:
    """A guessed invariant: `holds(state)` builds the z3 Boolean over a state of z3 terms, `check(values)`
    evaluates the same formula on concrete values (name -> int/bool), `text` is how it prints."""

    holds: Callable[[Dict[str, object]], object]
    text: str
    check: Callable[[Dict[str, object]], bool] = lambda values: True
    guard: Tuple[Tuple[str, int], ...] = ()   # `guard implies body`: (state variable, value) pairs ...
    body: str = ""                            # ... and the body's text, where the factory knows them


def prune(invariant: List[Candidate]) -> List[Candidate]:
    """The invariant less every `G implies B` for which `G' implies B` is also in it with G' a part of G
    (no guard at all included): the same conjunction, so just as inductive, and shorter to prove with and
    to print."""
    guards: Dict[str, List[frozenset]] = {}
    for c in invariant:
        if c.body:
            guards.setdefault(c.body, []).append(frozenset(c.guard))
    return [c for c in invariant
            if not (c.body and c.guard and any(g < frozenset(c.guard) for g in guards[c.body]))]


# ---------------------------------------------------------------- sampling
def sample_words(k: int, settings: InductionSettings, extra=None) -> List[np.ndarray]:
    """Uniform words and 'block' words (runs of one symbol: a^i b^j ... reach the deep states of
    counter languages that uniform words rarely reach)."""
    rng = np.random.default_rng(settings.seed)
    n, b = settings.sample_len, settings.sample_words
    uniform = rng.integers(0, k, size=(b, n))
    blocks = np.empty((b, n), dtype=np.int64)
    for r in range(b):  # one numpy call per word
        runs = rng.integers(1, 1 + max(1, n // rng.integers(1, 6)), size=n)
        symbols = rng.integers(0, k, size=n)
        blocks[r] = np.repeat(symbols, runs)[:n]
    # short words exhaustively: every state reachable within a few steps is seen
    depth = max(1, min(8, int(np.log(4096) / np.log(max(k, 2)))))
    grid = np.stack(np.meshgrid(*[np.arange(k)] * depth, indexing="ij"), -1).reshape(-1, depth)
    out = [uniform, blocks, grid]
    if isinstance(extra, list):          # words of several lengths, one array each
        out.extend(np.asarray(e) for e in extra if len(e))
    elif extra is not None and len(extra):
        out.append(np.asarray(extra))
    return out


def words_for(miter: Miter, settings: InductionSettings, extra) -> List[np.ndarray]:
    """The generic sampled words, the caller's, and those the specification asks for (a sequence task:
    its own teacher-forced inputs, whose states uniform words almost never reach)."""
    own = [np.asarray(w) for w in miter.spec.sample_words(settings.seed) if len(w)]
    return sample_words(len(miter.alphabet), settings, extra) + own


def sampled_states(miter: Miter, words: Sequence[np.ndarray]) -> Dict[str, np.ndarray]:
    """Every distinct state reached (the initial one included), one flat array per state variable."""
    init = miter.init_values()
    cols: Dict[str, list] = {v.name: [np.array([int(init[v.name])])] for v in miter.vars}
    for ids in words:
        tr = miter.trace(ids)
        for v in miter.vars:
            cols[v.name].append(np.asarray(tr[v.name]).astype(np.int64).ravel())
    if not miter.vars:
        return {}
    M = np.unique(np.stack([np.concatenate(cols[v.name]) for v in miter.vars], axis=1), axis=0)
    return {v.name: M[:, j] for j, v in enumerate(miter.vars)}


# ---------------------------------------------------------------- candidates
def _sign_ok(x, sg) -> bool:
    return x > 0 if sg > 0 else (x < 0 if sg < 0 else x == 0)


class CandidateFactory:
    def __init__(self, miter: Miter, states: Dict[str, np.ndarray], settings: InductionSettings):
        self.miter, self.states, self.settings = miter, states, settings
        self.numeric = [v for v in miter.vars if v.sort == INT]
        self.finite = [v for v in miter.vars if v.sort in (BOOL, FINITE)]
        rows = len(next(iter(states.values()))) if states else 0
        self.X = (np.stack([states[v.name] for v in self.numeric], axis=1)
                  if self.numeric else np.zeros((rows, 0), dtype=np.int64))
        self.F = (np.stack([states[v.name] for v in self.finite], axis=1)
                  if self.finite else np.zeros((rows, 0), dtype=np.int64))
        self.out: List[Candidate] = []
        self.seen = set()
        self._terms: Dict[int, tuple] = {}

    # names as printed
    def name(self, v: StateVar) -> str:
        if v.name == PHASE:
            return v.label
        owner = {"p": "", "q": "spec.", "s": "spec."}[v.name.split(".")[0]]
        return owner + (v.label or v.name)

    def cond_text(self, assignment: Sequence[Tuple[StateVar, int]]) -> str:
        parts = []
        for v, val in assignment:
            if v.sort == BOOL:
                parts.append(self.name(v) if val else f"not {self.name(v)}")
            else:
                parts.append(f"{self.name(v)} = {self.miter.value_name(v.name, int(val))}")
        return " and ".join(parts)

    def atom(self, S, v: StateVar, val: int):
        """z3 term 'v has value val', built once per state (terms are shared across candidates)."""
        slot = self._terms.get(id(S))
        if slot is None or slot[0] is not S:
            slot = (S, {})  # keeps S alive, so its id is not reused while cached
            self._terms[id(S)] = slot
        key = (v.name, int(val))
        t = slot[1].get(key)
        if t is None:
            t = (S[v.name] if val else z3.Not(S[v.name])) if v.sort == BOOL else S[v.name] == int(val)
            slot[1][key] = t
        return t

    def cond_term(self, S, assignment):
        terms = [self.atom(S, v, val) for v, val in assignment]
        return z3.And(terms) if len(terms) > 1 else (terms[0] if terms else z3.BoolVal(True))

    @staticmethod
    def cond_check(values, assignment) -> bool:
        return all(int(values[v.name]) == int(val) for v, val in assignment)

    def add(self, holds, text, check, guard=(), body=""):
        if text not in self.seen:
            self.seen.add(text)
            self.out.append(Candidate(holds, text, check, guard, body))

    def linear_text(self, coeffs, const) -> str:
        terms = [(c, self.name(v)) for c, v in zip(coeffs, self.numeric) if c]
        s = ""
        for i, (c, nm) in enumerate(terms):
            sign = "-" if c < 0 else ("+" if i else "")
            mag = "" if abs(c) == 1 else f"{abs(c)}*"
            s += (f" {sign} " if i else sign) + f"{mag}{nm}"
        return f"{s.strip()} = {const}"

    @property
    def lean(self) -> bool:
        """A machine with many integer components (a sequence task over a vocabulary: counts per token):
        candidates that are quadratic in them, or that Houdini would drop one counterexample at a time, are
        left out — pairwise differences, upper bounds a counter merely reached in the samples (only
        bounds up to LEAN_UPPER are kept) and bounds under the whole finite part."""
        return len(self.numeric) > self.settings.max_pairwise

    def for_rows(self, rows: np.ndarray, assignment: Sequence[Tuple[StateVar, int]], bounds: bool = True) -> None:
        """Equalities and bounds on the integer components over the selected sampled states,
        guarded by the finite assignment that selects them."""
        X = self.X[rows]
        if X.shape[0] == 0:
            return
        a = tuple(assignment)
        prefix = f"{self.cond_text(a)} implies " if a else ""
        guard = (lambda S: self.cond_term(S, a)) if a else None
        ok = lambda values: not self.cond_check(values, a)
        numeric = self.numeric
        where = tuple((v.name, int(val)) for v, val in a)
        for coeffs, const in affine_equalities(X):
            used = [(ci, v.name) for ci, v in zip(coeffs, numeric) if ci]

            def holds(S, used=used, k=const, guard=guard):
                body = z3.Sum([ci * S[n] for ci, n in used]) == k
                return z3.Implies(guard(S), body) if guard else body
            self.add(holds, prefix + self.linear_text(coeffs, const),
                     lambda vals, used=used, k=const: ok(vals) or sum(ci * vals[n] for ci, n in used) == k,
                     where, self.linear_text(coeffs, const))
        if not bounds:
            return
        lo, hi = X.min(axis=0), X.max(axis=0)
        for j, v in enumerate(numeric):
            for op, b in ((">=", int(lo[j])), ("<=", int(hi[j]))):
                if op == "<=" and self.lean and b > LEAN_UPPER:
                    continue
                def holds(S, n=v.name, b=b, op=op, guard=guard):
                    body = S[n] >= b if op == ">=" else S[n] <= b
                    return z3.Implies(guard(S), body) if guard else body
                self.add(holds, f"{prefix}{self.name(v)} {op} {b}",
                         lambda vals, n=v.name, b=b, op=op: ok(vals) or
                         (vals[n] >= b if op == ">=" else vals[n] <= b), where, f"{self.name(v)} {op} {b}")

    def build(self) -> List[Candidate]:
        self.for_rows(np.ones(self.X.shape[0], dtype=bool), ())
        # pairwise differences (octagon-style), globally: quadratic in the integer components, so only
        # for small machines (a sequence task over a large vocabulary has one count per token)
        for i, u in enumerate(() if self.lean else self.numeric):
            for j, v in enumerate(self.numeric):
                if i < j:
                    d = self.X[:, i] - self.X[:, j]
                    for op, b in ((">=", int(d.min())), ("<=", int(d.max()))):
                        self.add(lambda S, a=u.name, c=v.name, b=b, op=op:
                                 (S[a] - S[c] >= b) if op == ">=" else (S[a] - S[c] <= b),
                                 f"{self.name(u)} - {self.name(v)} {op} {b}",
                                 lambda vals, a=u.name, c=v.name, b=b, op=op:
                                 (vals[a] - vals[c] >= b) if op == ">=" else (vals[a] - vals[c] <= b))
        # split by the value of each finite component
        for j, v in enumerate(self.finite):
            for val in np.unique(self.F[:, j]):
                self.for_rows(self.F[:, j] == val, ((v, int(val)),))
        if self.finite:
            self.finite_parts()
        if self.numeric:
            self.sign_patterns()
        hints = getattr(self.miter.spec, "hints", None)   # the specification's own guesses (a sequence task)
        for text, holds, check in (hints(self.states) if hints else ()):
            self.add(holds, text, check)
        return self.out

    def finite_parts(self) -> None:
        """The finite parts seen (whole, and pairs of components) are the only reachable ones."""
        fin = self.finite
        keys, inverse = np.unique(self.F, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        observed = tuple(tuple(int(x) for x in key) for key in keys)
        obs_set = set(observed)
        self.add(lambda S: z3.Or([self.cond_term(S, tuple(zip(fin, key))) for key in observed]),
                 f"the finite part ({', '.join(self.name(v) for v in fin)}) is one of "
                 f"{len(observed)} seen: " + "; ".join(
                     "(" + ", ".join(self.miter.value_name(v.name, x) for v, x in zip(fin, key)) + ")"
                     for key in observed[:12]) + (" ..." if len(observed) > 12 else ""),
                 lambda vals: tuple(int(vals[v.name]) for v in fin) in obs_set)
        for a in range(len(fin)):
            for b in range(a + 1, len(fin)):
                lo, width = int(self.F[:, b].min()), int(self.F[:, b].max() - self.F[:, b].min()) + 1
                codes = np.unique(self.F[:, a] * width + (self.F[:, b] - lo))   # one integer per pair: fast
                pairs = tuple(sorted((int(x) // width, int(x) % width + lo) for x in codes))
                va, vb = fin[a], fin[b]
                self.add(lambda S, ps=pairs, va=va, vb=vb: z3.Or([
                    self.cond_term(S, ((va, x), (vb, y))) for x, y in ps]),
                    f"({self.name(va)}, {self.name(vb)}) is one of " + ", ".join(
                        f"({self.miter.value_name(va.name, x)}, {self.miter.value_name(vb.name, y)})"
                        for x, y in pairs),
                    lambda vals, ps=set(pairs), va=va, vb=vb: (int(vals[va.name]), int(vals[vb.name])) in ps)
        # equalities under the whole finite part: not for a lean machine, whose classes are many and sparse
        # next to its integer components (a sequence task: most of their equalities are chance, each costing
        # Houdini a round), and whose proofs use the splits by one component above
        if 1 < len(keys) <= self.settings.max_classes and len(fin) > 1 and not self.lean:
            for c, key in enumerate(keys):
                self.for_rows(inverse == c, tuple(zip(fin, (int(x) for x in key))))

    def sign_patterns(self) -> None:
        """Predicate abstraction: the finite part together with the sign (<0, =0, >0) of every
        integer component takes only the combinations seen. This is the disjunctive candidate
        ('in the sink, either a letter came out of order or no a was read') conjunctions miss."""
        signs = np.sign(self.X)
        keys = np.unique(np.concatenate([self.F, signs], axis=1), axis=0)
        if len(keys) > 4 * self.settings.max_classes:
            return
        fin, num = self.finite, self.numeric
        nf = len(fin)
        patterns = tuple(tuple(int(x) for x in k) for k in keys)

        def term(S, key):
            parts = [self.atom(S, v, x) for v, x in zip(fin, key[:nf])]
            for v, sg in zip(num, key[nf:]):
                x = S[v.name]
                parts.append(x > 0 if sg > 0 else (x < 0 if sg < 0 else x == 0))
            return z3.And(parts)

        def text(key):
            parts = [self.cond_text(tuple(zip(fin, key[:nf])))] if fin else []
            parts += [f"{self.name(v)} {'>' if sg > 0 else '<' if sg < 0 else '='} 0"
                      for v, sg in zip(num, key[nf:])]
            return "(" + " and ".join(p for p in parts if p) + ")"

        def check(vals):
            head = tuple(int(vals[v.name]) for v in fin)
            return any(head == k[:nf] and all(_sign_ok(vals[v.name], sg) for v, sg in zip(num, k[nf:]))
                       for k in patterns)

        self.add(lambda S: z3.Or([term(S, k) for k in patterns]),
                 "one of: " + " or ".join(text(k) for k in patterns), check)


def bound_family(c: Candidate) -> Optional[str]:
    """For a bound on one component (`G implies x <= b`), its text with the names of symbols, the
    values in its guard and the numbers in its names abstracted (`c_12`, `#["12"]`, `prev = 3`), the
    bound b kept: over a vocabulary, the guesses of one family usually stand or fall together. None
    for any other candidate."""
    m = _BOUND.match(c.text)
    if m is None:
        return None
    head, tail = c.text[:m.start(1)], c.text[m.start(1):]
    return _NUMBERS.sub("*", head) + tail


_BOUND = re.compile(r'^(?:.* implies )?(?!.* [-+] )[^:]* (<=|>=) -?\d+$')    # a bound on one component
_NUMBERS = re.compile(r'"[^"]*"|\d+')

