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
        raise UserError(f"exact mode needs logit_scale 'none' (got {s!r}): other scales make logits irrational")
    if s == "inv_sqrt_dhead":
        return np.full(rows, 1.0 / math.sqrt(d_head))
    if s == "log_i":
        return np.log(np.arange(rows, dtype=np.float64) + 1.0)
    raise UserError(f"unknown logit scale {s!r}; use none, inv_sqrt_dhead or log_i")


def _phi_matrix(head: Head, pos_q: np.ndarray, pos_k: np.ndarray, exact: bool):
    """φ(j, i) for query positions pos_q and key positions pos_k (relative offsets only)."""
    offsets = pos_q[:, None] - pos_k[None, :]
    tau = head.radius
    if exact:
        table = [Fraction(float(v)) for v in head.phi]
        beyond = Fraction(float(head.phi_beyond))
        out = np.empty(offsets.shape, dtype=object)
        for idx, k in np.ndenumerate(offsets):
            out[idx] = table[k] if 0 <= k <= tau else beyond
        return out
    inside = (offsets >= 0) & (offsets <= tau)
    return np.where(inside, head.phi[np.clip(offsets, 0, tau)], head.phi_beyond)


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
    out = np.empty((batch, rows, v.shape[2]))
    all_logits = np.empty((batch, rows, rows)) if want_logits else None
    for r0 in range(0, rows, _BLOCK):
        r1 = min(rows, r0 + _BLOCK)
        a = np.einsum("bqh,bkh->bqk", q[:, r0:r1], k[:, :r1])
        if head.phi is not None:
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


def _attend_exact(model, head: Head, q, k, v, positions):
    base = Fraction(model.softmax_base)
    if base.denominator != 1:
        raise UserError("exact mode needs an integer softmax base")
    batch, rows, _ = q.shape
    a = np.einsum("bqh,bkh->bqk", q, k)
    if head.phi is not None:
        a = a + _phi_matrix(head, positions, positions, True)[None]
    out = np.empty((batch, rows, v.shape[2]), dtype=object)
    logits = np.empty((batch, rows, rows), dtype=object)
    for b in range(batch):
        for i in range(rows):
            row = a[b, i, : i + 1]
            if any(Fraction(x).denominator != 1 for x in row):
                raise UserError("exact mode needs integer attention logits (base^logit must be rational)")
            top = max(row)
            w = [base ** int(x - top) for x in row]
            total = sum(w)
            for h in range(v.shape[2]):
                out[b, i, h] = sum(wj * v[b, j, h] for j, wj in enumerate(w)) / total
            logits[b, i, : i + 1] = row
            logits[b, i, i + 1:] = None
    return out, logits


def _mm(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x (..., k) @ w (k, m) as one 2-D product (numpy's stacked 3-D @ 2-D path is far slower)."""
    if x.dtype == object or w.dtype == object:
        return x @ w
    x2 = x.reshape(-1, x.shape[-1])
    k, m = w.shape
    if k * m > 4096:   # compiled weights are very sparse: multiply only the rows/columns in use
        rows = np.flatnonzero(np.any(w != 0, axis=1))
        cols = np.flatnonzero(np.any(w != 0, axis=0))
        if len(rows) < k // 2 or len(cols) < m // 2:
            out = np.zeros((x2.shape[0], m))
            out[:, cols] = x2[:, rows] @ w[np.ix_(rows, cols)]
            return out.reshape(*x.shape[:-1], m)
    return (x2 @ w).reshape(*x.shape[:-1], m)


def _add_mm(y: np.ndarray, x: np.ndarray, w: np.ndarray, bias=None) -> np.ndarray:
    """y + x @ w (+ bias): in place for float64, touching only the columns w writes."""
    if y.dtype == object or x.dtype == object or w.dtype == object:
        out = y + x @ w
        return out if bias is None else out + bias
    k, m = w.shape
    cols = np.flatnonzero(np.any(w != 0, axis=0))
    rows = np.flatnonzero(np.any(w != 0, axis=1))
    x2 = x.reshape(-1, k)
    y2 = y.reshape(-1, m)
    if len(cols):
        y2[:, cols] += x2[:, rows] @ w[np.ix_(rows, cols)]
    if bias is not None and np.any(bias):
        nz = np.flatnonzero(bias)
        y2[:, nz] += bias[nz]
    return y


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

    if exact:
        y = _as_exact(y)
    y = rounded(y)
    result = ForwardResult({}, np.empty(0), [], positions, model.bos)
    probes = probes or {}

    def probe(name, y):
        if name in probes:
            result.probes[name] = _mm(y, cast(np.asarray(probes[name]).T))

    if return_activations:
        result.residuals.append(y.copy())
        result.residual_names.append("embedding")
    for li, layer in enumerate(model.layers):
        if layer.heads:
            probe(f"layer {li + 1} attention", y)
            # all heads' values in one product, all outputs in one product (hundreds of heads stay cheap)
            dv = [h.value.shape[0] for h in layer.heads]
            values = _mm(y, cast(np.concatenate([h.value for h in layer.heads]).T))
            splits = np.cumsum(dv)[:-1]
            outs = []
            for hi, (head, v) in enumerate(zip(layer.heads, np.split(values, splits, axis=2))):
                if head.is_uniform and not exact and not return_attention:
                    q = k = np.zeros(v.shape[:2] + (head.query.shape[0],))
                else:
                    q = _mm(y, cast(head.query.T))
                    k = _mm(y, cast(head.key.T))
                scale = _scale_factors(model, rows, head.query.shape[0], exact)
                o, logits = _attend(model, head, q, k, v, positions, scale, exact, return_attention)
                outs.append(o)
                if return_attention:
                    result.attention.append(AttentionRecord(li, hi, q, k, v, logits, o))
            y = _add_mm(y, np.concatenate(outs, axis=2), cast(np.concatenate([h.output for h in layer.heads], axis=1).T))
            y = rounded(y)
            if return_activations:
                result.residuals.append(y.copy())
                result.residual_names.append(f"layer {li + 1} attention")
        norm_x = None
        if layer.norm is not None:
            probe(f"layer {li + 1} norm", y)
            norm_x = _mm(y, cast(layer.norm.read.T))
            if exact:
                sign = np.vectorize(lambda t: Fraction(0) if t == 0 else t / abs(t), otypes=[object])(norm_x)
            else:
                # LayerNorm without ε of (x, −x): mean 0, standard deviation |x| -> x / |x| exactly
                with np.errstate(invalid="ignore", divide="ignore"):
                    sign = np.where(norm_x == 0, 0.0, norm_x / np.sqrt(norm_x * norm_x))
            y = rounded(_add_mm(y, sign, cast(layer.norm.write.T), cast(layer.norm.bias)))
            if return_activations:
                result.residuals.append(y.copy())
                result.residual_names.append(f"layer {li + 1} norm")
        result.norm_inputs.append(norm_x)
        if layer.mlp is not None:
            probe(f"layer {li + 1} mlp", y)
            m = layer.mlp
            hidden = _mm(y, cast(m.w_in.T)) + cast(m.b_in)
            hidden = np.where(hidden > 0, hidden, 0) if exact else np.maximum(hidden, 0.0)
            y = rounded(_add_mm(y, hidden, cast(m.w_out.T), cast(m.b_out)))
            if return_activations:
                result.residuals.append(y.copy())
                result.residual_names.append(f"layer {li + 1} mlp")
    scores = _mm(y, cast(model.unembedding.T))
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
