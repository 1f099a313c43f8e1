"""Batched forward pass of a Limit Transformer or finite transformer, in numpy.

Stable interface (verify.comm uses it to recompute Bob's attention sums from Alice's summary):

    result = forward(model, ids, offset=0, precision="float64",
                     return_activations=False, return_attention=False)

- `ids`: int array (batch, n) over the program alphabet (ids as verify.crasp.interpreter.symbol_ids:
  the alphabet in order, then the end marker). The BOS is prepended here when `model.bos`.
- `precision`: "float64" (default), "exact" (fractions.Fraction everywhere; needs integer logits and
  softmax_base 2 or logit_scale "none" with integer logits — ground truth for short inputs), or
  "bits:P" (float64 with every activation rounded to P significant bits after each sublayer).
- `result.outputs[key]`: Boolean (batch, n) per output key (the score exceeds model.threshold), BOS row
  dropped; `result.scores`: (batch, n, outputs).
- `result.norm_inputs[l]`: the SignNorm pre-activations x of layer l, (batch, rows, groups) where rows
  includes the BOS row first when model.bos — what the margin analysis reads.
- `result.residuals` (return_activations): the residual stream after the embedding and after every
  sublayer, each (batch, rows, d), with names in `result.residual_names`.
- `result.attention` (return_attention): one `AttentionRecord` per (layer, head) with queries, keys,
  values (batch, rows, d_head) and the full logits (batch, rows, rows) including φ and the logit scale
  (−inf above the diagonal); `positions` gives the absolute position of every row.

Attention is a stable log-sum-exp softmax, computed in blocks of query rows so memory stays
O(block × n). Heads with constant logits (no content term, no φ) take an exact shortcut: a running mean.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Dict, List, Optional

import numpy as np

from verify.limit.model import Head, LimitTransformer
from verify.problems import UserError

PRECISIONS = ("float64", "exact", "bits:P")
_BLOCK = 512


@dataclass
class AttentionRecord:
    layer: int
    head: int
    queries: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    logits: Optional[np.ndarray] = None
    output: Optional[np.ndarray] = None    # the head's contribution before the output map (batch, rows, dv)


@dataclass
class ForwardResult:
    outputs: Dict[str, np.ndarray]
    scores: np.ndarray
    norm_inputs: List[Optional[np.ndarray]]
    positions: np.ndarray                   # absolute position of each row (BOS = 0)
    bos: bool
    residuals: List[np.ndarray] = field(default_factory=list)
    residual_names: List[str] = field(default_factory=list)
    attention: List[AttentionRecord] = field(default_factory=list)
    final: Optional[np.ndarray] = None      # the last residual stream (batch, rows, d)
    probes: Dict[str, np.ndarray] = field(default_factory=dict)


def _parse_precision(precision: str):
    if precision in ("float64", "exact"):
        return precision, None
    if precision.startswith("bits:"):
        try:
            bits = int(precision.split(":", 1)[1])
        except ValueError:
            bits = 0
        if 2 <= bits <= 52:
            return "bits", bits
    raise UserError(f"unknown precision {precision!r}; use float64, exact or bits:P with 2 <= P <= 52")


def _round_bits(x: np.ndarray, bits: int) -> np.ndarray:
    mantissa, exponent = np.frexp(x)
    return np.ldexp(np.round(np.ldexp(mantissa, bits)), exponent - bits)


def _scale_factors(model: LimitTransformer, rows: int, d_head: int, exact: bool):
    """Per-query-row multiplier of the logits (the [recon] logit scale)."""
    s = model.logit_scale
    if s == "none":
        return None
    if exact:
        if exact_weight_base(model) == "row":
            return None   # applied inside _attend_exact as (t+1)^logit
        raise UserError(f"exact mode needs logit_scale 'none', or 'log_i' with softmax base e (got {s!r} with "
                        f"base {model.softmax_base}): other combinations make the weights irrational")
    if s == "inv_sqrt_dhead":
        return np.full(rows, 1.0 / math.sqrt(d_head))
    if s == "log_i":
        return np.log(np.arange(rows, dtype=np.float64) + 1.0)
    raise UserError(f"unknown logit scale {s!r}; use none, inv_sqrt_dhead or log_i")


def _phi_matrix(head: Head, pos_q: np.ndarray, pos_k: np.ndarray, exact: bool):
    """Position-only logit term for query positions pos_q and key positions pos_k: φ over relative offsets
    (Limit Transformer) or the realized band indexed by (absolute query position, offset) (T_N)."""
    offsets = pos_q[:, None] - pos_k[None, :]
    tau = head.radius
    inside = (offsets >= 0) & (offsets <= tau)
    if head.band is not None:
        beyond = 0.0
        table = head.band[np.clip(pos_q, 0, head.band.shape[0] - 1)[:, None], np.clip(offsets, 0, tau)]
    elif head.phi is not None:
        beyond = head.phi_beyond
        table = np.broadcast_to(head.phi[np.clip(offsets, 0, tau)], offsets.shape)
    else:
        return np.full(offsets.shape, Fraction(float(head.phi_beyond)) if exact else float(head.phi_beyond),
                       dtype=object if exact else np.float64)
    if exact:
        out = np.empty(offsets.shape, dtype=object)
        for idx, inner in np.ndenumerate(inside):
            out[idx] = Fraction(float(table[idx])) if inner else Fraction(float(beyond))
        return out
    return np.where(inside, table, beyond)


def _structured(head: Head, q, k, v, positions, scale, log_base: float, first: int):
    """O(rows·τ) attention for a head whose keys are the same vector at every input row (the compiled
    heads: content keys read only the BOS), so that its logit is q_i·k_c + (position term) everywhere
    but the BOS: a band of τ + 1 offsets, the BOS, and a 'far' block of equal logits summed by a
    prefix sum. Returns None when the keys are not constant (the dense path is used instead)."""
    batch, rows, _ = q.shape
    if rows - first < 1:
        return None
    kin = k[:, first:]
    if not np.array_equal(kin, np.broadcast_to(kin[:, :1], kin.shape)):
        return None
    tau = head.radius
    kc = kin[:, 0]                                             # (B, h)
    qc = np.einsum("bqh,bh->bq", q, kc)                       # content logit against any input row
    r = np.arange(rows)
    pos = positions
    beyond = 0.0 if head.band is not None else float(head.phi_beyond)

    def pos_term(offset_rows: np.ndarray, m: int) -> np.ndarray:
        """Position term between query row r and key row r − m (input rows: offset m)."""
        if head.band is not None:
            return head.band[np.clip(pos, 0, head.band.shape[0] - 1), m] if m <= tau else np.zeros(rows)
        if head.phi is not None and m <= tau:
            return np.full(rows, head.phi[m])
        return np.full(rows, beyond)

    parts = []   # (logits (B, rows), values (B, rows, dv) or prefix sums, count (rows,) or None)
    s = np.ones(rows) if scale is None else scale
    # band: key rows r − m (input rows only)
    for m in range(min(tau, rows - 1) + 1):
        valid = (r - m) >= first
        lg = qc + pos_term(r, m)[None]
        lg = np.where(valid[None], lg * s[None], -np.inf)
        vals = np.zeros_like(v)
        vals[:, m:] = v[:, : rows - m]
        parts.append((lg, vals, None))
    if first:  # the BOS key (row 0, absolute position 0)
        kb = np.einsum("bqh,bh->bq", q, k[:, 0])
        if head.band is not None:
            inside = pos <= tau
            pt = np.where(inside, head.band[np.clip(pos, 0, head.band.shape[0] - 1), np.clip(pos, 0, tau)], 0.0)
        elif head.phi is not None:
            inside = pos <= tau
            pt = np.where(inside, head.phi[np.clip(pos, 0, tau)], beyond)
        else:
            pt = np.full(rows, beyond)
        parts.append(((kb + pt[None]) * s[None], np.broadcast_to(v[:, :1], v.shape), None))
    # far input rows first .. r − τ − 1: equal logits, summed by a prefix sum
    count = np.maximum(r - tau - first, 0).astype(np.float64)
    if count.any():
        csum = np.cumsum(v[:, first:], axis=1)
        far = np.zeros_like(v)
        idx = r - tau - 1 - first                              # last far row, relative to first
        ok = idx >= 0
        far[:, ok] = csum[:, idx[ok]]
        lg = np.where((count > 0)[None], (qc + beyond) * s[None], -np.inf)
        parts.append((lg, far, count))
    top = np.max(np.stack([p[0] for p in parts]), axis=0)      # (B, rows)
    num = np.zeros_like(v)
    den = np.zeros((batch, rows))
    for lg, vals, cnt in parts:
        w = np.exp((lg - top) * log_base)
        if cnt is not None:
            num += (w * 1.0)[:, :, None] * vals
            den += w * cnt[None]
        else:
            num += w[:, :, None] * vals
            den += w
    return num / den[:, :, None]


def _attend(model, head: Head, q, k, v, positions, scale, exact: bool, want_logits: bool):
    """Causal softmax attention of one head; returns (output (B, rows, dv), logits or None)."""
    batch, rows, _ = q.shape
    if head.is_uniform and not exact:
        # constant logits: softmax is uniform over j <= i, i.e. a running mean (same value, O(n))
        out = np.cumsum(v, axis=1) / np.arange(1, rows + 1, dtype=np.float64)[None, :, None]
        logits = None
        if want_logits:
            logits = np.where(np.tril(np.ones((rows, rows), dtype=bool))[None], 0.0, -np.inf)
            logits = np.broadcast_to(logits, (batch, rows, rows)).copy()
        return out, logits
    if exact:
        return _attend_exact(model, head, q, k, v, positions)
    log_base = math.log(model.softmax_base)
    if not want_logits:
        fast = _structured(head, q, k, v, positions, scale, log_base, 1 if model.bos else 0)
        if fast is not None:
            return fast, None
    out = np.empty((batch, rows, v.shape[2]))
    all_logits = np.empty((batch, rows, rows)) if want_logits else None
    for r0 in range(0, rows, _BLOCK):
        r1 = min(rows, r0 + _BLOCK)
        a = np.einsum("bqh,bkh->bqk", q[:, r0:r1], k[:, :r1])
        if head.positional:
            a = a + _phi_matrix(head, positions[r0:r1], positions[:r1], False)[None]
        if scale is not None:
            a = a * scale[r0:r1, None][None]
        causal = np.arange(r0, r1)[:, None] >= np.arange(r1)[None, :]
        a = np.where(causal[None], a, -np.inf)
        if want_logits:
            all_logits[:, r0:r1, :r1] = a
            all_logits[:, r0:r1, r1:] = -np.inf
        m = a.max(axis=2, keepdims=True)
        w = np.exp((a - m) * log_base)
        out[:, r0:r1] = np.einsum("bqk,bkh->bqh", w, v[:, :r1]) / w.sum(axis=2, keepdims=True)
    return out, all_logits


def exact_weight_base(model) -> Optional[str]:
    """How exact mode turns an integer logit x at row t into a rational weight: "base" (base^x, integer
    base, no logit scale) or "row" (base e with logit scale ln(t+1): e^(x·ln(t+1)) = (t+1)^x). None
    when the weights are irrational."""
    if model.logit_scale == "log_i" and model.softmax_base == math.e:
        return "row"
    if model.logit_scale == "none" and float(model.softmax_base).is_integer():
        return "base"
    return None


def _attend_exact(model, head: Head, q, k, v, positions):
    kind = exact_weight_base(model)
    if kind is None:
        raise UserError("exact mode needs integer logits with an integer softmax base and no logit scale, "
                        "or softmax base e with the log_i scale (weights (t+1)^logit)")
    base = Fraction(int(model.softmax_base)) if kind == "base" else None
    batch, rows, _ = q.shape
    a = np.einsum("bqh,bkh->bqk", q, k)
    if head.positional:
        a = a + _phi_matrix(head, positions, positions, True)[None]
    out = np.empty((batch, rows, v.shape[2]), dtype=object)
    logits = np.empty((batch, rows, rows), dtype=object)
    for b in range(batch):
        for i in range(rows):
            row = a[b, i, : i + 1]
            if any(Fraction(x).denominator != 1 for x in row):
                raise UserError("exact mode needs integer attention logits (base^logit must be rational)")
            top = max(row)
            radix = base if base is not None else Fraction(i + 1)
            w = [radix ** int(x - top) for x in row]
            total = sum(w)
            for h in range(v.shape[2]):
                out[b, i, h] = sum(wj * v[b, j, h] for j, wj in enumerate(w)) / total
            logits[b, i, : i + 1] = row
            logits[b, i, i + 1:] = None
    return out, logits


class _Sparse:
    """A weight matrix (k × m) prepared once per model: compiled weights have a few nonzeros per column,
    so x @ w is a gather of the rows in use times their weights, summed per column (np.add.reduceat):
    O(rows × nnz) instead of O(rows × k × m). Dense matrices keep BLAS."""

    _CHUNK = 1 << 22          # gathered entries per step (bounds the temporary)

    def __init__(self, w: np.ndarray):
        w = np.asarray(w, dtype=np.float64)
        self.shape = w.shape
        cols, rows = np.nonzero(w.T)                      # column-major: entries grouped by column
        self.dense = np.ascontiguousarray(w) if len(cols) > 0.1 * w.size else None
        self.rows, self.vals = rows, w[rows, cols]
        self.cols, self.starts = np.unique(cols, return_index=True)

    def apply(self, x2: np.ndarray, into: Optional[np.ndarray] = None) -> np.ndarray:
        """x2 @ w, or into += x2 @ w (in place) when `into` is given."""
        n = x2.shape[0]
        if self.dense is not None:
            if into is None:
                return x2 @ self.dense
            into += x2 @ self.dense
            return into
        out = np.zeros((n, self.shape[1])) if into is None else into
        if len(self.rows):
            step = max(1, self._CHUNK // len(self.rows))
            for r0 in range(0, n, step):
                part = x2[r0:r0 + step, self.rows] * self.vals
                out[r0:r0 + step, self.cols] += np.add.reduceat(part, self.starts, axis=1)
        return out


_PREPARED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _prepared(model, key, make) -> _Sparse:
    """The _Sparse form of a model's matrix, made once per (model, key)."""
    cache = _PREPARED.setdefault(model, {})
    if key not in cache:
        cache[key] = _Sparse(make())
    return cache[key]


def _sparse_of(w, model, key) -> _Sparse:
    """w may be an array or a function making it (called only when the model's cache misses)."""
    make = w if callable(w) else (lambda: w)
    return _prepared(model, key, make) if model is not None and key is not None else _Sparse(make())


def _mm(x: np.ndarray, w, model=None, key=None) -> np.ndarray:
    """x (..., k) @ w (k, m); with model and key the prepared sparse form of w is reused."""
    if x.dtype == object:
        return x @ w
    sp = _sparse_of(w, model, key)
    x2 = x.reshape(-1, x.shape[-1])
    return sp.apply(x2).reshape(*x.shape[:-1], sp.shape[1])


def _add_mm(y: np.ndarray, x: np.ndarray, w, bias=None, model=None, key=None) -> np.ndarray:
    """y + x @ w (+ bias), in place for float64."""
    sp = _sparse_of(w, model, key)
    x2 = x.reshape(-1, x.shape[-1])
    y2 = y.reshape(-1, y.shape[-1])
    sp.apply(x2, into=y2)
    if bias is not None and np.any(bias):
        nz = np.flatnonzero(bias)
        y2[:, nz] += bias[nz]
    return y


def _mm_exact(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x (object, ..., k) @ w (float, k × m) in rationals, one vectorized step per nonzero weight
    (compiled weights are sparse: a dense object product would cost k·m Fraction operations per row)."""
    w = np.asarray(w, dtype=np.float64)
    out = np.empty(x.shape[:-1] + (w.shape[1],), dtype=object)
    out[...] = Fraction(0)
    for r, c in zip(*np.nonzero(w)):
        out[..., c] = out[..., c] + x[..., r] * Fraction(float(w[r, c]))
    return out


def _as_exact(x: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda v: Fraction(float(v)), otypes=[object])(x) if x.size else x.astype(object)


def row_positions(model: LimitTransformer, n: int, offset: int = 0) -> np.ndarray:
    """Absolute position of every row: [0 (BOS)] + [1 + offset, ..., n + offset]."""
    tokens = np.arange(1, n + 1, dtype=np.int64) + offset
    return np.concatenate([[0], tokens]) if model.bos else tokens


def embed(model: LimitTransformer, ids: np.ndarray, offset: int = 0) -> np.ndarray:
    """y⁽⁰⁾ = E(w_i) + p_i, with the BOS row (token embedding only for a Limit Transformer)."""
    ids = np.asarray(ids, dtype=np.int64)
    batch, n = ids.shape
    if ids.size and (ids.min() < 0 or ids.max() > len(model.alphabet)):
        raise UserError(f"token ids must lie in 0..{len(model.alphabet)} (alphabet then end marker)")
    if model.bos:
        ids = np.concatenate([np.full((batch, 1), model.bos_id, dtype=np.int64), ids], axis=1)
    y = model.embedding[ids].astype(np.float64)
    positions = row_positions(model, n, offset)
    if model.context is not None:
        if n and positions[-1] > model.context:
            raise UserError(f"input of length {n} (offset {offset}) does not fit the context "
                            f"N = {model.context} of this finite transformer")
        y = y + model.positions[positions][None]
    else:
        table = model.positions[np.mod(positions, model.positions.shape[0])]
        if model.bos:
            table = table.copy()
            table[0] = 0.0  # the BOS carries no positional vector [decision]
        y = y + table[None]
    return y


def forward(model: LimitTransformer, ids: np.ndarray, offset: int = 0, precision: str = "float64",
            return_activations: bool = False, return_attention: bool = False,
            probes: Optional[Dict[str, np.ndarray]] = None) -> ForwardResult:
    """`probes` maps a sublayer name ("layer L attention" / "layer L norm" / "layer L mlp", L 1-based) to a
    matrix R (k × d); result.probes[name] = R · y for the residual y entering that sublayer
    (batch, rows, k) — a cheap way to read a few functionals without keeping every activation."""
    mode, bits = _parse_precision(precision)
    exact = mode == "exact"
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError("ids must have shape (batch, n)")
    if offset < 0:
        raise UserError("the position offset must be >= 0")
    y = embed(model, ids, offset)
    positions = row_positions(model, ids.shape[1], offset)
    rows = y.shape[1]

    def cast(a):
        return _as_exact(a) if exact else a

    def rounded(a):
        return _round_bits(a, bits) if mode == "bits" else a

    def mm(x, w, key=None):
        if exact:
            return _mm_exact(x, w() if callable(w) else w)
        return _mm(x, w, model, key)

    def add_mm(y, x, w, bias=None, key=None):
        if not exact:
            return _add_mm(y, x, w, bias, model, key)
        out = y + _mm_exact(x, w() if callable(w) else w)
        return out if bias is None else out + cast(bias)

    if exact:
        y = _as_exact(y)
    y = rounded(y)
    result = ForwardResult({}, np.empty(0), [], positions, model.bos)
    probes = probes or {}

    def probe(name, y):
        if name in probes:
            result.probes[name] = mm(y, np.asarray(probes[name]).T)

    if return_activations:
        result.residuals.append(y.copy())
        result.residual_names.append("embedding")
    for li, layer in enumerate(model.layers):
        if layer.heads:
            probe(f"layer {li + 1} attention", y)
            # all heads' values in one product, all outputs in one product (hundreds of heads stay cheap)
            dv = [h.value.shape[0] for h in layer.heads]
            values = mm(y, lambda: np.concatenate([h.value for h in layer.heads]).T, ("values", li))
            splits = np.cumsum(dv)[:-1]
            outs = []
            for hi, (head, v) in enumerate(zip(layer.heads, np.split(values, splits, axis=2))):
                if head.is_uniform and not exact and not return_attention:
                    q = k = np.zeros(v.shape[:2] + (head.query.shape[0],))
                else:
                    q = mm(y, head.query.T, ("query", li, hi))
                    k = mm(y, head.key.T, ("key", li, hi))
                scale = _scale_factors(model, rows, head.query.shape[0], exact)
                o, logits = _attend(model, head, q, k, v, positions, scale, exact, return_attention)
                outs.append(o)
                if return_attention:
                    result.attention.append(AttentionRecord(li, hi, q, k, v, logits, o))
            y = add_mm(y, np.concatenate(outs, axis=2),
                       lambda: np.concatenate([h.output for h in layer.heads], axis=1).T, key=("outputs", li))
            y = rounded(y)
            if return_activations:
                result.residuals.append(y.copy())
                result.residual_names.append(f"layer {li + 1} attention")
        norm_x = None
        if layer.norm is not None:
            probe(f"layer {li + 1} norm", y)
            norm_x = mm(y, layer.norm.read.T, ("norm read", li))
            if exact:
                sign = np.vectorize(lambda t: Fraction(0) if t == 0 else t / abs(t), otypes=[object])(norm_x)
            else:
                # LayerNorm without ε of (x, −x): mean 0, standard deviation |x| -> x / |x| exactly
                with np.errstate(invalid="ignore", divide="ignore"):
                    sign = np.where(norm_x == 0, 0.0, norm_x / np.sqrt(norm_x * norm_x))
            y = rounded(add_mm(y, sign, layer.norm.write.T, layer.norm.bias, ("norm write", li)))
            if return_activations:
                result.residuals.append(y.copy())
                result.residual_names.append(f"layer {li + 1} norm")
        result.norm_inputs.append(norm_x)
        if layer.mlp is not None:
            probe(f"layer {li + 1} mlp", y)
            m = layer.mlp
            hidden = mm(y, m.w_in.T, ("mlp in", li)) + cast(m.b_in)
            hidden = np.where(hidden > 0, hidden, 0) if exact else np.maximum(hidden, 0.0)
            y = rounded(add_mm(y, hidden, m.w_out.T, m.b_out, ("mlp out", li)))
            if return_activations:
                result.residuals.append(y.copy())
                result.residual_names.append(f"layer {li + 1} mlp")
    scores = mm(y, model.unembedding.T, ("unembedding",))
    start = 1 if model.bos else 0
    result.scores = scores[:, start:]
    thr = Fraction(model.threshold) if exact else model.threshold
    result.outputs = {key: np.asarray(result.scores[:, :, o] > thr, dtype=bool)
                      for o, key in enumerate(model.output_keys)}
    result.final = y
    return result


def outputs(model: LimitTransformer, ids: np.ndarray, offset: int = 0, precision: str = "float64"
            ) -> Dict[str, np.ndarray]:
    """Only the Boolean outputs (batch, n) per output key."""
    return forward(model, ids, offset, precision).outputs
