"""torch_bridge: GPT-2 weights, checkpoint loading, audit of PERIODIC/LOCAL, training (SPEC §5–6).

The only package of the project that imports torch. Numpy-only modules, safe to import without
torch: positional, scores, results, checkpoint (torch only inside the pickle reader and
`Checkpoint.model()`), transformer_lens (`to_gpt2`), audit and hf. The others (model, train,
export, ...) import torch at module level, so the core `verify` imports them lazily, inside
command functions.
"""

INSTALL_HINT = ("this command needs torch: pip install 'lengthgen-verify[torch]' "
                "(or pip install torch==2.13.0 safetensors)")


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False
