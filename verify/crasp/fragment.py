"""The smallest fragment of C-RASP[periodic, local] a program lies in (SPEC §1)."""
from __future__ import annotations

from typing import Iterable

from verify.crasp import ast as A
from verify.crasp.linear import flatten, period_of, radius_of

PLAIN, PERIODIC, LOCAL, PERIODIC_LOCAL = "plain", "periodic", "local", "periodic+local"
FRAGMENTS = (PLAIN, PERIODIC, LOCAL, PERIODIC_LOCAL)


def _nodes(program: A.Program) -> Iterable[A.Expr]:
    for let in program.lets:
        yield from A.walk(let.expr)
    for out in program.outputs:
        yield from A.walk(out.expr)


def fragment(program: A.Program) -> str:
    """plain (C-RASP[]), periodic, local, or periodic+local."""
    has_periodic = has_local = False
    for node in _nodes(program):
        has_periodic |= isinstance(node, A.Periodic)
        has_local |= isinstance(node, A.GuardedCount)
    if has_periodic and has_local:
        return PERIODIC_LOCAL
    return PERIODIC if has_periodic else LOCAL if has_local else PLAIN


def period(program: A.Program) -> int:
    """Δ: the lcm of all moduli of periodic predicates (1 when there are none)."""
    return period_of(flatten(program))


def radius(program: A.Program) -> int:
    """τ: the largest guard distance (0 when there are no guarded counts)."""
    return radius_of(flatten(program))


def counting_operations(program: A.Program) -> int:
    """K: the number of distinct counting operations (unguarded and guarded), as the backends see them."""
    return len(flatten(program).counting_ops)


def in_fragment(program: A.Program, target: str) -> bool:
    """Is the program's fragment contained in `target`?"""
    f = fragment(program)
    return f == PLAIN or f == target or target == PERIODIC_LOCAL
