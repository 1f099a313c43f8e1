"""Shortest counterexamples: found at the right length, replayed, never fabricated."""
import itertools

import numpy as np
import pytest

from verify.crasp import builder as B
from verify.crasp.interpreter import accepts, encode
from verify.problems import UserError
from verify.smt.miter import Miter
from verify.smt.refute import ReplayError, refute
from verify.smt.specs import CountPredicate, regex_to_automaton
from verify.spec import Automaton, CounterSpec, LinearConstraint

C = LinearConstraint.make
DYCK = CounterSpec(("(", ")"), always=(C({"(": 1, ")": -1}, ">=", 0),), final=(C({"(": 1, ")": -1}, "==", 0),))


def dyck(correct=True):
    b = B.ProgramBuilder(["(", ")"])
    o = b.let("open", B.count(B.sym("(")))
    c = b.let("close", B.count(B.sym(")")))
    d = b.let("dips", B.count(B.lt(o, c)))
    b.accept(B.and_(B.eq(d, 0), B.eq(o, c)) if correct else B.eq(o, c))
    return b.build()


def brute_force_shortest(program, member, alphabet, max_len):
    """Enumerate every word in length order: the reference answer for the shortest counterexample."""
    for n in range(1, max_len + 1):
        words = list(itertools.product(alphabet, repeat=n))
        got = accepts(program, encode(alphabet, words))
        for w, g in zip(words, got):
            if bool(g) != member(w):
                return n
    return None


def test_wrong_dyck_refuted_at_the_shortest_length():
    v = refute(Miter(dyck(False), DYCK), 12)
    assert v.status == "refuted"
    cex = v.counterexample
    assert cex.input == (")", "(")
    assert len(cex.input) == brute_force_shortest(dyck(False), DYCK.accepts, ("(", ")"), 6)
    assert cex.got is True and cex.expected is False


def test_right_dyck_holds_up_to_the_bound_and_says_so():
    v = refute(Miter(dyck(True), DYCK), 14)
    assert v.status == "holds" and "1..14" in v.scope and "longer words not checked" in v.scope


@pytest.mark.parametrize("seed", range(6))
def test_shortest_matches_brute_force_on_random_wrong_programs(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 4))
    b = B.ProgramBuilder(["a", "b"])
    x = b.let("x", B.count(B.sym("a")))
    y = b.let("y", B.count(B.sym("b")))
    b.accept(B.le(x, B.add(B.scale(k, y), int(rng.integers(-1, 2)))))
    program = b.build()
    spec = regex_to_automaton("(ab|b)*", ("a", "b"))
    shortest = brute_force_shortest(program, spec.accepts, ("a", "b"), 8)
    v = refute(Miter(program, spec), 8)
    if shortest is None:
        assert v.status == "holds"
    else:
        assert v.status == "refuted" and len(v.counterexample.input) == shortest


def test_count_predicate_spec_and_end_marker_mode():
    pred = CountPredicate(("a", "b"), lambda c, n: c["a"] == 2 * c["b"], "#a = 2 #b")
    b = B.ProgramBuilder(["a", "b"])
    b.accept(B.eq(B.count(B.sym("a")), B.scale(2, B.count(B.sym("b")))))
    assert refute(Miter(b.build(), pred), 10).status == "holds"
    b = B.ProgramBuilder(["a", "b"])  # reads the end marker: accept there iff #a = 2 #b
    b.accept(B.and_(B.sym("<end>"), B.eq(B.count(B.sym("a")), B.scale(2, B.count(B.sym("b"))))))
    assert refute(Miter(b.build(), pred, mode="end"), 10).status == "holds"
    v = refute(Miter(b.build(), pred, mode="last"), 10)  # never true at a real last position
    assert v.status == "refuted"
    w = v.counterexample.input
    assert len(w) == 3 and w.count("a") == 2 and v.counterexample.got is False


def test_periodic_program_with_offset():
    even_length = regex_to_automaton("(..)*", ("a",))
    b = B.ProgramBuilder(["a"])
    b.accept(B.periodic(2, [0]))
    assert refute(Miter(b.build(), even_length), 9).status == "holds"
    v = refute(Miter(b.build(), even_length, offset=1), 9)  # shifted positions: now wrong
    assert v.status == "refuted" and v.counterexample.input == ("a",)


def test_a_counterexample_that_does_not_replay_is_never_output(monkeypatch):
    """Break the reference on purpose: Z3's word no longer replays, so refute raises."""
    miter = Miter(dyck(False), DYCK)
    monkeypatch.setattr(miter.spec, "reference", lambda tokens: (True,))
    with pytest.raises(ReplayError):
        refute(miter, 6)


def test_timeout_is_unknown_never_holds():
    v = refute(Miter(dyck(True), DYCK), 200, timeout_s=0.05)
    assert v.status in ("unknown", "holds")
    if v.status == "holds":  # only if it really finished all 200 lengths in 50 ms
        assert "1..200" in v.scope
    else:
        assert "gave up" in v.reason


def test_bad_inputs_are_clear_errors():
    ab = Automaton.make(("a", "b"), {("s", "a"): "s"}, "s", ["s"])
    with pytest.raises(UserError, match="alphabet"):
        Miter(dyck(True), ab)
    b = B.ProgramBuilder(["(", ")"])
    b.label("x", B.sym("("))
    with pytest.raises(UserError, match="no output accept"):
        Miter(b.build(), DYCK)
    with pytest.raises(UserError, match="max-len"):
        refute(Miter(dyck(True), DYCK), 0)
    with pytest.raises(UserError, match="not in the alphabet"):
        regex_to_automaton("(ab)*", ("a",))


@pytest.mark.slow
def test_equivalence_compares_every_output():
    from verify.smt.equiv import equivalent
    def prog(k):
        b = B.ProgramBuilder(["a", "b"])
        b.accept(B.sym("a"))
        b.label("n", B.gt(B.add(B.count(B.sym("a")), B.ite(B.prev(B.sym("b"), 3), k, 0)), 1))
        return b.build()
    assert equivalent(prog(0), prog(0)).status == "holds"
    v = equivalent(prog(0), prog(1))
    assert v.status == "refuted" and len(v.counterexample.input) == 4 and v.counterexample.input[0] == "b"
    assert v.counterexample.got["label n"] != v.counterexample.expected["label n"]
