"""Equivalence and emptiness of programs (for minimization): the same search and proof as for a
specification, with the other program (or the constant false) as the specification."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

from verify.crasp import ast as A
from verify.crasp.interpreter import ACCEPT_LAST
from verify.crasp.linear import StraightLine
from verify.problems import UserError
from verify.smt.encode import as_line
from verify.smt.induction import InductionSettings, prove
from verify.smt.miter import Miter
from verify.smt.specs import ConstantMachine, ProgramSpecMachine
from verify.verdict import Verdict

Program = Union[A.Program, StraightLine]


def compared_outputs(a: StraightLine, b: StraightLine, keys: Optional[Sequence[str]] = None) -> Tuple[str, ...]:
    ka, kb = [k for k, _ in a.outputs], [k for k, _ in b.outputs]
    if keys:
        missing = [(k, w) for k in keys for w, ks in (("first", ka), ("second", kb)) if k not in ks]
        if missing:
            raise UserError("; ".join(f"the {w} program has no output {k}" for k, w in missing))
        return tuple(keys)
    if set(ka) != set(kb):
        raise UserError(f"the programs have different outputs ({', '.join(ka)} vs {', '.join(kb)}); "
                        "compare chosen ones with --output")
    return tuple(ka)


def equivalence_miter(a: Program, b: Program, mode: str = ACCEPT_LAST, offset: int = 0,
                      keys: Optional[Sequence[str]] = None) -> Miter:
    la, lb = as_line(a), as_line(b)
    keys = compared_outputs(la, lb, keys)
    spec = ProgramSpecMachine(lb, la.alphabet, keys, mode, offset, title="the second program")
    return Miter(la, spec, mode, offset, keys)


def equivalent(a: Program, b: Program, mode: str = ACCEPT_LAST, offset: int = 0,
               keys: Optional[Sequence[str]] = None, settings: Optional[InductionSettings] = None,
               log=None) -> Verdict:
    """HOLDS: equal outputs on every word (proved by induction); REFUTED: the shortest word where
    they differ (replayed through the interpreter on both); UNKNOWN: with the length checked."""
    return prove(equivalence_miter(a, b, mode, offset, keys), settings, log=log)


def empty(program: Program, mode: str = ACCEPT_LAST, offset: int = 0, output: str = "accept",
          settings: Optional[InductionSettings] = None, log=None) -> Verdict:
    """Does the program accept no non-empty word? REFUTED gives the shortest accepted word."""
    line = as_line(program)
    return prove(Miter(line, ConstantMachine(False, line.alphabet), mode, offset, (output,)), settings,
                 log=log)
