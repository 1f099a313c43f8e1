"""torch_bridge: GPT-2 weights, checkpoint loading, audit of PERIODIC/LOCAL, training (SPEC §5–6).

The only package of the project that imports torch. Modules whose names end in `_np` or that
say so in their docstring (positional, scores, results) are numpy-only and safe to import
without torch; everything else imports torch at module level, so the core `verify` imports
them lazily, inside command functions.
"""

INSTALL_HINT = ("this command needs torch: pip install 'lengthgen-verify[torch]' "
                "(or pip install torch==2.13.0 safetensors)")


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False
