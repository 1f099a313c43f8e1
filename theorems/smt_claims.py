"""Z3 claims about the catalogue.

1. Every regular and counter language in the catalogue that has a program is proved equal to its
   specification for ALL lengths (k-induction with trace-inferred invariants), or — where the
   method finds no proof — checked up to a stated length (the verdict is then UNKNOWN and says so).
2. Plausible-looking wrong programs for the languages the paper predicts ✗ (parity, Tomita 3, 5, 6)
   are refuted, each with its shortest counterexample replayed through the interpreter and the
   automaton. (This does not show no program exists — that rests on the paper's lemmas — only that
   these attempts fail, and how early.)
"""
from __future__ import annotations

from typing import List

from verify.catalogue import all_cases
from verify.crasp.builder import (ProgramBuilder, and_, count, eq, not_, or_, periodic, prev, scale, sub,
                                  sym)
from verify.smt.induction import InductionSettings, prove
from verify.smt.miter import Miter
from verify.smt.refute import refute
from verify.smt.report_columns import record_case
from verify.spec import Automaton
from verify.verdict import REFUTED, UNKNOWN, TheoremReport, Verdict

SETTINGS = InductionSettings(timeout_s=30.0, bound=12, minimize_s=0.0)  # work-budgeted: the same on any load
REFUTE_MAX_LEN = 20
COUNTER_FAMILIES = ("counter",)


def _proofs(select) -> List[Verdict]:
    out = []
    for case in all_cases():
        if case.spec is None or not select(case):
            continue
        program = case.build_program()
        if program is None:
            continue  # no program to check (the paper's ✗ tasks); covered by check 2 for some
        v = prove(Miter(program, case.spec), SETTINGS)
        record_case(case, v)
        out.append(Verdict(v.status, f"{case.name}: {v.claim}", v.method, v.scope, v.counterexample,
                           v.reason, v.evidence))
    if not out:
        out.append(Verdict(UNKNOWN, "catalogue programs equal their specifications", "catalogue lookup", "—",
                           reason="no catalogue case has both a program and a specification"))
    return out


def regular_languages_proved() -> TheoremReport:
    # the sequence tasks' specs are machines too, but not automata: `verify prove` and the report prove them
    return TheoremReport("Z3 (regular)", "catalogue programs for regular languages equal their automata "
                         "for every length", _proofs(lambda c: isinstance(c.spec, Automaton)))


def counter_languages_proved() -> TheoremReport:
    return TheoremReport("Z3 (counter)", "catalogue programs for counter languages equal their "
                         "specifications for every length", _proofs(lambda c: c.family in COUNTER_FAMILIES))


# ---------------------------------------------------------------- wrong programs
def _catalogue_spec(name: str):
    for case in all_cases():
        if case.name == name and isinstance(case.spec, Automaton):
            return case.spec
    return None


def even_ones() -> Automaton:
    """Parity as a language: binary words with an even number of 1s (the task answers e for these)."""
    return Automaton.make(("0", "1"), {("e", "0"): "e", ("e", "1"): "o", ("o", "0"): "o", ("o", "1"): "e"},
                          "e", ["e"])


def tomita_dfa(name: str) -> Automaton:
    """The catalogue's automaton when it has one; else the textbook definition."""
    spec = _catalogue_spec(name)
    if spec is not None:
        return spec
    if name == "tomita5":  # even number of 0s and even number of 1s
        d = {}
        for z in (0, 1):
            for o in (0, 1):
                d[(f"q{z}{o}", "0")] = f"q{1 - z}{o}"
                d[(f"q{z}{o}", "1")] = f"q{z}{1 - o}"
        return Automaton.make(("0", "1"), d, "q00", ["q00"])
    if name == "tomita6":  # #0 - #1 divisible by 3
        d = {(f"r{k}", "0"): f"r{(k + 1) % 3}" for k in range(3)}
        d.update({(f"r{k}", "1"): f"r{(k - 1) % 3}" for k in range(3)})
        return Automaton.make(("0", "1"), d, "r0", ["r0"])
    raise KeyError(name)  # tomita3 comes from the catalogue


def wrong_programs():
    """(name, program, spec, why it looks plausible)."""
    out = []
    b = ProgramBuilder(("0", "1"), "parity: ones pair up with a neighbour")
    b.accept(eq(scale(2, count(and_(sym("1"), prev(sym("1"))))), count(sym("1"))))
    out.append(("parity", b.build(), even_ones(), "counts 1s that follow a 1, as if 1s came in pairs"))

    b = ProgramBuilder(("0", "1"), "parity: odd and even positions balance")
    odd = b.let("odd_ones", count(and_(sym("1"), periodic(2, [1]))))
    even = b.let("even_ones", count(and_(sym("1"), periodic(2, [0]))))
    b.accept(eq(odd, even))
    out.append(("parity", b.build(), even_ones(), "1s split evenly between odd and even positions"))

    if _catalogue_spec("tomita3") is not None:
        b = ProgramBuilder(("0", "1"), "tomita3: no 0 right after a lone 1")
        lone = and_(sym("0"), prev(sym("1"), 1), not_(prev(sym("1"), 2)))
        b.accept(eq(count(lone), 0))
        out.append(("tomita3", b.build(), tomita_dfa("tomita3"),
                    "forbids only runs of one 1 followed by a 0 (odd runs of length 1)"))

    b = ProgramBuilder(("0", "1"), "tomita5: even length and 0s balance across positions")
    zo = b.let("zeros_odd", count(and_(sym("0"), periodic(2, [1]))))
    ze = b.let("zeros_even", count(and_(sym("0"), periodic(2, [0]))))
    b.accept(and_(periodic(2, [0]), eq(zo, ze)))
    out.append(("tomita5", b.build(), tomita_dfa("tomita5"), "even length with 0s balanced over positions"))

    b = ProgramBuilder(("0", "1"), "tomita6: difference in {-3, 0, 3}")
    d = b.let("d", sub(count(sym("0")), count(sym("1"))))
    b.accept(or_(eq(d, 0), eq(d, 3), eq(d, -3)))
    out.append(("tomita6", b.build(), tomita_dfa("tomita6"), "the difference #0 - #1 is 0 or ±3"))
    return out


def wrong_programs_refuted() -> TheoremReport:
    verdicts = []
    for name, program, spec, why in wrong_programs():
        v = refute(Miter(program, spec), REFUTE_MAX_LEN, timeout_s=30)
        claim = f"{name}: the attempt '{program.source}' ({why}) is refuted"
        if v.status == REFUTED:
            verdicts.append(Verdict("holds", claim, v.method, v.scope, reason=v.counterexample.detail,
                                    evidence={"counterexample": " ".join(v.counterexample.input),
                                              "length": len(v.counterexample.input)}))
        elif v.status == UNKNOWN:
            verdicts.append(Verdict(UNKNOWN, claim, v.method, v.scope, reason=v.reason))
        else:
            verdicts.append(Verdict(UNKNOWN, claim, v.method, v.scope,
                                    reason=f"no counterexample up to length {REFUTE_MAX_LEN}: the attempt "
                                           "may be right for all lengths; the claim is not established"))
    return TheoremReport("Z3 (refutation)", "plausible wrong programs for parity and Tomita 3/5/6 are "
                         "refuted with replayed shortest counterexamples", verdicts)


CHECKS = [regular_languages_proved, counter_languages_proved, wrong_programs_refuted]
