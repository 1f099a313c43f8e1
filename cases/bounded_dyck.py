"""D-n: Dyck-1 over "(" ")" of nesting depth at most n (bounded-depth Dyck-1), for n = 2, 3, 4, 12.

A prefix is a member when its height h = #( − #) stays within [0, n] on every prefix and ends at 0.
The language is regular (states 0..n), so the reference is a DFA.
"""
from __future__ import annotations

from verify.case import LANGUAGE, Case
from verify.crasp.builder import ProgramBuilder, and_, count, eq, gt, lt, or_, sub, sym
from verify.spec import Automaton

from cases._common import bracket_members, language_sampler

SIGMA = ("(", ")")


def bounded_dyck_automaton(depth: int) -> Automaton:
    delta = {}
    for h in range(depth + 1):
        if h < depth:
            delta[(f"h{h}", "(")] = f"h{h + 1}"
        if h > 0:
            delta[(f"h{h}", ")")] = f"h{h - 1}"
    return Automaton.make(SIGMA, delta, "h0", ["h0"])


def bounded_dyck_program(depth: int):
    """Plain C-RASP: count the positions where the height left [0, depth]."""
    def build():
        b = ProgramBuilder(SIGMA, f"d{depth}")
        h = b.let("height", sub(count(sym("(")), count(sym(")"))))
        out_of_range = b.let("out_of_range", count(or_(lt(h, 0), gt(h, depth))))
        b.accept(and_(eq(out_of_range, 0), eq(h, 0)))
        return b.build()
    return build


def make_bounded_dyck(depth: int) -> Case:
    automaton = bounded_dyck_automaton(depth)
    return Case(
        name=f"d{depth}", family="formal", format=LANGUAGE, alphabet=SIGMA,
        description=f"D-{depth}: balanced brackets of depth at most {depth}",
        labels=automaton.labels, spec=automaton,
        sampler=language_sampler(2, bracket_members(1, max_depth=depth)),
        program=bounded_dyck_program(depth), max_input_len=100,
        notes=(f"Definition: Dyck-1 words over ( ) whose height #( − #) stays in [0, {depth}] on every "
               "prefix (depth counts open brackets, so '()' has depth 1). Plain C-RASP: the program "
               "counts positions whose height left the range. The paper's suite labels legal next "
               "symbols; here labels are prefix membership (the project's decision)."),
        extra={"depth": depth},
    )


CASES = [make_bounded_dyck(n) for n in (2, 3, 4, 12)]
