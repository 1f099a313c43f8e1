"""The forward pass of a compiled program (verify.limit's Limit Transformer or its realization T_N) in
torch, float64: the one implementation behind torch_bridge.export's `CompiledTransformer` and the
Hugging Face folder of `verify compile --out DIR` (torch_bridge.hf_compiled copies this file into the
folder, beside its modeling file, so it imports nothing but torch).

It runs what verify.limit.forward runs: BOS prepended at position 0, causal softmax (base `softmax_base`)
over j <= i with logits scaled by ln(t+1) (`log_i`), 1/sqrt(d_head) or not at all, residual updates
attention -> SignNorm (y += write·sign(read·y) + bias) -> ReLU MLP, scores = unembedding · y.
"""
import math
from typing import Dict, List, Optional, Sequence

import torch

Layer = Dict[str, object]   # {"heads": [head dicts], "norm": (read, write, bias) | None, "mlp": (w_in, b_in, w_out, b_out) | None}


def row_positions(n: int, offset: int, bos: bool) -> torch.Tensor:
    tokens = torch.arange(1, n + 1) + offset
    return torch.cat([torch.zeros(1, dtype=torch.long), tokens]) if bos else tokens


def embed(ids: torch.Tensor, offset: int, embedding: torch.Tensor, positions: torch.Tensor,
          bos_id: Optional[int], context: Optional[int]) -> torch.Tensor:
    batch, n = ids.shape
    if bos_id is not None:
        ids = torch.cat([torch.full((batch, 1), bos_id, dtype=torch.long, device=ids.device), ids], dim=1)
    y = embedding[ids]
    pos = row_positions(n, offset, bos_id is not None)
    if context is not None:
        if n and int(pos[-1]) > context:
            raise ValueError(f"input of length {n} (offset {offset}) exceeds the context N = {context}")
        return y + positions[pos][None]
    table = positions[pos % positions.shape[0]].clone()   # the Limit Transformer: a periodic table
    if bos_id is not None:
        table[0] = 0.0
    return y + table[None]


def _scale(logit_scale: str, rows: int, dh: int) -> Optional[torch.Tensor]:
    if logit_scale == "none":
        return None
    if logit_scale == "inv_sqrt_dhead":
        return torch.full((rows,), 1.0 / math.sqrt(dh), dtype=torch.float64)
    return torch.log(torch.arange(rows, dtype=torch.float64) + 1.0)


def _positional(head: Dict[str, object], rel: torch.Tensor, pos: torch.Tensor) -> Optional[torch.Tensor]:
    """The head's positional logit term: the Limit Transformer's φ(i - j), or T_N's band; None without."""
    phi, band = head.get("phi"), head.get("band")
    if phi is not None and phi.numel():
        tau = phi.numel() - 1
        inside = (rel >= 0) & (rel <= tau)
        return torch.where(inside, phi[rel.clamp(0, tau)], torch.tensor(float(head.get("phi_beyond", 0.0)),
                                                                         dtype=torch.float64))
    if band is not None and band.numel():
        tau = band.shape[1] - 1
        inside = (rel >= 0) & (rel <= tau)
        qpos = pos[:, None].expand_as(rel).clamp(0, band.shape[0] - 1)
        return torch.where(inside, band[qpos, rel.clamp(0, tau)], torch.zeros((), dtype=torch.float64))
    return None


def forward(ids: torch.Tensor, offset: int, *, embedding: torch.Tensor, positions: torch.Tensor,
            unembedding: torch.Tensor, layers: Sequence[Layer], bos_id: Optional[int], context: Optional[int],
            logit_scale: str, softmax_base: float) -> torch.Tensor:
    """Scores (batch, n, outputs) of the words `ids` (batch, n) (symbol ids, no BOS), BOS row dropped."""
    y = embed(ids, offset, embedding, positions, bos_id, context)
    pos = row_positions(ids.shape[1], offset, bos_id is not None)
    rows = y.shape[1]
    causal = torch.tril(torch.ones(rows, rows, dtype=torch.bool))
    rel = pos[:, None] - pos[None, :]
    log_base = math.log(softmax_base)
    for layer in layers:
        heads: List[Dict[str, torch.Tensor]] = layer["heads"]
        if heads:
            delta = 0
            for h in heads:
                q, k, v = y @ h["query"].T, y @ h["key"].T, y @ h["value"].T
                a = q @ k.transpose(1, 2)
                extra = _positional(h, rel, pos)
                if extra is not None:
                    a = a + extra[None]
                scale = _scale(logit_scale, rows, h["query"].shape[0])
                if scale is not None:
                    a = a * scale[None, :, None]
                a = a.masked_fill(~causal[None], float("-inf"))
                w = torch.softmax(a * log_base, dim=-1)
                delta = delta + (w @ v) @ h["output"].T
            y = y + delta
        if layer.get("norm") is not None:
            read, write, bias = layer["norm"]
            x = y @ read.T
            sign = torch.where(x == 0, torch.zeros_like(x), x / torch.sqrt(x * x))
            y = y + sign @ write.T + bias
        if layer.get("mlp") is not None:
            w_in, b_in, w_out, b_out = layer["mlp"]
            y = y + torch.relu(y @ w_in.T + b_in) @ w_out.T + b_out
    scores = y @ unembedding.T
    return scores[:, 1:] if bos_id is not None else scores
