"""(aa)*, (aaaa)* over {a} and (abab)* over {a, b}: languages that need a periodic predicate.

The programs read `pos % m` directly, so they assume the positional offset is ≡ 0 (mod Δ) with
1-based positions (offset 0 in `evaluate`): a formal-language input has no BOS token from which the
phase could be recovered. With other offsets the programs recognize a shifted language.
"""
from __future__ import annotations

import numpy as np

from verify.case import LANGUAGE, Case, Members
from verify.crasp.builder import ProgramBuilder, and_, count, eq, or_, periodic, sym
from verify.spec import Automaton

from cases._common import automaton_members, language_sampler

NOPE_REASON = ("Lemma 38: periodic languages such as (aa)* are not in plain C-RASP (cited, not "
               "machine-checked here); matches the paper's NoPE label (program_found = no).")
OFFSET_NOTE = ("The program reads pos % m, so it assumes offset ≡ 0 (mod Δ) with 1-based positions "
               "(offset 0); there is no BOS token from which the phase could be recovered.")


def power_automaton(k: int) -> Automaton:
    """(a^k)* over {a}: length divisible by k."""
    return Automaton.make(("a",), {(f"r{r}", "a"): f"r{(r + 1) % k}" for r in range(k)}, "r0", ["r0"])


def power_program(k: int):
    def build():
        b = ProgramBuilder(("a",), f"a{k}_star")
        b.accept(periodic(k, [0]))
        return b.build()
    return build


ABAB = Automaton.make(("a", "b"), {("s0", "a"): "s1", ("s1", "b"): "s2", ("s2", "a"): "s3",
                                   ("s3", "b"): "s0"}, "s0", ["s0"])


def abab_program():
    # odd positions carry a, even positions b; the length is a multiple of 4
    b = ProgramBuilder(("a", "b"), "abab_star")
    odd = periodic(2, [1])
    bad = b.let("bad", or_(and_(odd, sym("b")), and_(periodic(2, [0]), sym("a"))))
    b.accept(and_(eq(count(bad), 0), periodic(4, [0])))
    return b.build()


def one_member(k: int) -> Members:
    """The paper's inputs for (a^k)*: its only member of each length divisible by k."""
    def draw(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
        if n % k:
            raise ValueError(f"(a^{k})* has members of lengths divisible by {k} only")
        return np.zeros((m, n), dtype=np.int64)
    return Members(draw, length_multiple=k)


def _case(name, alphabet, automaton, description, program, notes="", members=None):
    return Case(members=members, name=name, family="formal", format=LANGUAGE, alphabet=alphabet, description=description,
                labels=automaton.labels, spec=automaton,
                sampler=language_sampler(len(alphabet), automaton_members(automaton)), program=program,
                expected_ape=True, expected_nope=False, nope_reason=NOPE_REASON, citation="Lemma 38",
                notes=(notes + " " + OFFSET_NOTE).strip(), max_input_len=100)


CASES = [
    _case("aa_star", ("a",), power_automaton(2), "(aa)*: even-length strings of a", power_program(2),
          "Over the one-letter alphabet {a}, membership is the length mod 2.", members=one_member(2)),
    _case("aaaa_star", ("a",), power_automaton(4), "(aaaa)*: strings of a of length divisible by 4",
          power_program(4), "Over the one-letter alphabet {a}, membership is the length mod 4."),
    _case("abab_star", ("a", "b"), ABAB, "(abab)*: repetitions of abab", abab_program,
          "C-RASP[periodic] with Δ = 4: a at odd positions, b at even ones, length ≡ 0 (mod 4)."),
]
