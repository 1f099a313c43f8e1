"""The plain C-RASP decider and the algebraic classes: a hand-labelled corpus (with the reason for each
label), the catalogue, and the inclusions C-RASP ⊆ R_omega ⊆ aperiodic, R ⊆ C-RASP on random regexes."""
import time

import pytest

from verify.catalogue import all_cases
from verify.regular.decider import decide
from verify.regular.dfa import Dfa, minimal_dfa
from verify.regular.monoid import transition_monoid
from verify.regular.randgen import random_regexes
from verify.regular.regex import regex_dfa
from verify.spec import Automaton

AB, ABE = ("a", "b"), ("a", "b", "e")
# (regex, alphabet, R, R_omega, aperiodic, quasi_aperiodic, C-RASP at end marker, C-RASP at last position, why)
CORPUS = [
    ("a*b*", AB, 1, 1, 1, 1, 1, 1, "partially ordered DFA (only self-loops): R-trivial, so C-RASP"),
    ("(a|b)*a(a|b)*b(a|b)*", AB, 1, 1, 1, 1, 1, 1, "piecewise testable (subword ab): R-trivial"),
    ("1*", ("0", "1"), 1, 1, 1, 1, 1, 1, "Tomita 1: R-trivial"),
    ("0*1*0*1*", ("0", "1"), 1, 1, 1, 1, 1, 1, "R-trivial (REGULAR.md §2)"),
    ("a(a|b)*", AB, 1, 1, 1, 1, 1, 1, "first letter is a: R-trivial"),
    ("(ab)*", AB, 0, 1, 1, 1, 1, 1, "a R ab (a·b = ab, ab·a = a), one idempotent ab per R-class; C-RASP by ADT"),
    ("(ab|ba)*", AB, 0, 1, 1, 1, 1, 1, "#a − #b kept in [−1, 1] on even prefixes: C-RASP (ADT)"),
    ("(ab|bbaa)*", AB, 0, 1, 1, 1, 1, 1, "C-RASP by ADT §2 (balanced labellings separate the states)"),
    ("(a(ab)*b)*", AB, 0, 1, 1, 1, 1, 1, "Dyck of depth 2: a bounded counter, C-RASP"),
    ("(a(a(ab)*b)*b)*", AB, 0, 1, 1, 1, 1, 1, "Dyck of depth 3: C-RASP"),
    ("(ab|aabb)*", AB, 0, 0, 1, 1, 0, 0, "aperiodic but an R-class holds two idempotents: not R_omega (ADT)"),
    ("(ab|bba)*", AB, 0, 1, 1, 1, 0, 0, "R_omega but not C-RASP (ADT §2): the labelling fails on the big SCC"),
    ("(b*ab*a)*b*", AB, 0, 0, 0, 0, 0, 0, "parity of a: the group Z2 is in η(Σ^1), not quasi-aperiodic"),
    ("(aa)*", ("a",), 0, 0, 0, 1, 0, 0, "Z2 but η(Σ^2) = {1}: quasi-aperiodic, not aperiodic"),
    ("((a|b)(a|b))*", AB, 0, 0, 0, 1, 0, 0, "even length: the same as (aa)*"),
    ("(a|b)*be*", ABE, 0, 0, 1, 1, 0, 0, "last non-e letter is b: a and b are idempotents in one R-class; "
                                         "the quotient by e is L itself, so not even at the last position"),
    ("(a|b)*b", AB, 0, 0, 1, 1, 0, 1, "Σ*b: a and b idempotent and R-equivalent, not R_omega; the last letter "
                                      "is visible at the last position (REGULAR.md §5)"),
    ("(a|b)*bb(a|b)*", AB, 0, 0, 1, 1, 0, 0, "factor bb: a R ab, both idempotent: not R_omega, C-RASP[local] only"),
]


@pytest.mark.parametrize("row", CORPUS, ids=[r[0] for r in CORPUS])
def test_corpus(row):
    pattern, alphabet, r, rw, ap, qa, end, last, why = row
    dfa = regex_dfa(pattern, alphabet)
    m = transition_monoid(dfa)
    assert (m.r_trivial, m.r_omega, m.aperiodic, m.quasi_aperiodic) == (bool(r), bool(rw), bool(ap), bool(qa)), why
    assert decide(dfa, "end").passed == bool(end), why
    assert decide(dfa, "last").passed == bool(last), why


def test_catalogue_agrees_with_the_paper_where_decided():
    """Every catalogue task with an automaton: the decider (last position, the catalogue's labels)
    gives the paper's NoPE label."""
    seen = 0
    for case in all_cases():
        if isinstance(case.spec, Automaton):
            seen += 1
            assert decide(minimal_dfa(case.spec), "last").passed == case.expected_nope, case.name
    assert seen >= 15


def _check_inclusions(patterns, alphabet):
    counts = {}
    for p in patterns:
        dfa = regex_dfa(p, alphabet)
        m = transition_monoid(dfa)
        end, last = decide(dfa, "end").passed, decide(dfa, "last").passed
        assert not end or m.r_omega, ("C-RASP ⊄ R_omega", p)
        assert not m.r_omega or m.aperiodic, ("R_omega ⊄ aperiodic", p)
        assert not m.r_trivial or end, ("R ⊄ C-RASP", p)
        assert not end or last, ("end ⊄ last", p)
        assert not last or m.aperiodic, ("C-RASP at the last position but not aperiodic", p)
        assert not m.aperiodic or m.quasi_aperiodic, p
        key = (m.r_trivial, m.r_omega, end, last, m.aperiodic)
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.slow
def test_inclusions_on_random_regexes():
    started = time.perf_counter()
    counts = _check_inclusions(random_regexes(1500, ("a", "b"), seed=1), ("a", "b"))
    counts3 = _check_inclusions(random_regexes(700, ("a", "b", "c"), seed=2), ("a", "b", "c"))
    # the sample must exercise every side of the inclusions, or the test proves nothing
    assert any(k[2] and not k[0] for k in counts)        # C-RASP but not R-trivial
    assert any(k[1] and not k[2] for k in counts)  or any(k[1] and not k[2] for k in counts3)  # R_omega \ C-RASP
    assert any(k[4] and not k[1] for k in counts)        # aperiodic, not R_omega
    assert any(not k[4] for k in counts)                 # not aperiodic
    assert any(k[3] and not k[2] for k in counts)        # last but not end
    assert time.perf_counter() - started < 60


@pytest.mark.slow
def test_inclusions_on_many_random_regexes():
    _check_inclusions(random_regexes(4000, ("a", "b"), seed=11, depth=6), ("a", "b"))
    _check_inclusions(random_regexes(3000, ("a", "b", "c"), seed=12, depth=6), ("a", "b", "c"))


def _mutated_scc_failure():
    """(ab|bba)*: the failing SCC is reported with two unseparated states."""
    r = decide(regex_dfa("(ab|bba)*"), "end")
    return r.failing


def test_failure_names_a_component_and_two_unseparated_states():
    scc = _mutated_scc_failure()
    assert scc is not None and not scc.passed and scc.unseparated is not None
    p, q = scc.unseparated
    assert p in scc.states and q in scc.states and p != q
    assert scc.system and all(s.startswith("V(") for s in scc.system)


def test_decider_is_polynomial_on_a_long_counter():
    """Dyck of depth 60 (62 states, one big SCC): exact, several rounds, well under a second."""
    from verify.regular.randgen import counter_dfa
    dfa = counter_dfa(60)
    started = time.perf_counter()
    assert decide(dfa, "end").passed and decide(dfa, "last").passed
    assert time.perf_counter() - started < 5


@pytest.mark.slow
@pytest.mark.parametrize("acceptance", ["last", "end"])
def test_decider_yes_answers_have_proved_plain_programs(acceptance):
    """Depends on synthesis (verify/regular/synthesis.py): every corpus language the decider accepts gets
    a plain C-RASP program proved equal for all lengths — an independent check of the "yes" side."""
    pytest.importorskip("verify.regular.synthesis")
    from verify.crasp.fragment import PLAIN, fragment
    from verify.regular.synthesis import synthesize
    for pattern, alphabet, *_, end, last, why in CORPUS:
        if not (last if acceptance == "last" else end):
            continue
        dfa = regex_dfa(pattern, alphabet)
        result = synthesize(dfa.to_automaton(), acceptance=acceptance, fragment="crasp", budget_s=60)
        assert result.program is not None and fragment(result.program) == PLAIN, (pattern, result.reason)
        assert result.proof is not None and result.proof.status == "holds", (pattern, result.proof)
