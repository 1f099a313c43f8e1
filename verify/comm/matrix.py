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

Counting rows without the whole matrix [recon]: a LANGUAGE task whose labels are computed from a
machine-readable spec (verify.spec) has Bob's labels at N+1..N+M determined by the machine's state
after Alice's half (the DFA state; for a CounterSpec the values of its linear forms, whether every
prefix so far met the `always` constraints, and the DFA state), so Alice halves with the same state
have the same row. Rows are then computed for one Alice half per reachable state only. For a DFA,
Bob's half need not be enumerated either: the row of state q is w ↦ accept(δ(q, w)) over the words
w with 1 ≤ |w| ≤ M, so two states have equal rows iff no such w separates them — the M-step
Myhill–Nerode equivalence without the empty word, computed by partition refinement; the distinct
rows are its classes among the states reachable in exactly N steps, at any N.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import ceil, log2
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from verify.case import LANGUAGE
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
        raise UserError(f"N = {n} is too small: Alice must hold at least one symbol (use --N 1 or more)")
    _check_cells(task, n, m, len(task.symbols) ** n)   # every Alice half


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
    """Stream over chunks of Alice halves: one row signature per x and the validity (R, C).

    LANGUAGE rows are 0/1 labels, packed to bits per chunk (np.packbits), so memory is the
    packed matrix, not C × M int64 per cell; nothing else of a chunk is kept. Sequence rows (a
    pure-Python reference, at most PYTHON_CELL_LIMIT cells) keep their int64 answers, padded to
    the widest answer seen."""
    R, C = len(xs), len(ys)
    n, m = xs.shape[1], ys.shape[1]
    # ~2^20 symbols per chunk: a reference's int64 temporaries stay ~10 MB each, per thread
    chunk = max(1, (1 << 20) // max(1, C * (n + m)))
    valid = np.zeros((R, C), dtype=bool)
    packed = task.format == LANGUAGE

    def run(start: int):
        xb = xs[start:start + chunk]
        out, ok = task.required(np.repeat(xb, C, axis=0), np.tile(ys, (len(xb), 1)))
        out = np.asarray(out).reshape(len(xb), C, -1)
        if packed and (out.min(initial=0) < 0 or out.max(initial=0) > 1):
            raise AssertionError(f"labels of {task.name!r} outside 0/1")
        sig = np.packbits(out.reshape(len(xb), -1).astype(np.uint8), axis=1) if packed else out
        return sig, np.asarray(ok).reshape(len(xb), C)

    starts = list(range(0, R, chunk))
    # numpy references release the GIL in their array kernels: two threads use both CI cores
    workers = min(2, os.cpu_count() or 1) if task.vectorized and len(starts) > 1 else 1
    sigs: List[np.ndarray] = []
    with ThreadPoolExecutor(workers) as pool:
        for start, (sig, ok) in zip(starts, pool.map(run, starts)):
            valid[start:start + len(sig)] = ok
            sigs.append(sig)
            if progress:
                progress(min(start + chunk, R), R)
    if not packed:
        width = max(o.shape[2] for o in sigs)
        sigs = [np.concatenate([o, np.full(o.shape[:2] + (width - o.shape[2],), -1, o.dtype)], axis=2)
                .reshape(len(o), -1) if o.shape[2] < width else o.reshape(len(o), -1) for o in sigs]
    return np.concatenate(sigs, axis=0), valid


# ------------------------------------------------------- machine states of spec-backed tasks
def _spec_of(task: CommTask):
    """The Automaton / CounterSpec the task's labels are computed from, or None (then rows are
    counted from the reference alone)."""
    from verify.spec import Automaton, CounterSpec
    case = task.case
    spec = getattr(case, "spec", None) if case is not None else None
    if task.format != LANGUAGE or not isinstance(spec, (Automaton, CounterSpec)):
        return None
    if case.labels != spec.labels or tuple(spec.alphabet) != tuple(task.symbols):
        return None  # labels not (only) the spec's own: the quotient would not be sound
    return spec


def _machine(spec) -> Tuple[np.ndarray, Callable[[np.ndarray, int], np.ndarray]]:
    """(initial state (d,), step(states (S, d), symbol) -> states): a deterministic machine whose
    state after x determines every label of x·y at positions after x (see the module notes)."""
    from verify.spec import Automaton
    aut = spec if isinstance(spec, Automaton) else spec.automaton
    delta, _, q0 = aut.tables() if aut is not None else (None, None, 0)
    if isinstance(spec, Automaton):
        return np.array([q0], dtype=np.int64), lambda st, a: delta[st[:, :1], a]
    constraints = spec.always + spec.final
    coef = np.array([[dict(c.coeffs).get(a, 0) for c in constraints] for a in spec.alphabet],
                    dtype=np.int64).reshape(len(spec.alphabet), len(constraints))
    k_always = len(spec.always)

    def step(st: np.ndarray, a: int) -> np.ndarray:
        forms = st[:, :len(constraints)] + coef[a][None, :]
        ok = st[:, -2].astype(bool)
        for i, c in enumerate(spec.always[:k_always]):
            ok = ok & np.asarray(_OPS[c.op](forms[:, i], c.bound), dtype=bool)
        q = delta[st[:, -1], a] if delta is not None else st[:, -1]
        return np.concatenate([forms, ok[:, None].astype(np.int64), q[:, None]], axis=1)

    init = np.concatenate([np.zeros(len(constraints), dtype=np.int64), [1, q0]]).astype(np.int64)
    return init, step


_OPS = {"<": np.less, "<=": np.less_equal, "==": np.equal, "!=": np.not_equal,
        ">=": np.greater_equal, ">": np.greater}
STATE_LIMIT = 1 << 16
DFA_REPORT_N = 4096    # one_way_rows reports k^N Alice halves; dfa_distinct_rows itself takes any N  # reachable machine states tracked with one representative each


def state_representatives(task: CommTask, n: int) -> Optional[np.ndarray]:
    """One Alice half of length n per reachable machine state, shape (S, n) — every Alice half
    has the row of the representative of its state — or None when the task has no spec. Built
    breadth-first, one step per position, never enumerating the k^n halves."""
    spec = _spec_of(task)
    if spec is None:
        return None
    init, step = _machine(spec)
    k = len(task.symbols)
    states, words = init[None, :], np.zeros((1, 0), dtype=np.int64)
    for _ in range(n):
        nxt = np.concatenate([step(states, a) for a in range(k)])
        ext = np.concatenate([np.hstack([words, np.full((len(words), 1), a, dtype=np.int64)]) for a in range(k)])
        states, first = np.unique(nxt, axis=0, return_index=True)
        words = ext[first]
        if len(states) > STATE_LIMIT:
            return None
    return words


def dfa_distinct_rows(automaton, n: int, m: int) -> int:
    """Distinct rows of a DFA language at (N, M), from the automaton alone (any N)."""
    delta, final, q0 = automaton.tables()
    delta = delta[:, :len(automaton.alphabet)]          # the end-marker column is no input symbol
    reach = np.zeros(len(final), dtype=bool)
    reach[q0] = True
    seen: Dict[bytes, int] = {}
    step = 0
    while step < n:                                    # reachable sets are eventually periodic
        key = reach.tobytes()
        if key in seen:
            period = step - seen[key]
            for _ in range((n - step) % period):
                reach = _dfa_step(delta, reach)
            step = n
            break
        seen[key] = step
        reach = _dfa_step(delta, reach)
        step += 1
    cls = np.zeros(len(final), dtype=np.int64)         # no word of length 1..0 separates anything
    count = 1
    for _ in range(m):
        sig = np.concatenate([final[delta].astype(np.int64), cls[delta]], axis=1)
        _, cls = np.unique(sig, axis=0, return_inverse=True)
        cls = cls.reshape(-1)
        if len(np.unique(cls)) == count:
            break                                      # a refinement step that splits nothing is a fixpoint
        count = len(np.unique(cls))
    return len(np.unique(cls[reach]))


def _dfa_step(delta: np.ndarray, reach: np.ndarray) -> np.ndarray:
    out = np.zeros_like(reach)
    out[delta[reach].ravel()] = True
    return out


@dataclass(frozen=True)
class RowPartition:
    """The rows of the matrix at one (N, M): the Alice halves `xs` whose rows were computed (every
    half, or one per machine state of a spec-backed task — every other half has the row of its
    state's representative), every Bob half `ys`, and `witnesses`, indices into xs of Alice halves
    whose rows are pairwise incompatible (they differ on some Bob half where both inputs are in the
    task's domain) — one per distinct row when the task is total, a greedy certified set otherwise.
    Any one-way protocol must give these halves pairwise different messages."""

    xs: np.ndarray
    ys: np.ndarray
    distinct: int
    witnesses: np.ndarray
    total: bool
    alice_halves: int = 0         # k^N, all Alice halves (len(xs) when xs is every one)
    how: str = "enumeration"      # or "machine states"


def _check_cells(task: CommTask, n: int, m: int, rows: int) -> None:
    cells = rows * len(task.symbols) ** m
    if cells > cell_limit(task):
        hint = largest_exact_n(task, m - n)
        raise UserError(
            f"N = {n} is too large for exact row counting of {task.name!r}: {rows:,} Alice halves (or machine "
            f"states) × {len(task.symbols)}^{m} Bob halves = {cells:,} pairs, over the limit of "
            f"{cell_limit(task):,} for a {'numpy' if task.vectorized else 'pure-Python'} reference. Use N <= "
            f"{hint} for exact counting, or the certificate method (`--method certificate`, for tasks with a "
            f"symbolic model: repeat_copy, addition) or the program's protocol (`--method protocol`) for large N.")


def row_partition(task: CommTask, n: int, m: Optional[int] = None,
                  progress: Optional[Callable[[int, int], None]] = None) -> RowPartition:
    m = n if m is None else m
    if n < 1:
        raise UserError(f"N = {n} is too small: Alice must hold at least one symbol (use --N 1 or more)")
    k = len(task.symbols)
    xs = state_representatives(task, n)
    how = "machine states"
    if xs is None:
        _check_size(task, n, m)
        xs, how = all_halves(k, n), "enumeration"
    else:
        _check_cells(task, n, m, len(xs))
    ys = all_halves(k, m)
    sig, valid = _signatures(task, xs, ys, progress)
    if not valid.any():
        raise UserError(f"no input of {task.name!r} with Alice half {n} and Bob half {m} symbols is in the "
                        f"task's domain; try another N")
    if sig.dtype == np.uint8:  # packed bits: one opaque byte string per row, hashed by np.unique
        _, first = np.unique(np.ascontiguousarray(sig).view(np.dtype((np.void, sig.shape[1]))).ravel(),
                             return_index=True)
    else:
        _, first = np.unique(sig, axis=0, return_index=True)
    reps = np.sort(first)
    total = bool(valid.all())
    if total:
        return RowPartition(xs, ys, len(first), reps, True, k ** n, how)
    out, _ = task.required(np.repeat(xs[reps], len(ys), axis=0), np.tile(ys, (len(reps), 1)))
    patterns = np.asarray(out).reshape(len(reps), len(ys), -1)
    kept = _greedy_incompatible(patterns, valid[reps])
    return RowPartition(xs, ys, len(first), reps[np.sort(np.asarray(kept, dtype=np.int64))], False, k ** n, how)


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
    spec = _spec_of(task)
    from verify.spec import Automaton
    # no enumeration at all; capped only so that k^N (reported) stays a printable integer
    if isinstance(spec, Automaton) and 1 <= n <= DFA_REPORT_N:
        rows = dfa_distinct_rows(spec, n, m)
        halves = len(task.symbols) ** n
        return RowCount(n, m, halves, rows, rows, True, time.perf_counter() - t0)
    part = row_partition(task, n, m, progress)
    return RowCount(n, m, part.alice_halves, part.distinct, len(part.witnesses), part.total,
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
