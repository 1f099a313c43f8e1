"""Reading and writing GPT-2 checkpoints (SPEC §6) without ever running code from a file.

Accepted: a Hugging Face folder (config.json + model.safetensors or pytorch_model.bin), or a
single weights file (.safetensors, or a torch.save pickle: .bin/.pt/.pth) holding a state dict
with or without the `transformer.` prefix (also under "state_dict"/"model", or with DDP's
`module.` prefix). Pickles load only with `weights_only=True`: a pickle that needs any other
class or function is refused, and nothing in it runs. A checkpoint without
`transformer.wpe.weight` is NoPE — never given a table; one whose config.json says
position_encoding "nope" may hold an all-zero table (what save_pretrained writes for transformers),
read as no table; a non-zero one is refused. Also read: a TransformerLens state dict
(torch_bridge.transformer_lens converts it), and a hub-cache snapshot (torch_bridge.hf.resolve).
Every mistake is a UserError naming the keys at fault.

Order of checks (nothing is sized from a file before it is checked): the file's size against the
memory available; config.json's types and ranges (torch_bridge.config.config_problems); the tensor
names (strings, layer indices below MAX_LAYERS — from the safetensors header before any tensor is
read); then shapes against the config, dtypes, and finiteness (NaN/±Inf refused with the tensor name).

The state is numpy (float32): a safetensors checkpoint is read and audited without importing torch (the
import alone takes ~1.5 s and ~240 MB); torch is imported only to read a pickle, or a safetensors file
holding a dtype numpy lacks (F8), and by Checkpoint.model().
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from torch_bridge import INSTALL_HINT
from torch_bridge.config import (APE, BINARY_HEAD, MAX_HEADS, MAX_LAYERS, MAX_POSITIONS, MAX_VOCAB, MAX_WIDTH, NOPE,
                                  GPT2Config, config_problems, is_int)
from verify.problems import Problem, UserError

SAFETENSORS = "model.safetensors"
PICKLE = "pytorch_model.bin"
CONFIG = "config.json"
_BUFFERS = re.compile(r"^transformer\.h\.\d+\.attn\.(bias|masked_bias)$")
_LAYER = re.compile(r"^(?:module\.)?(?:transformer\.)?h\.(\d+)\.")
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
    state: Dict[str, np.ndarray]        # Hugging Face names, float32, no buffers, no lm_head
    source: str
    file_format: str                    # "safetensors" or "pickle (weights_only)"
    notes: Tuple[str, ...] = ()

    @property
    def nope(self) -> bool:
        return not self.config.has_position_table

    def array(self, key: str) -> np.ndarray:
        return self.state[key]

    def position_table(self) -> Optional[np.ndarray]:
        return None if self.nope else self.array("transformer.wpe.weight")

    def c_attn(self, layer: int) -> np.ndarray:
        return self.array(f"transformer.h.{layer}.attn.c_attn.weight")

    def model(self):
        import torch
        from torch_bridge.model import GPT2
        m = GPT2(self.config)
        m.load_state_dict({k: torch.tensor(v) for k, v in self.state.items()}, strict=True)
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
def _read_safetensors(path: Path) -> Dict[str, np.ndarray]:
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:
        raise UserError(f"{path}: a safetensors file, read with the safetensors package; {INSTALL_HINT}",
                        exit_code=2) from None
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8 or int.from_bytes(head, "little") > size - 8:
        raise UserError(f"{path}: truncated or corrupt safetensors file (the header says "
                        f"{int.from_bytes(head, 'little') if len(head) == 8 else '?'} header bytes, "
                        f"the file has {size} bytes)")
    try:
        with safe_open(str(path), framework="np") as f:   # opening checks the header: names, dtypes, offsets
            keys = list(f.keys())
            _check_names(keys, str(path))
            dtypes = {k: f.get_slice(k).get_dtype() for k in keys}
            if any(dt not in _NUMPY_DTYPES for dt in dtypes.values()):   # float8: only torch holds it
                other = sorted(set(dtypes.values()) - set(_NUMPY_DTYPES))
                torch = _import_torch(path, f"a safetensors file with {', '.join(other)} tensors")
                from safetensors.torch import load_file
                return {k: _numpy(torch, v, k, path) for k, v in load_file(str(path), device="cpu").items()}
            header = _header(path) if "BF16" in dtypes.values() else {}
            return {k: _bfloat16(path, header, k) if dt == "BF16" else f.get_tensor(k) for k, dt in dtypes.items()}
    except (SafetensorError, ValueError, OSError, RuntimeError, TypeError) as ex:
        raise UserError(f"{path}: corrupt or truncated safetensors file ({ex})") from None


# safetensors dtypes numpy holds; BF16 is widened by _bfloat16, anything else (F8_*) is read through torch
_NUMPY_DTYPES = ("F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL")


def _header(path: Path) -> dict:
    """The safetensors header (JSON), with the byte where the data starts under None (no JSON key is None)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return {**json.loads(f.read(n)), None: 8 + n}


def _bfloat16(path: Path, header: dict, key: str) -> np.ndarray:
    """A bfloat16 tensor as float32, without torch: bfloat16 is the high 16 bits of a float32, so the widening is
    exact. The offsets come from the header that safe_open has already checked against the file size."""
    entry = header[key]
    begin, end = entry["data_offsets"]
    raw = np.fromfile(path, dtype="<u2", count=(end - begin) // 2, offset=header[None] + begin)
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"])


def _import_torch(path: Path, what: str):
    try:
        import torch
    except ImportError:
        raise UserError(f"{path}: {what}, read with torch; {INSTALL_HINT}", exit_code=2) from None
    return torch


def _numpy(torch, value, key: str, path: Path) -> np.ndarray:
    """A loaded tensor as a numpy array; dtypes numpy lacks (bfloat16, float8) are widened to float32 (exact)."""
    value = value.detach().cpu()
    if value.is_floating_point() and value.dtype not in (torch.float16, torch.float32, torch.float64):
        value = value.float()
    try:
        return value.numpy()
    except (TypeError, RuntimeError) as ex:
        raise UserError(f"{path}: {key} ({value.dtype}, {value.layout}) cannot be read as an array ({ex})") from None


def _read_pickle(path: Path) -> Dict[str, np.ndarray]:
    torch = _import_torch(path, "a torch pickle (.bin/.pt/.pth)")
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
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError,
            OverflowError, RecursionError, struct.error) as ex:   # the weights-only unpickler on a file that
        # is not a checkpoint: "pop from empty list" (IndexError), an unknown memo key (KeyError), ...
        raise UserError(f"{path}: not a readable torch checkpoint ({type(ex).__name__}: "
                        f"{str(ex).splitlines()[0] if str(ex) else ''})") from None
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise UserError(f"{path}: expected a state dict (names -> tensors), found {type(obj).__name__}")
    _check_names(list(obj), str(path))
    return {k: _numpy(torch, v, k, path) for k, v in obj.items()}


def _check_names(keys, where: str) -> None:
    """Before anything is sized from the names: every name is a string and no layer index is absurd
    (a 7 kB file naming transformer.h.999999999 must not make anything loop over a billion layers)."""
    bad = [k for k in keys if not isinstance(k, str)]
    if bad:
        raise UserError(f"{where}: tensor names must be strings; found {', '.join(repr(k) for k in bad[:5])}"
                        f"{' …' if len(bad) > 5 else ''}")
    for k in keys:
        m = _LAYER.match(k)
        if m and int(m.group(1)) >= MAX_LAYERS:
            raise UserError(f"{where}: {k!r} names layer {m.group(1)}, beyond the {MAX_LAYERS} layers this toolkit "
                            f"reads (transformer.h.0 … transformer.h.{MAX_LAYERS - 1})")


def _check_memory(path: Path) -> None:
    """Reading a weights file holds it in memory and converts it to float32: refuse before reading when
    that estimate exceeds the memory available."""
    size = path.stat().st_size
    need = 3 * size
    free = _available_memory()
    if free is not None and need > free:
        raise UserError(f"{path}: reading this {size / 2**30:.1f} GiB file needs about {need / 2**30:.1f} GiB of "
                        f"memory (the file, and float32 copies), more than the {free / 2**30:.1f} GiB available")


def _available_memory() -> Optional[int]:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _normalize(raw: Dict[str, np.ndarray], where: str) -> Tuple[Dict[str, np.ndarray], list]:
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
        if wte is not None and not np.array_equal(lm, wte):
            notes.append("lm_head.weight differs from transformer.wte.weight (untied); this model ties them, "
                         "so logits follow wte")
    return state, notes


MAX_CONFIG_BYTES = 1 << 20   # a GPT-2 config.json is about a kilobyte


def _read_config(path: Path) -> dict:
    # a regular file of at most MAX_CONFIG_BYTES, UTF-8 JSON (a FIFO is refused, never waited on; deep nesting
    # is a user error): verify.inputs
    from verify.inputs import read_json
    cfg = read_json(str(path), "config.json", MAX_CONFIG_BYTES)
    if not isinstance(cfg, dict):
        raise UserError(f"{path}: config.json must hold a JSON object")
    model_type = cfg.get("model_type", "gpt2")
    if model_type == "lengthgen_compiled":   # `verify compile --out DIR` (torch_bridge.hf_compiled)
        raise UserError(f"{path}: a compiled T_N's Hugging Face folder (verify compile --out); audit its weights "
                        f"file, {path.parent / SAFETENSORS}")
    if model_type != "gpt2":
        raise UserError(f"{path}: a checkpoint of another architecture (model_type {model_type!r}); "
                        "this toolkit reads GPT-2 (model_type 'gpt2')")
    problems = config_problems(cfg)   # its default names are torch_bridge.model's activations (a test checks)
    if problems:
        raise UserError(f"{path}: invalid config.json", [Problem(None, what) for _, what in problems])
    return cfg


def load_checkpoint(path, n_head: Optional[int] = None) -> Checkpoint:
    """A Hugging Face folder or a single weights file -> a validated Checkpoint."""
    from torch_bridge import hf
    path = hf.resolve(path)     # a hub-cache repo folder or a cached ORG/NAME -> its snapshot; never downloads
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
    if not weights.is_file():
        raise UserError(f"{weights}: not a file")
    _check_memory(weights)
    if weights.suffix == ".safetensors" or _safetensors_magic(weights):   # or a safetensors file with another name
        raw, fmt = _read_safetensors(weights), "safetensors"
    else:
        raw, fmt = _read_pickle(weights), "pickle (weights_only)"
    from torch_bridge import transformer_lens
    tl_notes = []
    if transformer_lens.is_transformer_lens(raw):
        raw, tl_heads, tl_notes = transformer_lens.to_gpt2(raw, str(weights))
        if n_head is not None and n_head != tl_heads:
            raise UserError(f"{weights}: --heads {n_head}, but its attn.W_Q holds {tl_heads} heads")
        n_head, fmt = tl_heads, fmt + ", TransformerLens names"
    state, notes = _normalize(raw, str(weights))
    notes = tl_notes + notes
    cfg = _config(state, cfg_json, n_head, str(path), notes)
    _validate(state, cfg, str(weights))
    state = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}
    return Checkpoint(cfg, state, str(path), fmt, tuple(notes))


def _safetensors_magic(path: Path) -> bool:
    """A file that starts like safetensors (a little-endian header length inside the file), not like a torch
    pickle (protocol byte 0x80) or zip (PK)."""
    with open(path, "rb") as f:
        magic = f.read(8)
    return len(magic) >= 8 and int.from_bytes(magic, "little") < path.stat().st_size and magic[:1] not in (b"\x80", b"P")


def needs_torch(path) -> bool:
    """Whether reading this checkpoint imports torch: a torch pickle does (.bin/.pt/.pth, a folder holding only
    pytorch_model.bin); safetensors (and `verify compile --out`'s .npz) do not. Anything not recognisably one
    of those (a folder with no weights) counts as needing torch, so a user without it hears how to get it."""
    from torch_bridge import hf
    p = hf.resolve(path)
    if p.is_dir():
        return not (p / SAFETENSORS).is_file()
    if not p.is_file():
        return True
    return not (p.suffix == ".safetensors" or p.suffix.lower() == ".npz" or _safetensors_magic(p))


def _config(state, cfg_json: dict, n_head: Optional[int], where: str, notes: list) -> GPT2Config:
    wte = state.get("transformer.wte.weight")
    if wte is None or wte.ndim != 2:
        raise UserError(f"{where}: missing transformer.wte.weight (the token embedding, vocab × d)"
                        + ("" if wte is None else f"; found a tensor of shape {tuple(wte.shape)}"))
    vocab, d = (int(x) for x in wte.shape)
    if not (1 <= vocab <= MAX_VOCAB and 1 <= d <= MAX_WIDTH):
        raise UserError(f"{where}: transformer.wte.weight has shape {(vocab, d)}; expected vocab in 1..{MAX_VOCAB} "
                        f"and width d in 1..{MAX_WIDTH}")
    layers = sorted({int(m.group(1)) for k in state for m in [re.match(r"transformer\.h\.(\d+)\.", k)] if m})
    n_layer = (layers[-1] + 1) if layers else 0
    if n_layer == 0:
        raise UserError(f"{where}: no transformer blocks (no transformer.h.0.* tensors): nothing to read or audit")
    if cfg_json.get("n_layer", n_layer) != n_layer:
        raise UserError(f"{where}: config.json says n_layer={cfg_json['n_layer']} but the weights have "
                        f"{n_layer} layers (transformer.h.0 … transformer.h.{n_layer - 1})")
    for key, got in (("n_embd", d), ("vocab_size", vocab)):
        if key in cfg_json and cfg_json[key] != got:
            raise UserError(f"{where}: config.json says {key}={cfg_json[key]} but transformer.wte.weight has "
                            f"shape {(vocab, d)}")
    if n_head is not None and (not is_int(n_head) or not 1 <= n_head <= MAX_HEADS):
        raise UserError(f"--heads must be an integer in 1..{MAX_HEADS}, not {n_head!r}")
    heads = n_head if n_head is not None else cfg_json.get("n_head")
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
    elif encoding != NOPE and "position_encoding" not in cfg_json and state["transformer.wpe.weight"].size > 0 \
            and bool((state["transformer.wpe.weight"] == 0).all()):
        notes.append("transformer.wpe.weight is all zero and config.json names no position_encoding: read as NoPE "
                     "(a zero table adds nothing)")
        encoding = NOPE
    if has_table and encoding == NOPE:
        table = state["transformer.wpe.weight"]
        if table.ndim != 2 or table.shape[1] != d or not bool((table == 0).all()):
            raise UserError(f"{where}: config.json says position_encoding 'nope' but the weights hold a non-zero "
                            "transformer.wpe.weight (a NoPE checkpoint carries no table, or an all-zero one "
                            "written for transformers)")
        if cfg_json.get("n_positions", table.shape[0]) != table.shape[0]:
            raise UserError(f"{where}: config.json says n_positions={cfg_json['n_positions']} but the zero "
                            f"transformer.wpe.weight has {table.shape[0]} rows")
        state.pop("transformer.wpe.weight")   # the zero table of a NoPE save: no table, as NoPE has none
        has_table = False
    n_positions = int(state["transformer.wpe.weight"].shape[0]) if has_table else cfg_json.get("n_positions", 1024)
    if has_table:
        if not 1 <= n_positions <= MAX_POSITIONS:
            raise UserError(f"{where}: transformer.wpe.weight has {n_positions} rows; expected 1..{MAX_POSITIONS}")
        if cfg_json.get("n_positions", n_positions) != n_positions:
            raise UserError(f"{where}: config.json says n_positions={cfg_json['n_positions']} but "
                            f"transformer.wpe.weight has {n_positions} rows")
    inner = cfg_json.get("n_inner")
    fc = state.get("transformer.h.0.mlp.c_fc.weight")
    if inner is None and fc is not None and fc.ndim == 2 and fc.shape[1] >= 1:
        inner = int(fc.shape[1])
    head = BINARY_HEAD if "classifier.weight" in state else cfg_json.get("head", "lm")
    return GPT2Config(vocab_size=vocab, n_positions=n_positions, n_embd=d, n_layer=n_layer, n_head=heads,
                      n_inner=inner if inner != 4 * d else None,
                      activation_function=cfg_json.get("activation_function", "gelu_new"),
                      layer_norm_epsilon=cfg_json.get("layer_norm_epsilon", 1e-5),
                      position_encoding=encoding, regularizer_lambda=cfg_json.get("regularizer_lambda", 0.0),
                      head=head, tokens=tuple(cfg_json.get("tokens", ())),
                      **{k: cfg_json[k] for k in ("bos_token", "sep_token", "eos_token", "protocol")
                         if cfg_json.get(k) is not None})


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
    bad = [k for k, v in state.items() if not np.issubdtype(v.dtype, np.floating)]
    if bad:
        problems.append(Problem(None, f"non-float tensors: {', '.join(bad[:5])}"))
    if problems:
        raise UserError(f"{where}: not a valid GPT-2 checkpoint "
                        f"({cfg.n_layer} layers, d={cfg.n_embd}, {cfg.n_head} heads)", problems)
    nonfinite = [(k, n) for k, v in state.items() for n in [int(v.size - np.count_nonzero(np.isfinite(v)))] if n]
    if nonfinite:
        raise UserError(f"{where}: non-finite weights (NaN or ±Inf); nothing measured on them would mean anything",
                        [Problem(None, f"{k}: {n} of {state[k].size} entries are NaN or ±Inf")
                         for k, n in nonfinite[:8]]
                        + ([Problem(None, f"… and {len(nonfinite) - 8} more tensors")] if len(nonfinite) > 8 else []))


# ------------------------------------------------------------------------------------ writing
def save_pretrained(model, out_dir, extra_json: Optional[Dict[str, object]] = None,
                    notes: Optional[list] = None) -> Path:
    """A Hugging Face folder: config.json + model.safetensors (lm_head left tied; NoPE with an all-zero
    wpe, see GPT2.hf_state_dict), generation_config.json (LM head with an <eos>), tokenizer.json +
    tokenizer_config.json (torch_bridge.hf; skipped with a note when tokenizers/transformers are not
    installed), plus extra JSON files. Written to a temporary folder first and renamed, so a failure
    leaves nothing half-written. What was not written is appended to `notes` (when given) and logged."""
    from safetensors.torch import save_file
    from torch_bridge import hf
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: exists and is not empty; choose another output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    said, quiet = [], None
    try:
        (tmp / CONFIG).write_text(json.dumps(model.config.to_json(), indent=2))
        save_file(model.hf_state_dict(), str(tmp / SAFETENSORS), metadata={"format": "pt"})
        gen = hf.generation_config(model.config)
        if gen is not None:
            (tmp / hf.GENERATION_CONFIG).write_text(json.dumps(gen, indent=2))
        if hf.tokenizer_problem(list(model.config.tokens)) is None:   # a model with a task's tokens
            why = hf.write_tokenizer(model.config, tmp)
            if why is not None:
                said.append(why)
        else:   # e.g. a bare test model: nothing to tokenize, nothing to warn about
            quiet = f"no tokenizer written: {hf.tokenizer_problem(list(model.config.tokens))}"
        for name, data in (extra_json or {}).items():
            (tmp / name).write_text(json.dumps(data, indent=2, default=str))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for note in said:
        logging.getLogger("torch_bridge").warning("%s: %s", out, note)
    if notes is not None:
        notes.extend(said + ([quiet] if quiet else []))
    return out
