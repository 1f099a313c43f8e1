"""Theorem 9 as a compiler: C-RASP[periodic, local] program -> LimitTransformer (SPEC §2).

Stable interface:

    from verify.limit.compiler import compile_program, CompileOptions
    model = compile_program(program)             # a verify.crasp Program or StraightLine

The pipeline, one module per stage:
    admit    (admit.py)   well-formed, inside the fragment, options valid — else UserError naming the op
    bounds   (bounds.py)  |C(i)/(i+1)| bounds and a-priori float error terms per count
    plan     (plan.py)    residual coordinates, functionals, which sublayer computes each op
    weights  (weights.py) the arrays of the LimitTransformer and its Layout
The model satisfies PERIODIC (positions = one-hot of i mod Δ, Δ = lcm of the moduli) and LOCAL (φ tables
of length max distance + 1) by construction; agreement with the interpreter is checked, not assumed
(verify.limit.agreement).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from verify.crasp import ast as A
from verify.crasp.linear import StraightLine
from verify.limit.compiler.admit import admit
from verify.limit.compiler.bounds import error_terms, magnitude_bounds
from verify.limit.compiler.plan import plan as make_plan
from verify.limit.compiler.weights import build_arrays
from verify.limit.model import LimitTransformer


@dataclass(frozen=True)
class CompileOptions:
    """[recon] choices with their defaults.

    bos: a BOS position exists (required by this construction).
    softmax_base: 2 — integer logits then give rational attention weights (exact mode works).
    logit_scale: "none" | "inv_sqrt_dhead" | "log_i" — stored in the model; every head has d_head = 1,
        so inv_sqrt_dhead is the identity, and log_i only sharpens the guarded heads (ln(t+1) >= ln 2 ·
        hardness stays large) while uniform heads stay uniform.
    hardness: λ, the φ value at a guarded head's distance (integer; base^-(λ-μ) bounds the leak).
    bos_bias: μ, the content logit a guarded head gives the BOS, so that a head with no target position
        (i − k < 0) reads the BOS (value 0) instead of averaging.
    comparison: "layernorm" (sign by LayerNorm without ε on (x, −x); exact at every length) or "relu"
        (clip(slope·x, −1, 1); correct only while 1/(2(i+1)) >= 1/slope, kept to measure that failure).
    """

    bos: bool = True
    softmax_base: float = 2.0
    logit_scale: str = "none"
    hardness: int = 120
    bos_bias: int = 60
    comparison: str = "layernorm"
    slope: float = 1024.0


def compile_program(program: Union[A.Program, StraightLine], options: CompileOptions = CompileOptions(),
                    **overrides) -> LimitTransformer:
    """Compile a C-RASP[periodic, local] program into a LimitTransformer (keyword overrides allowed:
    compile_program(p, comparison="relu", slope=64))."""
    if overrides:
        options = CompileOptions(**{**options.__dict__, **overrides})
    line = admit(program, options)
    bounds = magnitude_bounds(line)
    the_plan = make_plan(line, options, bounds)
    arrays = build_arrays(the_plan, options, error_terms(line, bounds))
    return LimitTransformer(alphabet=tuple(line.alphabet), bos=options.bos, softmax_base=options.softmax_base,
                            logit_scale=options.logit_scale, program=line, **arrays)
