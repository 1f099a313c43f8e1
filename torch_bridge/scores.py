"""numpy-only numeric PERIODIC / LOCAL scores for a finite APE transformer's positional parts.

The local interface the audit calls (switchable to verify.limit.conditions when that offers the
same measurements). All residuals are relative squared errors in [0, 1]: 0 = the structure
fits exactly, ≈ 1 = no trace of it (what a random matrix gives).

- Position table P (N × d), rows p_1..p_N. PERIODIC with period Δ means p_i = p_{i+Δ}.
  periodic_residual(Δ) = Σ_i ‖p_{i+Δ} − p_i‖² / (2·(N−Δ)/N · Σ_i ‖p_i − p̄‖²)
  (centred: adding a constant vector to every p_i changes no attention pattern's periodicity).
- Position–position logits A (N × N, read on i ≥ j). LOCAL with radius τ means A[i, j] = g(i − j)
  for i − j ≤ τ and 0 beyond (translation invariant, finite support).
  local_residual(τ) = ‖A − band_τ(A)‖² / ‖A‖², band_τ = the mean of each diagonal i − j = k ≤ τ,
  0 beyond (the least-squares banded Toeplitz fit; every τ at once from per-diagonal sums).
- A head is PERIODIC with Δ when A[i, j] depends only on (i mod Δ, j mod Δ) — what a periodic
  table gives: head_periodic_residual(Δ) = ‖A − class means‖² / ‖A‖².
- PERIODIC + LOCAL: A ≈ (doubly periodic) + (banded Toeplitz), fitted by alternating projections.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    """Documented defaults; every audit verdict states the thresholds it used."""

    residual: float = 0.05           # a structure "fits" when its relative squared residual is at most this
    zero_rms: float = 1e-6           # position logits with RMS below this are numerically zero (no positional use)
    max_period: int = 512            # table periods searched: 1..min(max_period, N // 2)
    max_head_period: int = 12        # head periods searched (on the window): 1..max_head_period
    max_radius: Optional[int] = None # radii searched: 0..N // 2 (None) or 0..max_radius
    window: int = 256                # periodic and joint head fits use positions 1..window (cost)
    joint_iterations: int = 12       # alternating projections for the periodic + local fit
    radius_tolerance: float = 1e-3   # τ = the smallest radius whose local fit is within this of the best one
    period_gain: float = 0.01        # a head period Δ is tried in the joint fit only if it explains this much
                                     # more energy than every proper divisor of Δ

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TableScores:
    best_period: int                 # smallest Δ that fits, or the Δ with the least residual if none does
    residual: float                  # its residual
    periodic: bool
    residuals: np.ndarray = field(repr=False)  # residuals[Δ - 1] for Δ = 1..max searched


def table_periodicity(table: np.ndarray, th: Thresholds = Thresholds()) -> TableScores:
    """Periodicity of the position table, every Δ at once from the Gram matrix's diagonals."""
    p = np.asarray(table, dtype=np.float64)
    n = p.shape[0]
    centred = p - p.mean(axis=0)
    norms = (centred ** 2).sum(axis=1)
    total = norms.sum()
    top = max(1, min(th.max_period, n // 2))
    if total <= 0:  # a constant table: periodic with Δ = 1
        return TableScores(1, 0.0, True, np.zeros(top))
    gram = centred @ centred.T
    cum = np.concatenate([[0.0], np.cumsum(norms)])
    res = np.empty(top)
    for delta in range(1, top + 1):
        cross = np.trace(gram, offset=delta)
        diff = (cum[n] - cum[delta]) + cum[n - delta] - 2 * cross
        res[delta - 1] = diff / (2 * (n - delta) / n * total)
    fits = np.flatnonzero(res <= th.residual)
    best = int(fits[0]) + 1 if fits.size else int(np.argmin(res)) + 1
    return TableScores(best, float(res[best - 1]), bool(fits.size), res)


@dataclass(frozen=True)
class HeadScores:
    kind: str                        # "none" | "local" | "periodic" | "periodic+local" | "neither"
    rms: float                       # RMS of A over i ≥ j
    penalty: float                   # (1/N) Σ_{i≥j} A[i, j]² — this head's practical-regularizer term
    radius: Optional[int]            # τ when local (or the local part of periodic+local)
    local_residual: float            # at the chosen radius (or the smallest over the searched radii)
    period: Optional[int]            # Δ when periodic (or the periodic part)
    periodic_residual: float         # at the best head period on the window
    joint_residual: Optional[float]  # periodic + local fit on the window (None: not needed)
    toeplitz_residual: float         # local_residual(τ = N − 1): translation invariance alone

    @property
    def local(self) -> bool:
        return self.kind in ("none", "local")

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def diagonal_sums(a: np.ndarray):
    """For a stack (H, n, n): s1[h, k] = Σ_i A[h, i, i − k] and s2 the same of A², k = 0..n−1.
    Written into a buffer of n(n+1) per head and viewed as (n, n+1), the lower triangle's diagonal k
    is column 0 (k = 0) or column n + 1 − k: column sums, no index arrays."""
    h, n, _ = a.shape
    buf = np.zeros((h, n * n + n), dtype=a.dtype)
    flat = buf[:, :n * n].reshape(h, n, n)
    np.multiply(a, np.tri(n, dtype=a.dtype), out=flat)
    view = buf.reshape(h, n, n + 1)
    c1 = view.sum(axis=1, dtype=np.float64)
    c2 = np.einsum("hrc,hrc->hc", view, view, dtype=np.float64)
    order = np.concatenate([[0], n + 1 - np.arange(1, n)])      # column of diagonal k
    return c1[:, order], c2[:, order]


def local_residuals_from(s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """local_residual(τ) for τ = 0..n−1 from per-diagonal sums (rows = heads)."""
    n = s1.shape[-1]
    count = (n - np.arange(n)).astype(np.float64)
    energy = s2.sum(axis=-1, keepdims=True)
    within = s2 - s1 ** 2 / count
    kept = np.cumsum(within, axis=-1)
    tail = energy - np.cumsum(s2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip((kept + tail) / energy, 0.0, None)


def periodic_residuals(a: np.ndarray, max_period: int) -> np.ndarray:
    """head_periodic_residual(Δ), Δ = 1..max_period, for a stack (H, w, w): block sums by reshaping."""
    h, w, _ = a.shape
    lower = np.tril(np.ones((w, w), dtype=bool))
    x = np.where(lower, a, 0).astype(np.float64)
    energy = (x * x).sum(axis=(1, 2))
    out = np.ones((h, max_period))
    for delta in range(1, max_period + 1):
        sums, counts, _ = _class_sums(x, lower, delta)
        explained = (sums ** 2 / np.maximum(counts, 1)).sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, delta - 1] = np.where(energy > 0, 1 - explained / energy, 1.0)
    return np.clip(out, 0.0, None)


def _class_sums(x: np.ndarray, lower: np.ndarray, delta: int):
    """Per residue class (i mod Δ, j mod Δ) over i ≥ j: sums of a stack (H, w, w), the class sizes,
    and the padded side m (a multiple of Δ)."""
    h, w, _ = x.shape
    m = -(-w // delta) * delta
    xp = np.zeros((h, m, m))
    xp[:, :w, :w] = x
    cp = np.zeros((m, m))
    cp[:w, :w] = lower
    sums = xp.reshape(h, m // delta, delta, m // delta, delta).sum(axis=(1, 3))
    counts = cp.reshape(m // delta, delta, m // delta, delta).sum(axis=(0, 2))
    return sums, counts, m


def _periodic_part(x: np.ndarray, lower: np.ndarray, delta: int) -> np.ndarray:
    """Least-squares doubly periodic fit (class means over (i mod Δ, j mod Δ), i ≥ j) of a stack (H, w, w)."""
    w = x.shape[1]
    sums, counts, m = _class_sums(x, lower, delta)
    means = sums / np.maximum(counts, 1)
    tiled = np.tile(means, (1, m // delta, m // delta))[:, :w, :w]
    return tiled * lower


def _band_part(x: np.ndarray, offsets: np.ndarray, radius: int) -> np.ndarray:
    """Least-squares banded Toeplitz fit (diagonal means for i − j ≤ τ, 0 beyond) of a stack (H, w, w)."""
    w = x.shape[1]
    s1, _ = diagonal_sums(x)
    g = s1 / (w - np.arange(w))
    g[:, radius + 1:] = 0.0
    return np.where(offsets >= 0, g[:, np.clip(offsets, 0, w - 1)], 0.0)


def joint_residuals(x: np.ndarray, delta: int, radius: int, iterations: int) -> np.ndarray:
    """‖A − (periodic Δ + band τ)‖² / ‖A‖² per head of a stack (H, w, w), alternating projections."""
    w = x.shape[1]
    lower = np.tri(w, dtype=bool)
    x = np.where(lower, x, 0.0).astype(np.float64)
    offsets = np.arange(w)[:, None] - np.arange(w)[None, :]
    energy = (x * x).sum(axis=(1, 2))
    band = np.zeros_like(x)
    for _ in range(iterations):
        per = _periodic_part(x - band, lower, delta)
        band = _band_part(x - per, offsets, radius)
    rest = x - per - band
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(energy > 0, (rest * rest).sum(axis=(1, 2)) / energy, 1.0)


def head_scores(a: np.ndarray, th: Thresholds = Thresholds()) -> HeadScores:
    """Scores of one head's position–position logit matrix A (N × N; only i ≥ j is read)."""
    return layer_scores(np.asarray(a)[None], th)[0]


def layer_scores(a: np.ndarray, th: Thresholds = Thresholds()) -> list:
    """Scores of a stack of heads' matrices (H, N, N), vectorized over heads where it matters."""
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    h, n, _ = a.shape
    s1, s2 = diagonal_sums(a)
    energy = s2.sum(axis=1)
    count = n * (n + 1) / 2
    rms = np.sqrt(energy / count)
    loc = local_residuals_from(s1, s2)
    top = (n // 2) if th.max_radius is None else min(th.max_radius, n - 1)
    w = min(n, th.window)
    per = periodic_residuals(a[:, :w, :w], th.max_head_period)
    out, pending = [], []
    for x in range(h):
        if rms[x] <= th.zero_rms:
            out.append(HeadScores("none", float(rms[x]), float(energy[x] / n), 0, 0.0, 1, 0.0, None, 0.0))
            continue
        best_local = float(loc[x, :top + 1].min())
        radius = None
        if best_local <= th.residual:  # LOCAL; τ = where the fit stops improving (exact τ for exact bands)
            radius = int(np.flatnonzero(loc[x, :top + 1] <= best_local + th.radius_tolerance)[0])
        local_res = float(loc[x, radius]) if radius is not None else best_local
        per_fits = np.flatnonzero(per[x] <= th.residual)
        period = int(per_fits[0]) + 1 if per_fits.size else None
        best_delta = period or int(np.argmin(per[x])) + 1
        kind, joint = "neither", None
        if radius is not None:
            kind, period = "local", None
        elif period is not None:
            kind = "periodic"
        else:
            pending.append(x)
        out.append(HeadScores(kind, float(rms[x]), float(energy[x] / n), radius, local_res, period,
                              float(per[x, best_delta - 1]), joint, float(loc[x, n - 1])))
    # joint periodic + local fits: candidate periods in increasing order, each head keeps the first that fits
    for delta in range(1, th.max_head_period + 1):
        idx = [x for x in pending if out[x].kind == "neither" and _candidate(per[x], delta, th.period_gain)]
        if not idx:
            continue
        for x, (kind, radius, joint, wl) in zip(idx, _joint(a[idx, :w, :w], delta, th)):
            old = out[x]
            if kind == "neither" and old.joint_residual is not None and old.joint_residual <= joint:
                continue
            out[x] = HeadScores(kind, old.rms, old.penalty, radius,
                                wl if wl is not None else old.local_residual,
                                delta if kind != "neither" else None, float(per[x, delta - 1]), joint,
                                old.toeplitz_residual)
    return out


def _candidate(per: np.ndarray, delta: int, gain: float) -> bool:
    """Δ = 1 always; a larger Δ only if its periodic fit beats every proper divisor's by `gain`."""
    if delta == 1:
        return True
    divisors = [e for e in range(1, delta) if delta % e == 0]
    return per[delta - 1] < min(per[e - 1] for e in divisors) - gain


def _joint(stack: np.ndarray, delta: int, th: Thresholds):
    """Periodic (Δ) + banded Toeplitz fit on the window for a stack of heads: the widest band first
    (a random matrix fails there), then bisection for each head's smallest fitting radius.
    Returns (kind, radius, joint residual, local residual at that radius) per head."""
    w = stack.shape[1]
    widest = w // 2
    wide = joint_residuals(stack, delta, widest, th.joint_iterations)
    s1, s2 = diagonal_sums(stack.astype(np.float64))
    wl = local_residuals_from(s1, s2)
    results = []
    for x in range(stack.shape[0]):
        if not wide[x] <= th.residual:
            results.append(("neither", None, float(wide[x]), None))
            continue
        lo, hi = 0, widest
        while lo < hi:
            mid = (lo + hi) // 2
            if joint_residuals(stack[x:x + 1], delta, mid, th.joint_iterations)[0] <= wide[x] + th.radius_tolerance:
                hi = mid
            else:
                lo = mid + 1
        joint = float(joint_residuals(stack[x:x + 1], delta, hi, th.joint_iterations)[0])
        results.append(("periodic+local", hi, joint, float(wl[x, hi])))
    return results
