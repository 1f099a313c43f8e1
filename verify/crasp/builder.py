"""Python builder API: produces exactly the trees the parser produces.

    b = ProgramBuilder(["(", ")"])
    open_ = b.let("open", count(sym("(")))
    close = b.let("close", count(sym(")")))
    dips = b.let("dips", count(lt(open_, close)))
    b.accept(and_(eq(dips, 0), eq(open_, close)))
    program = b.build()
"""
from __future__ import annotations

from functools import reduce
from typing import Iterable, List, Sequence, Union

from verify.crasp import ast as A

Operand = Union[A.Expr, int, bool]


def lift(x: Operand) -> A.Expr:
    """Python ints become integer constants and bools Boolean constants."""
    if isinstance(x, bool):
        return A.BoolConst(x)
    if isinstance(x, int):
        return A.IntConst(x)
    return x


def sym(a: str) -> A.Symbol:
    return A.Symbol(a)


def const(v: Union[int, bool]) -> A.Expr:
    return lift(v)


def not_(p: Operand) -> A.Not:
    return A.Not(lift(p))


def and_(*ps: Operand) -> A.Expr:
    """Left-nested conjunction; and_() is true."""
    if not ps:
        return A.BoolConst(True)
    return reduce(lambda a, b: A.And(a, b), [lift(p) for p in ps])


def or_(*ps: Operand) -> A.Expr:
    """Left-nested disjunction; or_() is false."""
    if not ps:
        return A.BoolConst(False)
    return reduce(lambda a, b: A.Or(a, b), [lift(p) for p in ps])


def implies(p: Operand, q: Operand) -> A.Or:
    """Sugar, exactly as the parser reads `p implies q`."""
    return A.Or(A.Not(lift(p)), lift(q))


def periodic(modulus: int, residues: Iterable[int]) -> A.Periodic:
    """pos % modulus in {residues}."""
    return A.Periodic(int(modulus), frozenset(int(r) for r in residues))


def _cmp(op: str):
    def make(a: Operand, b: Operand) -> A.Compare:
        return A.Compare(op, lift(a), lift(b))
    make.__name__ = {"<": "lt", "<=": "le", "==": "eq", "!=": "ne", ">=": "ge", ">": "gt"}[op]
    return make


lt, le, eq, ne, ge, gt = (_cmp(op) for op in A.COMPARISONS)


def compare(op: str, a: Operand, b: Operand) -> A.Compare:
    return A.Compare(op, lift(a), lift(b))


def count(p: Operand) -> A.Count:
    return A.Count(lift(p))


def guarded(p: Operand, distances: Iterable[int]) -> A.GuardedCount:
    """#[p @ distances]: counts j <= i with i - j in distances and p(j)."""
    return A.GuardedCount(lift(p), frozenset(int(d) for d in distances))


def prev(p: Operand, k: int = 1) -> A.Compare:
    """p held k positions ago (false before the start): #[p @ k] == 1."""
    return A.Compare("==", guarded(p, [k]), A.IntConst(1))


def add(*cs: Operand) -> A.Expr:
    if not cs:
        return A.IntConst(0)
    return reduce(lambda a, b: A.Add(a, b), [lift(c) for c in cs])


def sub(a: Operand, b: Operand) -> A.Sub:
    return A.Sub(lift(a), lift(b))


def scale(k: int, c: Operand) -> A.Scale:
    return A.Scale(int(k), lift(c))


def ite(p: Operand, a: Operand, b: Operand) -> A.IfThenElse:
    return A.IfThenElse(lift(p), lift(a), lift(b))


def indicator(p: Operand) -> A.IfThenElse:
    """1 where p holds, else 0."""
    return ite(p, 1, 0)


def min_(a: Operand, b: Operand) -> A.Min:
    return A.Min(lift(a), lift(b))


def max_(a: Operand, b: Operand) -> A.Max:
    return A.Max(lift(a), lift(b))


def ref(name: str) -> A.Ref:
    return A.Ref(name)


class ProgramBuilder:
    """Accumulates `let` bindings and outputs in order, then builds a Program."""

    def __init__(self, alphabet: Sequence[str], source: str = "<builder>"):
        self.alphabet = tuple(alphabet)
        self.source = source
        self._lets: List[A.Let] = []
        self._outputs: List[A.Output] = []

    def let(self, name: str, expr: Operand) -> A.Ref:
        self._lets.append(A.Let(name, lift(expr)))
        return A.Ref(name)

    def accept(self, expr: Operand) -> None:
        self._outputs.append(A.Output("accept", "", lift(expr)))

    def next(self, symbol: str, expr: Operand) -> None:
        self._outputs.append(A.Output("next", symbol, lift(expr)))

    def label(self, name: str, expr: Operand) -> None:
        self._outputs.append(A.Output("label", name, lift(expr)))

    def build(self) -> A.Program:
        return A.Program(self.alphabet, tuple(self._lets), tuple(self._outputs), source=self.source)
