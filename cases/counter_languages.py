"""Counter languages: Dyck-1, Shuffle-2, aⁿbⁿ, aⁿbⁿcⁿ, aⁿbⁿcⁿdⁿ, Boolean-3, Boolean-5.

References are `CounterSpec`s (optional DFA + linear constraints over prefix symbol counts:
`always` on every proper prefix, `final` at the end), shared with the Z3 backend. All programs are
plain C-RASP.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from verify.case import LANGUAGE, Case, NextSymbols
from verify.crasp.builder import (ProgramBuilder, add, and_, count, eq, gt, le, lt, or_, scale, sub,
                                  sym)
from verify.spec import Automaton, CounterSpec, LinearConstraint

from cases._common import (block_members, bracket_members, constrained_walk, dyck_members, language_sampler,
                           polish_members)

C = LinearConstraint.make

# ------------------------------------------------------------------ Dyck-1 and Shuffle-2
DYCK = CounterSpec(("(", ")"), always=(C({"(": 1, ")": -1}, ">=", 0),),
                   final=(C({"(": 1, ")": -1}, "==", 0),))


def dyck1_program():
    b = ProgramBuilder(("(", ")"), "dyck1")
    open_ = b.let("open", count(sym("(")))
    close = b.let("close", count(sym(")")))
    dips = b.let("dips", count(lt(open_, close)))
    b.accept(and_(eq(dips, 0), eq(open_, close)))
    return b.build()


SHUFFLE_SIGMA = ("(", ")", "[", "]")
SHUFFLE = CounterSpec(SHUFFLE_SIGMA,
                      always=(C({"(": 1, ")": -1}, ">=", 0), C({"[": 1, "]": -1}, ">=", 0)),
                      final=(C({"(": 1, ")": -1}, "==", 0), C({"[": 1, "]": -1}, "==", 0)))


def shuffle2_program():
    b = ProgramBuilder(SHUFFLE_SIGMA, "shuffle2")
    round_ = b.let("round", sub(count(sym("(")), count(sym(")"))))
    square = b.let("square", sub(count(sym("[")), count(sym("]"))))
    dips = b.let("dips", count(or_(lt(round_, 0), lt(square, 0))))
    b.accept(and_(eq(dips, 0), eq(round_, 0), eq(square, 0)))
    return b.build()


# ------------------------------------------------------------------ aⁿbⁿ, aⁿbⁿcⁿ, aⁿbⁿcⁿdⁿ
def blocks_automaton(letters: Sequence[str]) -> Automaton:
    """a+b+c+...: one non-empty block per letter, in order."""
    delta = {("start", letters[0]): letters[0]}
    for x, y in zip(letters, letters[1:]):
        delta[(x, x)] = x
        delta[(x, y)] = y
    delta[(letters[-1], letters[-1])] = letters[-1]
    return Automaton.make(letters, delta, "start", [letters[-1]])


def equal_blocks_spec(letters: Sequence[str]) -> CounterSpec:
    return CounterSpec(tuple(letters), automaton=blocks_automaton(letters),
                       final=tuple(C({x: 1, y: -1}, "==", 0) for x, y in zip(letters, letters[1:])))


def equal_blocks_program(letters: Sequence[str]):
    def build():
        b = ProgramBuilder(letters, "".join(f"{x}n" for x in letters))
        counts = [b.let(f"n_{x}", count(sym(x))) for x in letters]
        # a letter after any later letter breaks the block order
        later = [b.let(f"after_{x}", count(or_(*[sym(y) for y in letters[i + 1:]])))
                 for i, x in enumerate(letters[:-1])]
        bad = b.let("out_of_order", count(or_(*[and_(sym(x), gt(later[i], 0))
                                                  for i, x in enumerate(letters[:-1])])))
        b.accept(and_(eq(bad, 0), gt(counts[0], 0),
                      *[eq(counts[i], counts[i + 1]) for i in range(len(letters) - 1)]))
        return b.build()
    return build


# ------------------------------------------------------------------ Boolean-n (Polish notation)
# Boolean-n: values 0 1 and one operator of each arity 1..n (the n-ary Boolean expressions of
# Bhattamishra et al. 2020): ~ (1), + (2), > (3), * (4), ^ (5).
OPERATORS = ("~", "+", ">", "*", "^")


def boolean_arities(n: int) -> Dict[str, int]:
    return {"0": 0, "1": 0, **{op: k + 1 for k, op in enumerate(OPERATORS[:n])}}


def boolean_spec(n: int) -> CounterSpec:
    # r = 1 + Σ (arity − 1)·#op − #values: subterms still missing. r ≥ 1 on proper prefixes, 0 at the end.
    ar = boolean_arities(n)
    weights = {x: a - 1 for x, a in ar.items() if a != 1}
    return CounterSpec(tuple(ar), always=(C(weights, ">=", 0),), final=(C(weights, "==", -1),))


def boolean_program(n: int):
    def build():
        ar = boolean_arities(n)
        b = ProgramBuilder(tuple(ar), f"boolean{n}")
        values = count(or_(sym("0"), sym("1")))
        terms = [scale(a - 1, count(sym(x))) for x, a in ar.items() if a >= 2]
        missing = b.let("missing", sub(add(1, *terms), values))
        b.accept(and_(eq(missing, 0), eq(count(le(missing, 0)), 1)))
        return b.build()
    return build


def make_boolean(n: int) -> Case:
    ar = boolean_arities(n)
    spec = boolean_spec(n)
    return Case(
        name=f"boolean{n}", family="counter", format=LANGUAGE, alphabet=tuple(ar),
        description=f"Boolean-{n}: Boolean expressions in Polish notation with operators of arity 1..{n}",
        labels=spec.labels, spec=spec,
        sampler=language_sampler(len(ar), polish_members(list(ar.values()))),
        program=boolean_program(n), max_input_len=100,
        notes=(f"Definition (the n-ary Boolean expressions of Bhattamishra et al. 2020): values 0 1 and "
               f"one operator per arity 1..{n}: " + ", ".join(f"{op} ({k + 1})" for k, op in
                                                            enumerate(OPERATORS[:n])) +
               ". A string is a member iff it is one complete expression: r = 1 + Σ(arity − 1)·#op − "
               "#values stays ≥ 1 on every proper prefix and is 0 at the end (so the language is "
               "prefix-free). Plain C-RASP: accept = r == 0 and #[r <= 0] == 1."),
        extra={"arities": ar}, next_symbols=boolean_next_symbols(list(ar.values())),
    )


# ------------------------------------------------------------------ next-symbol references
# The paper's formal-language protocol (Bhattamishra et al. 2020) predicts, at every prefix, the set of
# symbols after which a member can still be reached, and <eos> where the prefix is a member. These
# languages have no DFA to read that off, so each family states it in closed form from the prefix
# counts (the empty prefix is never a member: the catalogue's languages are of non-empty words).
# tests/test_next_symbols.py checks every case against a search over its CounterSpec.

def _prefix_counts(ids: np.ndarray, k: int) -> np.ndarray:
    """(m, n+1, k): how often each symbol occurs in each prefix, lengths 0..n."""
    m, n = ids.shape
    counts = np.zeros((m, n + 1, k), dtype=np.int64)
    counts[:, 1:] = np.cumsum(ids[:, :, None] == np.arange(k), axis=1)
    return counts


def _nonempty(m: int, n: int) -> np.ndarray:
    return np.broadcast_to(np.arange(n + 1) >= 1, (m, n + 1))


def _walk(k: int, legal_after):
    """Walks that take only the symbols `legal_after(counts, i, n)` allows, counts being the (m, k) symbol
    counts so far: every prefix stays live."""
    one_hot = np.eye(k, dtype=np.int64)
    return constrained_walk(k, lambda m: np.zeros((m, k), dtype=np.int64), legal_after,
                            lambda counts, sym: counts + one_hot[sym])


def bracket_next_symbols(pairs: int) -> NextSymbols:
    """Dyck-1 (pairs = 1) and the shuffle of Dyck-1s (symbols open_0, close_0, open_1, ...): an opening
    bracket is always legal, a closing one while its type is open, <eos> when every type is closed."""
    k = 2 * pairs

    def legal_at(counts):
        legal = np.ones(counts.shape, dtype=bool)
        legal[..., 1::2] = counts[..., 0::2] > counts[..., 1::2]
        return legal

    def continuations(ids):
        counts = _prefix_counts(ids, k)
        final = (counts[..., 0::2] == counts[..., 1::2]).all(axis=-1) & _nonempty(*ids.shape)
        return legal_at(counts), final
    return NextSymbols(_walk(k, lambda counts, i, n: legal_at(counts)), continuations)


def boolean_next_symbols(arities: Sequence[int]) -> NextSymbols:
    """Polish notation: while subterms are missing (r ≥ 1) every symbol is legal; none once the expression
    is complete (r = 0, <eos>). Walks keep r ≥ 1 until their last symbol."""
    ar = np.asarray(arities, dtype=np.int64)
    k = len(ar)

    def missing(counts):
        return 1 + counts @ (ar - 1)

    def continuations(ids):
        r = missing(_prefix_counts(ids, k))
        return np.repeat((r >= 1)[..., None], k, axis=-1), (r == 0) & _nonempty(*ids.shape)

    def legal_after(counts, i, n):
        after = missing(counts)[:, None] + (ar - 1)[None, :]
        return after >= (0 if i == n - 1 else 1)
    return NextSymbols(_walk(k, legal_after), continuations)


def blocks_next_symbols(letters: int) -> NextSymbols:
    """a^j b^j c^j ...: the first letter while no later one has come; a later block's letter while its
    count is below the first block's; the next block's first letter once the current block matches the
    first (from the first block: once it is non-empty); <eos> when the last block matches. The live
    prefixes of length n are those of a^j b^j ... with j ≥ n / letters, drawn with j uniform."""
    k = letters

    def continuations(ids):
        m, n = ids.shape
        counts = _prefix_counts(ids, k)
        seen = counts > 0
        current = np.where(seen.any(axis=-1), k - 1 - np.argmax(seen[..., ::-1], axis=-1), -1)  # last block begun
        first = counts[..., 0]
        legal = np.zeros((m, n + 1, k), dtype=bool)
        legal[..., 0] = current <= 0
        for b in range(1, k):
            full = np.ones_like(current, dtype=bool) if b == 1 else counts[..., b - 1] == first
            legal[..., b] = ((current == b) & (counts[..., b] < first)) | ((current == b - 1) & full)
        final = (current == k - 1) & (counts[..., k - 1] == first)
        return legal, final

    def live(rng, m, n):
        j = rng.integers(-(-n // k), n + 1, size=m)          # ceil(n / k) … n: every block fits
        return np.minimum(np.arange(n)[None, :] // np.maximum(j, 1)[:, None], k - 1).astype(np.int64)
    return NextSymbols(live, continuations)


def _counter_case(name, alphabet, spec, description, program, members, notes, next_symbols):
    return Case(name=name, family="counter", format=LANGUAGE, alphabet=alphabet, description=description,
                labels=spec.labels, spec=spec, sampler=language_sampler(len(alphabet), members),
                program=program, max_input_len=100, notes=notes, next_symbols=next_symbols)


CASES = [
    _counter_case("dyck1", ("(", ")"), DYCK, "Dyck-1: balanced brackets", dyck1_program,
                  dyck_members, "Plain C-RASP: no prefix dips below zero and #( == #).",
                  bracket_next_symbols(1)),
    _counter_case("shuffle2", SHUFFLE_SIGMA, SHUFFLE,
                  "Shuffle-2: interleavings of two Dyck-1 languages over ( ) and [ ]",
                  shuffle2_program, bracket_members(2),
                  "Definition: the shuffle of Dyck-1 over ( ) and Dyck-1 over [ ] (each bracket type "
                  "balanced on its own, types may cross: '([)]' is a member), as in Bhattamishra et al. "
                  "2020.", bracket_next_symbols(2)),
    _counter_case("anbn", ("a", "b"), equal_blocks_spec(("a", "b")), "aⁿbⁿ, n ≥ 1",
                  equal_blocks_program(("a", "b")), block_members(2),
                  "n ≥ 1 (the empty string is out of scope for last-position acceptance).",
                  blocks_next_symbols(2)),
    _counter_case("anbncn", ("a", "b", "c"), equal_blocks_spec(("a", "b", "c")), "aⁿbⁿcⁿ, n ≥ 1",
                  equal_blocks_program(("a", "b", "c")), block_members(3), "n ≥ 1.", blocks_next_symbols(3)),
    _counter_case("anbncndn", ("a", "b", "c", "d"), equal_blocks_spec(("a", "b", "c", "d")),
                  "aⁿbⁿcⁿdⁿ, n ≥ 1", equal_blocks_program(("a", "b", "c", "d")), block_members(4),
                  "n ≥ 1.", blocks_next_symbols(4)),
    make_boolean(3),
    make_boolean(5),
]
