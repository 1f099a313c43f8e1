"""A TransformerLens GPT-2 state dict -> the GPT-2 (Hugging Face) layout, so the loader and the audit
read it like any checkpoint. to_gpt2 is numpy (the loader hands it arrays, so a TransformerLens state dict
saved as safetensors is read without torch); from_gpt2, for tests and users handing weights to TransformerLens,
imports torch inside.

TransformerLens names and shapes (HookedTransformer, GPT-2 architecture):
  embed.W_E (V, d)                 -> transformer.wte.weight
  pos_embed.W_pos (n_ctx, d)       -> transformer.wpe.weight (absent: NoPE)
  blocks.l.ln1.w / .b, ln2.w / .b  -> transformer.h.l.ln_1.weight / .bias, ln_2.*
  blocks.l.attn.W_Q, W_K, W_V (H, d, dh), b_Q, b_K, b_V (H, dh)
                                   -> transformer.h.l.attn.c_attn.weight (d, 3d): [Q heads | K heads | V heads],
                                      head h in columns h·dh … (h+1)·dh of each block (x @ W); c_attn.bias
  blocks.l.attn.W_O (H, dh, d), b_O (d,) -> attn.c_proj.weight (d, d) (rows head-major), c_proj.bias
  blocks.l.mlp.W_in (d, m), b_in, W_out (m, d), b_out -> mlp.c_fc.*, mlp.c_proj.*
  ln_final.w / .b                  -> transformer.ln_f.*
  unembed.W_U (d, V), unembed.b_U  -> tied to wte here (a note when W_U ≠ W_Eᵀ or b_U ≠ 0)
The buffers blocks.l.attn.mask / IGNORE are dropped. The number of heads comes from W_Q's shape.
A state dict with LayerNorm folded into the next weights (fold_ln: no ln1.w / ln2.w / ln_final.w) gets
identity LayerNorm weights, with a note: what the audit then measures are the folded Wq, Wk.
"""
from __future__ import annotations

import re
from typing import Dict, List, Tuple

import numpy as np

_BLOCK = re.compile(r"^blocks\.(\d+)\.")


def is_transformer_lens(keys) -> bool:
    return "embed.W_E" in keys or any(re.match(r"^blocks\.\d+\.attn\.W_Q$", k) for k in keys)


def to_gpt2(state: Dict[str, object], where: str = "") -> Tuple[Dict[str, object], int, List[str]]:
    """(GPT-2 state dict of numpy arrays, n_head, notes). Raises UserError naming what is missing or misshapen."""
    from verify.problems import UserError
    prefix = f"{where}: " if where else ""
    notes: List[str] = []

    def need(key):
        if key not in state:
            raise UserError(f"{prefix}a TransformerLens state dict without {key} (expected embed.W_E, "
                            "blocks.{l}.attn.W_Q/W_K/W_V/W_O, blocks.{l}.mlp.W_in/W_out, …)")
        return np.asarray(state[key])

    wte = need("embed.W_E")
    if wte.ndim != 2:
        raise UserError(f"{prefix}embed.W_E has shape {tuple(wte.shape)}; expected (vocab, d_model)")
    d = int(wte.shape[1])
    layers = sorted({int(m.group(1)) for k in state for m in [_BLOCK.match(k)] if m})
    if not layers:
        raise UserError(f"{prefix}a TransformerLens state dict with no blocks.{{l}}.* tensors")
    from torch_bridge.config import MAX_LAYERS
    if layers[-1] >= MAX_LAYERS:
        raise UserError(f"{prefix}blocks.{layers[-1]} is beyond the {MAX_LAYERS} layers this toolkit reads")
    out = {"transformer.wte.weight": wte}
    if "pos_embed.W_pos" in state:
        out["transformer.wpe.weight"] = np.asarray(state["pos_embed.W_pos"])
    n_head = None
    folded = False
    for l in range(layers[-1] + 1):
        p, q = f"blocks.{l}.", f"transformer.h.{l}."
        ws = [need(p + f"attn.W_{x}") for x in "QKV"]
        if any(w.ndim != 3 or w.shape[1] != d for w in ws) or len({tuple(w.shape) for w in ws}) != 1:
            raise UserError(f"{prefix}{p}attn.W_Q/W_K/W_V have shapes {[tuple(w.shape) for w in ws]}; expected "
                            f"three equal (n_heads, {d}, d_head)")
        heads, dh = int(ws[0].shape[0]), int(ws[0].shape[2])
        if heads * dh != d:
            raise UserError(f"{prefix}{p}attn.W_Q is ({heads}, {d}, {dh}): n_heads × d_head = {heads * dh} ≠ d_model "
                            f"{d}, which GPT-2's c_attn cannot hold")
        if n_head is not None and heads != n_head:
            raise UserError(f"{prefix}layer {l} has {heads} heads, layer 0 has {n_head}")
        n_head = heads
        # (H, d, dh) -> (d, H·dh): column h·dh + k is head h's k-th coordinate, as in c_attn
        out[q + "attn.c_attn.weight"] = np.concatenate([w.transpose(1, 0, 2).reshape(d, d) for w in ws], axis=1)
        bs = [np.asarray(state[p + f"attn.b_{x}"]).reshape(d) if p + f"attn.b_{x}" in state else
              np.zeros(d, dtype=wte.dtype) for x in "QKV"]
        out[q + "attn.c_attn.bias"] = np.concatenate(bs)
        wo = need(p + "attn.W_O")
        if tuple(wo.shape) != (heads, dh, d):
            raise UserError(f"{prefix}{p}attn.W_O has shape {tuple(wo.shape)}; expected {(heads, dh, d)}")
        out[q + "attn.c_proj.weight"] = wo.reshape(d, d)
        out[q + "attn.c_proj.bias"] = np.asarray(state.get(p + "attn.b_O", np.zeros(d, dtype=wte.dtype)))
        out[q + "mlp.c_fc.weight"] = need(p + "mlp.W_in")
        out[q + "mlp.c_fc.bias"] = need(p + "mlp.b_in")
        out[q + "mlp.c_proj.weight"] = need(p + "mlp.W_out")
        out[q + "mlp.c_proj.bias"] = need(p + "mlp.b_out")
        for tl, hf in (("ln1", "ln_1"), ("ln2", "ln_2")):
            folded |= _norm(state, out, p + tl, q + hf, d, wte.dtype)
    folded |= _norm(state, out, "ln_final", "transformer.ln_f", d, wte.dtype)
    if folded:
        notes.append("TransformerLens state dict without LayerNorm weights (folded into the next weights): "
                     "identity LayerNorm weights used; the audited Wq, Wk are the folded ones")
    wu = state.get("unembed.W_U")
    if wu is not None:
        wu = np.asarray(wu)
        if not np.array_equal(wu.T, wte):
            notes.append("unembed.W_U is not embed.W_Eᵀ (untied); this model ties them, so logits follow W_E")
    bu = state.get("unembed.b_U")
    if bu is not None and bool(np.any(np.asarray(bu) != 0)):
        notes.append("unembed.b_U is not zero and GPT-2 has no unembedding bias: it is dropped (the audit does "
                     "not read it)")
    known = {k for k in state if k.startswith(("embed.", "pos_embed.", "unembed.", "ln_final."))
             or (_BLOCK.match(k) and k.split(".", 2)[2] in _BLOCK_KEYS)}
    unknown = sorted(k for k in state if k not in known)
    if unknown:
        raise UserError(f"{prefix}TransformerLens keys this adapter does not map: {', '.join(unknown[:8])}"
                        f"{' …' if len(unknown) > 8 else ''} (GPT-2 architecture expected)")
    notes.append(f"read as a TransformerLens state dict ({layers[-1] + 1} layers × {n_head} heads), converted to "
                 "the GPT-2 layout")
    return out, n_head, notes


_BLOCK_KEYS = {"ln1.w", "ln1.b", "ln2.w", "ln2.b", "attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "attn.b_Q",
               "attn.b_K", "attn.b_V", "attn.b_O", "attn.mask", "attn.IGNORE", "mlp.W_in", "mlp.b_in", "mlp.W_out",
               "mlp.b_out"}


def _norm(state, out, tl: str, hf: str, d: int, dtype) -> bool:
    """Copy a LayerNorm's w/b; True when it is absent (folded)."""
    if tl + ".w" in state:
        out[hf + ".weight"] = np.asarray(state[tl + ".w"])
        out[hf + ".bias"] = np.asarray(state.get(tl + ".b", np.zeros(d, dtype=dtype)))
        return False
    out[hf + ".weight"] = np.ones(d, dtype=dtype)
    out[hf + ".bias"] = np.zeros(d, dtype=dtype)
    return True


def from_gpt2(state: Dict[str, object], n_head: int) -> Dict[str, object]:
    """The inverse (GPT-2 layout -> TransformerLens names and shapes): for tests and for users who want to
    hand a toolkit checkpoint to TransformerLens."""
    import torch
    wte = torch.as_tensor(state["transformer.wte.weight"])
    d = int(wte.shape[1])
    dh = d // n_head
    out = {"embed.W_E": wte, "unembed.W_U": wte.T.contiguous(), "unembed.b_U": torch.zeros(wte.shape[0])}
    if "transformer.wpe.weight" in state:
        out["pos_embed.W_pos"] = state["transformer.wpe.weight"]
    layers = sorted({int(m.group(1)) for k in state for m in [re.match(r"transformer\.h\.(\d+)\.", k)] if m})
    for l in layers:
        q, p = f"transformer.h.{l}.", f"blocks.{l}."
        w, b = state[q + "attn.c_attn.weight"], state[q + "attn.c_attn.bias"]
        for k, x in enumerate("QKV"):
            out[p + f"attn.W_{x}"] = w[:, k * d:(k + 1) * d].reshape(d, n_head, dh).permute(1, 0, 2).contiguous()
            out[p + f"attn.b_{x}"] = b[k * d:(k + 1) * d].reshape(n_head, dh).contiguous()
        out[p + "attn.W_O"] = state[q + "attn.c_proj.weight"].reshape(n_head, dh, d).contiguous()
        out[p + "attn.b_O"] = state[q + "attn.c_proj.bias"]
        out[p + "mlp.W_in"], out[p + "mlp.b_in"] = state[q + "mlp.c_fc.weight"], state[q + "mlp.c_fc.bias"]
        out[p + "mlp.W_out"], out[p + "mlp.b_out"] = state[q + "mlp.c_proj.weight"], state[q + "mlp.c_proj.bias"]
        out[p + "ln1.w"], out[p + "ln1.b"] = state[q + "ln_1.weight"], state[q + "ln_1.bias"]
        out[p + "ln2.w"], out[p + "ln2.b"] = state[q + "ln_2.weight"], state[q + "ln_2.bias"]
    out["ln_final.w"], out["ln_final.b"] = state["transformer.ln_f.weight"], state["transformer.ln_f.bias"]
    return out
