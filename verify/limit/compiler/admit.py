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
    if not options.bos:
        raise UserError("the compiler needs a BOS position (bos=True): without it a uniform head has no "
                        "1/(i+1) to read, so counts cannot be compared with the ±1/2 shift")
    if options.comparison not in ("layernorm", "relu"):
        raise UserError(f"comparison must be 'layernorm' or 'relu', not {options.comparison!r}")
    if options.comparison == "relu" and options.slope < 2:
        raise UserError("the ReLU step comparison needs slope >= 2")
    if not (isinstance(options.hardness, int) and isinstance(options.bos_bias, int)
            and 0 < options.bos_bias < options.hardness):
        raise UserError("hardness λ and bos_bias μ must be integers with 0 < μ < λ")
    return line
