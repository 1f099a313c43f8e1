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

Positional share (scores.PositionalShare; needs the token embeddings): a head's position–position and
position–token logit terms relative to its token–token terms on the model's own inputs; a head whose share
is ≤ Thresholds.share (--share-threshold) has no positional dependence ("none", whatever the absolute size
of its logits; the structure its position–position logits alone fit is kept as fitted_kind). Without
embeddings, "none" means position–position RMS ≤ Thresholds.zero_rms (absolute).

Verdicts: per head one of none (no positional dependence), local (τ), periodic (Δ), periodic+local (Δ, τ),
neither. Overall: NoPE (no table: both conditions hold trivially), unknown (no heads: nothing to
judge), or from the table and the heads, with SPEC §2's names:
  periodic+local — (a) the table is PERIODIC as a whole (Δ) and every head is none/local/periodic/
                   periodic+local; or (b) the table splits into a periodic part (coordinates repeating
                   with Δ) plus a remainder (scores.table_split), every head's position–position product
                   minus the periodic part's own product is LOCAL (τ), and no other reader of the
                   residual stream given (value maps, MLP inputs) reads the remainder — the shape of the
                   finite realization T_N of a PERIODIC, LOCAL Limit Transformer (periodic part of p_i,
                   φ realized by extra coordinates). LayerNorm is ignored, as everywhere here;
                   or (c), approximately, said so: every head is none and every other reader's positional
                   share (value maps, MLP inputs: RMS of P̃W over RMS of ẼW) is ≤ Thresholds.share;
  periodic       — the table is periodic, some head is neither;
  local          — the table is not periodic and does not split as in (b), every head is none/local;
  neither        — otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import lcm
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from torch_bridge.scores import (HeadScores, PositionalShare, TableScores, TableSplit, Thresholds, layer_scores,
                                 positional_shares, reader_shares, table_periodicity, table_split, token_gram)

NOPE_KIND = "nope"
EXPLAINED = ("none", "local", "periodic", "periodic+local")


@dataclass(frozen=True)
class HeadAudit:
    layer: int
    head: int
    approximate: bool
    scores: HeadScores
    exact: Optional[dict] = None     # verify.limit.conditions' tolerance-based checks (--exact)
    remainder: Optional[HeadScores] = None   # scores of A − (periodic part's product), when the table splits
    share: Optional[PositionalShare] = None  # positional vs token terms on the model's own inputs
    fitted_kind: Optional[str] = None        # the structure fitted to A, when the share made the head "none"

    def line(self, th: Thresholds) -> str:
        """One line a researcher can quote."""
        s = self.scores
        where = f"layer {self.layer} head {self.head}" + (" (approximate)" if self.approximate else "")
        if s.kind == "periodic+local":
            what = f"PERIODIC (Δ = {s.period}) + LOCAL (τ = {s.radius})"
        elif s.kind == "periodic":
            what = f"PERIODIC (Δ = {s.period}), not LOCAL"
        elif s.kind == "local":
            what = f"LOCAL (τ = {s.radius})"
        elif s.kind == "none":
            if self.fitted_kind is not None:
                what = (f"no positional dependence (positional share ≤ {th.share}; its position–position logits "
                        f"alone fit: {self.fitted_kind})")
            elif self.share is not None and self.share.share > th.share:
                what = (f"no position–position logits (RMS {s.rms:.2g} ≤ {th.zero_rms}), but position enters "
                        f"through its position–token terms")
            else:
                what = "no positional dependence" + (f" (position–position RMS {s.rms:.2g} ≤ {th.zero_rms})"
                                                     if self.share is None else "")
        else:
            what = (f"neither PERIODIC nor LOCAL (best local residual {s.local_residual:.2g}, periodic "
                    f"{s.periodic_residual:.2g}; fit ≤ {th.residual})")
        if self.share is not None:
            sh = self.share
            what += (f"; positional share {sh.share:.3g} (position–position {sh.position_position:.3g}, "
                     f"position–token {sh.position_token:.3g} of token–token; threshold {th.share})")
        return f"{where}: {what}"

    def as_dict(self) -> dict:
        d = {"layer": self.layer, "head": self.head, "approximate": self.approximate, **self.scores.as_dict()}
        if self.share is not None:
            d["positional_share"] = self.share.as_dict()
        if self.fitted_kind is not None:
            d["fitted_kind"] = self.fitted_kind
        if self.exact is not None:
            d["exact"] = self.exact
        if self.remainder is not None:
            d["remainder"] = self.remainder.as_dict()
        return d


@dataclass(frozen=True)
class AuditReport:
    source: str
    verdict: str                     # nope | periodic+local | periodic | local | neither | unknown
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
    split: Optional[TableSplit] = None       # the table as periodic part + remainder (None: no such split)
    remainder_readers: Optional[dict] = None  # {reader: share of its positional input from the remainder}
    reader_shares: Optional[dict] = None      # {reader: RMS of its positional input / RMS of its token input}
    conditions: str = ""                      # whether the model as a whole meets the theory's conditions
    task_audit: Optional[object] = None       # torch_bridge.task_audit.TaskAudit, with --task

    # with --task, the same names as the JSON's keys
    @property
    def task(self) -> Optional[dict]:
        return None if self.task_audit is None else self.task_audit.task

    @property
    def theory(self):
        return None if self.task_audit is None else self.task_audit.theory

    @property
    def prediction(self):
        return None if self.task_audit is None else self.task_audit.prediction

    @property
    def measured(self):
        return None if self.task_audit is None else self.task_audit.measured

    @property
    def side_by_side(self) -> Optional[str]:
        return None if self.task_audit is None else self.task_audit.side_by_side

    @property
    def exit_code(self) -> int:
        """The README's codes: with --task, 0 predicted to generalize, 1 predicted not to, 3 no prediction;
        without, 0 the conditions hold (periodic+local, NoPE), 1 they fail, 3 nothing to judge."""
        if self.task_audit is not None:
            return self.task_audit.exit_code
        return {"periodic+local": 0, "nope": 0, "unknown": 3}.get(self.verdict, 1)

    def head_lines(self) -> List[str]:
        return [h.line(self.thresholds) for h in self.heads]

    def as_dict(self) -> dict:
        table = None
        if self.table is not None:
            table = {"best_period": self.table.best_period, "residual": self.table.residual,
                     "periodic": self.table.periodic,
                     "residuals_first_16": [float(x) for x in self.table.residuals[:16]]}
        return {"source": self.source, "verdict": self.verdict, "period": self.period, "radius": self.radius,
                "summary": self.summary, "practical_regularizer": self.penalty, "table": table,
                "heads": [h.as_dict() for h in self.heads], "thresholds": self.thresholds.as_dict(),
                "shape": self.shape, "notes": list(self.notes), "exact_table": self.exact_table,
                "periodic_as_a_whole": None if self.table is None else self.table.periodic,
                "split": None if self.split is None else self.split.as_dict(),
                "remainder_readers": self.remainder_readers, "reader_shares": self.reader_shares,
                "conditions": self.conditions, "head_lines": self.head_lines(),
                **(self.task_audit.as_dict() if self.task_audit is not None else
                   {"task": None, "theory": None, "prediction": None, "measured": None, "side_by_side": None}),
                "method": ("layer 0: A = (P Wq)(P Wk)^T exactly from the position table; deeper layers: the same "
                           "formula with the raw table (approximation: position information assumed to reach the "
                           "layer unchanged through the residual stream; LayerNorm, biases and 1/sqrt(dh) ignored)")}


def audit_heads(table: Optional[np.ndarray], heads: Sequence[Tuple[int, int, np.ndarray, np.ndarray]],
                thresholds: Thresholds = Thresholds(), source: str = "", shape: Optional[dict] = None,
                notes: Sequence[str] = (), keep_logits: bool = False, on_head=None, exact: bool = False,
                readers: Optional[Sequence[Tuple[str, np.ndarray]]] = None, embeddings: Optional[np.ndarray] = None):
    """The audit on plain arrays: `heads` = (layer, head, Wq (d × dh), Wk (d × dh)); layer 0 is exact.
    embeddings (V × d): the model's token embeddings; with them every head gets its PositionalShare, and a
    head whose share is ≤ thresholds.share has no positional dependence ("none", its fitted structure kept in
    fitted_kind) — relative to its token terms, not an absolute logit size.
    Returns the report, and the logit matrices {(layer, head): A subsampled to ≤ 256 × 256} when keep_logits.
    exact=True adds verify.limit.conditions' tolerance-based checks (translation invariance, locality,
    periodicity at tolerance 1e-9 relative): meant for constructed weights, slower, reported beside the scores.
    readers: (name, W (d × k)) for every other map that reads the residual stream (value maps, MLP inputs);
    the periodic-part split (b) is claimed only when they are given and none reads the remainder."""
    logits = {}
    if table is None:
        report = AuditReport(source, NOPE_KIND, 1, 0, None, (), 0.0, thresholds, shape or {},
                             "NoPE: no position table, so there are no positional logits; PERIODIC (Δ = 1) and "
                             "LOCAL (τ = 0) hold trivially", tuple(notes),
                             conditions="the model meets the theory's conditions trivially: NoPE (no position table)")
        return report, logits
    table = np.asarray(table, dtype=np.float32)
    n = table.shape[0]
    if not heads:
        return AuditReport(source, "unknown", None, None, table_periodicity(table, thresholds), (), 0.0, thresholds,
                           shape or {}, "unknown: no heads to audit, so LOCAL cannot be judged", tuple(notes),
                           conditions="unknown: no heads to audit"), logits
    tab = table_periodicity(table, thresholds)
    split = None if tab.periodic else table_split(table, thresholds)
    periodic_only = None
    if split is not None:
        periodic_only = table.copy()
        periodic_only[:, list(split.remainder_columns)] = 0.0
    audited: List[HeadAudit] = []
    gram = None if embeddings is None else token_gram(table, embeddings)
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
            rest = [None] * len(chunk)
            if periodic_only is not None:   # A − (P_per Wq)(P_per Wk)ᵀ: what the remainder adds
                qp = (periodic_only @ np.concatenate([np.asarray(wq, np.float32) for _, wq, _ in chunk], axis=1))
                kp = (periodic_only @ np.concatenate([np.asarray(wk, np.float32) for _, _, wk in chunk], axis=1))
                qp = qp.reshape(n, len(chunk), dh).transpose(1, 0, 2)
                kp = kp.reshape(n, len(chunk), dh).transpose(1, 0, 2)
                rest = layer_scores(a - qp @ kp.transpose(0, 2, 1), thresholds)
            shares = [None] * len(chunk)
            if gram is not None:
                shares = positional_shares(table, gram,
                                           np.concatenate([np.asarray(wq, np.float64) for _, wq, _ in chunk], axis=1),
                                           np.concatenate([np.asarray(wk, np.float64) for _, _, wk in chunk], axis=1),
                                           len(chunk))
            for (head, _, _), s, m, r, sh in zip(chunk, layer_scores(a, thresholds), a, rest, shares):
                fitted = None
                if sh is not None and s.kind != "none" and sh.share <= thresholds.share:
                    fitted, s = s.kind, replace(s, kind="none", radius=0, period=1)
                    r = None if r is None else replace(r, kind="none", radius=0, period=1)
                audited.append(HeadAudit(layer, head, layer > 0, s, _exact_head(m) if exact else None, r, sh, fitted))
            if keep_logits:
                for (head, _, _), m in zip(chunk, a):
                    logits[(layer, head)] = downsample(m)
            if on_head:
                on_head(len(chunk))
    shares = None
    if split is not None and readers is not None:
        shares = _remainder_shares(table, periodic_only, readers, thresholds.residual)
    read = None if gram is None or readers is None else reader_shares(table, gram, readers)
    report = _verdict(source, tab, tuple(audited), thresholds, shape or {}, notes, n, split, shares, read)
    if exact:
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


def _remainder_shares(table: np.ndarray, periodic_only: np.ndarray, readers, limit: float) -> dict:
    """For each reader W: ‖P_rest W‖² / ‖P W‖² — the share of its positional input that comes from the
    remainder; stops at the first reader above `limit` (one is enough to refuse the split)."""
    rest = table - periodic_only
    out = {}
    for name, w in readers:
        w = np.asarray(w, dtype=np.float32)
        total = float(((table @ w).astype(np.float64) ** 2).sum())
        out[name] = float(((rest @ w).astype(np.float64) ** 2).sum() / total) if total > 0 else 0.0
        if out[name] > limit:
            break
    return out


def audit_gpt2(table: Optional[np.ndarray], c_attn_weights: Sequence[np.ndarray], n_head: int,
               mlp_weights: Optional[Sequence[np.ndarray]] = None, embeddings: Optional[np.ndarray] = None, **kw):
    """The audit of a GPT-2 checkpoint's arrays (c_attn.weight per layer, d × 3d; with mlp_weights, the
    c_fc.weight per layer, the value maps and MLP inputs are the other readers of the residual stream)."""
    heads, readers = [], []
    for layer, w in enumerate(c_attn_weights):
        d = w.shape[0]
        dh = d // n_head
        for h in range(n_head):
            heads.append((layer, h, w[:, h * dh:(h + 1) * dh], w[:, d + h * dh:d + (h + 1) * dh]))
        readers.append((f"layer {layer} value maps", w[:, 2 * d:]))
    if mlp_weights is not None:
        readers += [(f"layer {layer} MLP input", w) for layer, w in enumerate(mlp_weights)]
    return audit_heads(table, heads, readers=readers if mlp_weights is not None else None, embeddings=embeddings, **kw)


def check_options(residual: float, window: int, max_positions: Optional[int], share_threshold: float,
                  heads: Optional[int] = None) -> None:
    """The audit's options, checked before anything is read (named as the command's flags)."""
    from torch_bridge.config import MAX_HEADS, MAX_POSITIONS, is_int
    from verify.problems import UserError
    if not 0 < residual < 1:
        raise UserError("--residual must lie in (0, 1)")
    if not (is_int(window) and 1 <= window <= MAX_POSITIONS):   # a window beyond any table's length fits nothing more
        raise UserError(f"--window must be an integer in 1..{MAX_POSITIONS} (positions used by the fits), "
                        f"not {window}")
    if heads is not None and not (is_int(heads) and 1 <= heads <= MAX_HEADS):
        raise UserError(f"--heads must be an integer in 1..{MAX_HEADS}, not {heads}")
    if max_positions is not None and max_positions < 2:
        raise UserError(f"--max-positions must be at least 2, not {max_positions}")
    if not share_threshold >= 0 or share_threshold == float("inf"):
        raise UserError(f"--share-threshold must be a finite number >= 0, not {share_threshold}")


def audit_checkpoint(path, heads: Optional[int] = None, residual: float = 0.05, window: int = 256,
                     max_positions: Optional[int] = None, share_threshold: float = 0.1, exact: bool = False,
                     keep_logits: bool = False, progress=None, task: Optional[str] = None, vocab: Optional[str] = None,
                     measure: bool = False, bins=None, samples: int = 2000, train_max: int = 50, seed: int = 0):
    """What `verify audit` does, as a function (numpy; torch is imported only to read a torch pickle): read a
    checkpoint — a Hugging Face folder, a weights file, a TransformerLens state dict, a hub-cache snapshot
    (torch_bridge.checkpoint.load_checkpoint) or `verify compile --out`'s T_N — and audit it with its token
    embeddings and every other reader of the residual stream. `progress`: a rich-Progress-like object
    (add_task/update) or None. Returns (AuditReport, logits {(layer, head): matrix} when keep_logits, the
    audited table or None). task: a catalogue case to run the checkpoint on (torch_bridge.task_audit): the
    prediction from training-range inputs, and with `measure` the accuracy per bin."""
    check_options(residual, window, max_positions, share_threshold, heads)
    if task is not None:
        from torch_bridge.task_audit import check_task_options
        check_task_options(train_max, samples)
    th = Thresholds(residual=residual, window=max(8, window), share=share_threshold)
    progress = progress if progress is not None else _Silent()
    path = Path(path)
    if compiled_file(path):
        if task is not None:
            from verify.problems import UserError
            raise UserError(f"{path}: --task runs a trained GPT-2 checkpoint on its task; this is a compiled T_N "
                            f"(verify compile --out), which `verify compile` already checks against its program")
        return _audit_compiled(path, th, max_positions, keep_logits, exact, progress)
    from torch_bridge.checkpoint import load_checkpoint
    ck = load_checkpoint(path, n_head=heads)
    cfg = ck.config
    table = ck.position_table()
    if table is not None:
        if max_positions is not None:
            table = table[:max_positions]
        check_memory(table.shape[0], cfg.n_head)
    shape = {"layers": cfg.n_layer, "heads": cfg.n_head, "d": cfg.n_embd, "positions": cfg.n_positions,
             "audited_positions": None if table is None else int(table.shape[0]),
             "position_encoding": cfg.position_encoding, "file_format": ck.file_format}
    bar = progress.add_task("audit heads", total=cfg.n_layer * cfg.n_head, info="")
    report, logits = audit_gpt2(table, [ck.c_attn(l) for l in range(cfg.n_layer)], cfg.n_head,
                                mlp_weights=[ck.array(f"transformer.h.{l}.mlp.c_fc.weight") for l in range(cfg.n_layer)],
                                embeddings=ck.array("transformer.wte.weight"), thresholds=th, source=str(path),
                                shape=shape, notes=ck.notes, keep_logits=keep_logits, exact=exact,
                                on_head=lambda k: progress.update(bar, advance=k))
    if task is not None:
        from torch_bridge import hf
        from torch_bridge.task_audit import run_task_audit
        resolved = hf.resolve(path)
        folder = resolved if resolved.is_dir() else resolved.parent if (resolved.parent / "config.json").is_file() \
            and resolved.name in ("model.safetensors", "pytorch_model.bin") else None
        report = replace(report, task_audit=run_task_audit(ck, folder, task, vocab, measure, bins, samples, train_max,
                                                           seed, progress if not isinstance(progress, _Silent) else None))
    return report, logits, table


class _Silent:
    def add_task(self, *args, **kwargs):
        return 0

    def update(self, *args, **kwargs):
        pass


def compiled_file(path) -> bool:
    """`verify compile --out`'s T_N (verify.limit.io): an .npz with a `metadata` entry, or a .safetensors whose
    header metadata names the format — read from the header alone (no tensor is loaded)."""
    import json
    import zipfile
    path = Path(path)
    if not path.is_file():
        return False
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with zipfile.ZipFile(path) as z:
                return "metadata.npy" in z.namelist() and "positions.npy" in z.namelist()
        if suffix == ".safetensors":
            with open(path, "rb") as f:
                size = int.from_bytes(f.read(8), "little")
                if not 0 < size <= min(path.stat().st_size - 8, 100 << 20):
                    return False
                header = json.loads(f.read(size))
            meta = header.get("__metadata__") or {}
            return "json" in meta and "finite transformer" in json.loads(meta["json"]).get("format", "")
    except (OSError, ValueError, zipfile.BadZipFile, AttributeError, TypeError):
        return False
    return False


def _audit_compiled(path: Path, th, max_positions, keep_logits: bool, exact: bool, progress):
    """Audit a compiled T_N: its input positions' rows (row 0 is the BOS), every head's query/key maps, the other
    readers of the residual stream (verify.limit.conditions) and its token embeddings."""
    from verify.limit.conditions import model_heads, model_readers
    from verify.limit.io import load_finite
    from verify.limit.realize import densify
    from verify.problems import UserError
    try:
        finite = load_finite(str(path))
    except (KeyError, ValueError, OSError, TypeError) as ex:
        raise UserError(f"{path}: not a readable `verify compile --out` file ({type(ex).__name__}: {ex})") from None
    heads = max((len(layer.heads) for layer in finite.layers), default=0)
    n = int(finite.positions.shape[0]) - 1
    audited = min(n, max_positions) if max_positions is not None else n
    check_memory(max(n, audited), max(1, heads))
    banded = any(h.band is not None for layer in finite.layers for h in layer.heads)
    if banded:   # the band holds φ's products; the dense form puts them back into (P Wq)(P Wk)ᵀ
        finite = densify(finite)
    table = finite.positions[1:1 + audited]
    shape = {"layers": len(finite.layers), "heads": heads, "d": int(finite.positions.shape[1]), "positions": n,
             "audited_positions": audited, "position_encoding": "compiled T_N",
             "file_format": f"verify compile --out ({'banded, audited densely' if banded else 'dense'})"}
    task = progress.add_task("audit heads", total=sum(len(layer.heads) for layer in finite.layers), info="")
    report, logits = audit_heads(table, model_heads(finite), thresholds=th, source=str(path), shape=shape,
                                 readers=model_readers(finite), embeddings=finite.embedding,
                                 keep_logits=keep_logits, exact=exact,
                                 on_head=lambda k: progress.update(task, advance=k))
    return report, logits, table


def check_memory(n: int, heads: int) -> None:
    """The audit holds a layer's (heads × N × N) position–position matrices a few times over (float32):
    refuse before allocating when that exceeds the memory available."""
    from torch_bridge.checkpoint import _available_memory
    from verify.problems import UserError
    need = 6 * heads * n * n * 4
    free = _available_memory()
    if free is not None and need > 0.8 * free:
        fit = max(2, int((0.8 * free / (6 * heads * 4)) ** 0.5))
        raise UserError(f"auditing {n} positions × {heads} heads needs about {need / 2**30:.1f} GiB (the "
                        f"{heads} × {n} × {n} position–position matrices of a layer, a few times over), more than the "
                        f"{free / 2**30:.1f} GiB available; pass --max-positions {fit} or less")


def _verdict(source, tab: TableScores, heads, th, shape, notes, n, split: Optional[TableSplit] = None,
             shares: Optional[dict] = None, read: Optional[dict] = None) -> AuditReport:
    penalty = float(sum(h.scores.penalty for h in heads))
    kinds = [h.scores.kind for h in heads]
    all_local = all(k in ("none", "local") for k in kinds)
    explained = all(k in EXPLAINED for k in kinds)
    radius = max((h.scores.radius or 0 for h in heads if h.scores.kind in ("local", "periodic+local")), default=0)
    head_periods = [h.scores.period for h in heads if h.scores.kind in ("periodic", "periodic+local")]
    counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    approx = False
    count_text = ", ".join(f"{v} {k}" for k, v in counts.items())
    if tab.periodic and explained:
        period = lcm(tab.best_period, *head_periods) if head_periods else tab.best_period
        kind = "periodic+local"
        summary = (f"PERIODIC (table period Δ = {tab.best_period}, residual {tab.residual:.2g}) and LOCAL "
                   f"(every head none/local/periodic; τ = {radius}): {count_text}")
    elif tab.periodic:
        period, radius, kind = tab.best_period, None, "periodic"
        summary = f"PERIODIC table (Δ = {tab.best_period}); not LOCAL: {count_text}"
    elif split is not None and all(h.remainder is not None and h.remainder.kind in ("none", "local") for h in heads) \
            and shares is not None and all(v <= th.residual for v in shares.values()):
        kind, period = "periodic+local", split.period
        radius = max((h.remainder.radius or 0 for h in heads), default=0)
        worst = max(shares.values(), default=0.0)
        summary = (f"PERIODIC part + LOCAL remainder: the table is not periodic as a whole (best Δ = "
                   f"{tab.best_period}, residual {tab.residual:.2g}), but {len(split.periodic_columns)} coordinates "
                   f"repeat with Δ = {split.period} and the other {len(split.remainder_columns)} reach the logits only "
                   f"through LOCAL position–position products (τ = {radius}, every head's product minus the periodic "
                   f"part's); no value map or MLP input reads them (largest share {worst:.2g}): the shape of T_N for a "
                   f"PERIODIC, LOCAL Limit Transformer (LayerNorm ignored)")
    elif all(k == "none" for k in kinds) and read is not None and all(v <= th.share for v in read.values()):
        kind, period, radius, approx = "periodic+local", 1, 0, True
        worst = max(read.values(), default=0.0)
        summary = (f"approximately PERIODIC (Δ = 1) and LOCAL (τ = 0): no head depends on position (every positional "
                   f"share ≤ {th.share}) and no value map or MLP input reads the table beyond {worst:.2g} of its "
                   f"token input (≤ {th.share}) — rests on treating positional terms that small as absent; the table "
                   f"itself is not periodic (best Δ = {tab.best_period}, residual {tab.residual:.2g})")
    elif all_local:
        period, kind = None, "local"
        summary = (f"LOCAL (τ = {radius}); the table is not periodic (best Δ = {tab.best_period}, residual "
                   f"{tab.residual:.2g}){_why_no_split(split, heads, shares, th)}: {count_text}")
    else:
        period, radius, kind = None, None, "neither"
        summary = (f"neither: table not periodic (best Δ = {tab.best_period}, residual {tab.residual:.2g})"
                   f"{_why_no_split(split, heads, shares, th)}; heads: {count_text}")
    return AuditReport(source, kind, period, radius, tab, heads, penalty, th, shape,
                       summary + f"; practical regularizer {penalty:.4g} (thresholds: residual ≤ {th.residual}"
                       + (f", positional share ≤ {th.share}" if any(h.share is not None for h in heads) else "") + ")",
                       tuple(notes), split=split, remainder_readers=shares, reader_shares=read,
                       conditions=_conditions(kind, period, radius, tab, heads, read, th, approx))


def _conditions(kind, period, radius, tab, heads, read, th, approx: bool = False) -> str:
    """The whole model against SPEC §2's conditions (PERIODIC table, LOCAL position–position products)."""
    scope = "measured on the weights, LayerNorm ignored; deeper layers approximate"
    if approx:
        return (f"the model meets the theory's conditions approximately: PERIODIC (Δ = 1) and LOCAL (τ = 0) once "
                f"positional terms ≤ {th.share} of token terms are treated as absent (--share-threshold; {scope})")
    if kind == "periodic+local":
        return (f"the model meets the theory's conditions: PERIODIC (Δ = {period}) and LOCAL (τ = {radius}) "
                f"({scope})")
    bad = [f"L{h.layer}H{h.head}" for h in heads if h.scores.kind not in ("none", "local")]
    local = (f"LOCAL holds (τ = {radius})" if not bad else
             f"LOCAL fails in {', '.join(bad[:6])}{' …' if len(bad) > 6 else ''}")
    if tab.periodic:
        periodic = f"PERIODIC holds (table Δ = {tab.best_period})"
    else:
        periodic = f"PERIODIC fails: the table is not periodic (best Δ = {tab.best_period}, residual {tab.residual:.2g})"
        if read:
            worst = max(read, key=read.get)
            periodic += f" and {worst} reads it ({read[worst]:.2g} of its token input > {th.share})" \
                if read[worst] > th.share else ""
    return f"the model does not meet the theory's conditions: {periodic}; {local} ({scope})"


def _why_no_split(split, heads, shares, th) -> str:
    """Why a periodic-part + local-remainder reading was not available (said in the summary)."""
    if split is None:
        return "; no coordinates split off as a periodic part"
    bad = [f"L{h.layer}H{h.head}" for h in heads if h.remainder is None or h.remainder.kind not in ("none", "local")]
    if bad:
        return (f"; a periodic part splits off (Δ = {split.period}, {len(split.periodic_columns)} coordinates) but "
                f"the remainder is not LOCAL in {', '.join(bad[:6])}")
    if shares is None:
        return (f"; a periodic part splits off (Δ = {split.period}) with a LOCAL remainder in every head, but the "
                f"value maps and MLP inputs were not given, so whether they read the remainder is unchecked")
    worst = max(shares, key=shares.get)
    return (f"; a periodic part splits off (Δ = {split.period}) with a LOCAL remainder in every head, but {worst} "
            f"reads the remainder (share {shares[worst]:.2g} > {th.residual})")


def downsample(a: np.ndarray, size: int = 256) -> np.ndarray:
    """Every f-th row and column (f = ⌈N / size⌉), upper triangle as NaN: what the heatmaps show."""
    f = max(1, -(-a.shape[0] // size))
    small = np.array(a[::f, ::f], dtype=np.float32)
    small[~np.tri(small.shape[0], dtype=bool)] = np.nan
    return small


def plot(report: AuditReport, logits: dict, table: Optional[np.ndarray], out_dir) -> List[str]:
    """PNG figures: one per layer — a grid of its heads' position–position logit matrices, each with labelled
    axes (query position i down, key position j across), its own colorbar and a title with its verdict — and
    the table's periodicity curve."""
    import textwrap
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(out_dir)
    written = []
    layers = sorted({l for l, _ in logits})
    by = {(h.layer, h.head): h for h in report.heads}
    n = int(report.shape.get("audited_positions") or (table.shape[0] if table is not None else 0)) or None
    for layer in layers:
        heads = sorted(h for l, h in logits if l == layer)
        cols = min(4, len(heads))
        rows = -(-len(heads) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(max(5.0, 3.6 * cols), 3.3 * rows + 0.9), squeeze=False,
                                 layout="constrained")
        for ax in axes.flat[len(heads):]:
            ax.set_axis_off()
        for ax, h in zip(axes.flat, heads):
            img = logits[(layer, h)]
            side = n or img.shape[0]
            finite = img[np.isfinite(img)]
            scale = float(np.abs(finite).max()) if finite.size else 0.0
            scale = scale if scale > 0 else 1.0
            im = ax.imshow(img, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest",
                           extent=(-0.5, side - 0.5, side - 0.5, -0.5))
            bar = fig.colorbar(im, ax=ax, shrink=0.85, format="%.2g")   # no "1e-5" offset above the bar
            bar.set_label("logit", fontsize=8)
            bar.ax.tick_params(labelsize=7)
            audit = by[(layer, h)]
            sc = audit.scores
            title = f"head {h}: {sc.kind}"
            if sc.kind in ("local", "periodic+local"):
                title += f", τ = {sc.radius}"
            if sc.kind in ("periodic", "periodic+local"):
                title += f", Δ = {sc.period}"
            if audit.share is not None:
                title += f"\npositional share {audit.share.share:.2g}"
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("key position j", fontsize=8)
            ax.set_ylabel("query position i", fontsize=8)
            ax.tick_params(labelsize=7)
        kind = "exact" if layer == 0 else "approximate: raw table assumed to reach this layer"
        fig.suptitle("\n".join(textwrap.wrap(f"layer {layer}: position–position logits (P Wq)(P Wk)ᵀ, i ≥ j "
                                              f"({kind})", width=max(60, 40 * cols))), fontsize=10)
        path = out / f"layer{layer:02d}_position_logits.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(str(path))
    if report.table is not None:
        fig, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
        r = report.table.residuals
        ax.plot(np.arange(1, len(r) + 1), r, lw=1)
        ax.axhline(report.thresholds.residual, color="gray", ls="--", lw=0.8,
                   label=f"fit threshold {report.thresholds.residual}")
        ax.axvline(report.table.best_period, color="tab:red", lw=0.8, label=f"best Δ = {report.table.best_period}")
        ax.set_xlabel("period Δ")
        ax.set_ylabel("periodic residual (0 = exact, ≈1 = none)")
        ax.set_title(f"position table: {'periodic' if report.table.periodic else 'not periodic'} "
                     f"(best Δ = {report.table.best_period}, residual {report.table.residual:.2g})", fontsize=10)
        ax.legend(fontsize=8)
        path = out / "table_periodicity.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(str(path))
    return written
