"""Running a checkpoint on its task's inputs (torch): encode a batch through the adapter, one forward pass,
and per input its margin — the smallest, over every scored position (and every scored symbol of a
next-symbol set), of how far the model's output is on the right side of its decision:
  next token: logit of the right token minus the largest other logit;
  next-symbol sets / membership: the logit, signed + where the symbol is legal (the prefix a member), − where
  not (a logit > 0 means "in the set").
An input is right (exact match, the paper's accuracy) exactly when its margin is > 0. Both
torch_bridge.measure (per length bin) and torch_bridge.predict (training-range inputs only) read these."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from torch_bridge.data import PAD_LABEL, Batch
from torch_bridge.task_adapter import MEMBERSHIP, NEXT_TOKEN, SETS, TaskAdapter

ROWS_PER_PASS = 256


@dataclass(frozen=True)
class Encoded:
    ids: np.ndarray          # (B, T) checkpoint ids
    targets: np.ndarray      # (B, T) checkpoint ids / 0-1 labels, or (B, T, k) 0-1 sets in the task's order
    lengths: np.ndarray      # (B,) tokens fed per row


def encode(adapter: TaskAdapter, batch: Batch) -> Encoded:
    """torch_bridge.data's batch in the checkpoint's ids; an answer without <eos> loses its last token."""
    ids = adapter.ids[batch.ids]
    targets = batch.targets.copy()
    lengths = batch.lengths.copy()
    if adapter.head == NEXT_TOKEN:
        scored = targets != PAD_LABEL
        targets[scored] = adapter.ids[targets[scored]]
        if not adapter.answer_eos:   # the final <eos> is neither fed nor scored
            rows = np.arange(len(lengths))
            targets[rows, lengths - 2] = PAD_LABEL
            lengths = lengths - 1
    return Encoded(ids, targets, lengths)


def forward_margins(model, adapter: TaskAdapter, enc: Encoded, offset: Union[int, np.ndarray] = 0,
                    position_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """(B,) margins (see the module docstring) at position offset `offset` (an int or one per row), or at
    explicit `position_ids` (B, T) when given. Rows run sorted by length, each pass padded to its longest."""
    return position_margins(model, adapter, enc, offset, position_ids).min(axis=1)


def position_margins(model, adapter: TaskAdapter, enc: Encoded, offset: Union[int, np.ndarray] = 0,
                     position_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """(B, T) margins per position (+inf where nothing is scored), as forward_margins runs them."""
    import torch
    order = np.argsort(enc.lengths, kind="stable")
    out = np.full(enc.ids.shape, np.inf, dtype=np.float64)
    offsets = np.broadcast_to(np.asarray(offset), (len(order),))
    with torch.no_grad():
        for start in range(0, len(order), ROWS_PER_PASS):
            rows = order[start:start + ROWS_PER_PASS]
            width = int(enc.lengths[rows].max())
            ids = torch.from_numpy(np.ascontiguousarray(enc.ids[rows, :width]))
            if position_ids is not None:
                pos = position_ids[rows, :width]
            else:   # a row's padding may run past the table: those positions are clipped (causal: unread)
                pos = offsets[rows, None] + np.arange(width)[None, :]
                if model.transformer.wpe is not None:
                    pos = np.minimum(pos, model.transformer.n_positions - 1)
            logits = _with_positions(model, ids, torch.from_numpy(np.ascontiguousarray(pos)))
            out[rows, :width] = _margins(logits.double().numpy(), enc.targets[rows, :width], adapter)
    return out


def _margins(logits: np.ndarray, targets: np.ndarray, adapter: TaskAdapter) -> np.ndarray:
    big = np.inf
    if adapter.head == NEXT_TOKEN:
        scored = targets != PAD_LABEL
        right = np.take_along_axis(logits, np.where(scored, targets, 0)[..., None], axis=-1)[..., 0]
        others = logits.copy()
        np.put_along_axis(others, np.where(scored, targets, 0)[..., None], -np.inf, axis=-1)
        m = right - others.max(axis=-1)
        return np.where(scored, m, big)
    if adapter.head == MEMBERSHIP:
        scored = targets != PAD_LABEL
        return np.where(scored, (2 * targets - 1) * logits, big)
    assert adapter.head == SETS
    cols = logits[..., adapter.ids[:targets.shape[-1]]]     # the task's columns, in its order
    scored = targets != PAD_LABEL
    return np.where(scored, (2 * targets - 1) * cols, big).min(axis=2)


def _with_positions(model, ids, position_ids):
    """The model's forward pass with explicit position ids (B, T) (torch_bridge.model.GPT2 takes offsets)."""
    import torch
    t = model.transformer
    x = t.wte(ids)
    if t.wpe is not None:
        x = x + t.wpe(position_ids)
    for block in t.h:
        x = block(x)
    h = t.ln_f(x)
    if model.classifier is not None:
        return model.classifier(h).squeeze(-1)
    return h @ t.wte.weight.T


def correct_positions(adapter: TaskAdapter, logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(B, T) booleans from logits: every scored position right (unscored positions count as right)."""
    if adapter.head == NEXT_TOKEN:
        return (logits.argmax(-1) == targets) | (targets == PAD_LABEL)
    if adapter.head == MEMBERSHIP:
        return ((logits > 0) == (targets == 1)) | (targets == PAD_LABEL)
    cols = logits[..., adapter.ids[:targets.shape[-1]]]
    return (((cols > 0) == (targets == 1)) | (targets == PAD_LABEL)).all(axis=-1)


def scored_positions(adapter: TaskAdapter, targets: np.ndarray) -> np.ndarray:
    """(B, T) booleans: the positions an input is scored at."""
    scored = targets != PAD_LABEL
    return scored.any(axis=-1) if adapter.head == SETS else scored


def position_correct(model, adapter: TaskAdapter, enc: Encoded, position_ids: np.ndarray) -> np.ndarray:
    """(B, T) booleans: every scored position right (unscored positions count as right), at explicit positions."""
    import torch
    with torch.no_grad():
        logits = _with_positions(model, torch.from_numpy(np.ascontiguousarray(enc.ids)),
                                 torch.from_numpy(np.ascontiguousarray(position_ids))).double().numpy()
    return correct_positions(adapter, logits, enc.targets)
