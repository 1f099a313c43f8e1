"""The checkpoint audit (numpy-only): per layer and head, the position–position logit matrix,
numeric PERIODIC / LOCAL scores, the practical regularizer, and verdicts.

What is measured [decision, documented]:
- Layer 0, exact: A = (P Wq)(P Wk)ᵀ with P the position table and Wq, Wk the head's query/key
  column blocks of c_attn.weight — exactly the positional–positional term of the attention logit's
  bilinear form before LayerNorm, biases and the 1/√dh scale (the term the paper's practical
  regularizer charges).
- Layers ≥ 1, approximate: the same formula with the raw table, i.e. assuming position information
  reaches layer l unchanged through the residual stream (ignoring what earlier layers write and
  LayerNorm) — the approximation the practical regularizer itself makes for every layer.
  Their verdicts are marked `approximate`.
- Scores and thresholds: torch_bridge.scores (relative squared residuals; Thresholds documents the
  defaults: a structure fits when its residual ≤ 0.05).

Verdicts: per head one of none (no positional logits), local (τ), periodic (Δ), periodic+local (Δ, τ),
neither. Overall: NoPE (no table: both conditions hold trivially), or from the table's periodicity
and the heads:
  periodic+local — the table is periodic (Δ) and every head is none/local/periodic/periodic+local;
  periodic       — the table is periodic, some head is neither;
  local          — the table is not periodic, every head is none/local (τ = the largest radius);
  neither        — otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import lcm
from typing import List, Optional, Sequence, Tuple

import numpy as np

from torch_bridge.scores import HeadScores, TableScores, Thresholds, layer_scores, table_periodicity

NOPE_KIND = "nope"
EXPLAINED = ("none", "local", "periodic", "periodic+local")


@dataclass(frozen=True)
class HeadAudit:
    layer: int
    head: int
    approximate: bool
    scores: HeadScores
    exact: Optional[dict] = None     # verify.limit.conditions' tolerance-based checks (--exact)

    def as_dict(self) -> dict:
        d = {"layer": self.layer, "head": self.head, "approximate": self.approximate, **self.scores.as_dict()}
        if self.exact is not None:
            d["exact"] = self.exact
        return d


@dataclass(frozen=True)
class AuditReport:
    source: str
    kind: str                        # nope | periodic+local | periodic | local | neither
    period: Optional[int]            # Δ (overall) where periodic
    radius: Optional[int]            # τ (overall) where local
    table: Optional[TableScores]
    heads: Tuple[HeadAudit, ...]
    penalty: float                   # the practical regularizer Σ_{l,h} (1/N) Σ_{i≥j} A²
    thresholds: Thresholds
    shape: dict = field(default_factory=dict)
    summary: str = ""
    notes: Tuple[str, ...] = ()
    exact_table: Optional[dict] = None

    def as_dict(self) -> dict:
        table = None
        if self.table is not None:
            table = {"best_period": self.table.best_period, "residual": self.table.residual,
                     "periodic": self.table.periodic,
                     "residuals_first_16": [float(x) for x in self.table.residuals[:16]]}
        return {"source": self.source, "verdict": self.kind, "period": self.period, "radius": self.radius,
                "summary": self.summary, "practical_regularizer": self.penalty, "table": table,
                "heads": [h.as_dict() for h in self.heads], "thresholds": self.thresholds.as_dict(),
                "shape": self.shape, "notes": list(self.notes), "exact_table": self.exact_table,
                "method": ("layer 0: A = (P Wq)(P Wk)^T exactly from the position table; deeper layers: the same "
                           "formula with the raw table (approximation: position information assumed to reach the "
                           "layer unchanged through the residual stream; LayerNorm, biases and 1/sqrt(dh) ignored)")}


def audit_heads(table: Optional[np.ndarray], heads: Sequence[Tuple[int, int, np.ndarray, np.ndarray]],
                thresholds: Thresholds = Thresholds(), source: str = "", shape: Optional[dict] = None,
                notes: Sequence[str] = (), keep_logits: bool = False, on_head=None, exact: bool = False):
    """The audit on plain arrays: `heads` = (layer, head, Wq (d × dh), Wk (d × dh)); layer 0 is exact.
    Returns the report, and the logit matrices {(layer, head): A subsampled to ≤ 256 × 256} when keep_logits.
    exact=True adds verify.limit.conditions' tolerance-based checks (translation invariance, locality,
    periodicity at tolerance 1e-9 relative): meant for constructed weights, slower, reported beside the scores."""
    logits = {}
    if table is None:
        report = AuditReport(source, NOPE_KIND, 1, 0, None, (), 0.0, thresholds, shape or {},
                             "NoPE: no position table, so there are no positional logits; PERIODIC (Δ = 1) and "
                             "LOCAL (τ = 0) hold trivially", tuple(notes))
        return report, logits
    table = np.asarray(table, dtype=np.float32)
    n = table.shape[0]
    audited: List[HeadAudit] = []
    by_layer = {}
    for layer, head, wq, wk in heads:
        by_layer.setdefault(layer, []).append((head, wq, wk))
    for layer, group in by_layer.items():
        same = len({np.shape(wq)[1] for _, wq, _ in group}) == 1
        chunks = [group] if same else [[g] for g in group]
        for chunk in chunks:  # one (H, N, N) stack per layer when the head widths agree
            dh = np.shape(chunk[0][1])[1]
            q = table @ np.concatenate([np.asarray(wq, np.float32) for _, wq, _ in chunk], axis=1)
            k = table @ np.concatenate([np.asarray(wk, np.float32) for _, _, wk in chunk], axis=1)
            q = q.reshape(n, len(chunk), dh).transpose(1, 0, 2)
            k = k.reshape(n, len(chunk), dh).transpose(1, 0, 2)
            a = q @ k.transpose(0, 2, 1)
            for (head, _, _), s, m in zip(chunk, layer_scores(a, thresholds), a):
                audited.append(HeadAudit(layer, head, layer > 0, s, _exact_head(m) if exact else None))
            if keep_logits:
                for (head, _, _), m in zip(chunk, a):
                    logits[(layer, head)] = downsample(m)
            if on_head:
                on_head(len(chunk))
    tab = table_periodicity(table, thresholds)
    report = _verdict(source, tab, tuple(audited), thresholds, shape or {}, notes, n)
    if exact:
        from dataclasses import replace
        from verify.limit.conditions import periodicity
        p = periodicity(table, max_period=min(thresholds.max_period, n // 2))
        report = replace(report, exact_table={"period": p.period, "residual": p.residual, "periodic": p.periodic})
    return report, logits


def _exact_head(m: np.ndarray) -> dict:
    """verify.limit.conditions on one head's matrix (reused, not re-implemented)."""
    from verify.limit.conditions import locality, translation_invariance
    t = translation_invariance(m.astype(np.float64), tol=1e-6)
    loc = locality(m.astype(np.float64), tol=1e-9)
    return {"translation_invariant": t.invariant, "translation_relative_spread": t.relative,
            "local": loc.local and t.invariant, "effective_radius": loc.effective_radius}


def audit_gpt2(table: Optional[np.ndarray], c_attn_weights: Sequence[np.ndarray], n_head: int, **kw):
    """The audit of a GPT-2 checkpoint's arrays (c_attn.weight per layer, d × 3d)."""
    heads = []
    for layer, w in enumerate(c_attn_weights):
        d = w.shape[0]
        dh = d // n_head
        for h in range(n_head):
            heads.append((layer, h, w[:, h * dh:(h + 1) * dh], w[:, d + h * dh:d + (h + 1) * dh]))
    return audit_heads(table, heads, **kw)


def _verdict(source, tab: TableScores, heads, th, shape, notes, n) -> AuditReport:
    penalty = float(sum(h.scores.penalty for h in heads))
    kinds = [h.scores.kind for h in heads]
    all_local = all(k in ("none", "local") for k in kinds)
    explained = all(k in EXPLAINED for k in kinds)
    radius = max((h.scores.radius or 0 for h in heads if h.scores.kind in ("local", "periodic+local")), default=0)
    head_periods = [h.scores.period for h in heads if h.scores.kind in ("periodic", "periodic+local")]
    counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    count_text = ", ".join(f"{v} {k}" for k, v in counts.items())
    if tab.periodic and explained:
        period = lcm(tab.best_period, *head_periods) if head_periods else tab.best_period
        kind = "periodic+local"
        summary = (f"PERIODIC (table period Δ = {tab.best_period}, residual {tab.residual:.2g}) and LOCAL "
                   f"(every head none/local/periodic; τ = {radius}): {count_text}")
    elif tab.periodic:
        period, radius, kind = tab.best_period, None, "periodic"
        summary = f"PERIODIC table (Δ = {tab.best_period}); not LOCAL: {count_text}"
    elif all_local:
        period, kind = None, "local"
        summary = (f"LOCAL (τ = {radius}); the table is not periodic (best Δ = {tab.best_period}, residual "
                   f"{tab.residual:.2g}): {count_text}")
    else:
        period, radius, kind = None, None, "neither"
        summary = (f"neither: table not periodic (best Δ = {tab.best_period}, residual {tab.residual:.2g}); "
                   f"heads: {count_text}")
    return AuditReport(source, kind, period, radius, tab, heads, penalty, th, shape,
                       summary + f"; practical regularizer {penalty:.4g} (thresholds: residual ≤ {th.residual})",
                       tuple(notes))


def downsample(a: np.ndarray, size: int = 256) -> np.ndarray:
    """Every f-th row and column (f = ⌈N / size⌉), upper triangle as NaN: what the heatmaps show."""
    f = max(1, -(-a.shape[0] // size))
    small = np.array(a[::f, ::f], dtype=np.float32)
    small[~np.tri(small.shape[0], dtype=bool)] = np.nan
    return small


def plot(report: AuditReport, logits: dict, table: Optional[np.ndarray], out_dir) -> List[str]:
    """PNG heatmaps: one figure per layer (a panel per head) and the table's periodicity curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path
    out = Path(out_dir)
    written = []
    layers = sorted({l for l, _ in logits})
    by = {(h.layer, h.head): h for h in report.heads}
    for layer in layers:
        # one image per layer: the heads' matrices tiled (each scaled by its own max |A|), one axes —
        # a dozen subplots per figure made GPT-2-small's plots take a minute
        heads = sorted(h for l, h in logits if l == layer)
        cols = min(4, len(heads))
        rows = -(-len(heads) // cols)
        size = max(logits[(layer, h)].shape[0] for h in heads)
        gap = max(2, size // 32)
        mosaic = np.full((rows * (size + gap), cols * (size + gap)), np.nan, dtype=np.float32)
        fig, ax = plt.subplots(figsize=(2.6 * cols, 2.6 * rows + 0.4))
        for k, h in enumerate(heads):
            img = logits[(layer, h)]
            scale = np.nanmax(np.abs(img)) if np.isfinite(img).any() else 0.0
            r0, c0 = (k // cols) * (size + gap), (k % cols) * (size + gap)
            mosaic[r0:r0 + img.shape[0], c0:c0 + img.shape[1]] = img / scale if scale > 0 else img
            s = by[(layer, h)].scores
            extra = f" τ={s.radius}" if s.radius is not None and s.kind != "none" else ""
            extra += f" Δ={s.period}" if s.period and s.kind in ("periodic", "periodic+local") else ""
            ax.text(c0 + 2, r0 + 2, f"H{h}: {s.kind}{extra}", fontsize=7, va="top", ha="left")
        ax.imshow(mosaic, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"layer {layer}: position–position logits (P Wq)(P Wk)ᵀ, query i down, key j across, "
                     f"each head scaled to ±1" + (" (approximate)" if layer else " (exact)"), fontsize=8)
        path = out / f"layer{layer:02d}_position_logits.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(str(path))
    if report.table is not None:
        fig, ax = plt.subplots(figsize=(5, 3))
        r = report.table.residuals
        ax.plot(np.arange(1, len(r) + 1), r)
        ax.axhline(report.thresholds.residual, color="gray", ls="--", lw=0.8)
        ax.set_xlabel("period Δ")
        ax.set_ylabel("periodic residual")
        ax.set_title(f"position table: best Δ = {report.table.best_period}", fontsize=9)
        fig.subplots_adjust(bottom=0.18, left=0.15)
        path = out / "table_periodicity.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(str(path))
    return written
