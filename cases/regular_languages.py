"""Star-free languages of the formal-language suite: aa*bb*cc*dd*ee*, {a,b}*d{b,c}*, {0,1,2}*02*."""
from __future__ import annotations

from verify.case import LANGUAGE, Case
from verify.crasp.builder import ProgramBuilder, and_, count, eq, gt, or_, sym
from verify.spec import Automaton

from cases._common import automaton_members, language_sampler

LETTERS = ("a", "b", "c", "d", "e")

BLOCKS = Automaton.make(LETTERS, {
    **{(f"in_{x}", x): f"in_{x}" for x in LETTERS},
    **{(f"in_{x}", y): f"in_{y}" for x, y in zip(LETTERS, LETTERS[1:])},
    ("start", "a"): "in_a",
}, "start", ["in_e"])


def blocks_program():
    # every letter present, and no letter after a later letter
    b = ProgramBuilder(LETTERS, "aa_bb_cc_dd_ee")
    later_seen = {x: b.let(f"after_{x}", count(or_(*[sym(y) for y in LETTERS[i + 1:]])))
                  for i, x in enumerate(LETTERS[:-1])}
    bad = b.let("out_of_order", count(or_(*[and_(sym(x), gt(later_seen[x], 0)) for x in LETTERS[:-1]])))
    b.accept(and_(eq(bad, 0), *[gt(count(sym(x)), 0) for x in LETTERS]))
    return b.build()


AB_D_BC = Automaton.make(("a", "b", "c", "d"), {
    ("before", "a"): "before", ("before", "b"): "before", ("before", "d"): "after",
    ("after", "b"): "after", ("after", "c"): "after",
}, "before", ["after"])


def ab_d_bc_program():
    # exactly one d; no c while no d has been seen; no a once a d has been seen
    b = ProgramBuilder(("a", "b", "c", "d"), "ab_d_bc")
    ds = b.let("ds", count(sym("d")))
    bad = b.let("bad", count(or_(and_(sym("c"), eq(ds, 0)), and_(sym("a"), gt(ds, 0)))))
    b.accept(and_(eq(ds, 1), eq(bad, 0)))
    return b.build()


ZOT = Automaton.make(("0", "1", "2"), {
    ("no", "0"): "yes", ("no", "1"): "no", ("no", "2"): "no",
    ("yes", "0"): "yes", ("yes", "1"): "no", ("yes", "2"): "yes",
}, "no", ["yes"])


def _case(name, alphabet, automaton, description, **kw):
    return Case(name=name, family="formal", format=LANGUAGE, alphabet=alphabet, description=description,
                labels=automaton.labels, spec=automaton,
                sampler=language_sampler(len(alphabet), automaton_members(automaton)),
                max_input_len=100, **kw)


CASES = [
    _case("aa_bb_cc_dd_ee", LETTERS, BLOCKS, "aa*bb*cc*dd*ee*: one or more of each letter, in order",
          program=blocks_program,
          notes=("Plain C-RASP: every letter occurs and no letter occurs after a later one. Each block "
                 "is non-empty (aa* = a+).")),
    _case("ab_d_bc", ("a", "b", "c", "d"), AB_D_BC, "{a,b}*d{b,c}*: exactly one d, a/b before it, b/c after",
          program=ab_d_bc_program,
          notes="Plain C-RASP: exactly one d, no c before it, no a after it."),
    _case("zot_02", ("0", "1", "2"), ZOT, "{0,1,2}*02*: the last symbol other than 2 is a 0",
          expected_ape=False, expected_nope=False, extra={"ape": "undecided"},
          no_program_reason=(
              "Undecided (the paper's label is ✗ for both encodings). NoPE is certified ✗ by `verify classify "
              "zot_02` (the plain C-RASP decider). For APE, classify finds the language aperiodic (star-free), "
              "so no pumping certificate exists, and its synthesis finds no C-RASP[periodic,local] program. The "
              "paper's Lemmas 35–36 argue that last-occurrence languages are not expressible in "
              "C-RASP[periodic,local] (membership asks whether the last non-2 symbol, at an unbounded distance, "
              "is a 0); that argument is not machine-checked here, so the verdict is left undecided rather "
              "than cited. Theorem 12 (communication) cannot settle it: the language is regular, so O(1) bits "
              "suffice."),
          notes=("Read as {0,1,2}* 0 2*: strings whose last symbol other than 2 exists and is 0 "
                 "(the suite's 012_star_0_2_star).")),
]
