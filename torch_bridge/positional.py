"""numpy-only: the practical regularizer's formula and the position–position logit matrices.

Torch-free on purpose: the audit's numbers and the theorem check's reference come from here,
and torch's version (torch_bridge.model.practical_regularizer) must agree with it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def head_blocks(c_attn_weight: np.ndarray, n_head: int, head: int):
    """(Wq, Wk) of one head: query columns [h·dh, (h+1)·dh), key columns [d + h·dh, d + (h+1)·dh)."""
    d = c_attn_weight.shape[0]
    dh = d // n_head
    return (c_attn_weight[:, head * dh:(head + 1) * dh],
            c_attn_weight[:, d + head * dh:d + (head + 1) * dh])


def position_logits(table: np.ndarray, c_attn_weight: np.ndarray, n_head: int) -> np.ndarray:
    """A[h, i, j] = (P Wq)_i · (P Wk)_j for every head, shape (heads, N, N); no LN, bias or scale."""
    n, d = table.shape
    dh = d // n_head
    q = (table @ c_attn_weight[:, :d]).reshape(n, n_head, dh).transpose(1, 0, 2)
    k = (table @ c_attn_weight[:, d:2 * d]).reshape(n, n_head, dh).transpose(1, 0, 2)
    return q @ k.transpose(0, 2, 1)


def practical_regularizer(table: np.ndarray, c_attn_weights: Sequence[np.ndarray], n_head: int,
                          per_head: bool = False):
    """SPEC §3, in float64: Σ_{l,h} (1/N) Σ_j Σ_{i≥j} A[i,j]²."""
    table = np.asarray(table, dtype=np.float64)
    n = table.shape[0]
    lower = np.tril(np.ones((n, n), dtype=bool))
    terms = np.array([[float((a[lower] ** 2).sum()) / n
                       for a in position_logits(table, np.asarray(w, dtype=np.float64), n_head)]
                      for w in c_attn_weights])
    return terms if per_head else float(terms.sum())
