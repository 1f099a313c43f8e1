"""The straight-line form every backend consumes: one operation per step, arguments earlier.

`flatten` resolves `let` names, shares identical sub-expressions (hash-consing) and can
rewrite the sugar (or, min, max) into the core operations with `core=True`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from verify.crasp import ast as A
from verify.crasp.checks import BOOL, COUNT

# kind -> result type
KINDS = {
    "symbol": BOOL, "bool_const": BOOL, "not": BOOL, "and": BOOL, "or": BOOL,
    "periodic": BOOL, "compare": BOOL,
    "count": COUNT, "guarded_count": COUNT, "int_const": COUNT, "add": COUNT, "sub": COUNT,
    "scale": COUNT, "ite": COUNT, "min": COUNT, "max": COUNT,
}
COUNTING_KINDS = ("count", "guarded_count")


@dataclass(frozen=True)
class Op:
    """One operation. `param` by kind: symbol -> str; bool_const -> bool; int_const -> int;
    periodic -> (modulus, residues as a sorted tuple); compare -> operator string;
    guarded_count -> distances as a sorted tuple; scale -> factor; others -> None."""

    index: int
    kind: str
    args: Tuple[int, ...]
    param: object = None
    names: Tuple[str, ...] = ()

    @property
    def type(self) -> str:
        return KINDS[self.kind]

    def label(self) -> str:
        """A short human-readable description used in traces and reports."""
        a = ", ".join(f"%{i}" for i in self.args)
        p = "" if self.param is None else repr(self.param)
        body = f"{self.kind}({', '.join(x for x in (p, a) if x)})"
        return f"{body} [{', '.join(self.names)}]" if self.names else body


@dataclass(frozen=True)
class StraightLine:
    alphabet: Tuple[str, ...]
    ops: Tuple[Op, ...]
    outputs: Tuple[Tuple[str, int], ...]  # (output key, op index)

    def output_index(self, key: str) -> int:
        return dict(self.outputs)[key]

    @property
    def counting_ops(self) -> Tuple[Op, ...]:
        return tuple(op for op in self.ops if op.kind in COUNTING_KINDS)


class _Flattener:
    def __init__(self, core: bool):
        self.core = core
        self.ops: list = []
        self.memo: Dict[tuple, int] = {}
        self.env: Dict[str, int] = {}
        self.names: Dict[int, list] = {}

    def emit(self, kind: str, args: Tuple[int, ...] = (), param=None) -> int:
        key = (kind, args, param)
        if key not in self.memo:
            self.memo[key] = len(self.ops)
            self.ops.append(key)
        return self.memo[key]

    def go(self, e: A.Expr) -> int:
        g, emit = self.go, self.emit
        if isinstance(e, A.Ref):
            return self.env[e.name]
        if isinstance(e, A.Symbol):
            return emit("symbol", (), e.symbol)
        if isinstance(e, A.BoolConst):
            return emit("bool_const", (), bool(e.value))
        if isinstance(e, A.IntConst):
            return emit("int_const", (), int(e.value))
        if isinstance(e, A.Not):
            return emit("not", (g(e.operand),))
        if isinstance(e, A.And):
            return emit("and", (g(e.left), g(e.right)))
        if isinstance(e, A.Or):
            l, r = g(e.left), g(e.right)
            if self.core:  # p or q = not (not p and not q)
                return emit("not", (emit("and", (emit("not", (l,)), emit("not", (r,)))),))
            return emit("or", (l, r))
        if isinstance(e, A.Periodic):
            return emit("periodic", (), (e.modulus, tuple(sorted(e.residues))))
        if isinstance(e, A.Compare):
            return emit("compare", (g(e.left), g(e.right)), e.op)
        if isinstance(e, A.Count):
            return emit("count", (g(e.operand),))
        if isinstance(e, A.GuardedCount):
            return emit("guarded_count", (g(e.operand),), tuple(sorted(e.distances)))
        if isinstance(e, A.Add):
            return emit("add", (g(e.left), g(e.right)))
        if isinstance(e, A.Sub):
            return emit("sub", (g(e.left), g(e.right)))
        if isinstance(e, A.Scale):
            return emit("scale", (g(e.operand),), int(e.factor))
        if isinstance(e, A.IfThenElse):
            return emit("ite", (g(e.condition), g(e.then), g(e.otherwise)))
        if isinstance(e, (A.Min, A.Max)):
            l, r = g(e.left), g(e.right)
            kind = "min" if isinstance(e, A.Min) else "max"
            if self.core:  # min(a, b) = if a <= b then a else b
                test = emit("compare", (l, r), "<=" if kind == "min" else ">=")
                return emit("ite", (test, l, r))
            return emit(kind, (l, r))
        raise TypeError(f"not a C-RASP expression: {e!r}")


def flatten(program: A.Program, core: bool = False) -> StraightLine:
    """Straight-line form of a (well-formed) program."""
    f = _Flattener(core)
    for let in program.lets:
        idx = f.go(let.expr)
        f.env[let.name] = idx
        f.names.setdefault(idx, []).append(let.name)
    outputs = tuple((out.key, f.go(out.expr)) for out in program.outputs)
    ops = tuple(Op(i, kind, args, param, tuple(f.names.get(i, ())))
                for i, (kind, args, param) in enumerate(f.ops))
    return StraightLine(tuple(program.alphabet), ops, outputs)


def period_of(line: StraightLine) -> int:
    from math import lcm
    return lcm(1, *(op.param[0] for op in line.ops if op.kind == "periodic"))


def radius_of(line: StraightLine) -> int:
    return max((max(op.param) for op in line.ops if op.kind == "guarded_count"), default=0)


def first_named(line: StraightLine, name: str) -> Optional[Op]:
    for op in line.ops:
        if name in op.names:
            return op
    return None
