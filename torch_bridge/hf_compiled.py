"""`verify compile --out DIR` (a path without a suffix): T_N as a Hugging Face `save_pretrained` folder that
`transformers.AutoModel.from_pretrained(DIR, trust_remote_code=True)` loads, float64, with the scores of
verify.limit.forward (torch_bridge.hf_compiled_modeling; tests/test_hf_compiled.py).

The folder: config.json (model_type `lengthgen_compiled`, `auto_map` to the modeling file, the metadata of
verify.limit.io plus every tensor's shape, `dtype` float64), model.safetensors (verify.limit.io's tensors,
float64, with its metadata, so `verify audit DIR/model.safetensors` reads it as `compile --out`'s file),
modeling_lengthgen_compiled.py and compiled_forward.py (this package's two files, copied: the folder needs
torch and transformers, not lengthgen-verify). Written numpy-only (no torch import), to a temporary folder
renamed at the end (verify.outputs.staged_folder), so a failure leaves nothing.
"""
from __future__ import annotations

import json
from pathlib import Path

from verify.problems import UserError

MODELING_FILE = "modeling_lengthgen_compiled.py"
FORWARD_FILE = "compiled_forward.py"
HERE = Path(__file__).resolve().parent


def save_pretrained_folder(finite, folder, flag: str = "--out") -> str:
    """Write T_N (a verify.limit FiniteTransformer) into `folder` (missing, or an empty folder)."""
    from verify.limit.io import metadata, tensors
    from verify.outputs import staged_folder
    try:
        from safetensors.numpy import save_file
    except ImportError:
        raise UserError(f"{flag} FOLDER (a Hugging Face folder) needs the safetensors package "
                        "(pip install 'lengthgen-verify[torch]'); .npz needs nothing") from None
    arrays, meta = tensors(finite), metadata(finite)
    config = {"model_type": "lengthgen_compiled", "architectures": ["CompiledTransformerModel"],
              "auto_map": {"AutoConfig": f"{MODELING_FILE[:-3]}.CompiledTransformerConfig",
                           "AutoModel": f"{MODELING_FILE[:-3]}.CompiledTransformerModel"},
              "dtype": "float64", "bos_id": finite.bos_id,
              **{k: v for k, v in meta.items() if k != "format"}, "format": meta["format"],
              "shapes": {k: list(v.shape) for k, v in arrays.items()}}
    with staged_folder(folder, flag) as tmp:
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        save_file(arrays, str(tmp / "model.safetensors"), metadata={"format": "pt", "json": json.dumps(meta)})
        (tmp / MODELING_FILE).write_text((HERE / "hf_compiled_modeling.py").read_text(encoding="utf-8"),
                                         encoding="utf-8")
        (tmp / FORWARD_FILE).write_text((HERE / FORWARD_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    return str(folder)
