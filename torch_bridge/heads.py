"""Which heads read distance, and whether the output depends on them (evidence for `verify audit --task`,
training-range inputs only): GPT-2's forward pass written out head by head, so that every head's attention
can be read and any one head mean-ablated.

Per head:
  spread  — in range, the effective number of keys it attends to (exp of the attention entropy) over the keys
            its query sees, at the scored positions: near 1 a head that aggregates (counts), near 0 one that
            selects a few positions;
  shift   — under torch_bridge.predict's distance test (part of the input moved beyond the training distances),
            the total variation between its attention with the small control gap and with the large gap, at the
            scored positions after the cut: how much of its attention moves when only distances change;
  needed  — training-range accuracy with the head's output replaced by its mean (over inputs and positions):
            well below the intact accuracy means the output depends on the head.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

SPREAD = 0.3                  # a head whose in-range attention covers ≥ this share of its keys aggregates
MOVES = 0.1                   # a head whose attention moves by ≥ this (total variation) under the gap reads distance


@dataclass(frozen=True)
class HeadEvidence:
    layer: int
    head: int
    spread: float
    shift: Optional[float]     # None: no distance test (NoPE, or no room in the table)
    ablated_accuracy: float    # training-range exact match with this head mean-ablated
    finding: str

    def as_dict(self) -> dict:
        return {"layer": self.layer, "head": self.head, "spread": self.spread, "shift": self.shift,
                "ablated_accuracy": self.ablated_accuracy, "finding": self.finding}


def forward(model, ids: np.ndarray, position_ids: np.ndarray, ablate: Optional[Tuple[int, int]] = None,
            attention: bool = False):
    """(logits as numpy float64, [per layer (B, H, T, T) attention] when `attention`): torch_bridge.model.GPT2's
    computation, head by head; `ablate` = (layer, head) replaces that head's output by its mean."""
    import torch
    t = model.transformer
    x = t.wte(torch.from_numpy(np.ascontiguousarray(ids)))
    if t.wpe is not None:
        x = x + t.wpe(torch.from_numpy(np.ascontiguousarray(position_ids)))
    b, n, d = x.shape
    heads = model.config.n_head
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    kept: List[np.ndarray] = []
    with torch.no_grad():
        for layer, block in enumerate(t.h):
            q, k, v = block.attn.c_attn(block.ln_1(x)).split(d, dim=2)
            split = lambda z: z.view(b, n, heads, d // heads).transpose(1, 2)      # noqa: E731
            q, k, v = split(q), split(k), split(v)
            logits = (q @ k.transpose(-1, -2)) / (d // heads) ** 0.5
            weights = torch.softmax(logits.masked_fill(~causal, float("-inf")), dim=-1)
            y = weights @ v                                                        # (B, H, T, dh)
            if ablate is not None and ablate[0] == layer:
                y[:, ablate[1]] = y[:, ablate[1]].mean(dim=(0, 1), keepdim=True)
            x = x + block.attn.c_proj(y.transpose(1, 2).reshape(b, n, d))
            x = x + block.mlp(block.ln_2(x))
            if attention:
                kept.append(weights.numpy())
        h = t.ln_f(x)
        out = model.classifier(h).squeeze(-1) if model.classifier is not None else h @ t.wte.weight.T
    return out.double().numpy(), kept


def _right(adapter, logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    from torch_bridge.evaluate import correct_positions
    return correct_positions(adapter, logits, targets).all(axis=1)


def localise(model, adapter, enc, plain: np.ndarray, control: Optional[np.ndarray], moved: Optional[np.ndarray],
             after: Optional[np.ndarray]) -> Tuple[HeadEvidence, ...]:
    """Per-head evidence on encoded training-range inputs `enc`: attention at `plain` positions, under the control
    and the moved positions (None: no distance test), mean-ablation at `plain` positions."""
    from torch_bridge.evaluate import scored_positions
    logits, base = forward(model, enc.ids, plain, attention=True)
    intact = _right(adapter, logits, enc.targets)
    queries = scored_positions(adapter, enc.targets)                               # (B, T)
    shifted = None
    if control is not None:
        _, with_control = forward(model, enc.ids, control, attention=True)
        _, with_move = forward(model, enc.ids, moved, attention=True)
        shifted = [(q, m) for q, m in zip(with_control, with_move)]
    cfg = model.config
    out = []
    for layer in range(cfg.n_layer):
        att = base[layer]                                                           # (B, H, T, T)
        seen = np.arange(1, att.shape[-1] + 1)[None, None, :]
        entropy = -(att * np.log(np.clip(att, 1e-30, None))).sum(-1)
        spread_all = np.exp(entropy) / seen                                        # (B, H, T)
        for h in range(cfg.n_head):
            spread = float(spread_all[:, h][queries].mean()) if queries.any() else float("nan")
            shift = None
            if shifted is not None:
                ctrl, mv = shifted[layer]
                where = queries & after
                tv = 0.5 * np.abs(ctrl[:, h] - mv[:, h]).sum(-1)                   # (B, T)
                shift = float(tv[where].mean()) if where.any() else None
            ablated, _ = forward(model, enc.ids, plain, ablate=(layer, h))
            acc = float(_right(adapter, ablated, enc.targets).mean())
            out.append(HeadEvidence(layer, h, spread, shift, acc,
                                    _finding(layer, h, spread, shift, acc, float(intact.mean()))))
    return tuple(out)


def _finding(layer, head, spread, shift, ablated, intact) -> str:
    role = (f"spreads its attention over {100 * spread:.0f}% of the keys it sees" if spread >= SPREAD
            else f"attends to few keys ({100 * spread:.0f}% effective)")
    parts = [f"head {layer}.{head} {role}"]
    if shift is not None:
        if shift >= MOVES:
            parts.append(f"moving part of the input beyond the training distances moves {100 * shift:.0f}% of its "
                         f"attention — it reads distance")
        else:
            parts.append(f"its attention barely moves ({100 * shift:.0f}%) when part of the input is moved beyond the "
                         f"training distances")
    # how much of the intact accuracy the head carries: most (the output depends on it), some, or none to speak of
    lost = intact - ablated
    need = ("the output depends on it" if lost > 0.5 * intact else
            "the output partly depends on it" if lost > 0.05 else "the output does not need it")
    parts.append(f"ablating it leaves {100 * ablated:.0f}% of training-range inputs right ({need})")
    return "; ".join(parts)
