"""Numeric PERIODIC / LOCAL / translation-invariance scores on plain arrays (SPEC §2).

Stable interface (torch_bridge audits trained checkpoints with it):

    M = position_products(P, Wq, Wk)          # M[i, j] = (P Wq)[i] · (P Wk)[j]; Wq, Wk are d × d_head
    translation_invariance(M) -> TranslationScore
    locality(M, radius=None) -> LocalityScore
    periodicity(P, max_period=64) -> PeriodicityScore
    audit(P, heads=[(Wq, Wk), ...]) -> ConditionReport      # PERIODIC of P (or its periodic part),
                                                           # LOCAL of what heads add beyond that part

P is a position table (rows = positions), Wq/Wk are the head's query and key maps in the x @ W
convention (GPT-2's c_attn column blocks). Only the causal part (i >= j) of M is scored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np


def _row_sparse(X: np.ndarray, max_nnz: int = 64):
    """(cols, vals) of shape (rows, m) if every row of X has at most max_nnz nonzeros, else None."""
    if X.ndim != 2 or X.shape[1] <= 4 * max_nnz:
        return None
    r, c = np.nonzero(X)
    counts = np.bincount(r, minlength=X.shape[0])
    m = int(counts.max()) if len(counts) else 0
    if m > max_nnz:
        return None
    m = max(m, 1)
    slot = np.arange(len(r)) - np.concatenate([[0], np.cumsum(counts)[:-1]])[r]
    cols = np.zeros((X.shape[0], m), dtype=np.int64)
    vals = np.zeros((X.shape[0], m))
    cols[r, slot] = c
    vals[r, slot] = X[r, c]
    return cols, vals


def matmul(X: np.ndarray, Y: np.ndarray, sparse=None) -> np.ndarray:
    """X @ Y, fast when X's rows are sparse (one-hot position blocks): Σ_t vals[:, t] · Y[cols[:, t]]."""
    sparse = _row_sparse(X) if sparse is None else sparse
    if sparse is False or sparse is None:
        return X @ Y
    cols, vals = sparse
    Y = np.ascontiguousarray(Y)
    out = vals[:, 0, None] * Y[cols[:, 0]]
    for t in range(1, cols.shape[1]):
        out += vals[:, t, None] * Y[cols[:, t]]
    return out


def position_products(P: np.ndarray, Wq: np.ndarray, Wk: np.ndarray) -> np.ndarray:
    """M = (P Wq)(P Wk)ᵀ."""
    P, Wq, Wk = (np.asarray(x, dtype=np.float64) for x in (P, Wq, Wk))
    if P.shape[1] != Wq.shape[0] or P.shape[1] != Wk.shape[0] or Wq.shape[1] != Wk.shape[1]:
        raise ValueError(f"shapes do not fit: P {P.shape}, Wq {Wq.shape}, Wk {Wk.shape} "
                         "(need P: n × d, Wq and Wk: d × d_head)")
    sparse_p = _row_sparse(P) or False
    nz_q, nz_k = np.flatnonzero(np.abs(Wq).sum(axis=0)), np.flatnonzero(np.abs(Wk).sum(axis=0))
    shared = np.intersect1d(nz_q, nz_k)     # only head dimensions both maps use contribute
    if len(shared) == 0:
        return np.zeros((P.shape[0], P.shape[0]))
    PQ, PK = matmul(P, Wq[:, shared], sparse_p), matmul(P, Wk[:, shared], sparse_p)
    sparse_k = _row_sparse(PK) or False
    if sparse_k is not False:
        return matmul(PK, PQ.T, sparse_k).T
    return PQ @ PK.T


@dataclass(frozen=True)
class TranslationScore:
    spread: float              # max over offsets k of (max − min) of M on the diagonal i − j = k
    relative: float            # spread / max |M| (0 for an exactly translation-invariant M)
    worst_offset: int
    invariant: bool            # relative <= tol
    profile: Tuple[float, ...] = ()   # the mean of M along each diagonal k = 0..n-1 (g(k) if invariant)


def _diagonals(M: np.ndarray):
    """S[k, j] = M[j + k, j]: row k holds the causal diagonal i − j = k (valid where j + k < n)."""
    n = M.shape[0]
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    valid = j + k < n
    return M[np.minimum(j + k, n - 1), j], valid


def translation_invariance(M: np.ndarray, tol: float = 1e-9) -> TranslationScore:
    M = np.asarray(M, dtype=np.float64)
    n = M.shape[0]
    if n == 0 or not M.any():
        return TranslationScore(0.0, 0.0, 0, True, tuple([0.0] * n))
    S, valid = _diagonals(M)
    scale = float(np.abs(np.where(valid, S, 0.0)).max())
    spreads = np.where(valid, S, -np.inf).max(axis=1) - np.where(valid, S, np.inf).min(axis=1)
    means = np.where(valid, S, 0.0).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    worst = int(spreads.argmax())
    spread = float(spreads.max())
    rel = spread / scale if scale > 0 else 0.0
    return TranslationScore(spread, rel, worst, rel <= tol, tuple(float(x) for x in means))


@dataclass(frozen=True)
class LocalityScore:
    radius: Optional[int]      # the radius asked about (None: use the effective one)
    energy_beyond: float       # Σ_{i−j>radius} M² / Σ_{i>=j} M² over causal pairs
    effective_radius: Optional[int]   # smallest τ with energy beyond τ <= tol (None: M vanishes)
    local: bool


def locality(M: np.ndarray, radius: Optional[int] = None, tol: float = 1e-12) -> LocalityScore:
    M = np.asarray(M, dtype=np.float64)
    n = M.shape[0]
    if n == 0 or not M.any():
        return LocalityScore(radius, 0.0, None, True)
    S, valid = _diagonals(M)
    per_offset = np.where(valid, S * S, 0.0).sum(axis=1)
    total = per_offset.sum()
    if total == 0:
        return LocalityScore(radius, 0.0, None, True)
    beyond = np.maximum(1.0 - np.cumsum(per_offset) / total, 0.0)   # energy share beyond each τ
    eff = int(np.argmax(beyond <= tol)) if (beyond <= tol).any() else n - 1
    tau = eff if radius is None else radius
    share = float(beyond[min(tau, n - 1)])
    # a radius near the end of the table says nothing: locality needs the energy to stop well before n
    local = share <= tol and (radius is not None or eff < n // 2)
    return LocalityScore(radius, share, eff, local)


@dataclass(frozen=True)
class PeriodicityScore:
    period: Optional[int]      # smallest Δ <= max_period with relative residual <= tol
    residual: float            # the residual at that Δ (or the best Δ's residual if none passed)
    best: int                  # the Δ with the smallest residual
    periodic: bool


def periodicity(P: np.ndarray, max_period: int = 64, tol: float = 1e-9, start: int = 0) -> PeriodicityScore:
    """Smallest Δ with P[i] ≈ P[i + Δ] for all i >= start: residual = max ‖P[i] − P[i+Δ]‖ / max ‖P[i]‖."""
    P = np.asarray(P, dtype=np.float64)[start:]
    n = P.shape[0]
    norms2 = (P * P).sum(axis=1)
    scale = float(np.sqrt(norms2.max())) if n else 0.0
    sparse = _row_sparse(P)
    best, best_res = 1, np.inf
    for delta in range(1, min(max_period, n - 1) + 1):
        if sparse is not None:   # ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b, with a·b over a's few nonzeros
            cols, vals = sparse
            dots = (vals[:-delta] * np.take_along_axis(P[delta:], cols[:-delta], axis=1)).sum(axis=1)
            dist2 = np.maximum(norms2[:-delta] + norms2[delta:] - 2 * dots, 0.0)
            res = float(np.sqrt(dist2.max())) / (scale or 1.0)
        else:
            res = float(np.linalg.norm(P[delta:] - P[:-delta], axis=1).max()) / (scale or 1.0)
        if res < best_res:
            best, best_res = delta, res
        if res <= tol:
            return PeriodicityScore(delta, res, delta, True)
    return PeriodicityScore(None, float(best_res), best, False)


@dataclass(frozen=True)
class HeadConditions:
    layer: int
    head: int
    translation: TranslationScore      # of the whole product M
    locality: LocalityScore            # of the whole product M
    remainder_translation: Optional[TranslationScore] = None   # of M − (periodic part's product)
    remainder_locality: Optional[LocalityScore] = None


@dataclass(frozen=True)
class PeriodicSplit:
    """P = periodic part (coordinates repeating with Δ) + remainder (the other coordinates)."""
    period: int
    periodic_columns: Tuple[int, ...]
    remainder_columns: Tuple[int, ...]


@dataclass(frozen=True)
class ConditionReport:
    """SPEC §2's conditions on a finite table and its heads: PERIODIC is asked of the table (as a whole,
    or of its periodic part when it splits), LOCAL of what the heads' products add beyond the periodic
    part's own product (the φ a Limit Transformer would carry). A table that is periodic as a whole has
    a remainder of 0. Only the query/key products are read: other readers of the table are not checked."""
    periodicity: PeriodicityScore
    heads: List[HeadConditions] = field(default_factory=list)
    split: Optional[PeriodicSplit] = None

    @property
    def periodic(self) -> bool:
        """PERIODIC of the table as a whole."""
        return self.periodicity.periodic

    @property
    def periodic_part(self) -> Optional[int]:
        """Δ of the periodic part: the whole table's period, or the split's, or None."""
        return self.periodicity.period if self.periodic else (self.split.period if self.split else None)

    @property
    def local(self) -> bool:
        """LOCAL of the remainder in every head (vacuous when the table is periodic as a whole)."""
        if self.periodic:
            return True
        return all(h.remainder_translation is not None and h.remainder_translation.invariant
                   and h.remainder_locality.local for h in self.heads)

    @property
    def local_as_a_whole(self) -> bool:
        """Every head's whole product M is translation invariant with finite support (the old reading)."""
        return all(h.translation.invariant and h.locality.local for h in self.heads)


def split_periodic(P: np.ndarray, max_period: int = 64, tol: float = 1e-9, start: int = 0) -> Optional[PeriodicSplit]:
    """The Δ <= N/2 whose exactly periodic coordinates (max |P[i+Δ, c] − P[i, c]| <= tol·max |P|) are the
    most, the smallest such Δ on ties; None when every coordinate or none is periodic. Constant coordinates
    count, so constant coordinates plus a one-hot block split at Δ = 1."""
    P = np.asarray(P, dtype=np.float64)[start:]
    n, d = P.shape
    if n < 2:
        return None
    scale = float(np.abs(P).max()) or 1.0
    best = None
    for delta in range(1, max(1, min(max_period, n // 2)) + 1):   # at least two whole periods in view
        ok = np.abs(P[delta:] - P[:-delta]).max(axis=0) <= tol * scale
        if best is None or ok.sum() > best[1].sum():
            best = (delta, ok)
    delta, ok = best
    if ok.all() or not ok.any():
        return None
    return PeriodicSplit(delta, tuple(int(c) for c in np.flatnonzero(ok)), tuple(int(c) for c in np.flatnonzero(~ok)))


def audit(P: np.ndarray, heads: Sequence[Tuple[int, int, np.ndarray, np.ndarray]], radius: Optional[int] = None,
          max_period: int = 64, tol: float = 1e-9, start: int = 0) -> ConditionReport:
    """Score every head (layer, head, Wq, Wk) of a position table P: the whole product, and (when the
    table is not periodic but splits) the remainder M − (P_per Wq)(P_per Wk)ᵀ."""
    per = periodicity(P, max_period, tol, start)
    split = None if per.periodic else split_periodic(P, max_period, tol, start)
    P_per = None
    if split is not None:
        P_per = np.array(P, dtype=np.float64)
        P_per[:, list(split.remainder_columns)] = 0.0
    out = []
    for layer, head, Wq, Wk in heads:
        M = position_products(P, Wq, Wk)[start:, start:]
        rest_t = rest_l = None
        if P_per is not None:
            R = M - position_products(P_per, Wq, Wk)[start:, start:]
            rest_t, rest_l = translation_invariance(R, tol), locality(R, radius, tol)
        out.append(HeadConditions(layer, head, translation_invariance(M, tol), locality(M, radius, tol),
                                  rest_t, rest_l))
    return ConditionReport(per, out, split)


def model_heads(finite) -> List[Tuple[int, int, np.ndarray, np.ndarray]]:
    """(layer, head, Wq, Wk) of a verify.limit model, in the x @ W convention."""
    return [(li, hi, h.query.T, h.key.T) for li, layer in enumerate(finite.layers) for hi, h in enumerate(layer.heads)]


def model_readers(finite) -> List[Tuple[str, np.ndarray]]:
    """Every other map that reads the residual stream of a verify.limit model — value maps, sign-test
    reads, MLP inputs — as (name, W) in the x @ W convention (what a periodic-part split must check)."""
    out = []
    for li, layer in enumerate(finite.layers):
        out += [(f"layer {li} head {hi} value", h.value.T) for hi, h in enumerate(layer.heads)]
        if layer.norm is not None:
            out.append((f"layer {li} sign-test read", layer.norm.read.T))
        if layer.mlp is not None:
            out.append((f"layer {li} MLP input", layer.mlp.w_in.T))
    return out
