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
    def __init__(self):
        import z3
        self.z3 = z3

    def ite(self, c, a, b):
        return self.z3.If(c, a, b)

    def and_(self, *xs):
        return self.z3.And(*xs) if xs else self.z3.BoolVal(True)

    def or_(self, *xs):
        return self.z3.Or(*xs) if xs else self.z3.BoolVal(False)

    def not_(self, x):
        return self.z3.Not(x)

    def const(self, v):
        return self.z3.BoolVal(v) if isinstance(v, bool) else self.z3.IntVal(v)

    def sum(self, xs):
        xs = list(xs)
        return self.z3.Sum(xs) if len(xs) > 1 else (xs[0] if xs else self.z3.IntVal(0))


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
        return [np.array(rows, dtype=np.int64) for _, rows in sorted(groups.items())]
