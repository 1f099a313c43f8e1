"""The one-way protocol for a Limit Transformer (SPEC §4, Theorem 12) [recon].

Alice holds the BOS row and positions 1..split; Bob holds split+1..n.  For every layer and head
Alice sends the multiset of (key, value) *types* over her rows r ≤ split − τ — rows no Bob query can
reach with a position term, since φ(j, i) = φ_beyond (0 when LOCAL) once i − j > τ — as (type,
multiplicity) pairs, plus her residual vectors at her last τ rows at every layer input.  Bob runs
every layer on his rows: each attention sum is completed from the types weighted by their
multiplicities, the τ explicit rows (with φ) and his own causal rows; LayerNorm-sign and MLP are
position-wise.  Agreement with the full forward pass is checked on scores and outputs.

It is C·log N only if the number of distinct types stays bounded in N: `types` reports what is
seen.  Bits are counted as Σ_heads T_h·(⌈log₂(split+2)⌉ + 64·(d_key + d_value)) + τ·L·d·64 — types
and activations sent as float64 vectors (a finite-precision model could index types instead).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from verify.limit.forward import embed, forward
from verify.limit.model import LimitTransformer
from verify.problems import UserError

FLOAT_BITS = 64


@dataclass(frozen=True)
class HeadSummary:
    """Alice's summary for one (layer, head): distinct (key, value) rows with multiplicities."""

    keys: np.ndarray            # (T, d_key)
    values: np.ndarray          # (T, d_value)
    counts: np.ndarray          # (T,)


@dataclass(frozen=True)
class TransformerMessage:
    summaries: Tuple[Tuple[HeadSummary, ...], ...]   # [layer][head]
    explicit: Tuple[np.ndarray, ...]                 # per layer: residual input at Alice's last τ rows (τ, d)
    explicit_positions: np.ndarray                   # absolute positions of those rows

    def bits(self, split: int) -> int:
        width = max(1, math.ceil(math.log2(split + 2)))
        total = 0
        for layer in self.summaries:
            for s in layer:
                total += len(s.counts) * (width + FLOAT_BITS * (s.keys.shape[1] + s.values.shape[1]))
        total += sum(e.size for e in self.explicit) * FLOAT_BITS
        return total

    @property
    def types(self) -> List[int]:
        return [len(s.counts) for layer in self.summaries for s in layer]


def _scale(model: LimitTransformer, rows: np.ndarray, d_head: int) -> np.ndarray:
    s = model.logit_scale
    if s == "none":
        return np.ones(len(rows))
    if s == "inv_sqrt_dhead":
        return np.full(len(rows), 1.0 / math.sqrt(d_head))
    if s == "log_i":
        return np.log(rows.astype(np.float64) + 1.0)
    raise UserError(f"unknown logit scale {s!r}")


def _phi(head, offsets: np.ndarray) -> np.ndarray:
    if head.phi is None:
        return np.full(offsets.shape, float(head.phi_beyond))
    tau = head.radius
    inside = (offsets >= 0) & (offsets <= tau)
    return np.where(inside, head.phi[np.clip(offsets, 0, tau)], head.phi_beyond)


def alice_message(model: LimitTransformer, alice_ids: np.ndarray, offset: int = 0) -> TransformerMessage:
    """Alice runs the model on her half (one input) and summarizes it."""
    res = forward(model, alice_ids[None, :], offset, return_activations=True)
    tau = model.radius
    rows = res.positions.shape[0]            # BOS + split
    cut = rows - tau                         # rows [0, cut) are summarized
    # the residual input of each layer: the stream before that layer's first sublayer
    layer_inputs, stream_index = [], 0
    for li in range(len(model.layers)):
        layer_inputs.append(res.residuals[stream_index][0])
        stream_index += sum(1 for n in res.residual_names if n.startswith(f"layer {li + 1} "))
    summaries = []
    for li, layer in enumerate(model.layers):
        y = layer_inputs[li][:cut]
        per_head = []
        for head in layer.heads:
            k, v = y @ head.key.T, y @ head.value.T
            uniq, counts = np.unique(np.concatenate([k, v], axis=1), axis=0, return_counts=True)
            per_head.append(HeadSummary(uniq[:, :k.shape[1]], uniq[:, k.shape[1]:], counts))
        summaries.append(tuple(per_head))
    return TransformerMessage(tuple(summaries), tuple(x[cut:] for x in layer_inputs), res.positions[cut:])


def bob_scores(model: LimitTransformer, message: TransformerMessage, bob_ids: np.ndarray, split: int,
               offset: int = 0) -> np.ndarray:
    """Bob's output scores at his rows (m, outputs), from the message and his own tokens."""
    m = len(bob_ids)
    y = embed(model, bob_ids[None, :], offset + split)[0]
    if model.bos:
        y = y[1:]
    pos = np.arange(split + 1, split + m + 1) + offset
    row_index = np.arange(split + 1, split + m + 1) if model.bos else np.arange(split, split + m)
    base = math.log(model.softmax_base)
    for li, layer in enumerate(model.layers):
        if layer.heads:
            delta = np.zeros_like(y)
            ye = message.explicit[li]
            for hi, head in enumerate(layer.heads):
                s = message.summaries[li][hi]
                q, k, v = y @ head.query.T, y @ head.key.T, y @ head.value.T
                ke, ve = ye @ head.key.T, ye @ head.value.T
                scale = _scale(model, row_index, head.query.shape[0])[:, None]
                a_t = (q @ s.keys.T + head.phi_beyond) * scale
                a_e = (q @ ke.T + _phi(head, pos[:, None] - message.explicit_positions[None, :])) * scale
                own = pos[:, None] - pos[None, :]
                a_o = np.where(own >= 0, (q @ k.T + _phi(head, own)) * scale, -np.inf)
                top = np.maximum(np.maximum(a_t.max(axis=1, initial=-np.inf), a_e.max(axis=1, initial=-np.inf)),
                                 a_o.max(axis=1))[:, None]
                w_t = np.exp((a_t - top) * base) * s.counts[None, :]
                w_e = np.exp((a_e - top) * base)
                w_o = np.exp((a_o - top) * base)
                num = w_t @ s.values + w_e @ ve + w_o @ v
                den = w_t.sum(axis=1) + w_e.sum(axis=1) + w_o.sum(axis=1)
                delta += (num / den[:, None]) @ head.output.T
            y = y + delta
        if layer.norm is not None:
            x = y @ layer.norm.read.T
            with np.errstate(invalid="ignore", divide="ignore"):
                sign = np.where(x == 0, 0.0, x / np.sqrt(x * x))
            y = y + sign @ layer.norm.write.T + layer.norm.bias
        if layer.mlp is not None:
            mp = layer.mlp
            y = y + np.maximum(y @ mp.w_in.T + mp.b_in, 0.0) @ mp.w_out.T + mp.b_out
    return y @ model.unembedding.T


@dataclass(frozen=True)
class TransformerProtocolRun:
    split: int
    inputs: int
    agree: bool                          # Boolean outputs equal at every Bob position
    max_score_error: float               # |Bob's score − forward's score|, max over everything
    bits: int                            # max over inputs
    types: List[int]                     # max over inputs, per (layer, head)
    mismatch: Optional[Tuple[int, int, str]] = None   # (input row, 1-based position, output key)

    def as_dict(self) -> dict:
        return {"alice_positions": self.split, "inputs": self.inputs, "agree": self.agree,
                "max_score_error": self.max_score_error, "bits": self.bits, "types_per_head": self.types,
                "mismatch": self.mismatch}


def check_transformer_protocol(model: LimitTransformer, ids: np.ndarray, split: int,
                               offset: int = 0) -> TransformerProtocolRun:
    ids = np.asarray(ids)
    if not model.radius <= split < ids.shape[1]:
        raise ValueError(f"split must satisfy τ = {model.radius} <= split < {ids.shape[1]}")
    full = forward(model, ids, offset)
    agree, err, bits, types, mismatch = True, 0.0, 0, None, None
    for b in range(ids.shape[0]):
        msg = alice_message(model, ids[b, :split], offset)
        scores = bob_scores(model, msg, ids[b, split:], split, offset)
        want = full.scores[b, split:]
        err = max(err, float(np.max(np.abs(scores - want))) if scores.size else 0.0)
        got_bool = scores > model.threshold
        want_bool = want > model.threshold
        if agree and not np.array_equal(got_bool, want_bool):
            t, o = (int(v) for v in np.argwhere(got_bool != want_bool)[0])
            agree, mismatch = False, (b, split + t + 1, model.output_keys[o])
        bits = max(bits, msg.bits(split))
        types = msg.types if types is None else [max(x, y) for x, y in zip(types, msg.types)]
    return TransformerProtocolRun(split, ids.shape[0], agree, err, bits, types or [], mismatch)
