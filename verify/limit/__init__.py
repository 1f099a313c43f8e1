"""Limit Transformers (SPEC §2-3): model, forward pass, compiler (Theorem 9), finite realization (banded),
the leak obligation (leak: exact at every length, proved with sympy), what compile certifies (certify:
(a) Limit Transformer, (b) float64 horizon, (c) T_N), PERIODIC/LOCAL conditions, regularizers. See each
module's docstring for its stable interface."""
