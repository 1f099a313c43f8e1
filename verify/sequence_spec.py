"""Machine-readable specifications of SEQUENCE tasks (`<bos> input <sep> answer <eos>`), for the Z3
backend (`verify prove`, `verify equiv`, the report's proofs): a task is a small machine whose state is a
few integers and Booleans, read left to right, that says at every position from the separator on which
token must come next.

A `SequenceSpec` gives only the task's part:
  - `variables`: (name, sort, initial value), sort "int", "bool" or a number N (a value in range(N): a
    finite component, which invariant inference splits on);
  - `step(o, st, sym, at)`: the state after reading one symbol (at every position, whatever the phase);
    `at.input`, `at.sep`, `at.answer` say where it is read (an input symbol before the separator, the
    separator, an answer symbol that was the right next one), `at.before_sep` that no separator has been
    read yet (this symbol included);
  - `valid(o, st)`: after the separator, whether the input is in the task's domain;
  - `next(o, st)`: after the separator or an answer symbol, the right next token, one Boolean per output
    symbol (the answer symbols and <eos>; exactly one is true on the task's domain).
The frame — <bos> first, then input symbols, the separator, then answer symbols each equal to the
right next one (teacher forcing) — is the same for every task and is added by the Z3 machine
(verify/smt/sequence.py): a position is checked exactly when its prefix is such a frame, as `verify check`
compares a sequence program.

`o` is an `Ops`: the same task code runs on numpy arrays (one value per word of a batch: traces for
invariant inference, and `labels`, which tests compare with the case's own `answer`) and on Z3 terms
(the proof). `sym.is_(token)` is the Boolean "the symbol read is token"; `sym.index(tokens)` its index in
a tuple of tokens (-1 if none).

Counterexamples found by Z3 are replayed through the case's own `answer` and `valid_input` (`reference`),
never through this machine, so a wrong specification shows up as a replay error, not as a verdict.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

INT, BOOL = "int", "bool"
# the frame's phases (verify/smt/sequence.py): before <bos>, reading the input, reading a right answer, outside
START, INPUT, ANSWER, OUTSIDE = 0, 1, 2, 3
PAIR_WORDS = 400          # up to this many pairs of input symbols, sample words repeat every pair


class Ops:
    """Boolean and integer operations on numpy arrays (NumpyOps) or Z3 terms (Z3Ops)."""

    def ite(self, c, a, b): raise NotImplementedError
    def and_(self, *xs): raise NotImplementedError
    def or_(self, *xs): raise NotImplementedError
    def not_(self, x): raise NotImplementedError
    def const(self, v): raise NotImplementedError

    def sum(self, xs):
        xs = list(xs)
        out = self.const(0)
        for x in xs:
            out = out + x
        return out

    def count(self, bools):
        return self.sum(self.ite(b, 1, 0) for b in bools)


class NumpyOps(Ops):
    def __init__(self, batch: int):
        self.batch = batch

    def ite(self, c, a, b):
        return np.where(c, a, b)

    def and_(self, *xs):
        out = np.ones(self.batch, dtype=bool)
        for x in xs:
            out = out & x
        return out

    def or_(self, *xs):
        out = np.zeros(self.batch, dtype=bool)
        for x in xs:
            out = out | x
        return out

    def not_(self, x):
        return ~np.asarray(x, dtype=bool)

    def const(self, v):
        return np.full(self.batch, v, dtype=bool if isinstance(v, bool) else np.int64)


class Z3Ops(Ops):
    """Z3 terms, with constants kept as Python values (a Boolean, an integer) and folded away: a step over
    a concrete symbol (the proofs check the last transition once per symbol) then builds only what
    depends on the state, which over a large vocabulary is most of the work. Results may therefore be
    Python constants; verify/smt/sequence.py turns those into Z3 terms."""

    def __init__(self):
        import z3
        self.z3 = z3

    @staticmethod
    def _known(x):
        """True / False for a constant Boolean, else None."""
        return bool(x) if isinstance(x, (bool, np.bool_)) else None

    def ite(self, c, a, b):
        k = self._known(c)
        if k is not None:
            return a if k else b
        return self.z3.If(c, a, b)

    def and_(self, *xs):
        rest = []
        for x in xs:
            k = self._known(x)
            if k is False:
                return False
            if k is None:
                rest.append(x)
        return self.z3.And(*rest) if len(rest) > 1 else (rest[0] if rest else True)

    def or_(self, *xs):
        rest = []
        for x in xs:
            k = self._known(x)
            if k is True:
                return True
            if k is None:
                rest.append(x)
        return self.z3.Or(*rest) if len(rest) > 1 else (rest[0] if rest else False)

    def not_(self, x):
        k = self._known(x)
        return (not k) if k is not None else self.z3.Not(x)

    def const(self, v):
        return v

    def sum(self, xs):
        known, terms = 0, []
        for x in xs:
            if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
                known += int(x)
            else:
                terms.append(x)
        if not terms:
            return known
        out = self.z3.Sum(terms) if len(terms) > 1 else terms[0]
        return out + known if known else out


class Symbol:
    """The symbol read at one position: `is_(token)` (a Boolean), `index(tokens)` (an integer)."""

    def __init__(self, o: Ops, alphabet: Sequence[str], ident):
        self.o, self.alphabet, self.id = o, tuple(alphabet), ident
        self._ids = {a: k for k, a in enumerate(self.alphabet)}

    def is_(self, token: str):
        k = self._ids[token]
        if isinstance(self.id, int):
            return self.o.const(self.id == k)
        return self.id == k

    def among(self, tokens: Sequence[str]):
        return self.o.or_(*[self.is_(t) for t in tokens])

    def index(self, tokens: Sequence[str]):
        return self.o.sum(self.o.ite(self.is_(t), j + 1, 0) for j, t in enumerate(tokens)) - 1


@dataclass(frozen=True)
class Where:
    input: object
    sep: object
    answer: object
    before_sep: object


State = Dict[str, object]


@dataclass(frozen=True)
class SequenceSpec:
    alphabet: Tuple[str, ...]                  # the case's (and its program's) alphabet, in order
    input_alphabet: Tuple[str, ...]
    outputs: Tuple[str, ...]                   # answer symbols and <eos>: the program's `next` outputs
    variables: Tuple[Tuple[str, str, object], ...]
    step: Callable[[Ops, State, Symbol, Where], State]
    valid: Callable[[Ops, State], object]
    next: Callable[[Ops, State], Mapping[str, object]]
    answer: Callable[[Tuple[str, ...]], Tuple[str, ...]]            # the case's reference (replay)
    valid_input: Optional[Callable[[Tuple[str, ...]], bool]] = None
    text: str = "a sequence task"
    bos: str = "<bos>"
    sep: str = "<sep>"
    eos: str = "<eos>"
    # samples for invariant inference: (rng, batch, n) -> input token tuples, and the lengths to draw
    sampler: Optional[Callable[[np.random.Generator, int, int], object]] = None
    sample_lengths: Tuple[int, ...] = ()
    # guessed invariants of this machine alone, (text, formula(o, st)), meant to hold after every prefix
    # (e.g. d_t <= n; `st` also holds the frame's `phase`, one of START..OUTSIDE, and `sep_seen`): offered
    # to invariant inference as candidates, kept only if true on every sampled state and then proved
    # inductive by Houdini with the rest (never assumed)
    invariants: Tuple[Tuple[str, Callable[[Ops, State], object]], ...] = ()

    @property
    def keys(self) -> Tuple[str, ...]:
        return tuple(f"next {t}" for t in self.outputs)

    def reference(self, tokens: Sequence[str]) -> Optional[Tuple[bool, ...]]:
        """The right next token after a whole word, one Boolean per output, from the case's `answer`;
        None where the word is not checked (not `<bos> x <sep> a_1..a_k` with x in the domain and
        a_1..a_k the answer's first k tokens, k at most its length)."""
        tokens = tuple(tokens)
        if len(tokens) < 2 or tokens[0] != self.bos or self.sep not in tokens:
            return None
        cut = tokens.index(self.sep)
        x, written = tokens[1:cut], tokens[cut + 1:]
        if not x or any(t not in self.input_alphabet for t in x):
            return None
        if self.valid_input is not None and not self.valid_input(x):
            return None
        full = tuple(self.answer(x)) + (self.eos,)
        if len(written) >= len(full) or written != full[:len(written)]:
            return None
        return tuple(t == full[len(written)] for t in self.outputs)

    def words(self, rng: np.random.Generator, batch: int = 40):
        """Full teacher-forced sequences (symbol ids, one array per length) drawn with the case's
        sampler: the states invariant inference should see."""
        if self.sampler is None:
            return []
        index = {a: k for k, a in enumerate(self.alphabet)}
        groups: Dict[int, list] = {}
        for n in self.sample_lengths:
            try:
                inputs = self.sampler(rng, batch, n)
            except ValueError:
                continue
            for x in inputs:
                x = tuple(x)
                if self.valid_input is not None and not self.valid_input(x):
                    continue
                full = (self.bos, *x, self.sep, *self.answer(x), self.eos)
                groups.setdefault(len(full), []).append([index[t] for t in full])
        for row in [r for rows in groups.values() for r in rows]:
            for bad in _perturbed(rng, row, len(self.alphabet)):
                groups.setdefault(len(bad), []).append(bad)
        for word in self._off_frame(rng, index, batch):
            groups.setdefault(len(word), []).append(word)
        return [np.array(rows, dtype=np.int64) for _, rows in sorted(groups.items())]

    def _off_frame(self, rng: np.random.Generator, index: Mapping[str, int], batch: int):
        """Words outside the task's domain, so that guesses that only its own words satisfy are refuted
        by a sample rather than one Houdini round each: inputs with repeated symbols and any answer, and,
        for every symbol s, s three times in the input, after the separator and before <bos>, and once before a
        second <bos> (a bound
        such as 'c_s <= 2' survives otherwise, one per symbol, over a large vocabulary); over a small
        vocabulary, every pair of input symbols three times as well (the same for counts per bigram)."""
        n_in, n_all = len(self.input_alphabet), len(self.alphabet)
        inputs = [index[t] for t in self.input_alphabet]
        bos, sep = index[self.bos], index[self.sep]
        for n in self.sample_lengths:
            for _ in range(max(1, batch // 4)):
                x = [inputs[j] for j in rng.integers(0, n_in, size=n)]
                tail = [int(j) for j in rng.integers(0, n_all, size=int(rng.integers(0, n + 2)))]
                yield [bos, *x, sep, *tail]
        for s in range(n_all):
            other = [int(j) for j in rng.integers(0, n_all, size=3)]
            some = [inputs[j] for j in rng.integers(0, n_in, size=2)]
            yield [bos, s, s, s, sep, s, s, s]
            yield [s, s, s, bos, s, sep, *other]
            yield [bos, *some, s, s, s, sep, *other]
            yield [bos, *some, s, bos, s]
        if n_in * n_in <= PAIR_WORDS:   # a small vocabulary: every bigram three times, too
            for a in inputs:
                for c in inputs:
                    yield [bos, a, c, a, c, a, c, sep, a, c, a, c]
                    yield [a, c, a, c, a, c, bos, a, c, sep]


def _perturbed(rng: np.random.Generator, row, k: int):
    """Two words off the task's frame from one teacher-forced word: one symbol replaced, and one random
    symbol inserted (the prefixes up to there are the task's own; after it, a wrong answer, a repeated
    input symbol, a second separator... reach the states a proof must also cover)."""
    i, j = int(rng.integers(1, len(row))), int(rng.integers(1, len(row) + 1))
    changed = list(row)
    changed[i] = int(rng.integers(0, k))
    return [changed, [*row[:j], int(rng.integers(0, k)), *row[j:]]]
