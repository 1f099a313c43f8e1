"""Vectorized interpreter: one numpy pass per operation over a whole batch (batch × positions).

Exact integers (int64), positions 1-based plus an `offset` (periodic predicates read
(i + offset) mod m), guarded counts in time linear in n (one shifted add per distance).
Values that do not depend on the input (periodic predicates, constants) stay of shape
(1, n) and broadcast.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Union

import numpy as np

from verify.crasp import ast as A
from verify.crasp.checks import END_MARKER, check_program
from verify.crasp.linear import StraightLine, flatten
from verify.problems import UserError

ACCEPT_LAST, ACCEPT_END = "last", "end"
ACCEPTANCE_MODES = (ACCEPT_LAST, ACCEPT_END)

_COMPARE = {"<": np.less, "<=": np.less_equal, "==": np.equal,
            "!=": np.not_equal, ">=": np.greater_equal, ">": np.greater}

_line_cache: Dict[int, tuple] = {}


def straight_line(program: Union[A.Program, StraightLine]) -> StraightLine:
    """The (cached) straight-line form; raises UserError if the program is ill-formed."""
    if isinstance(program, StraightLine):
        return program
    hit = _line_cache.get(id(program))
    if hit is not None and hit[0] is program:
        return hit[1]
    problems = check_program(program)
    if problems:
        raise UserError(f"{program.source}: the program has {len(problems)} problem(s)", problems)
    line = flatten(program)
    _line_cache[id(program)] = (program, line)
    return line


def symbol_ids(alphabet: Sequence[str]) -> Dict[str, int]:
    """Token ids: the alphabet in order, then the end marker."""
    ids = {a: i for i, a in enumerate(alphabet)}
    ids[END_MARKER] = len(alphabet)
    return ids


def tokenize(alphabet: Sequence[str], text: str) -> List[str]:
    """Split an input string into alphabet symbols: on whitespace, then longest match."""
    symbols = sorted(set(alphabet) | {END_MARKER}, key=len, reverse=True)
    tokens: List[str] = []
    column = 0
    for piece in text.split():
        column = text.index(piece, column)
        k = 0
        while k < len(piece):
            match = next((s for s in symbols if piece.startswith(s, k)), None)
            if match is None:
                raise UserError(
                    f"input column {column + k + 1}: {piece[k:k + 12]!r} does not start with a symbol of the "
                    f"alphabet {' '.join(repr(a) for a in alphabet)}",
                    exit_code=2)
            tokens.append(match)
            k += len(match)
        column += len(piece)
    return tokens


def encode(alphabet: Sequence[str], sequences: Sequence[Sequence[str]]) -> np.ndarray:
    """Equal-length token sequences -> int array (batch, n)."""
    ids = symbol_ids(alphabet)
    lengths = {len(s) for s in sequences}
    if len(lengths) > 1:
        raise ValueError("encode takes sequences of equal length; group them by length first")
    n = lengths.pop() if lengths else 0
    out = np.empty((len(sequences), n), dtype=np.int64)
    for b, seq in enumerate(sequences):
        for i, tok in enumerate(seq):
            if tok not in ids:
                raise UserError(f"input symbol {tok!r} at position {i + 1} is not in the alphabet "
                                f"{' '.join(repr(a) for a in alphabet)}")
            out[b, i] = ids[tok]
    return out


@dataclass
class Evaluation:
    """Values of every operation: values[k] has shape (batch, n) or (1, n)."""

    line: StraightLine
    values: List[np.ndarray]
    batch: int
    n: int

    def value(self, index: int) -> np.ndarray:
        return np.broadcast_to(self.values[index], (self.batch, self.n))

    def output(self, key: str) -> np.ndarray:
        return self.value(self.line.output_index(key))

    @property
    def outputs(self) -> Dict[str, np.ndarray]:
        return {k: self.value(i) for k, i in self.line.outputs}


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    """y[:, i] = x[:, i - k] (zero before the start)."""
    if k == 0:
        return x
    y = np.zeros_like(x)
    if k < x.shape[1]:
        y[:, k:] = x[:, :-k]
    return y


def pointwise(op, a: List[np.ndarray], ids: np.ndarray, sid: Dict[str, int], positions: np.ndarray,
              n: int) -> np.ndarray:
    """The value of every operation but the two counts, from its arguments' values at the same
    positions (shared by the interpreter and the communication protocol's Bob)."""
    k = op.kind
    if k == "symbol":
        return ids == sid[op.param]
    if k == "bool_const":
        return np.full((1, n), op.param, dtype=bool)
    if k == "int_const":
        return np.full((1, n), op.param, dtype=np.int64)
    if k == "not":
        return ~a[0]
    if k == "and":
        return a[0] & a[1]
    if k == "or":
        return a[0] | a[1]
    if k == "periodic":
        m, residues = op.param
        return np.isin(positions % m, residues)
    if k == "compare":
        return _COMPARE[op.param](a[0], a[1])
    if k == "add":
        return a[0] + a[1]
    if k == "sub":
        return a[0] - a[1]
    if k == "scale":
        return op.param * a[0]
    if k == "ite":
        return np.where(a[0], a[1], a[2])
    if k == "min":
        return np.minimum(a[0], a[1])
    if k == "max":
        return np.maximum(a[0], a[1])
    raise AssertionError(f"not a pointwise operation: {k}")


def evaluate(program: Union[A.Program, StraightLine], ids: np.ndarray, offset: int = 0) -> Evaluation:
    """Evaluate every operation at every position of every input in the batch."""
    line = straight_line(program)
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError("ids must have shape (batch, n)")
    batch, n = ids.shape
    sid = symbol_ids(line.alphabet)
    positions = np.arange(1, n + 1, dtype=np.int64)[None, :] + offset
    vals: List[np.ndarray] = []
    for op in line.ops:
        a = [vals[i] for i in op.args]
        if op.kind == "count":
            # an int32 running sum is several times faster and exact (a count is at most n < 2**31)
            v = np.cumsum(a[0], axis=1, dtype=np.int32 if n < 2**31 else np.int64).astype(np.int64)
        elif op.kind == "guarded_count":
            src = a[0].astype(np.int64)
            v = np.zeros(src.shape, dtype=np.int64)
            for d in op.param:
                v += _shift(src, d)
        else:
            v = pointwise(op, a, ids, sid, positions, n)
        vals.append(v)
    return Evaluation(line, vals, batch, n)


def accepts(program: Union[A.Program, StraightLine], ids: np.ndarray, mode: str = ACCEPT_LAST,
            offset: int = 0, output: str = "accept") -> np.ndarray:
    """Language membership per input: the output read at the last position, or at an appended end marker."""
    ids = np.asarray(ids)
    if mode == ACCEPT_END:
        line = straight_line(program)
        end = symbol_ids(line.alphabet)[END_MARKER]
        ids = np.concatenate([ids, np.full((ids.shape[0], 1), end, dtype=ids.dtype)], axis=1)
    elif mode != ACCEPT_LAST:
        raise ValueError(f"acceptance mode must be one of {ACCEPTANCE_MODES}")
    if ids.shape[1] == 0:
        raise UserError("empty input: last-position acceptance needs at least one symbol "
                        "(use end-marker acceptance for the empty string)")
    return evaluate(program, ids, offset).output(output)[:, -1].copy()


def prefix_outputs(program, ids: np.ndarray, offset: int = 0, output: str = "accept") -> np.ndarray:
    """The output at every position: the per-position label of each prefix."""
    return evaluate(program, ids, offset).output(output).copy()


def next_tokens(program: Union[A.Program, StraightLine], ids: np.ndarray, offset: int = 0) -> np.ndarray:
    """Teacher-forced prediction at every position: the id of the unique true `next` output,
    -1 where none is true, -2 where several are."""
    line = straight_line(program)
    ev = evaluate(line, ids, offset)
    sid = symbol_ids(line.alphabet)
    keys = [(k, sid[k.split(" ", 1)[1]]) for k, _ in line.outputs if k.startswith("next ")]
    if not keys:
        raise UserError("this program has no `next` outputs (it is not a sequence program)")
    stack = np.stack([ev.output(k) for k, _ in keys])  # (outputs, batch, n)
    how_many = stack.sum(axis=0)
    which = np.array([s for _, s in keys])[np.argmax(stack, axis=0)]
    return np.where(how_many == 1, which, np.where(how_many == 0, -1, -2))


def generate(program: Union[A.Program, StraightLine], prefix: Sequence[str], stop: str = "<eos>",
             max_steps: int = 1000, offset: int = 0) -> tuple:
    """Autoregressive generation: append the predicted token and evaluate again.

    Returns (generated tokens, reason) where reason is "stop", "max_steps", "none true"
    or "several true"."""
    line = straight_line(program)
    names = list(line.alphabet) + [END_MARKER]
    seq = list(prefix)
    produced: List[str] = []
    for _ in range(max_steps):
        pred = int(next_tokens(line, encode(line.alphabet, [seq]), offset)[0, -1])
        if pred == -1:
            return produced, "none true"
        if pred == -2:
            return produced, "several true"
        tok = names[pred]
        produced.append(tok)
        seq.append(tok)
        if tok == stop:
            return produced, "stop"
    return produced, "max_steps"
