"""Compiled programs as torch models: verify.limit's LimitTransformer / finite transformer T_N
(verify.limit.realize) exported to a torch module, float64, checked equal to the numpy forward.

Not GPT-2-shaped, by necessity (documented): the construction uses heads of different widths
(d_head + N + 1 for heads realizing φ in the dense form, 1 otherwise; a banded T_N keeps the realized
positional products as a band buffer, the same numbers as the dense query/key blocks), base-2 softmax, a LayerNorm-without-ε "SignNorm"
sublayer on (x, −x) pairs and ReLU MLPs without LayerNorm — none of which GPT-2's fused c_attn,
pre-LayerNorm and GELU can hold exactly. So `CompiledTransformer` is its own module that runs the
same computation as verify.limit.forward (BOS prepended at position 0, causal softmax over j ≤ i,
residual updates attention → SignNorm → MLP, scores = unembedding · y).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from verify.limit.model import LimitTransformer


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


class CompiledHead(nn.Module):
    def __init__(self, head):
        super().__init__()
        self.query = nn.Parameter(_t(head.query), requires_grad=False)     # (dh, d): q = y @ query.T
        self.key = nn.Parameter(_t(head.key), requires_grad=False)
        self.value = nn.Parameter(_t(head.value), requires_grad=False)
        self.output = nn.Parameter(_t(head.output), requires_grad=False)   # (d, dv)
        self.register_buffer("phi", _t(head.phi) if head.phi is not None else torch.zeros(0, dtype=torch.float64))
        self.phi_beyond = float(head.phi_beyond)
        # T_N's realized positional products, stored by band (verify.limit.model.Head.band)
        self.register_buffer("band", _t(head.band) if head.band is not None else torch.zeros(0, 0, dtype=torch.float64))


class CompiledTransformer(nn.Module):
    def __init__(self, model: LimitTransformer):
        super().__init__()
        self.model = model
        self.register_buffer("embedding", _t(model.embedding))
        self.register_buffer("positions", _t(model.positions))
        self.register_buffer("unembedding", _t(model.unembedding))
        self.heads = nn.ModuleList(nn.ModuleList(CompiledHead(h) for h in layer.heads) for layer in model.layers)
        self.norms = [None if l.norm is None else tuple(_t(x) for x in (l.norm.read, l.norm.write, l.norm.bias))
                      for l in model.layers]
        self.mlps = [None if l.mlp is None else tuple(_t(x) for x in (l.mlp.w_in, l.mlp.b_in, l.mlp.w_out, l.mlp.b_out))
                     for l in model.layers]
        self.log_base = math.log(model.softmax_base)

    def row_positions(self, n: int, offset: int) -> torch.Tensor:
        tokens = torch.arange(1, n + 1) + offset
        return torch.cat([torch.zeros(1, dtype=torch.long), tokens]) if self.model.bos else tokens

    def embed(self, ids: torch.Tensor, offset: int) -> torch.Tensor:
        m = self.model
        batch, n = ids.shape
        if m.bos:
            ids = torch.cat([torch.full((batch, 1), m.bos_id, dtype=torch.long), ids], dim=1)
        y = self.embedding[ids]
        pos = self.row_positions(n, offset)
        if m.context is not None:
            if n and int(pos[-1]) > m.context:
                raise ValueError(f"input of length {n} (offset {offset}) exceeds the context N = {m.context}")
            return y + self.positions[pos][None]
        table = self.positions[pos % self.positions.shape[0]].clone()
        if m.bos:
            table[0] = 0.0
        return y + table[None]

    def _scale(self, rows: int, dh: int):
        s = self.model.logit_scale
        if s == "none":
            return None
        if s == "inv_sqrt_dhead":
            return torch.full((rows,), 1.0 / math.sqrt(dh), dtype=torch.float64)
        return torch.log(torch.arange(rows, dtype=torch.float64) + 1.0)

    def forward(self, ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """scores (batch, n, outputs), BOS row dropped — as verify.limit.forward(...).scores."""
        y = self.embed(ids, offset)
        pos = self.row_positions(ids.shape[1], offset)
        rows = y.shape[1]
        causal = torch.tril(torch.ones(rows, rows, dtype=torch.bool))
        rel = pos[:, None] - pos[None, :]
        for li, heads in enumerate(self.heads):
            if len(heads):
                delta = 0
                for h in heads:
                    q, k, v = y @ h.query.T, y @ h.key.T, y @ h.value.T
                    a = q @ k.transpose(1, 2)
                    if h.phi.numel():
                        tau = h.phi.numel() - 1
                        inside = (rel >= 0) & (rel <= tau)
                        a = a + torch.where(inside, h.phi[rel.clamp(0, tau)],
                                            torch.tensor(h.phi_beyond, dtype=torch.float64))[None]
                    elif h.band.numel():
                        tau = h.band.shape[1] - 1
                        inside = (rel >= 0) & (rel <= tau)
                        qpos = pos[:, None].expand_as(rel).clamp(0, h.band.shape[0] - 1)
                        a = a + torch.where(inside, h.band[qpos, rel.clamp(0, tau)],
                                            torch.zeros((), dtype=torch.float64))[None]
                    scale = self._scale(rows, h.query.shape[0])
                    if scale is not None:
                        a = a * scale[None, :, None]
                    a = a.masked_fill(~causal[None], float("-inf"))
                    w = torch.softmax(a * self.log_base, dim=-1)
                    delta = delta + (w @ v) @ h.output.T
                y = y + delta
            if self.norms[li] is not None:
                read, write, bias = self.norms[li]
                x = y @ read.T
                sign = torch.where(x == 0, torch.zeros_like(x), x / torch.sqrt(x * x))
                y = y + sign @ write.T + bias
            if self.mlps[li] is not None:
                w_in, b_in, w_out, b_out = self.mlps[li]
                y = y + torch.relu(y @ w_in.T + b_in) @ w_out.T + b_out
        scores = y @ self.unembedding.T
        return scores[:, 1:] if self.model.bos else scores

    @torch.no_grad()
    def outputs(self, ids, offset: int = 0):
        s = self.forward(torch.as_tensor(np.asarray(ids), dtype=torch.long), offset)
        return {key: (s[:, :, o] > self.model.threshold).numpy() for o, key in enumerate(self.model.output_keys)}


def export(model: LimitTransformer) -> CompiledTransformer:
    return CompiledTransformer(model).eval()


def compare_with_numpy(model: LimitTransformer, ids: np.ndarray, offset: int = 0) -> dict:
    """Max |torch − numpy| of the scores and whether every Boolean output agrees."""
    from verify.limit.forward import forward
    ref = forward(model, ids, offset)
    with torch.no_grad():
        got = export(model)(torch.as_tensor(np.asarray(ids), dtype=torch.long), offset).numpy()
    outs = {key: got[:, :, o] > model.threshold for o, key in enumerate(model.output_keys)}
    return {"max_abs_diff": float(np.abs(got - ref.scores).max()) if got.size else 0.0,
            "outputs_agree": all(np.array_equal(outs[k], ref.outputs[k]) for k in outs),
            "scale": float(np.abs(ref.scores).max()) if got.size else 0.0}
