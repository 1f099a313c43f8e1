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

import math
from dataclasses import dataclass
from typing import Optional, Union

from verify.crasp import ast as A
from verify.crasp.linear import StraightLine
from verify.limit.compiler.admit import admit, admit_numbers
from verify.limit.compiler.bounds import error_terms, magnitude_bounds
from verify.limit.compiler.plan import plan as make_plan
from verify.limit.compiler.weights import build_arrays
from verify.limit.model import LOGIT_SCALES, LimitTransformer
from verify.problems import UserError


@dataclass(frozen=True)
class CompileOptions:
    """[recon] choices with their defaults.

    bos: a BOS position exists (required by this construction).
    logit_scale: "log_i" (default) | "none" | "inv_sqrt_dhead" — stored in the model. With "log_i" the
        logits of row t are multiplied by ln(t + 1) and the softmax base is e, so a logit x weighs
        (t+1)^x: a guarded head's leak shrinks like (t+1)^(μ+1−λ), faster than the comparison margin
        1/(2(t+1)), and the model computes the program at EVERY length in exact arithmetic (proved per
        program by verify.limit.leak). "none" (and "inv_sqrt_dhead", the identity here: every head has
        d_head = 1) keeps fixed logits with base 2: the leak grows with t, so correctness has a finite,
        exactly computed horizon. Uniform heads have constant logits and stay uniform under any scale.
    softmax_base: None -> e for "log_i", 2 otherwise (integer logits then give rational weights).
    hardness: λ, the φ value at a guarded head's distance; None -> the smallest λ whose log-scaled
        obligation is proved for every length ("log_i"), or 120 (fixed logits).
    bos_bias: μ, the content logit a guarded head gives the BOS, so that a head with no target position
        (i − k < 0) reads the BOS (value 0) instead of averaging; None -> 1 ("log_i") or λ // 2.
    comparison: "layernorm" (sign by LayerNorm without ε on (x, −x); exact at every length) or "relu"
        (clip(slope·x, −1, 1); correct only while 1/(2(i+1)) >= 1/slope, kept to measure that failure).
    """

    bos: bool = True
    softmax_base: Optional[float] = None
    logit_scale: str = "log_i"
    hardness: Optional[int] = None
    bos_bias: Optional[int] = None
    comparison: str = "layernorm"
    slope: float = 1024.0


FIXED_HARDNESS = 120


def resolve(options: CompileOptions, line: StraightLine, terms) -> CompileOptions:
    """Fill in the defaults that depend on the scale and on the program (λ from the leak obligation)."""
    from dataclasses import replace

    from verify.limit.leak import auto_hardness
    if options.logit_scale not in LOGIT_SCALES:
        raise UserError(f"logit scale must be one of {', '.join(LOGIT_SCALES)}, not {options.logit_scale!r}")
    scaled = options.logit_scale == "log_i"
    base = options.softmax_base if options.softmax_base is not None else (math.e if scaled else 2.0)
    if scaled and base != math.e:
        raise UserError("the log_i logit scale is compiled with softmax base e (weights (t+1)^logit); "
                        "leave the base unset")
    mu = options.bos_bias
    if mu is None:
        mu = 1 if scaled else (options.hardness if options.hardness is not None else FIXED_HARDNESS) // 2
    lam = options.hardness
    if lam is None:
        lam = auto_hardness(line, terms, mu) if scaled else FIXED_HARDNESS
    return replace(options, softmax_base=base, bos_bias=mu, hardness=lam)


def compile_program(program: Union[A.Program, StraightLine], options: CompileOptions = CompileOptions(),
                    **overrides) -> LimitTransformer:
    """Compile a C-RASP[periodic, local] program into a LimitTransformer (keyword overrides allowed:
    compile_program(p, comparison="relu", slope=64))."""
    if overrides:
        options = CompileOptions(**{**options.__dict__, **overrides})
    line = admit(program, options)
    bounds = magnitude_bounds(line)
    terms = error_terms(line, bounds)
    options = resolve(options, line, terms)
    admit_numbers(options)
    the_plan = make_plan(line, options, bounds)
    arrays = build_arrays(the_plan, options, terms)
    return LimitTransformer(alphabet=tuple(line.alphabet), bos=options.bos, softmax_base=options.softmax_base,
                            logit_scale=options.logit_scale, program=line, **arrays)
