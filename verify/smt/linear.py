"""Exact linear algebra for invariant inference: the affine equalities that hold on every sampled state (the
rational nullspace of the sampled integer components, computed modulo a prime and lifted where the matrix is
large), and which equalities a set of states breaks."""
from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import List, Optional, Sequence, Tuple

import numpy as np


def rational_nullspace(M: List[List[int]]) -> List[List[Fraction]]:
    """Basis of {v : M v = 0} over the rationals, by exact Gauss-Jordan elimination."""
    rows = [[Fraction(x) for x in row] for row in M]
    ncols = len(rows[0]) if rows else 0
    pivots: List[int] = []
    r = 0
    for c in range(ncols):
        p = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            continue
        rows[r], rows[p] = rows[p], rows[r]
        piv = rows[r][c]
        rows[r] = [x / piv for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[r])]
        pivots.append(c)
        r += 1
    basis = []
    for free in (c for c in range(ncols) if c not in pivots):
        v = [Fraction(0)] * ncols
        v[free] = Fraction(1)
        for i, c in enumerate(pivots):
            v[c] = -rows[i][free]
        basis.append(v)
    return basis


PRIME = 2_147_483_647     # 2^31 − 1: products of two residues fit in int64
EXACT_COLUMNS = 24
LEAN_UPPER = 2


def _rational(r: int, p: int = PRIME) -> Optional[Fraction]:
    """The fraction a/b with |a|, b <= sqrt(p/2) congruent to r mod p (rational reconstruction), or None."""
    bound = int((p // 2) ** 0.5)
    r0, r1, t0, t1 = p, r % p, 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1, t0, t1 = r1, r0 - q * r1, t1, t0 - q * t1
    if t1 == 0 or abs(t1) > bound:
        return None
    return Fraction(r1, t1)


def modular_nullspace(M: np.ndarray, p: int = PRIME) -> List[List[Fraction]]:
    """The basis rational_nullspace gives (from the reduced row echelon form, which is unique), computed
    modulo a prime with vectorized row operations and lifted back by rational reconstruction. A vector
    whose entries do not lift is skipped; the caller re-checks every vector exactly (these are guesses
    for Houdini, which proves what it keeps), so a rare unlucky prime costs a candidate, never soundness."""
    A = np.asarray(M, dtype=object) % p
    A = A.astype(np.int64)
    rows, cols = A.shape
    pivots: List[int] = []
    r = 0
    for c in range(cols):
        if r == rows:
            break
        nz = np.flatnonzero(A[r:, c])
        if len(nz) == 0:
            continue
        i = r + int(nz[0])
        A[[r, i]] = A[[i, r]]
        A[r] = A[r] * pow(int(A[r, c]), p - 2, p) % p
        f = A[:, c].copy()
        f[r] = 0
        A = (A - (f[:, None] * A[r][None, :]) % p) % p
        pivots.append(c)
        r += 1
    out = []
    for free in (c for c in range(cols) if c not in pivots):
        v: List[Optional[Fraction]] = [Fraction(0)] * cols
        v[free] = Fraction(1)
        for i, c in enumerate(pivots):
            v[c] = _rational(int(-A[i, free]) % p, p)
        if all(x is not None for x in v):
            out.append(v)
    return out


def affine_equalities(X: np.ndarray) -> List[Tuple[Tuple[int, ...], int]]:
    """Integer (coefficients, constant) with coefficients·x == constant on every row of X:
    the rational nullspace of [X | 1] (from its Gram matrix, which has the same nullspace), scaled to
    coprime integers and re-checked exactly on every row.

    Many rows (tens of thousands of sampled states): the nullspace of a spread subset of rows first,
    which contains the whole one; rows that break one of its equalities join the subset until none
    does — then the two nullspaces are equal, and so is the basis (the one with the identity on the
    free columns, unique), at a fraction of the Gram matrix's cost."""
    if X.shape[1] == 0 or X.shape[0] == 0:
        return []
    Y = np.concatenate([X, np.ones((X.shape[0], 1), dtype=np.int64)], axis=1)   # repeated rows change nothing
    most = SUBSET_ROWS + 4 * Y.shape[1]
    idx = None if Y.shape[0] <= most else _spread(np.arange(Y.shape[0]), most)
    while True:
        found = _nullspace_equalities(Y if idx is None else Y[idx])
        if idx is None:
            break
        broken = _broken_rows(Y[:, :-1], found)
        if not broken.any():
            break
        idx = np.union1d(idx, _spread(np.flatnonzero(broken), most))
        if len(idx) >= Y.shape[0] // 2:
            idx = None
    return [eq for eq, ok in zip(found, _hold_on_every_row(Y[:, :-1], found)) if ok]  # exact re-check


SUBSET_ROWS = 1500


def _spread(rows: np.ndarray, most: int) -> np.ndarray:
    """At most `most` of the rows, evenly spaced (deterministic)."""
    if len(rows) <= most:
        return rows
    return rows[np.unique(np.linspace(0, len(rows) - 1, most).astype(np.int64))]


def _nullspace_equalities(Y: np.ndarray) -> List[Tuple[Tuple[int, ...], int]]:
    if int(np.abs(Y).max()) ** 2 * Y.shape[0] < 2 ** 53:
        F = Y.astype(np.float64)   # every partial sum is an integer below 2^53: exact, and BLAS-fast
        gram = F.T.dot(F).astype(np.int64)
    elif int(np.abs(Y).max()) ** 2 * Y.shape[0] < 2 ** 62:
        gram = Y.T.dot(Y)  # int64 is exact here
    else:
        Y = Y.astype(object)  # Python integers: no overflow
        gram = Y.T.dot(Y)
    # exact fractions for small systems; past EXACT_COLUMNS components (a sequence task over a vocabulary),
    # modulo a prime: fractions cost cubically many big-number operations there
    basis = (rational_nullspace([[int(x) for x in row] for row in gram.tolist()]) if gram.shape[0] <= EXACT_COLUMNS
             else modular_nullspace(gram))
    found = []
    for vec in basis:
        den = 1
        for f in vec:
            den = den * f.denominator // gcd(den, f.denominator)
        ints = [int(f * den) for f in vec]
        g = 0
        for x in ints:
            g = gcd(g, abs(x))
        ints = [x // g for x in ints] if g else ints
        first = next((x for x in ints[:-1] if x), 0)
        if first == 0:
            continue
        if first < 0:
            ints = [-x for x in ints]
        found.append((tuple(ints[:-1]), -ints[-1]))
    return found


def _broken_rows(Y: np.ndarray, equalities: Sequence[Tuple[Tuple[int, ...], int]]) -> np.ndarray:
    """Rows where some equality fails (exact: float64 where every partial sum is an integer below 2^53)."""
    out = np.zeros(Y.shape[0], dtype=bool)
    if not equalities:
        return out
    big = int(np.abs(Y).max()) if Y.size else 0
    if Y.dtype != object and all(big * sum(abs(int(x)) for x in c) + abs(k) < 2 ** 53 for c, k in equalities):
        C = np.array([c for c, _ in equalities], dtype=np.float64).T
        K = np.array([k for _, k in equalities], dtype=np.float64)
        return (Y.astype(np.float64).dot(C) != K).any(axis=1)
    for c, k in equalities:
        out |= Y.astype(object).dot(np.array(c, dtype=object)) != k
    return out


def _hold_on_every_row(Y: np.ndarray, equalities: Sequence[Tuple[Tuple[int, ...], int]]) -> List[bool]:
    """For each (coeffs, const): coeffs·y == const on every row, exactly — all at once in float64 where every
    partial sum is an integer below 2^53, else one by one in Python integers."""
    if not equalities:
        return []
    C = np.array([c for c, _ in equalities], dtype=object).T
    big = int(np.abs(Y).max()) if Y.size else 0
    if Y.dtype != object and all(big * sum(abs(int(x)) for x in c) + abs(k) < 2 ** 53 for c, k in equalities):
        values = Y.astype(np.float64).dot(C.astype(np.float64))
        return [bool(np.all(values[:, j] == k)) for j, (_, k) in enumerate(equalities)]
    return [bool(np.all(Y.astype(object).dot(C[:, j]) == k)) for j, (_, k) in enumerate(equalities)]

