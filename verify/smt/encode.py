"""C-RASP[periodic, local] as a Z3 transition system, exact with respect to the interpreter.

A program is read left to right as a machine whose state after position i is
  - the value of every unguarded count at i (an integer),
  - the last values of every guarded count's operand (Booleans at i, i-1, ..., i-tau+1),
and whose input at position i is the symbol w_i and the phase (i + offset) mod Δ. `step`
computes every operation at position i from the state after i-1, the symbol and the phase,
and returns the new state. Unrolling `step` n times from `init_state` gives the values the
interpreter computes on an input of length n (tests/test_smt_encode.py checks it on random
programs and inputs); the same `step` over a symbolic state is the transition relation that
k-induction and invariant inference use.

Symbols are integer ids: the program's alphabet in order, then the end marker.

Counts and constants are unbounded z3 Ints: the exact integers of SPEC §1, which the interpreter
computes too (int64 only where verify.crasp.values shows int64 exact, Python integers otherwise),
so a counterexample found here replays through the interpreter whatever the constants' size.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import lcm
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
import z3

from verify.crasp import ast as A
from verify.crasp.interpreter import evaluate, straight_line, symbol_ids
from verify.crasp.linear import StraightLine, period_of, radius_of
from verify.problems import UserError

# Guards farther than this make the state too large to be useful in Z3; say so rather than hang.
MAX_RADIUS = 64

INT, BOOL, FINITE = "int", "bool", "finite"


@dataclass(frozen=True)
class StateVar:
    """One component of a machine's state: `sort` is int (unbounded count), bool, or finite
    (an integer in range(size): a phase or an automaton state)."""

    name: str
    sort: str
    size: int = 0          # FINITE only
    label: str = ""        # how invariants print it

    def fresh(self, tag: str):
        full = f"{self.name}@{tag}"
        return z3.Bool(full) if self.sort == BOOL else z3.Int(full)

    def domain(self, term) -> List:
        return [term >= 0, term < self.size] if self.sort == FINITE else []


State = Dict[str, object]  # state-variable name -> z3 term


def z3_value(term) -> object:
    """A concrete z3 value as a Python int/bool."""
    if z3.is_true(term):
        return True
    if z3.is_false(term):
        return False
    return term.as_long()


def as_line(program: Union[A.Program, StraightLine]) -> StraightLine:
    return straight_line(program)


class ProgramMachine:
    """The transition system of one program. `prefix` keeps two programs' names apart."""

    def __init__(self, program: Union[A.Program, StraightLine], prefix: str = "p"):
        self.line = as_line(program)
        self.prefix = prefix
        self.alphabet = tuple(self.line.alphabet)
        self.end_id = len(self.alphabet)
        self.period = period_of(self.line)
        self.radius = radius_of(self.line)
        if self.radius > MAX_RADIUS:
            raise UserError(f"guard distance {self.radius} is beyond what the Z3 encoding supports "
                            f"(at most {MAX_RADIUS}): the state would keep {self.radius} past values "
                            f"per guarded operand")
        self.sid = symbol_ids(self.alphabet)
        self.count_ops = [op.index for op in self.line.ops if op.kind == "count"]
        # operand -> largest distance >= 1 it is read at
        self.history: Dict[int, int] = {}
        for op in self.line.ops:
            if op.kind == "guarded_count":
                far = max(op.param)
                if far >= 1:
                    self.history[op.args[0]] = max(self.history.get(op.args[0], 0), far)
        self.vars: Tuple[StateVar, ...] = tuple(
            [StateVar(self._count(i), INT, label=self._name(i)) for i in self.count_ops]
            + [StateVar(self._hist(i, d), BOOL, label=f"{self._name(i)}[i-{d}]")
               for i, far in sorted(self.history.items()) for d in range(1, far + 1)])

    # ---------------------------------------------------------------- names
    def _name(self, index: int) -> str:
        return op_text(self.line, index)

    def _count(self, index: int) -> str:
        return f"{self.prefix}.c{index}"

    def _hist(self, index: int, d: int) -> str:
        return f"{self.prefix}.h{index}.{d}"

    # ---------------------------------------------------------------- machine
    def init_state(self) -> State:
        """Before position 1: every count is 0, every past operand value false (the interpreter
        shifts zeros in before the start)."""
        return {v.name: (z3.IntVal(0) if v.sort == INT else z3.BoolVal(False)) for v in self.vars}

    def init_values(self) -> Dict[str, object]:
        return {v.name: (0 if v.sort == INT else False) for v in self.vars}

    def step(self, state: State, symbol, phase) -> Tuple[List, State]:
        """Values of every operation at one position, and the state after it.

        `symbol` is an int id or a z3 integer; `phase` = (position + offset) mod Δ' for a Δ'
        that every modulus divides, an int or a z3 integer in range(Δ')."""
        vals: List = []
        for op in self.line.ops:
            a = [vals[i] for i in op.args]
            k = op.kind
            if k == "symbol":
                sid = self.sid[op.param]
                v = z3.BoolVal(symbol == sid) if isinstance(symbol, int) else symbol == sid
            elif k == "bool_const":
                v = z3.BoolVal(bool(op.param))
            elif k == "int_const":
                v = z3.IntVal(int(op.param))
            elif k == "not":
                v = z3.Not(a[0])
            elif k == "and":
                v = z3.And(a[0], a[1])
            elif k == "or":
                v = z3.Or(a[0], a[1])
            elif k == "periodic":
                v = periodic_term(op.param[0], op.param[1], phase)
            elif k == "compare":
                v = _compare(op.param, a[0], a[1])
            elif k == "count":
                v = state[self._count(op.index)] + z3.If(a[0], 1, 0)
            elif k == "guarded_count":
                terms = [z3.If(a[0] if d == 0 else state[self._hist(op.args[0], d)], 1, 0)
                         for d in op.param]
                v = z3.Sum(terms) if len(terms) > 1 else terms[0]
            elif k == "add":
                v = a[0] + a[1]
            elif k == "sub":
                v = a[0] - a[1]
            elif k == "scale":
                v = int(op.param) * a[0]
            elif k == "ite":
                v = z3.If(a[0], a[1], a[2])
            elif k == "min":
                v = z3.If(a[0] <= a[1], a[0], a[1])
            elif k == "max":
                v = z3.If(a[0] >= a[1], a[0], a[1])
            else:  # pragma: no cover - flatten emits only the kinds above
                raise AssertionError(k)
            vals.append(v)
        new: State = {}
        for i in self.count_ops:
            new[self._count(i)] = vals[i]
        for i, far in self.history.items():
            new[self._hist(i, 1)] = vals[i]
            for d in range(2, far + 1):
                new[self._hist(i, d)] = state[self._hist(i, d - 1)]
        return vals, new

    def outputs(self, vals: List, keys: Sequence[str]) -> List:
        return [vals[self.line.output_index(k)] for k in keys]

    def trace(self, ids: np.ndarray, offset: int = 0) -> Dict[str, np.ndarray]:
        """Concrete state after every position, (batch, n) per state variable (for invariant
        inference); computed by the interpreter, not by Z3."""
        ev = evaluate(self.line, ids, offset)
        out: Dict[str, np.ndarray] = {}
        for i in self.count_ops:
            out[self._count(i)] = np.array(ev.value(i), dtype=np.int64)
        for i, far in self.history.items():
            v = np.array(ev.value(i), dtype=bool)
            for d in range(1, far + 1):
                shifted = np.zeros_like(v)
                if d - 1 < v.shape[1]:
                    shifted[:, d - 1:] = v[:, : v.shape[1] - d + 1]
                out[self._hist(i, d)] = shifted
        return out


@dataclass(frozen=True)
class Phase:
    """A symbolic phase: a z3 integer ranging over range(period)."""

    term: object
    period: int

    @staticmethod
    def fresh(name: str, period: int) -> "Phase":
        return Phase(z3.Int(name), period)

    def domain(self) -> List:
        return [self.term >= 0, self.term < self.period]

    def next(self):
        return z3.If(self.term == self.period - 1, 0, self.term + 1)


def op_text(line: StraightLine, index: int, depth: int = 3) -> str:
    """A short source-like rendering of an operation: its `let` name, else its expression."""
    op = line.ops[index]
    if op.names:
        return op.names[0]
    if depth == 0:
        return f"%{index}"
    t = [op_text(line, i, depth - 1) for i in op.args]
    k = op.kind
    if k == "symbol":
        return f'"{op.param}"'
    if k in ("bool_const", "int_const"):
        return str(op.param).lower() if k == "bool_const" else str(op.param)
    if k == "not":
        return f"not {t[0]}"
    if k in ("and", "or"):
        return f"({t[0]} {k} {t[1]})"
    if k == "periodic":
        return f"pos % {op.param[0]} in {{{', '.join(map(str, op.param[1]))}}}"
    if k == "compare":
        return f"{t[0]} {op.param} {t[1]}"
    if k == "count":
        return f"#[{t[0]}]"
    if k == "guarded_count":
        return f"#[{t[0]} @ {','.join(map(str, op.param))}]"
    if k in ("add", "sub"):
        return f"({t[0]} {'+' if k == 'add' else '-'} {t[1]})"
    if k == "scale":
        return f"{op.param}*{t[0]}"
    if k == "ite":
        return f"(if {t[0]} then {t[1]} else {t[2]})"
    return f"{k}({', '.join(t)})"


def periodic_term(modulus: int, residues: Sequence[int], phase):
    """pos mod m in R, given phase = pos mod Δ with m | Δ; a symbolic phase becomes a
    disjunction over its values (no integer mod in the solver)."""
    if isinstance(phase, int):
        return z3.BoolVal(phase % modulus in residues)
    if phase.period % modulus:
        raise AssertionError("the phase period must be a multiple of every modulus")
    hits = [phase.term == p for p in range(phase.period) if p % modulus in residues]
    return z3.Or(hits) if hits else z3.BoolVal(False)


_CMP = {"<": lambda x, y: x < y, "<=": lambda x, y: x <= y, "==": lambda x, y: x == y,
        "!=": lambda x, y: x != y, ">=": lambda x, y: x >= y, ">": lambda x, y: x > y}


def _compare(op: str, x, y):
    return _CMP[op](x, y)


def joint_period(*periods: int) -> int:
    return lcm(1, *periods)


def unroll(program: Union[A.Program, StraightLine], symbols: Sequence, offset: int = 0
           ) -> List[List]:
    """Z3 terms for every operation at positions 1..n: result[i-1][op index]. `symbols` are ints
    or z3 integers (one per position)."""
    m = ProgramMachine(program)
    state = m.init_state()
    rows = []
    for i, s in enumerate(symbols, start=1):
        vals, state = m.step(state, s, (i + offset) % m.period)
        rows.append(vals)
    return rows
