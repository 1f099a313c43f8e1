"""Static bounds on the values a straight-line program computes (SPEC §1: exact integers).

C-RASP's counts are exact integers, so a program with a constant like 2^62 computes numbers far
beyond int64 at length 2. Every backend uses exact integers (Z3 unbounded Int, the interpreter's
Python-integer path); this analysis tells the fast paths (numpy int64, float64) when they are
exact too.

For every operation it derives, from the operation kinds alone, a linear interval
    L(i) <= value at position i <= U(i),   L(i) = l1·i + l0,  U(i) = u1·i + u0,
valid at every position i >= 1 of every input and for every offset (periodic predicates are
Boolean, so offsets never change a count's range):
    #[P]            [0, i]
    #[P @ S]        [0, |S|]
    k               [k, k]
    C1 + C2         [L1 + L2, U1 + U2]
    C1 - C2         [L1 - U2, U1 - L2]
    k·C             [k·L, k·U] (swapped for k < 0)
    if/min/max      coefficient-wise [min(L1, L2), max(U1, U2)]  (sound for i >= 0)
    Booleans        [0, 1]
and from it |value at i| <= a·i + b with a = max(|l1|, |u1|), b = max(|l0|, |u0|).
All numbers are Python integers: the analysis itself never overflows.
"""
from __future__ import annotations

from typing import Dict, Tuple

from verify.crasp.checks import COUNT
from verify.crasp.linear import StraightLine

Linear = Tuple[int, int]                 # (slope, intercept): slope·i + intercept
Interval = Tuple[Linear, Linear]         # (lower, upper)

# int64 is used only while every value and every literal stays below 2^62: a difference or sum of
# two such numbers (a comparison computed as a subtraction, Bob's total + running count) still fits.
INT64_HEADROOM = 2 ** 62
# float64 represents every integer up to 2^53 exactly
FLOAT64_EXACT = 2 ** 53

_BOOLEAN = ((0, 0), (0, 1))
_cache: Dict[int, tuple] = {}


def _join(x: Interval, y: Interval) -> Interval:
    (xl, xu), (yl, yu) = x, y
    return ((min(xl[0], yl[0]), min(xl[1], yl[1])), (max(xu[0], yu[0]), max(xu[1], yu[1])))


def _analyse(line: StraightLine) -> tuple:
    """(interval per op, (a, b) per op, (a, b) of the count-valued ops, largest |literal|), cached
    per StraightLine object (the interpreter asks on every call)."""
    hit = _cache.get(id(line))
    if hit is not None and hit[0] is line:
        return hit[1]
    out = []
    literal = 0
    for op in line.ops:
        a = [out[i] for i in op.args]
        k = op.kind
        if k == "count":
            v = ((0, 0), (1, 0))
        elif k == "guarded_count":
            v = ((0, 0), (0, len(op.param)))
        elif k == "int_const":
            c = int(op.param)
            literal = max(literal, abs(c))
            v = ((0, c), (0, c))
        elif k == "add":
            (l1, u1), (l2, u2) = a
            v = ((l1[0] + l2[0], l1[1] + l2[1]), (u1[0] + u2[0], u1[1] + u2[1]))
        elif k == "sub":
            (l1, u1), (l2, u2) = a
            v = ((l1[0] - u2[0], l1[1] - u2[1]), (u1[0] - l2[0], u1[1] - l2[1]))
        elif k == "scale":
            f = int(op.param)
            literal = max(literal, abs(f))
            lo, hi = a[0]
            lo, hi = (f * lo[0], f * lo[1]), (f * hi[0], f * hi[1])
            v = (lo, hi) if f >= 0 else (hi, lo)
        elif k == "ite":
            v = _join(a[1], a[2])
        elif k in ("min", "max"):
            v = _join(a[0], a[1])
        else:  # Boolean-valued
            v = _BOOLEAN
        out.append(v)
    intervals = tuple(out)
    bounds = tuple((max(abs(lo[0]), abs(hi[0])), max(abs(lo[1]), abs(hi[1]))) for lo, hi in intervals)
    counts = tuple(ab for op, ab in zip(line.ops, bounds) if op.type == COUNT)
    result = (intervals, bounds, counts, literal)
    _cache[id(line)] = (line, result)
    if len(_cache) > 512:  # lines are small; keep the cache from growing without end
        _cache.pop(next(iter(_cache)))
    return result


def value_intervals(line: StraightLine) -> Tuple[Interval, ...]:
    """Per operation ((l1, l0), (u1, u0)): l1·i + l0 <= value at position i <= u1·i + u0."""
    return _analyse(line)[0]


def value_bounds(line: StraightLine) -> Tuple[Tuple[int, int], ...]:
    """Per operation (a, b), a, b >= 0: |value at position i| <= a·i + b for every input, every
    position i >= 1 and every offset (Booleans: (0, 1))."""
    return _analyse(line)[1]


def max_literal(line: StraightLine) -> int:
    """The largest |integer constant| or |scale factor| in the program."""
    return _analyse(line)[3]


def max_abs_value(line: StraightLine, n: int) -> int:
    """An upper bound on |value| of any count-valued operation at any position of any input of
    length <= n, whatever the offset (0 when n < 1 or without counts: nothing to bound)."""
    if n < 1:
        return 0
    return max((a * n + b for a, b in _analyse(line)[2]), default=0)


def fits_int64(line: StraightLine, n: int) -> bool:
    """True when numpy int64 computes every operation exactly on inputs of length <= n: every
    value and every literal below 2^62 (headroom for one more addition or subtraction)."""
    return max(max_abs_value(line, n), max_literal(line)) < INT64_HEADROOM


def fits_float64(line: StraightLine, n: int) -> bool:
    """True when every value and literal on inputs of length <= n is an integer float64 holds
    exactly (at most 2^53)."""
    return max(max_abs_value(line, n), max_literal(line)) <= FLOAT64_EXACT
