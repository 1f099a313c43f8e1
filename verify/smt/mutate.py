"""Mutation harness: small edits of a program, each judged against the original.

Every mutant must end REFUTED (a replayed word on which it differs from the original: the checks
would catch this mistake) or HOLDS (proved equivalent for all lengths: the edit is harmless).
UNKNOWN is a survivor nobody decided, reported as such, never counted as either.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, List, Optional, Tuple, Union

from verify.crasp import ast as A
from verify.crasp.interpreter import ACCEPT_LAST
from verify.crasp.linear import StraightLine
from verify.smt.encode import as_line, op_text
from verify.smt.equiv import equivalent
from verify.smt.induction import InductionSettings
from verify.verdict import Verdict

FLIP_STRICT = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
FLIP_DIRECTION = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


@dataclass(frozen=True)
class Mutant:
    kind: str              # flip comparison / shift constant / swap symbol / drop conjunct / guard distance / periodic residue
    op_index: int
    description: str
    line: StraightLine


def _with(line: StraightLine, index: int, **changes) -> StraightLine:
    ops = list(line.ops)
    ops[index] = replace(ops[index], **changes)
    return StraightLine(line.alphabet, tuple(ops), line.outputs)


def mutants(program: Union[A.Program, StraightLine]) -> List[Mutant]:
    line = as_line(program)
    out: List[Mutant] = []
    for op in line.ops:
        where = f"%{op.index} {op_text(line, op.index)}"
        k = op.kind
        if k == "compare":
            for table, what in ((FLIP_STRICT, "strictness"), (FLIP_DIRECTION, "direction")):
                if op.param in table:
                    new = table[op.param]
                    out.append(Mutant("flip comparison", op.index, f"{where}: {op.param} -> {new} ({what})",
                                      _with(line, op.index, param=new)))
        elif k == "int_const":
            for d in (-1, 1):
                out.append(Mutant("shift constant", op.index, f"{where}: {op.param} -> {op.param + d}",
                                  _with(line, op.index, param=op.param + d)))
        elif k == "symbol":
            for a in line.alphabet:
                if a != op.param:
                    out.append(Mutant("swap symbol", op.index, f'{where}: "{op.param}" -> "{a}"',
                                      _with(line, op.index, param=a)))
        elif k in ("and", "or"):
            for keep in op.args:  # x and y -> x and x (= x): drops the other operand
                out.append(Mutant("drop conjunct", op.index,
                                  f"{where}: keep only {op_text(line, keep)}",
                                  _with(line, op.index, args=(keep, keep))))
        elif k == "guarded_count":
            ds = set(op.param)
            for d in sorted(ds):
                for nd in (d - 1, d + 1):
                    if nd >= 0 and nd not in ds:
                        new = tuple(sorted(ds - {d} | {nd}))
                        out.append(Mutant("guard distance", op.index, f"{where}: distance {d} -> {nd}",
                                          _with(line, op.index, param=new)))
        elif k == "periodic":
            m, residues = op.param
            if m > 1:
                new = tuple(sorted((r + 1) % m for r in residues))
                out.append(Mutant("periodic residue", op.index, f"{where}: residues shifted by 1",
                                  _with(line, op.index, param=(m, new))))
    return out


def judge(original: Union[A.Program, StraightLine], mutant: Mutant, mode: str = ACCEPT_LAST,
          settings: Optional[InductionSettings] = None) -> Verdict:
    """Is the mutant equivalent to the original (all outputs, every length)?"""
    v = equivalent(mutant.line, as_line(original), mode, settings=settings)
    return replace(v, claim=f"mutant ({mutant.kind}: {mutant.description}) equals the original")


def run(program: Union[A.Program, StraightLine], mode: str = ACCEPT_LAST,
        settings: Optional[InductionSettings] = None,
        on_result: Optional[Callable[[Mutant, Verdict], None]] = None) -> List[Tuple[Mutant, Verdict]]:
    results = []
    for m in mutants(program):
        v = judge(program, m, mode, settings)
        results.append((m, v))
        if on_result:
            on_result(m, v)
    return results
