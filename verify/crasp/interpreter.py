"""Vectorized interpreter: one numpy pass per operation over a whole batch (batch × positions).

Arithmetic is exact integer arithmetic (SPEC §1), never wrapping: count values are numpy int64
when the static bound of verify.crasp.values (`fits_int64`) shows that every value and literal
stays below 2^62 on inputs of the batch's length, and otherwise numpy object arrays of Python
integers — the same results, about ten times slower, for programs with huge constants or factors.
Positions are 1-based plus an `offset` (periodic predicates read (i + offset) mod m), guarded
counts take time linear in n (one shifted add per distance). Values that do not depend on the
input (periodic predicates, constants) stay of shape (1, n) and broadcast.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Union

import numpy as np

from verify.crasp import ast as A
from verify.crasp.checks import END_MARKER, check_program
from verify.crasp.linear import StraightLine, flatten
from verify.crasp.values import fits_int64
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


def _column(i: int) -> str:
    return f"input column {i + 1}"


def tokenize(alphabet: Sequence[str], text: str, locate: Callable[[int], str] = _column) -> List[str]:
    """Split an input string into alphabet symbols: on whitespace, then longest match.
    `locate(i)` names the place of character i in an error message."""
    symbols = sorted(set(alphabet) | {END_MARKER}, key=len, reverse=True)
    tokens: List[str] = []
    column = 0
    for piece in text.split():
        column = text.index(piece, column)
        k = 0
        while k < len(piece):
            match = next((s for s in symbols if piece.startswith(s, k)), None)
            if match is None:
                _not_a_symbol(alphabet, text, column + k, locate)
            tokens.append(match)
            k += len(match)
        column += len(piece)
    return tokens


def _not_a_symbol(alphabet: Sequence[str], text: str, i: int, locate: Callable[[int], str]):
    piece = text[i:i + 12].split()[0]
    raise UserError(f"{locate(i)}: {piece!r} does not start with a symbol of the alphabet "
                    f"{' '.join(repr(a) for a in alphabet)}", exit_code=2)


def single_characters(alphabet: Sequence[str]) -> bool:
    """Every symbol is one character: input text is then tokenized by a lookup table."""
    return all(len(a) == 1 for a in alphabet)


def id_dtype(alphabet: Sequence[str]):
    return np.int8 if len(alphabet) < 127 else np.int32


def tokenize_ids(alphabet: Sequence[str], text: str, locate: Callable[[int], str] = _column) -> np.ndarray:
    """The token ids (`symbol_ids`) of an input string, as a 1-D array: the same tokens as
    `tokenize`, without a Python step per symbol when every symbol is one character (a lookup of
    each character's code; whitespace dropped). Other alphabets, and text that may hold the end
    marker, go through `tokenize`."""
    dtype = id_dtype(alphabet)
    if not (single_characters(alphabet) and "<" not in text):
        ids = symbol_ids(alphabet)
        return np.fromiter((ids[t] for t in tokenize(alphabet, text, locate)), dtype=dtype)
    try:  # one byte per character when the text allows it (a 256-entry table), else UTF-32 codes
        codes = np.frombuffer(text.encode("latin-1"), dtype=np.uint8)
    except UnicodeEncodeError:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    keys = np.array(sorted(ord(a) for a in alphabet), dtype=np.int64)
    values = np.array([symbol_ids(alphabet)[chr(c)] for c in keys.tolist()], dtype=dtype)
    if codes.dtype == np.uint8:
        table = np.full(256, -1, dtype=dtype)
        table[keys[keys < 256]] = values[keys < 256]
        out = table[codes]
    else:
        where = np.minimum(np.searchsorted(keys, codes), len(keys) - 1)
        out = np.where(keys[where] == codes, values[where], -1).astype(dtype)
    missing = out < 0
    if not missing.any():
        return out
    odd = np.unique(codes[missing]).tolist()
    spaces = [c for c in odd if chr(c).isspace()]  # what str.split() drops
    if len(spaces) < len(odd):
        bad = np.flatnonzero(missing & ~np.isin(codes, spaces))[0]
        _not_a_symbol(alphabet, text, int(bad), locate)
    return out[~missing]


def tokens_of(alphabet: Sequence[str], ids: np.ndarray) -> List[str]:
    """The symbols of a 1-D id array (the inverse of `tokenize_ids`)."""
    names = np.array(list(alphabet) + [END_MARKER], dtype=object)
    return names[np.asarray(ids, dtype=np.int64)].tolist()


def encode(alphabet: Sequence[str], sequences: Sequence[Sequence[str]]) -> np.ndarray:
    """Equal-length token sequences -> int array (batch, n), by one C-level pass of dictionary
    lookups (no Python step per symbol)."""
    lengths = {len(s) for s in sequences}
    if len(lengths) > 1:
        raise ValueError("encode takes sequences of equal length; group them by length first")
    n = lengths.pop() if lengths else 0
    if not sequences or n == 0:
        return np.empty((len(sequences), n), dtype=np.int64)
    ids = symbol_ids(alphabet)
    flat = itertools.chain.from_iterable(sequences)
    out = np.fromiter(map(ids.get, flat, itertools.repeat(-1)), dtype=np.int64,
                      count=len(sequences) * n).reshape(len(sequences), n)
    if (out < 0).any():
        b, i = (int(x[0]) for x in np.nonzero(out < 0))
        raise UserError(f"input symbol {sequences[b][i]!r} at position {i + 1} is not in the alphabet "
                        f"{' '.join(repr(a) for a in alphabet)}")
    return out


@dataclass
class Evaluation:
    """Values of every operation: values[k] has shape (batch, n) or (1, n); Booleans are bool,
    counts int64, or object (Python integers) when `exact_objects` (values may pass 2^62)."""

    line: StraightLine
    values: List[np.ndarray]
    batch: int
    n: int
    exact_objects: bool = False

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


def count_dtype(line: StraightLine, n: int):
    """The dtype of count values on inputs of length n: int64 where the static bound shows it is
    exact, else object (Python integers)."""
    return np.int64 if fits_int64(line, n) else object


def pointwise(op, a: List[np.ndarray], ids: np.ndarray, sid: Dict[str, int], positions: np.ndarray,
              n: int, dtype=np.int64) -> np.ndarray:
    """The value of every operation but the two counts, from its arguments' values at the same
    positions (shared by the interpreter and the communication protocol's Bob). `dtype` is the
    count dtype (`count_dtype`): the arguments already have it, constants are made with it."""
    k = op.kind
    if k == "symbol":
        return ids == sid[op.param]
    if k == "bool_const":
        return np.full((1, n), op.param, dtype=bool)
    if k == "int_const":
        return np.full((1, n), op.param, dtype=dtype)
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


def evaluate(program: Union[A.Program, StraightLine], ids: np.ndarray, offset: int = 0,
             python_ints: bool = False) -> Evaluation:
    """Evaluate every operation at every position of every input in the batch. `python_ints`
    takes the Python-integer path even where int64 is exact (the tests compare both paths)."""
    line = straight_line(program)
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError("ids must have shape (batch, n)")
    batch, n = ids.shape
    sid = symbol_ids(line.alphabet)
    positions = np.arange(1, n + 1, dtype=np.int64)[None, :] + offset
    dtype = object if python_ints else count_dtype(line, n)
    vals: List[np.ndarray] = []
    for op in line.ops:
        a = [vals[i] for i in op.args]
        if op.kind == "count":
            # an int32 running sum is several times faster and exact (a count is at most n < 2**31)
            v = np.cumsum(a[0], axis=1, dtype=np.int32 if n < 2**31 else np.int64).astype(dtype)
        elif op.kind == "guarded_count":
            src = a[0].astype(np.int64)
            v = np.zeros(src.shape, dtype=np.int64)
            for d in op.param:
                v += _shift(src, d)
            v = v.astype(dtype, copy=False)
        else:
            v = pointwise(op, a, ids, sid, positions, n, dtype)
        vals.append(v)
    return Evaluation(line, vals, batch, n, dtype is object)


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
