"""Compiled programs as torch models: verify.limit's LimitTransformer / finite transformer T_N
(verify.limit.realize) exported to a torch module, float64, checked equal to the numpy forward.

Not GPT-2-shaped, by necessity (documented): the construction uses heads of different widths
(d_head + N + 1 for heads realizing φ in the dense form, 1 otherwise; a banded T_N keeps the realized
positional products as a band buffer, the same numbers as the dense query/key blocks), base-2 softmax, a LayerNorm-without-ε "SignNorm"
sublayer on (x, −x) pairs and ReLU MLPs without LayerNorm — none of which GPT-2's fused c_attn,
pre-LayerNorm and GELU can hold exactly. So `CompiledTransformer` is its own module that runs the
same computation as verify.limit.forward (BOS prepended at position 0, causal softmax over j ≤ i,
residual updates attention → SignNorm → MLP, scores = unembedding · y); the arithmetic is
torch_bridge.compiled_forward's, shared with the Hugging Face folder of `verify compile --out DIR`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from torch_bridge import compiled_forward
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

    def layer_tensors(self):
        """The layers as torch_bridge.compiled_forward takes them."""
        return [{"heads": [{"query": h.query, "key": h.key, "value": h.value, "output": h.output, "phi": h.phi,
                            "phi_beyond": h.phi_beyond, "band": h.band} for h in heads],
                 "norm": norm, "mlp": mlp} for heads, norm, mlp in zip(self.heads, self.norms, self.mlps)]

    def forward(self, ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """scores (batch, n, outputs), BOS row dropped — as verify.limit.forward(...).scores."""
        m = self.model
        return compiled_forward.forward(ids, offset, embedding=self.embedding, positions=self.positions,
                                        unembedding=self.unembedding, layers=self.layer_tensors(),
                                        bos_id=m.bos_id if m.bos else None, context=m.context,
                                        logit_scale=m.logit_scale, softmax_base=m.softmax_base)

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
