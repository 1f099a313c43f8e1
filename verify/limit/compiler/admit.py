"""Stage 1: admit a program — well-formed, inside C-RASP[periodic, local], compilable with the options.

Every refusal is a UserError naming the offending operation."""
from __future__ import annotations

from typing import List, Union

from verify.crasp import ast as A
from verify.crasp.checks import check_program
from verify.crasp.linear import KINDS, StraightLine, flatten
from verify.problems import Problem, UserError


def admit(program: Union[A.Program, StraightLine], options) -> StraightLine:
    """The core straight-line form (or/min/max rewritten) of an admissible program."""
    if isinstance(program, A.Program):
        problems = check_program(program)
        if problems:
            raise UserError(f"{program.source}: cannot compile: the program has {len(problems)} problem(s)",
                            problems)
        line = flatten(program, core=True)
    elif isinstance(program, StraightLine):
        line = program
    else:
        raise UserError(f"cannot compile {type(program).__name__}: give a C-RASP Program or StraightLine")
    problems: List[Problem] = []
    for op in line.ops:
        if op.kind not in KINDS:
            problems.append(Problem(None, f"operation %{op.index} {op.label()} is not a C-RASP operation"))
        elif op.kind in ("or", "min", "max"):
            problems.append(Problem(None, f"operation %{op.index} {op.label()} is sugar",
                                    "flatten with core=True before compiling"))
        elif op.kind == "guarded_count":
            ds = op.param
            if not isinstance(ds, tuple) or not ds or any(not isinstance(d, int) or d < 0 for d in ds):
                problems.append(Problem(None, f"operation %{op.index} {op.label()}: the guard is not a finite "
                                              f"set of distances i - j >= 0",
                                        "guards must be translation invariant and local (SPEC §1)"))
        elif op.kind == "periodic":
            m, residues = op.param
            if not isinstance(m, int) or m < 1:
                problems.append(Problem(None, f"operation %{op.index} {op.label()}: modulus must be >= 1"))
    if problems:
        raise UserError("cannot compile: operations outside C-RASP[periodic, local]", problems)
    from verify.limit.model import BOS_TOKEN
    if BOS_TOKEN in line.alphabet:
        raise UserError(f"the alphabet uses {BOS_TOKEN!r}, which the compiler reserves for its start position")
    try:
        from verify.crasp.values import FLOAT64_EXACT, max_literal
    except ImportError:   # the static value analysis is not in this tree yet
        max_literal = None
    if max_literal is not None and max_literal(line) > FLOAT64_EXACT:
        raise UserError(f"cannot compile: an integer literal of the program ({max_literal(line)}) exceeds 2^53, so the "
                        f"compiled weights (float64) could not hold it exactly; use smaller constants")
    if not options.bos:
        raise UserError("the compiler needs a BOS position (bos=True): without it a uniform head has no "
                        "1/(i+1) to read, so counts cannot be compared with the ±1/2 shift")
    if options.comparison not in ("layernorm", "relu"):
        raise UserError(f"comparison must be 'layernorm' or 'relu', not {options.comparison!r}")
    if options.comparison == "relu" and options.slope < 2:
        raise UserError("the ReLU step comparison needs slope >= 2")
    return line


MAX_HARDNESS = 1024   # λ·ln(t+1) and base^λ stay finite in float64 far beyond any checked length


def admit_numbers(options) -> None:
    """λ and μ after defaults are filled in (the weights W(μ) > 1 and W(λ) > W(μ) need 0 < μ < λ)."""
    lam, mu = options.hardness, options.bos_bias
    if not (isinstance(lam, int) and isinstance(mu, int) and not isinstance(lam, bool)
            and 0 < mu < lam <= MAX_HARDNESS):
        raise UserError(f"hardness λ and bos_bias μ must be integers with 0 < μ < λ <= {MAX_HARDNESS} "
                        f"(got λ = {lam!r}, μ = {mu!r})")
