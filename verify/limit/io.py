"""Saving a finite transformer T_N: npz (always) or safetensors (when the package is installed).

A path without a suffix is a Hugging Face folder instead (torch_bridge.hf_compiled: config.json,
model.safetensors with these keys, and the modeling code `transformers` loads with trust_remote_code=True).

Keys (all float64 arrays): `embedding` (V × d), `positions` ((N+1) × d, row 0 = the BOS position),
`unembedding` (outputs × d), and per layer l / head h: `layers.l.heads.h.{query,key,value,output}`,
`layers.l.norm.{read,write,bias}` (LayerNorm without ε on (x, −x): y += write·sign(read·y) + bias),
`layers.l.mlp.{w_in,b_in,w_out,b_out}` (y += w_out·relu(w_in·y + b_in) + b_out). A head realizing a
local φ in the banded form also has `layers.l.heads.h.band` ((N+1) × (τ+1): band[i, k] = p_{i−k}ᵀKᵀQp_i);
`save_finite(..., dense=True)` writes the dense form instead (one-hot absolute-position columns, no
bands). The metadata (JSON string; npz key `metadata`) holds the alphabet, vocabulary, output keys,
threshold, context N, softmax base, logit scale, the representation and the layer structure. Files are
written to a temporary name and renamed (verify.outputs.staged_file), so nothing is left behind on failure.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Dict

import numpy as np

from verify.limit.model import MLP, FiniteTransformer, Head, Layer, SignNorm
from verify.outputs import ensure_parent
from verify.problems import UserError

FORMATS = (".npz", ".safetensors")


def tensors(finite: FiniteTransformer) -> Dict[str, np.ndarray]:
    out = {"embedding": finite.embedding, "positions": finite.positions, "unembedding": finite.unembedding}
    for li, layer in enumerate(finite.layers):
        for hi, h in enumerate(layer.heads):
            for name in ("query", "key", "value", "output"):
                out[f"layers.{li}.heads.{hi}.{name}"] = getattr(h, name)
            if h.band is not None:
                out[f"layers.{li}.heads.{hi}.band"] = h.band
        if layer.norm is not None:
            for name in ("read", "write", "bias"):
                out[f"layers.{li}.norm.{name}"] = getattr(layer.norm, name)
        if layer.mlp is not None:
            for name in ("w_in", "b_in", "w_out", "b_out"):
                out[f"layers.{li}.mlp.{name}"] = getattr(layer.mlp, name)
    return {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in out.items()}


def metadata(finite: FiniteTransformer) -> Dict[str, object]:
    return {"format": "lengthgen-verify finite transformer v1", "alphabet": list(finite.alphabet),
            "vocab": list(finite.vocab), "output_keys": list(finite.output_keys), "threshold": finite.threshold,
            "context": finite.context, "bos": finite.bos, "softmax_base": finite.softmax_base,
            "logit_scale": finite.logit_scale,
            "representation": "banded" if getattr(finite, "banded", False) else "dense",
            "layers": [{"heads": len(l.heads), "norm": l.norm is not None, "mlp": l.mlp is not None,
                        "bands": [hi for hi, h in enumerate(l.heads) if h.band is not None]}
                       for l in finite.layers]}


def is_folder_target(path) -> bool:
    """An --out without a suffix (or ending in a slash) names a Hugging Face folder (torch_bridge.hf_compiled)."""
    return str(path).endswith(("/", os.sep)) or Path(path).suffix == ""


def check_out_target(path, flag: str = "--out") -> None:
    """Before the work: `path` can be written (a file ending in FORMATS, or a folder that does not exist yet:
    nothing that is there already, not even an empty folder, is replaced)."""
    from verify.outputs import check_file_target, check_folder_target
    if is_folder_target(path):
        if os.path.lexists(str(path).rstrip("/" + os.sep) or str(path)):
            raise UserError(f"{flag} {str(path)!r}: exists; a Hugging Face folder is written to a new path "
                            f"(or give a file name ending in {' or '.join(FORMATS)})")
        check_folder_target(path, flag)
    else:
        check_file_target(path, flag, FORMATS)


def save_finite(finite: FiniteTransformer, path: str, dense: bool = False) -> str:
    target = Path(path)
    suffix = target.suffix.lower()
    if is_folder_target(path):   # a save_pretrained folder that transformers loads (trust_remote_code=True)
        from torch_bridge.hf_compiled import save_pretrained_folder
        if dense:
            from verify.limit.realize import densify
            finite = densify(finite)
        return save_pretrained_folder(finite, path)
    if suffix not in FORMATS:
        raise UserError(f"--out must end in {' or '.join(FORMATS)} (got {target.name!r})")
    if suffix == ".safetensors":
        try:
            from safetensors.numpy import save_file
        except ImportError:
            raise UserError("writing .safetensors needs the safetensors package "
                            "(pip install 'lengthgen-verify[torch]'); .npz needs nothing") from None
    if dense:
        from verify.limit.realize import densify
        finite = densify(finite)
    arrays, meta = tensors(finite), metadata(finite)

    def write(tmp: str) -> None:
        if suffix == ".npz":
            with open(tmp, "wb") as f:
                np.savez(f, metadata=np.array(json.dumps(meta)), **arrays)
        else:
            try:
                save_file(arrays, tmp, metadata={"json": json.dumps(meta)})
            except Exception as err:   # safetensors reports a failed write (a full disk) as its own error
                code = re.search(r"\(os error (\d+)\)", str(err))
                if code is None:
                    raise
                raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from None

    try:
        from verify.outputs import staged_file
    except ImportError:   # older tree: temporary name + rename by hand
        staged_file = None
    if staged_file is not None:
        with staged_file(target, "--out") as tmp:
            write(str(tmp))
        return str(target)
    ensure_parent(target, "--out")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=str(target.parent))
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(target)


def load_finite(path: str) -> FiniteTransformer:
    p = Path(path)
    if p.suffix.lower() == ".npz":
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("metadata")))
    else:
        from safetensors.numpy import load_file
        from safetensors import safe_open
        arrays = load_file(str(p))
        with safe_open(str(p), "np") as f:
            meta = json.loads(f.metadata()["json"])
    layers = []
    for li, spec in enumerate(meta["layers"]):
        heads = tuple(Head(*(arrays[f"layers.{li}.heads.{hi}.{n}"] for n in ("query", "key", "value", "output")),
                           band=arrays.get(f"layers.{li}.heads.{hi}.band"))
                      for hi in range(spec["heads"]))
        norm = SignNorm(*(arrays[f"layers.{li}.norm.{n}"] for n in ("read", "write", "bias"))) if spec["norm"] else None
        mlp = MLP(*(arrays[f"layers.{li}.mlp.{n}"] for n in ("w_in", "b_in", "w_out", "b_out"))) if spec["mlp"] else None
        layers.append(Layer(heads, norm, mlp))
    return FiniteTransformer(alphabet=tuple(meta["alphabet"]), embedding=arrays["embedding"],
                             positions=arrays["positions"], layers=tuple(layers), unembedding=arrays["unembedding"],
                             output_keys=tuple(meta["output_keys"]), threshold=meta["threshold"], bos=meta["bos"],
                             softmax_base=meta["softmax_base"], logit_scale=meta["logit_scale"],
                             context=meta["context"])
