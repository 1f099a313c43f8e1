"""The terminal form of a `verify classify` result: one line per verdict saying what it rests on, the
witnesses, the program, the notes, and one line for the stages (done, not finished and why, skipped)."""
from __future__ import annotations

from typing import Any, List, Optional


def render(c: Any, acceptance_why: str) -> List[str]:
    cls = c.classes
    fmt = lambda v: "?" if v is None else ("yes" if v else "no")
    out = [f"{c.source}: alphabet {{{', '.join(c.alphabet)}}}, acceptance {c.acceptance} "
           f"({acceptance_why}), minimal DFA {c.states if c.states is not None else '?'} states",
           f"classes: R-trivial {fmt(cls['R'])}, R_omega {fmt(cls['R_omega'])}, aperiodic {fmt(cls['aperiodic'])}, "
           f"quasi-aperiodic {fmt(cls['quasi_aperiodic'])} (syntactic monoid, exact)",
           f"NoPE (C-RASP): {_word(c.crasp.value)} — {c.crasp.line}",
           f"APE (C-RASP[periodic,local]): {_word(c.ape.value)} — {c.ape.line}"]
    if c.crasp.witness and c.crasp.value is False:
        w = c.crasp.witness
        if "quotient" in w:
            out.append(f"  {w['quotient']}:")
        out.append(f"  failing component: {', '.join(w['component'][:8])}"
                   + (" ..." if len(w["component"]) > 8 else ""))
        if "not_separated" in w:
            out.append(f"  {w['not_separated']}")
    if c.ape.value is False and c.ape.witness:
        out.append(f"  general argument: {c.ape.witness['general_argument']}")
    if c.program:
        out.append(f"program ({c.program_proof}):")
        out.extend("  " + line for line in c.program.splitlines())
    out.extend(f"note: {n}" for n in c.notes[1:])
    if c.stages:
        out.append("stages: " + "; ".join(f"{name.replace('_', ' ')} {stage.describe()}"
                                          for name, stage in c.stages.items()))
    out.append(f"({c.seconds:.3f} s)")
    return out


def _word(v: Optional[bool]) -> str:
    return "undecided" if v is None else ("yes" if v else "no")
