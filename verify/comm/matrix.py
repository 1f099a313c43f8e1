"""Communication matrices from a reference, and the exact small-N lower bounds (SPEC §4).

- One-way (Alice speaks once, Bob answers causally): the rows of the matrix are
  x ↦ (y ↦ Bob's required outputs).  Two Alice halves need different messages iff their rows
  differ on some y where both are defined, so for a total task the number of distinct rows is the
  exact minimum number of messages, and ⌈log₂ rows⌉ the exact one-way bit complexity.  Where the
  task is partial (inputs outside its domain), distinct rows is only an upper bound and a greedy
  set of pairwise incompatible rows gives a certified lower bound; both are reported.
- Two-way, for a Boolean function f(x, y) (membership of x·y; for sequence tasks each
  "answer token k is a"): a fooling set of size s gives ≥ log₂ s bits, and log₂ rank(M_f) bits.
  The rank is computed exactly over GF(p) (p = 2³¹−1), which never exceeds the real rank, so the
  bound is certified; the floating-point real rank is reported beside it.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import ceil, log2
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from verify.comm.reference import INVALID, CommTask
from verify.problems import UserError

VECTOR_CELL_LIMIT = 1 << 25   # (Alice halves) × (Bob halves) for numpy references
PYTHON_CELL_LIMIT = 1 << 21   # one Python call per cell
PRIME = 2_147_483_647


def all_halves(k: int, n: int) -> np.ndarray:
    """Every word of length n over k symbols, lexicographic, shape (k**n, n)."""
    if n == 0:
        return np.zeros((1, 0), dtype=np.int64)
    grid = np.indices((k,) * n, dtype=np.int64).reshape(n, -1).T
    return np.ascontiguousarray(grid)


def cell_limit(task: CommTask) -> int:
    return VECTOR_CELL_LIMIT if task.vectorized else PYTHON_CELL_LIMIT


def largest_exact_n(task: CommTask, bob_len_extra: int = 0) -> int:
    k = len(task.symbols)
    n = 0
    while k ** (2 * (n + 1) + bob_len_extra) <= cell_limit(task) and n < 64:  # k = 1: any N
        n += 1
    return n


def _check_size(task: CommTask, n: int, m: int) -> None:
    if n < 1:
        raise UserError(f"N = {n} is too small: Alice must hold at least one symbol (use N >= 1)")
    k = len(task.symbols)
    cells = k ** (n + m)
    if cells > cell_limit(task):
        hint = largest_exact_n(task, m - n)
        raise UserError(
            f"N = {n} is too large for exact row counting of {task.name!r}: {k}^{n + m} = {cells:,} "
            f"(Alice half, Bob half) pairs, over the limit of {cell_limit(task):,} for a "
            f"{'numpy' if task.vectorized else 'pure-Python'} reference. Use N <= {hint} for exact "
            f"counting, or the certificate method (`--method certificate`, for tasks with a symbolic "
            f"model: repeat_copy, addition) or the program's protocol (`--method protocol`) for large N.")


def required_matrix(task: CommTask, n: int, m: int, rows: Optional[np.ndarray] = None,
                    progress: Optional[Callable[[int, int], None]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Bob's required outputs for every (x, y): (R, C, k) int64, and validity (R, C)."""
    k = len(task.symbols)
    xs = all_halves(k, n) if rows is None else rows
    ys = all_halves(k, m)
    R, C = len(xs), len(ys)
    chunk = max(1, (1 << 22) // max(1, C * (n + m)))
    outs: List[np.ndarray] = []
    valid = np.zeros((R, C), dtype=bool)
    for start in range(0, R, chunk):
        xb = xs[start:start + chunk]
        xx = np.repeat(xb, C, axis=0)
        yy = np.tile(ys, (len(xb), 1))
        out, ok = task.required(xx, yy)
        outs.append(out.reshape(len(xb), C, -1))
        valid[start:start + len(xb)] = ok.reshape(len(xb), C)
        if progress:
            progress(min(start + chunk, R), R)
    width = max(o.shape[2] for o in outs)
    full = np.full((R, C, width), -1, dtype=np.int64)
    for start, o in zip(range(0, R, chunk), outs):
        full[start:start + len(o), :, :o.shape[2]] = o
    full[~valid] = INVALID
    return full, valid


@dataclass(frozen=True)
class RowCount:
    """The exact one-way bound at one N (M = Bob's input symbols)."""

    n: int
    m: int
    alice_halves: int
    distinct_rows: int                  # upper bound on the messages needed (exact if total)
    incompatible_rows: int              # certified lower bound: pairwise incompatible rows
    total: bool                         # every (x, y) in the task's domain
    seconds: float

    @property
    def exact(self) -> bool:
        return self.distinct_rows == self.incompatible_rows

    @property
    def bits(self) -> int:
        """Certified one-way lower bound in bits: ⌈log₂ (messages that must differ)⌉."""
        return ceil(log2(self.incompatible_rows)) if self.incompatible_rows > 1 else 0

    @property
    def upper_bits(self) -> int:
        return ceil(log2(self.distinct_rows)) if self.distinct_rows > 1 else 0


def _greedy_incompatible(patterns: np.ndarray, valid: np.ndarray) -> List[int]:
    """A set of rows pairwise differing on a column where both are defined (greedy; certified by
    construction: each kept row was checked against every kept row before it)."""
    kept: List[int] = []
    # rows defined on many Bob halves first: a row defined nowhere is compatible with everything
    for r in np.argsort(-valid.sum(axis=1), kind="stable"):
        if kept:
            both = valid[kept] & valid[r][None, :]
            differ = np.any(patterns[kept] != patterns[r][None, :], axis=2) & both
            if not np.all(np.any(differ, axis=1)):
                continue
        kept.append(int(r))
    return kept


def _signatures(task: CommTask, xs: np.ndarray, ys: np.ndarray,
                progress: Optional[Callable[[int, int], None]] = None):
    """Stream over chunks of Alice halves: one byte-string row signature per x (the packed
    required outputs over every y), validity, and the widest answer seen."""
    R, C = len(xs), len(ys)
    n, m = xs.shape[1], ys.shape[1]
    chunk = max(1, (1 << 22) // max(1, C * (n + m)))
    sigs: List[np.ndarray] = []
    valid = np.zeros((R, C), dtype=bool)
    binary = True
    raw: List[np.ndarray] = []
    def run(start: int):
        xb = xs[start:start + chunk]
        out, ok = task.required(np.repeat(xb, C, axis=0), np.tile(ys, (len(xb), 1)))
        return np.asarray(out).reshape(len(xb), C, -1), np.asarray(ok).reshape(len(xb), C)

    starts = list(range(0, R, chunk))
    # numpy references release the GIL in their array kernels: two threads use both CI cores
    workers = min(2, os.cpu_count() or 1) if task.vectorized and len(starts) > 1 else 1
    with ThreadPoolExecutor(workers) as pool:
        for start, (out, ok) in zip(starts, pool.map(run, starts)):
            valid[start:start + len(out)] = ok
            raw.append(out)
            if progress:
                progress(min(start + chunk, R), R)
    width = max(o.shape[2] for o in raw)
    binary = all(o.min() >= 0 and o.max() <= 1 for o in raw)
    for o in raw:
        if o.shape[2] < width:  # a shorter answer is padded with the PAD marker
            o = np.concatenate([o, np.full(o.shape[:2] + (width - o.shape[2],), -1, o.dtype)], axis=2)
        flat = o.reshape(len(o), -1)
        sigs.append(np.packbits(flat.astype(np.uint8), axis=1) if binary else flat.astype(np.int64))
    return np.concatenate(sigs, axis=0), valid, raw, width


@dataclass(frozen=True)
class RowPartition:
    """The rows of the matrix at one (N, M): every Alice half `xs`, every Bob half `ys`, and
    `witnesses`, indices into xs of Alice halves whose rows are pairwise incompatible (they differ
    on some Bob half where both inputs are in the task's domain) — one per distinct row when the
    task is total, a greedy certified set otherwise. Any one-way protocol must give these halves
    pairwise different messages."""

    xs: np.ndarray
    ys: np.ndarray
    distinct: int
    witnesses: np.ndarray
    total: bool


def row_partition(task: CommTask, n: int, m: Optional[int] = None,
                  progress: Optional[Callable[[int, int], None]] = None) -> RowPartition:
    m = n if m is None else m
    _check_size(task, n, m)
    k = len(task.symbols)
    xs, ys = all_halves(k, n), all_halves(k, m)
    sig, valid, raw, width = _signatures(task, xs, ys, progress)
    if not valid.any():
        raise UserError(f"no input of {task.name!r} with Alice half {n} and Bob half {m} symbols is in the "
                        f"task's domain; try another N")
    _, first = np.unique(sig, axis=0, return_index=True)
    reps = np.sort(first)
    total = bool(valid.all())
    if total:
        return RowPartition(xs, ys, len(first), reps, True)
    patterns = np.full((len(reps), len(ys), width), -1, dtype=np.int64)
    sizes = np.cumsum([0] + [len(o) for o in raw])
    for t, r in enumerate(reps):
        block = int(np.searchsorted(sizes, r, side="right") - 1)
        o = raw[block][r - sizes[block]]
        patterns[t, :, :o.shape[1]] = o
    kept = _greedy_incompatible(patterns, valid[reps])
    return RowPartition(xs, ys, len(first), reps[np.sort(np.asarray(kept, dtype=np.int64))], False)


def distinguishing_bob_half(task: CommTask, x1: np.ndarray, x2: np.ndarray, ys: np.ndarray) -> Optional[int]:
    """Index of the first Bob half y with both x1·y and x2·y in the domain and different required
    outputs (None if the two rows are compatible)."""
    out, ok = task.required(np.vstack([np.repeat(x1[None], len(ys), 0), np.repeat(x2[None], len(ys), 0)]),
                            np.vstack([ys, ys]))
    out, ok = np.asarray(out).reshape(2, len(ys), -1), np.asarray(ok).reshape(2, len(ys))
    hit = np.flatnonzero(ok[0] & ok[1] & np.any(out[0] != out[1], axis=1))
    return int(hit[0]) if len(hit) else None


def one_way_rows(task: CommTask, n: int, m: Optional[int] = None,
                 progress: Optional[Callable[[int, int], None]] = None) -> RowCount:
    """Exact one-way communication for Alice halves of length n, Bob halves of length m (= n)."""
    m = n if m is None else m
    t0 = time.perf_counter()
    part = row_partition(task, n, m, progress)
    return RowCount(n, m, len(part.xs), part.distinct, len(part.witnesses), part.total,
                    time.perf_counter() - t0)


# -------------------------------------------------------------------- two-way bounds
def rank_mod_p(matrix: np.ndarray, p: int = PRIME) -> int:
    """Exact rank over GF(p) by Gaussian elimination (≤ the rank over the reals)."""
    a = np.array(matrix, dtype=np.int64) % p
    rows, cols = a.shape
    r = 0
    for c in range(cols):
        if r == rows:
            break
        nz = np.nonzero(a[r:, c])[0]
        if len(nz) == 0:
            continue
        piv = r + nz[0]
        if piv != r:
            a[[r, piv]] = a[[piv, r]]
        inv = pow(int(a[r, c]), p - 2, p)
        a[r] = (a[r] * inv) % p
        below = a[r + 1:, c].copy()
        nzb = np.nonzero(below)[0]
        if len(nzb):
            idx = r + 1 + nzb
            a[idx] = (a[idx] - (below[nzb, None] * a[r][None, :]) % p) % p
        r += 1
    return r


def greedy_fooling_set(f: np.ndarray, value: int, rng: np.random.Generator,
                       tries: int = 20000) -> List[Tuple[int, int]]:
    """Pairs (x, y) with f = value such that for any two, f(x_i, y_j) ≠ value or f(x_j, y_i) ≠ value.
    Undefined entries (< 0) count as equal to value (a protocol may answer anything there)."""
    cells = np.argwhere(f == value)
    if len(cells) == 0:
        return []
    order = rng.permutation(len(cells))[:tries]
    xs: List[int] = []
    ys: List[int] = []
    for (x, y) in cells[order]:
        if xs:
            a = f[x, ys]
            b = f[xs, y]
            ok = ((a != value) & (a >= 0)) | ((b != value) & (b >= 0))
            if not ok.all():
                continue
        xs.append(int(x))
        ys.append(int(y))
    return list(zip(xs, ys))


def verify_fooling_set(f: np.ndarray, value: int, pairs: List[Tuple[int, int]]) -> bool:
    """Independent pairwise check of the fooling-set property (vectorized over all pairs)."""
    if not pairs:
        return True
    xs = np.array([p[0] for p in pairs])
    ys = np.array([p[1] for p in pairs])
    if not np.all(f[xs, ys] == value):
        return False
    cross = f[np.ix_(xs, ys)]                      # cross[i, j] = f(x_i, y_j)
    differs = (cross != value) & (cross >= 0)
    ok = differs | differs.T
    np.fill_diagonal(ok, True)
    return bool(ok.all())


@dataclass(frozen=True)
class TwoWayBound:
    n: int
    function: str                 # which Boolean function
    fooling_set: int              # verified size
    rank_gf_p: Optional[int]      # certified (≤ real rank); None for partial functions
    rank_real: Optional[int]      # floating point, for information

    @property
    def bits(self) -> float:
        """Certified two-way lower bound: max(log₂ fooling set, log₂ rank over GF(p))."""
        best = max(self.fooling_set, self.rank_gf_p or 0, 1)
        return log2(best)


def boolean_functions(task: CommTask, out: np.ndarray, valid: np.ndarray) -> Dict[str, np.ndarray]:
    """The Boolean functions the two-way bounds are computed for."""
    fs: Dict[str, np.ndarray] = {}
    if task.format == "language":
        f = out[:, :, -1].astype(np.int64)
        f[~valid] = -1
        fs["membership of x·y"] = f
        return fs
    names = list(task.case.alphabet) if task.case is not None else []
    for k in range(out.shape[2]):
        for a in np.unique(out[:, :, k][valid]):
            if a < 0:
                continue
            f = (out[:, :, k] == a).astype(np.int64)
            f[~valid] = -1
            if 0 < (f == 1).sum() < valid.sum():
                label = repr(names[a]) if a < len(names) else f"#{a}"
                fs[f"answer token {k + 1} is {label}"] = f
    return fs


def two_way_bounds(task: CommTask, n: int, m: Optional[int] = None, seed: int = 0,
                   rank_limit: int = 1024) -> List[TwoWayBound]:
    m = n if m is None else m
    _check_size(task, n, m)
    out, valid = required_matrix(task, n, m)
    rng = np.random.default_rng(seed)
    result = []
    for name, f in boolean_functions(task, out, valid).items():
        best: List[Tuple[int, int]] = []
        for value in (0, 1):
            pairs = greedy_fooling_set(f, value, rng)
            if verify_fooling_set(f, value, pairs) and len(pairs) > len(best):
                best = pairs
        total = bool((f >= 0).all())
        small = max(f.shape) <= rank_limit
        gfp = rank_mod_p(f) if total and small else None
        real = int(np.linalg.matrix_rank(f.astype(float))) if total and small else None
        result.append(TwoWayBound(n, name, len(best), gfp, real))
    return sorted(result, key=lambda t: -t.bits)
