"""Stage 2: static bounds — magnitude of every normalized count, and the a-priori float error terms.

A count C with |C(i)| <= a·i + b has |C(i)/(i+1)| <= a + b. Errors are tracked as
kappa·(n+2)·eps (float rounding of running means, which grows with the length) plus
leaks·leak(n) (softmax mass a guarded head puts off its target)."""
from __future__ import annotations

from typing import Dict, Tuple

from verify.crasp.linear import StraightLine


def magnitude_bounds(line: StraightLine) -> Dict[int, float]:
    """op index -> bound on |C(i)/(i+1)| for count ops."""
    ab: Dict[int, Tuple[float, float]] = {}
    for op in line.ops:
        a = [ab.get(i, (0.0, 0.0)) for i in op.args]
        k = op.kind
        if k == "count":
            ab[op.index] = (1.0, 0.0)
        elif k == "guarded_count":
            ab[op.index] = (0.0, float(len(op.param)))
        elif k == "int_const":
            ab[op.index] = (0.0, float(abs(op.param)))
        elif k in ("add", "sub"):
            ab[op.index] = (a[0][0] + a[1][0], a[0][1] + a[1][1])
        elif k == "scale":
            ab[op.index] = (abs(op.param) * a[0][0], abs(op.param) * a[0][1])
        elif k == "ite":
            ab[op.index] = (max(a[1][0], a[2][0]), max(a[1][1], a[2][1]))
    return {i: x + y for i, (x, y) in ab.items()}


def error_terms(line: StraightLine, bounds: Dict[int, float]) -> Dict[int, Tuple[float, float]]:
    """op index -> (kappa, leaks) for count ops; Booleans are exact (0/1) in this construction."""
    u = (2.0, 0.0)
    terms: Dict[int, Tuple[float, float]] = {}
    for op in line.ops:
        a = [terms.get(i, (0.0, 0.0)) for i in op.args]
        k = op.kind
        if k == "count":
            terms[op.index] = (2.0, 0.0)
        elif k == "guarded_count":
            terms[op.index] = (len(op.param) * (u[0] + 2.0), float(len(op.param)))
        elif k == "int_const":
            terms[op.index] = (abs(op.param) * u[0], 0.0)
        elif k in ("add", "sub"):
            terms[op.index] = (a[0][0] + a[1][0], a[0][1] + a[1][1])
        elif k == "scale":
            terms[op.index] = (abs(op.param) * a[0][0], abs(op.param) * a[0][1])
        elif k == "ite":
            big = bounds.get(op.index, 1.0) + 1.0
            terms[op.index] = (2 * (a[1][0] + a[2][0]) + 4 * big, 2 * (a[1][1] + a[2][1]))
    return terms
