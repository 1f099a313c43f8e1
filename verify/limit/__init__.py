"""Limit Transformers (SPEC §2-3): model, forward pass, compiler (Theorem 9), finite realization,
PERIODIC/LOCAL conditions, regularizers. See each module's docstring for its stable interface."""
