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
- The table as a periodic part plus a remainder (table_split): the coordinates whose own periodic
  residual at a common Δ is within the threshold, and the rest — SPEC §2's finite realization keeps
  the periodic part of p_i and realizes φ by extra (e.g. one-hot) coordinates; the audit then asks
  LOCAL of what each head's product adds beyond the periodic part's own product.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

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
    share: float = 0.1               # a head has no positional dependence when its positional terms' RMS is at
                                     # most this fraction of its token–token RMS (PositionalShare; --share-threshold)

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


@dataclass(frozen=True)
class TableSplit:
    """The table as a periodic part plus a remainder, coordinate by coordinate (SPEC §2's finite
    realization keeps the periodic part of p_i and realizes φ with extra coordinates): the periodic
    coordinates repeat with a common period Δ; the others are the remainder."""

    period: int
    periodic_columns: Tuple[int, ...]
    remainder_columns: Tuple[int, ...]
    residual: float                  # the largest periodic residual among the periodic coordinates at Δ

    def as_dict(self) -> dict:
        return {"period": self.period, "periodic_coordinates": len(self.periodic_columns),
                "remainder_coordinates": len(self.remainder_columns), "residual": self.residual,
                "remainder_columns_first_16": list(self.remainder_columns[:16])}


def table_split(table: np.ndarray, th: Thresholds = Thresholds(), max_period: int = 64) -> Optional[TableSplit]:
    """The Δ (1..min(max_period, N/2)) whose periodic coordinates carry the most centred energy (the
    smallest such Δ on ties), each coordinate's residual as in table_periodicity; constant coordinates
    are periodic. None when no coordinate varies or the whole table is one part."""
    p = np.asarray(table, dtype=np.float64)
    n, d = p.shape
    var = ((p - p.mean(axis=0)) ** 2).sum(axis=0)
    if n < 2 or var.sum() <= 0:
        return None
    best = None
    for delta in range(1, max(1, min(max_period, th.max_period, n // 2)) + 1):
        diff = ((p[delta:] - p[:-delta]) ** 2).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            res = np.where(var > 0, diff / (2 * (n - delta) / n * np.where(var > 0, var, 1.0)), 0.0)
        ok = res <= th.residual
        energy = float(var[ok].sum())
        if best is None or energy > best[0] * (1 + 1e-9) + 1e-300:
            best = (energy, delta, ok, float(res[ok].max()) if ok.any() else 0.0)
    _, delta, ok, residual = best
    if ok.all() or not ok.any():
        return None
    return TableSplit(delta, tuple(int(c) for c in np.flatnonzero(ok)), tuple(int(c) for c in np.flatnonzero(~ok)),
                      residual)


@dataclass(frozen=True)
class PositionalShare:
    """A head's attention logit on its own inputs, split into terms [decision, documented]: with p̄ the mean
    table row, P̃ = P − p̄ (what varies with position) and Ẽ = E + p̄ (the token embeddings with the constant
    part of the table), the logit of query (token a, position i) on key (b, j), i ≥ j, is
      (Ẽ_a + P̃_i) Wq Wkᵀ (Ẽ_b + P̃_j)ᵀ = tt(a, b) + tp(a, j) + pt(i, b) + pp(i, j).
    RMS of each term over every token pair (a, b) and causal position pair (i ≥ j), uniformly;
    share = √(pp² + tp² + pt²) / tt (RMS values; cross-correlations between the terms ignored).
    LayerNorm, biases and 1/√dh are ignored (the last cancels in the ratios)."""

    tt: float
    pp: float
    tp: float                        # token query, position key
    pt: float                        # position query, token key
    share: float                     # inf when tt = 0 and some positional term is not

    @property
    def position_position(self) -> float:
        return _ratio(self.pp, self.tt)

    @property
    def position_token(self) -> float:
        return _ratio(float(np.hypot(self.tp, self.pt)), self.tt)

    def as_dict(self) -> dict:
        return {"token_token_rms": self.tt, "position_position_rms": self.pp, "token_position_rms": self.tp,
                "position_token_rms": self.pt, "share": self.share,
                "position_position_share": self.position_position, "position_token_share": self.position_token}


def _ratio(x: float, y: float) -> float:
    if y > 0:
        return x / y
    return 0.0 if x == 0 else float("inf")


def token_gram(table: np.ndarray, embeddings: np.ndarray) -> Tuple[np.ndarray, int]:
    """(ẼᵀẼ, V) with Ẽ = E + p̄: all that the shares need of the vocabulary (d × d, computed once per audit —
    GPT-2's 50257 × 768 embedding is then never multiplied by a head's maps)."""
    e = np.asarray(embeddings, np.float64) + np.asarray(table, np.float64).mean(axis=0)
    return e.T @ e, int(e.shape[0])


def positional_shares(table: np.ndarray, gram: Tuple[np.ndarray, int], wq: np.ndarray, wk: np.ndarray,
                      heads: int) -> list:
    """PositionalShare for `heads` heads whose query/key maps are the column blocks of wq, wk (d × heads·dh);
    gram = token_gram(table, E). Sums by Gram matrices (no V × V, V × d·H or per-pair arrays):
    Σ_{a,b} (q_a·k_b)² = tr(QᵀQ KᵀK) with QᵀQ = Wqᵀ (ẼᵀẼ) Wq."""
    p = np.asarray(table, np.float64)
    g, v = gram
    wq, wk = np.asarray(wq, np.float64), np.asarray(wk, np.float64)
    n = p.shape[0]
    pc = p - p.mean(axis=0)
    dh = wq.shape[1] // heads
    blocks = lambda m: np.stack([m[h * dh:(h + 1) * dh, h * dh:(h + 1) * dh] for h in range(heads)])
    gqe, gke = blocks(wq.T @ g @ wq), blocks(wk.T @ g @ wk)                     # (H, dh, dh)
    split = lambda x: x.reshape(x.shape[0], heads, dh).transpose(1, 0, 2)      # (H, N, dh)
    qp, kp = split(pc @ wq), split(pc @ wk)
    pairs = n * (n + 1) / 2
    tt = np.einsum("hde,hed->h", gqe, gke) / (v * v)
    key_w = (n - np.arange(n)).astype(np.float64)       # key position j is paired with N − j queries
    query_w = (np.arange(n) + 1).astype(np.float64)     # query position i with i + 1 keys
    tp = np.einsum("j,hjd,hde,hje->h", key_w, kp, gqe, kp) / (v * pairs)
    pt = np.einsum("i,hid,hde,hie->h", query_w, qp, gke, qp) / (v * pairs)
    lower = np.tri(n, dtype=bool)
    pp = np.array([float(((qp[h] @ kp[h].T)[lower] ** 2).sum()) for h in range(heads)]) / pairs
    out = []
    for h in range(heads):
        r = [float(np.sqrt(max(x, 0.0))) for x in (tt[h], pp[h], tp[h], pt[h])]
        out.append(PositionalShare(*r, _ratio(float(np.sqrt(max(pp[h] + tp[h] + pt[h], 0.0))), r[0])))
    return out


def reader_shares(table: np.ndarray, gram: Tuple[np.ndarray, int], readers) -> dict:
    """For each other reader W of the residual stream (value maps, MLP inputs): RMS of P̃ W over positions
    relative to RMS of Ẽ W over tokens (P̃, Ẽ as in PositionalShare; ‖ẼW‖² = tr(Wᵀ ẼᵀẼ W))."""
    p = np.asarray(table, np.float64)
    pc = p - p.mean(axis=0)
    g, v = gram
    out = {}
    for name, w in readers:
        w = np.asarray(w, np.float64)
        token = float(np.sqrt(max(float((w * (g @ w)).sum()), 0.0) / (v * w.shape[1])))
        out[name] = _ratio(float(np.sqrt(((pc @ w) ** 2).mean())), token)
    return out
