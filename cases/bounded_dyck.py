"""D-n: Dyck-1 over "(" ")" of nesting depth at most n (bounded-depth Dyck-1), for n = 2, 3, 4, 12.

A prefix is a member when its height h = #( − #) stays within [0, n] on every prefix and ends at 0.
The language is regular (states 0..n), so the reference is a DFA.

The paper's formal-language suite does not draw D-n strings as random walks: its generator (Bhattamishra et
al. 2020, kept in the paper's code) nests blocks "(" D-(n−1) ")", each inner string about 3/4 of its block's
length, so a string opens straight to full depth, holds runs of "()" innermost and 1–3 blocks at the top.
`nested_blocks` draws such strings (our own code after that description) as the next-symbol protocol's inputs
(`Case.members`); `verify train --inputs walks` / `bench/reproduce.py --inputs walks` draw live walks instead.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from verify.case import LANGUAGE, Case, Members
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


NESTED_RATIO, NESTED_SPREAD = 0.75, 0.1   # an inner string's length: ratio × its block's, × (1 + spread · N(0,1))
NESTED_POOL = 64                          # accepted draws kept per length
NESTED_TRIES = 400                        # proposals per kept draw before a length counts as impossible


def _nested(rng: np.random.Generator, depth: int, at_least: int) -> str:
    """A string of depth ≤ `depth` and at least `at_least` symbols ("0" = "(", "1" = ")"): blocks
    "0" + inner + "1" until long enough, each inner one of depth − 1 and about NESTED_RATIO of `at_least`."""
    if depth == 0 or at_least <= 0:
        return ""
    if depth == 1:
        return "01" * ((at_least + 1) // 2)
    blocks, size = [], 0
    while size < at_least:
        inner = _nested(rng, depth - 1, int(at_least * NESTED_RATIO * (1 + NESTED_SPREAD * rng.standard_normal())))
        blocks.append("0" + inner + "1")
        size += len(inner) + 2
    return "".join(blocks)


def nested_blocks(depth: int) -> Members:
    """Members of D-depth shaped as the paper's generator shapes them, at an exact even length n: proposals
    `_nested(L)` with L uniform in [n/3, n], kept when exactly n long (rejection; the generator itself
    overshoots its target). Per length, NESTED_POOL kept draws form a pool from a generator seeded by (depth,
    n) alone, so every run sees the same strings, as the paper's fixed data set; rows are drawn from the pool
    with the caller's generator (repeats keep the generator's own frequencies)."""
    pools: Dict[int, np.ndarray] = {}

    def pool(n: int) -> np.ndarray:
        if n not in pools:
            rng = np.random.default_rng([depth, n, 2020])
            kept = []
            for _ in range(NESTED_POOL * NESTED_TRIES):
                s = _nested(rng, depth, int(rng.integers(max(1, n // 3), n + 1)))
                if len(s) == n:
                    kept.append(s)
                    if len(kept) == NESTED_POOL:
                        break
            if not kept:
                raise ValueError(f"no nested-block D-{depth} string of length {n} was found")
            pools[n] = np.array([[int(c) for c in s] for s in kept], dtype=np.int64)
        return pools[n]

    def draw(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
        if n % 2:
            raise ValueError(f"D-{depth} has members of even lengths only")
        if n == 0:
            return np.zeros((m, 0), dtype=np.int64)
        p = pool(n)
        return p[rng.integers(0, len(p), size=m)]
    return Members(draw, length_multiple=2, name="nested blocks")


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
        program=bounded_dyck_program(depth), max_input_len=100, members=nested_blocks(depth),
        notes=(f"Definition: Dyck-1 words over ( ) whose height #( − #) stays in [0, {depth}] on every "
               "prefix (depth counts open brackets, so '()' has depth 1). Plain C-RASP: the program "
               "counts positions whose height left the range. The paper's suite labels legal next "
               "symbols; here labels are prefix membership (the project's decision). Next-symbol training draws "
               "the paper's nested-block strings (see the module docstring)."),
        extra={"depth": depth},
    )


CASES = [make_bounded_dyck(n) for n in (2, 3, 4, 12)]
