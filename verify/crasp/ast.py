"""Abstract syntax of C-RASP[periodic, local] (SPEC §1) as frozen dataclasses.

Every node is immutable and hashable; source locations are carried but ignored by
equality, so the parser and the builder API produce equal trees.  Expressions are
either Boolean-valued or count-valued; `checks.check_program` tells which.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple, Union


@dataclass(frozen=True)
class Loc:
    """A source position: 1-based line and column in `file`."""

    file: str
    line: int
    column: int
    length: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _loc() -> Optional[Loc]:
    return field(default=None, compare=False, repr=False, hash=False)


# ---------------------------------------------------------------- Booleans
@dataclass(frozen=True)
class Symbol:
    """Q_a: true where w_i = a."""

    symbol: str
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class BoolConst:
    value: bool
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class Not:
    operand: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class And:
    left: "Expr"
    right: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class Or:
    left: "Expr"
    right: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class Periodic:
    """φ(i) = (i + offset) mod modulus ∈ residues (the offset is a run parameter)."""

    modulus: int
    residues: frozenset
    loc: Optional[Loc] = _loc()


COMPARISONS = ("<", "<=", "==", "!=", ">=", ">")


@dataclass(frozen=True)
class Compare:
    op: str
    left: "Expr"
    right: "Expr"
    loc: Optional[Loc] = _loc()


# ---------------------------------------------------------------- counts
@dataclass(frozen=True)
class Count:
    """#[P](i) = |{ j <= i : P(j) }| (non-strict: j = i is included)."""

    operand: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class GuardedCount:
    """#[P @ S](i) = |{ j <= i : i - j in S, P(j) }| for a finite distance set S."""

    operand: "Expr"
    distances: frozenset
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class IntConst:
    value: int
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class Add:
    left: "Expr"
    right: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class Sub:
    left: "Expr"
    right: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class Scale:
    """k * C for an integer literal k."""

    factor: int
    operand: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class IfThenElse:
    """if P then C1 else C2 (count-valued)."""

    condition: "Expr"
    then: "Expr"
    otherwise: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class Min:
    left: "Expr"
    right: "Expr"
    loc: Optional[Loc] = _loc()


@dataclass(frozen=True)
class Max:
    left: "Expr"
    right: "Expr"
    loc: Optional[Loc] = _loc()


# ---------------------------------------------------------------- names
@dataclass(frozen=True)
class Ref:
    """A use of an earlier `let` binding."""

    name: str
    loc: Optional[Loc] = _loc()


Expr = Union[
    Symbol, BoolConst, Not, And, Or, Periodic, Compare,
    Count, GuardedCount, IntConst, Add, Sub, Scale, IfThenElse, Min, Max, Ref,
]

BOOLEAN_NODES = (Symbol, BoolConst, Not, And, Or, Periodic, Compare)
COUNT_NODES = (Count, GuardedCount, IntConst, Add, Sub, Scale, IfThenElse, Min, Max)


@dataclass(frozen=True)
class Let:
    name: str
    expr: Expr
    loc: Optional[Loc] = _loc()


OUTPUT_KINDS = ("accept", "next", "label")


@dataclass(frozen=True)
class Output:
    """`accept = E`, `next "a" = E` (sequence tasks) or `label NAME = E`."""

    kind: str
    name: str  # "" for accept; the symbol for next; the label name for label
    expr: Expr
    loc: Optional[Loc] = _loc()

    @property
    def key(self) -> str:
        return "accept" if self.kind == "accept" else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Program:
    alphabet: Tuple[str, ...]
    lets: Tuple[Let, ...]
    outputs: Tuple[Output, ...]
    source: str = field(default="<program>", compare=False)

    def binding(self, name: str) -> Optional[Let]:
        for let in self.lets:
            if let.name == name:
                return let
        return None

    def output(self, key: str) -> Output:
        for out in self.outputs:
            if out.key == key:
                return out
        raise KeyError(key)

    @property
    def output_keys(self) -> Tuple[str, ...]:
        return tuple(o.key for o in self.outputs)


def children(e: Expr) -> Tuple[Expr, ...]:
    """The direct sub-expressions of a node, in source order."""
    if isinstance(e, (Not, Count, GuardedCount, Scale)):
        return (e.operand,)
    if isinstance(e, (And, Or, Compare, Add, Sub, Min, Max)):
        return (e.left, e.right)
    if isinstance(e, IfThenElse):
        return (e.condition, e.then, e.otherwise)
    return ()


def walk(e: Expr):
    """Pre-order traversal of an expression (does not follow Refs)."""
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))
