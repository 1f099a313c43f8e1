"""Reading and writing GPT-2 checkpoints (SPEC §6) without ever running code from a file.

Accepted: a Hugging Face folder (config.json + model.safetensors or pytorch_model.bin), or a
single weights file (.safetensors, or a torch.save pickle: .bin/.pt/.pth) holding a state dict
with or without the `transformer.` prefix (also under "state_dict"/"model", or with DDP's
`module.` prefix). Pickles load only with `weights_only=True`: a pickle that needs any other
class or function is refused, and nothing in it runs. A checkpoint without
`transformer.wpe.weight` is NoPE — never given a table. Every mistake is a UserError naming
the keys at fault.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from torch_bridge.config import BINARY_HEAD, NOPE, APE, GPT2Config
from verify.problems import Problem, UserError

SAFETENSORS = "model.safetensors"
PICKLE = "pytorch_model.bin"
CONFIG = "config.json"
_BUFFERS = re.compile(r"^transformer\.h\.\d+\.attn\.(bias|masked_bias)$")
_GPT2_ROOTS = ("wte.", "wpe.", "h.", "ln_f.")
_FOREIGN = {  # key fragment -> architecture, for a message a person can act on
    "embed_tokens": "LLaMA/Mistral-style decoder", "self_attn.q_proj": "LLaMA/OPT-style decoder",
    "bert.": "BERT", "roberta.": "RoBERTa", "encoder.layer": "BERT-style encoder",
    "gpt_neox": "GPT-NeoX", "attn.attention": "GPT-Neo", "attn.q_proj": "GPT-J",
    "shared.weight": "T5", "decoder.block": "T5", "layers.0.attention": "Meta LLaMA (raw)",
    "blocks.0.attn.W_Q": "TransformerLens", "transformer.blocks": "MPT",
}


@dataclass(frozen=True)
class Checkpoint:
    config: GPT2Config
    state: Dict[str, torch.Tensor]      # Hugging Face names, float32, no buffers, no lm_head
    source: str
    file_format: str                    # "safetensors" or "pickle (weights_only)"
    notes: Tuple[str, ...] = ()

    @property
    def nope(self) -> bool:
        return not self.config.has_position_table

    def array(self, key: str) -> np.ndarray:
        return self.state[key].detach().cpu().numpy()

    def position_table(self) -> Optional[np.ndarray]:
        return None if self.nope else self.array("transformer.wpe.weight")

    def c_attn(self, layer: int) -> np.ndarray:
        return self.array(f"transformer.h.{layer}.attn.c_attn.weight")

    def model(self):
        from torch_bridge.model import GPT2
        m = GPT2(self.config)
        m.load_state_dict(self.state, strict=True)
        return m.eval()


def expected_shapes(cfg: GPT2Config) -> Dict[str, Tuple[int, ...]]:
    """Every parameter of the GPT-2 layout for this config, with its shape."""
    d, inner = cfg.n_embd, cfg.inner
    shapes = {"transformer.wte.weight": (cfg.vocab_size, d)}
    if cfg.has_position_table:
        shapes["transformer.wpe.weight"] = (cfg.n_positions, d)
    for l in range(cfg.n_layer):
        p = f"transformer.h.{l}."
        shapes.update({p + "ln_1.weight": (d,), p + "ln_1.bias": (d,),
                       p + "attn.c_attn.weight": (d, 3 * d), p + "attn.c_attn.bias": (3 * d,),
                       p + "attn.c_proj.weight": (d, d), p + "attn.c_proj.bias": (d,),
                       p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
                       p + "mlp.c_fc.weight": (d, inner), p + "mlp.c_fc.bias": (inner,),
                       p + "mlp.c_proj.weight": (inner, d), p + "mlp.c_proj.bias": (d,)})
    shapes.update({"transformer.ln_f.weight": (d,), "transformer.ln_f.bias": (d,)})
    if cfg.head == BINARY_HEAD:
        shapes.update({"classifier.weight": (1, d), "classifier.bias": (1,)})
    return shapes


# ------------------------------------------------------------------------------------ reading
def _read_safetensors(path: Path) -> Dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8 or int.from_bytes(head, "little") > size - 8:
        raise UserError(f"{path}: truncated or corrupt safetensors file (the header says "
                        f"{int.from_bytes(head, 'little') if len(head) == 8 else '?'} header bytes, "
                        f"the file has {size} bytes)")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, ValueError, OSError, RuntimeError) as ex:
        raise UserError(f"{path}: corrupt or truncated safetensors file ({ex})") from None


def _read_pickle(path: Path) -> Dict[str, torch.Tensor]:
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as ex:
        first = str(ex).strip().splitlines()
        detail = next((ln for ln in first if "GLOBAL" in ln or "Unsupported" in ln), first[0] if first else "")
        raise UserError(
            f"{path}: refused — this pickle needs code beyond tensors and plain containers "
            f"({detail.strip()}). It was read with weights_only=True, so nothing in it ran. "
            "If you trust its author, re-save it as safetensors (or as a plain state dict) and try again.",
            exit_code=2) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as ex:
        raise UserError(f"{path}: not a readable torch checkpoint ({type(ex).__name__}: "
                        f"{str(ex).splitlines()[0] if str(ex) else ''})") from None
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise UserError(f"{path}: expected a state dict (names -> tensors), found {type(obj).__name__}")
    return obj


def _normalize(raw: Dict[str, torch.Tensor], where: str) -> Tuple[Dict[str, torch.Tensor], list]:
    notes = []
    state = {}
    for key, value in raw.items():
        k = key[len("module."):] if key.startswith("module.") else key
        if k.startswith(_GPT2_ROOTS):
            k = "transformer." + k
        state[k] = value
    if not any(k.startswith("transformer.") for k in state):
        foreign = [arch for frag, arch in _FOREIGN.items() if any(frag in k for k in state)]  # most specific first
        sample = ", ".join(sorted(state)[:4])
        what = f"a {foreign[0]} checkpoint" if foreign else "not a GPT-2 checkpoint"
        raise UserError(f"{where}: {what}: expected GPT-2 keys such as transformer.wte.weight, "
                        f"transformer.h.0.attn.c_attn.weight; found {sample or 'no tensors'}"
                        f"{' …' if len(state) > 4 else ''}")
    dropped = sorted(k for k in state if _BUFFERS.match(k))
    for k in dropped:
        state.pop(k)
    if "lm_head.weight" in state:
        lm = state.pop("lm_head.weight")
        wte = state.get("transformer.wte.weight")
        if wte is not None and (lm.shape != wte.shape or not torch.equal(lm, wte)):
            notes.append("lm_head.weight differs from transformer.wte.weight (untied); this model ties them, "
                         "so logits follow wte")
    return state, notes


def _read_config(path: Path) -> dict:
    try:
        cfg = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as ex:
        raise UserError(f"{path}: not a readable config.json ({ex})") from None
    if not isinstance(cfg, dict):
        raise UserError(f"{path}: config.json must hold a JSON object")
    model_type = cfg.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise UserError(f"{path}: a checkpoint of another architecture (model_type {model_type!r}); "
                        "this toolkit reads GPT-2 (model_type 'gpt2')")
    return cfg


def load_checkpoint(path, n_head: Optional[int] = None) -> Checkpoint:
    """A Hugging Face folder or a single weights file -> a validated Checkpoint."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    cfg_json: dict = {}
    if path.is_dir():
        if (path / CONFIG).exists():
            cfg_json = _read_config(path / CONFIG)
        if (path / SAFETENSORS).exists():
            weights = path / SAFETENSORS
        elif (path / PICKLE).exists():
            weights = path / PICKLE
        elif any(path.glob("*.index.json")):
            raise UserError(f"{path}: sharded checkpoints are not supported; merge the shards into one "
                            f"{SAFETENSORS}")
        else:
            raise UserError(f"{path}: a checkpoint folder needs {SAFETENSORS} or {PICKLE} "
                            f"(found {', '.join(sorted(p.name for p in path.iterdir())[:6]) or 'nothing'})")
    else:
        weights = path
        if (path.parent / CONFIG).exists() and path.name in (SAFETENSORS, PICKLE):
            cfg_json = _read_config(path.parent / CONFIG)
    if weights.suffix == ".safetensors":
        raw, fmt = _read_safetensors(weights), "safetensors"
    else:
        with open(weights, "rb") as f:
            magic = f.read(8)
        if len(magic) >= 8 and int.from_bytes(magic, "little") < weights.stat().st_size and magic[:1] not in (b"\x80", b"P"):
            raw, fmt = _read_safetensors(weights), "safetensors"   # a safetensors file with another name
        else:
            raw, fmt = _read_pickle(weights), "pickle (weights_only)"
    state, notes = _normalize(raw, str(weights))
    cfg = _config(state, cfg_json, n_head, str(path), notes)
    _validate(state, cfg, str(weights))
    state = {k: v.float() for k, v in state.items()}
    return Checkpoint(cfg, state, str(path), fmt, tuple(notes))


def _config(state, cfg_json: dict, n_head: Optional[int], where: str, notes: list) -> GPT2Config:
    wte = state.get("transformer.wte.weight")
    if wte is None or wte.ndim != 2:
        raise UserError(f"{where}: missing transformer.wte.weight (the token embedding, vocab × d)")
    vocab, d = wte.shape
    layers = sorted({int(m.group(1)) for k in state for m in [re.match(r"transformer\.h\.(\d+)\.", k)] if m})
    n_layer = (layers[-1] + 1) if layers else 0
    if cfg_json.get("n_layer", n_layer) != n_layer:
        raise UserError(f"{where}: config.json says n_layer={cfg_json['n_layer']} but the weights have "
                        f"{n_layer} layers (transformer.h.0 … transformer.h.{n_layer - 1})")
    heads = n_head or cfg_json.get("n_head")
    if heads is None:
        raise UserError(f"{where}: no config.json, so the number of heads is unknown; pass it (--heads N)")
    if d % heads:
        raise UserError(f"{where}: width {d} is not divisible by {heads} heads")
    has_table = "transformer.wpe.weight" in state
    encoding = cfg_json.get("position_encoding", APE)
    if not has_table:
        if encoding != NOPE:
            notes.append("no transformer.wpe.weight: read as NoPE (no position table is invented)")
        encoding = NOPE
    elif encoding == NOPE:
        raise UserError(f"{where}: config.json says position_encoding 'nope' but the weights hold "
                        "transformer.wpe.weight")
    n_positions = state["transformer.wpe.weight"].shape[0] if has_table else cfg_json.get("n_positions", 1024)
    inner = cfg_json.get("n_inner")
    if inner is None and "transformer.h.0.mlp.c_fc.weight" in state:
        inner = state["transformer.h.0.mlp.c_fc.weight"].shape[1]
    head = BINARY_HEAD if "classifier.weight" in state else cfg_json.get("head", "lm")
    return GPT2Config(vocab_size=vocab, n_positions=n_positions, n_embd=d, n_layer=n_layer, n_head=heads,
                      n_inner=inner if inner != 4 * d else None,
                      activation_function=cfg_json.get("activation_function", "gelu_new"),
                      layer_norm_epsilon=cfg_json.get("layer_norm_epsilon", 1e-5),
                      position_encoding=encoding, regularizer_lambda=cfg_json.get("regularizer_lambda", 0.0),
                      head=head, tokens=tuple(cfg_json.get("tokens", ())))


def _validate(state, cfg: GPT2Config, where: str) -> None:
    expected = expected_shapes(cfg)
    problems = []
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [(k, tuple(state[k].shape), s) for k, s in expected.items() if k in state and tuple(state[k].shape) != s]
    if missing:
        problems.append(Problem(None, f"missing {len(missing)} key(s): {', '.join(missing[:8])}"
                                      f"{' …' if len(missing) > 8 else ''}",
                                "a GPT-2 checkpoint of this shape needs every one of them"))
    if unexpected:
        problems.append(Problem(None, f"unexpected {len(unexpected)} key(s): {', '.join(unexpected[:8])}"
                                      f"{' …' if len(unexpected) > 8 else ''}",
                                "not part of the GPT-2 layout (another architecture, or a modified GPT-2)"))
    for k, got, want in wrong[:8]:
        problems.append(Problem(None, f"{k} has shape {got}, expected {want}"))
    bad = [k for k, v in state.items() if not v.is_floating_point()]
    if bad:
        problems.append(Problem(None, f"non-float tensors: {', '.join(bad[:5])}"))
    if problems:
        raise UserError(f"{where}: not a valid GPT-2 checkpoint "
                        f"({cfg.n_layer} layers, d={cfg.n_embd}, {cfg.n_head} heads)", problems)


# ------------------------------------------------------------------------------------ writing
def save_pretrained(model, out_dir, extra_json: Optional[Dict[str, object]] = None) -> Path:
    """A Hugging Face folder (config.json + model.safetensors, lm_head left tied) plus extra JSON
    files; written to a temporary folder first and renamed, so a failure leaves nothing half-written."""
    from safetensors.torch import save_file
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: exists and is not empty; choose another output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / CONFIG).write_text(json.dumps(model.config.to_json(), indent=2))
        save_file(model.hf_state_dict(), str(tmp / SAFETENSORS), metadata={"format": "pt"})
        for name, data in (extra_json or {}).items():
            (tmp / name).write_text(json.dumps(data, indent=2, default=str))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
