"""Proofs for all lengths: correct programs proved with a printed invariant, wrong ones refuted,
and no proof claimed where the invariant is too weak."""
import numpy as np
import pytest

from verify.crasp import builder as B
from verify.smt.induction import InductionSettings, is_inductive, k_induction, prove, Deadline
from verify.smt.linear import affine_equalities
from verify.smt.miter import Miter
from verify.smt.specs import regex_to_automaton
from verify.spec import CounterSpec, LinearConstraint

C = LinearConstraint.make
DYCK = CounterSpec(("(", ")"), always=(C({"(": 1, ")": -1}, ">=", 0),), final=(C({"(": 1, ")": -1}, "==", 0),))
FAST = InductionSettings(timeout_s=30, bound=8, bound_s=1.0, minimize_s=3.0)


def dyck(accept_extra=None):
    b = B.ProgramBuilder(["(", ")"])
    o = b.let("open", B.count(B.sym("(")))
    c = b.let("close", B.count(B.sym(")")))
    d = b.let("dips", B.count(B.lt(o, c)))
    b.accept(B.and_(B.eq(d, 0), B.eq(o, c)))
    return b.build()


def test_affine_equalities_are_exact():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, size=(50, 1))
    y = rng.integers(0, 20, size=(50, 1))
    X = np.concatenate([x, y, 2 * x - 3 * y + 5], axis=1)
    eqs = affine_equalities(X)
    assert len(eqs) == 1
    coeffs, const = eqs[0]
    assert np.all(X @ np.array(coeffs) == const)
    assert sorted(map(abs, coeffs)) == [1, 2, 3]


@pytest.mark.slow
def test_dyck1_proved_with_the_expected_invariant():
    v = prove(Miter(dyck(), DYCK), FAST)
    assert v.status == "holds" and "every length" in v.scope
    inv = v.evidence["invariant"]
    assert any("spec.alive implies dips" in t for t in inv)     # alive => no dip
    assert any("not spec.alive implies dips >= 1" in t for t in inv)  # dead => a dip happened


@pytest.mark.slow
def test_printed_invariant_is_really_inductive_and_sufficient():
    """Rebuild the check from the verdict's own invariant: it must be inductive and prove the
    property; dropping everything must not."""
    from verify.smt.candidates import CandidateFactory, sample_words, sampled_states
    miter = Miter(dyck(), DYCK)
    states = sampled_states(miter, sample_words(2, FAST))
    cands = CandidateFactory(miter, states, FAST).build()
    v = prove(miter, FAST)
    chosen = [c for c in cands if c.text in set(v.evidence["invariant"])]
    assert len(chosen) == len(v.evidence["invariant"])
    import z3
    dl = Deadline(30)
    assert is_inductive(miter, chosen, dl) == z3.unsat
    assert k_induction(miter, chosen, v.evidence["k"], dl) == z3.unsat
    # without an invariant, plain k-induction fails on this counter program (unreachable states)
    assert k_induction(miter, [], 3, dl) == z3.sat


def test_wrong_program_is_refuted_not_proved():
    b = B.ProgramBuilder(["(", ")"])
    o = b.let("open", B.count(B.sym("(")))
    c = b.let("close", B.count(B.sym(")")))
    b.accept(B.and_(B.eq(B.count(B.lt(o, c)), 0), B.le(o, B.add(c, 1))))  # off by one
    v = prove(Miter(b.build(), DYCK), FAST)
    assert v.status == "refuted" and v.counterexample.input == ("(",)


def test_error_beyond_the_bound_is_not_proved():
    """Wrong only from length 12 on: the bounded phase (8) misses it and induction must fail;
    the deeper search then finds the shortest counterexample a^12."""
    b = B.ProgramBuilder(["a"])
    n = b.let("n", B.count(B.sym("a")))
    b.accept(B.lt(n, 12))
    miter = Miter(b.build(), regex_to_automaton("a*", ("a",)))
    v = prove(miter, FAST)
    assert v.status == "refuted" and v.counterexample.input == ("a",) * 12
    no_deep = InductionSettings(timeout_s=30, bound=8, bound_s=1.0, deep_bound=0)
    v = prove(miter, no_deep)
    assert v.status == "unknown" and v.evidence["checked_up_to"] == 8 and "no proof" in v.reason


@pytest.mark.slow
def test_periodic_program_proved():
    b = B.ProgramBuilder(["a", "b"])
    b.accept(B.and_(B.periodic(2, [0]), B.eq(B.count(B.and_(B.sym("a"), B.periodic(2, [0]))), 0),
                    B.eq(B.count(B.and_(B.sym("b"), B.periodic(2, [1]))), 0)))
    v = prove(Miter(b.build(), regex_to_automaton("(ab)*", ("a", "b"))), FAST)
    assert v.status == "holds"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tomita1", "tomita4", "d2", "aa_star", "anbn"])
def test_catalogue_programs_proved(name):
    from verify.catalogue import get_case
    case = get_case(name)
    v = prove(Miter(case.build_program(), case.spec), FAST)
    assert v.status == "holds", v.reason


@pytest.mark.slow
@pytest.mark.parametrize("name", ["anbn", "d2", "abab_star"])
def test_candidate_python_check_equals_its_z3_formula(name):
    """Houdini filters candidates with their Python `check`; it must agree with the Z3 formula on
    concrete states (sampled reachable ones and arbitrary ones)."""
    import z3
    from verify.catalogue import get_case
    from verify.smt.encode import BOOL
    from verify.smt.candidates import CandidateFactory, sample_words, sampled_states
    case = get_case(name)
    miter = Miter(case.build_program(), case.spec)
    states = sampled_states(miter, sample_words(len(miter.alphabet), FAST))
    cands = CandidateFactory(miter, states, FAST).build()
    rng = np.random.default_rng(1)
    rows = rng.integers(0, len(next(iter(states.values()))), size=15)
    for r in rows:
        for scramble in (False, True):
            values = {}
            for v in miter.vars:
                x = int(states[v.name][r])
                if scramble and v.sort == "int":
                    x += int(rng.integers(-3, 4))
                values[v.name] = bool(x) if v.sort == BOOL else x
            terms = {k: (z3.BoolVal(x) if isinstance(x, bool) else z3.IntVal(x)) for k, x in values.items()}
            for c in cands:
                assert c.check(values) == z3.is_true(z3.simplify(c.holds(terms))), c.text


def test_end_marker_mode_with_a_periodic_program():
    """Under end-marker acceptance the end marker sits at position n + 1."""
    b = B.ProgramBuilder(["a"])
    b.accept(B.and_(B.sym("<end>"), B.periodic(2, [1])))
    miter = Miter(b.build(), regex_to_automaton("(aa)*", ("a",)), mode="end")
    assert prove(miter, FAST).status == "holds"
    v = prove(Miter(b.build(), regex_to_automaton("(aa)*", ("a",)), mode="last"), FAST)
    assert v.status == "refuted" and v.counterexample.input == ("a", "a")


def test_a_timeout_is_unknown_never_holds():
    from verify.catalogue import get_case
    case = get_case("anbncn")
    v = prove(Miter(case.build_program(), case.spec), InductionSettings(timeout_s=0.05, bound_s=0.05))
    assert v.status == "unknown" and v.reason
