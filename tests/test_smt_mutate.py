"""Mutation harness: every mutant of a catalogue program is refuted with a replayed counterexample
or proved equivalent; none is left undecided."""
import pytest

from cases._small_vocab import small_sequence_cases
from verify.catalogue import all_cases, get_case
from verify.crasp import builder as B
from verify.crasp.interpreter import accepts, encode
from verify.smt.induction import InductionSettings
from verify.smt.mutate import mutants, run

SETTINGS = InductionSettings(timeout_s=60, minimize_s=0, bound=12, bound_s=1.0, deep_s=40)
FAST = ["dyck1", "tomita1", "tomita2", "tomita4", "tomita7", "d2", "abab_star", "ab_d_bc", "shuffle2", "anbn"]


def check_all(program):
    results = run(program, settings=SETTINGS)
    assert results, "no mutants generated"
    for m, v in results:
        assert v.status in ("refuted", "holds"), (m.description, v.reason)
        if v.status == "refuted":  # the word really tells mutant and original apart (some output, last position)
            w = v.counterexample.input
            ids = encode(program.alphabet, [w])
            keys = [k for k, _ in m.line.outputs]
            assert any(accepts(m.line, ids, output=k)[0] != accepts(program, ids, output=k)[0] for k in keys), \
                m.description
    return results


@pytest.mark.parametrize("name", FAST)
def test_mutants_of_catalogue_programs_are_decided(name):
    check_all(get_case(name).build_program())


@pytest.mark.slow
@pytest.mark.parametrize("name", [c.name for c in all_cases() if c.spec is not None and c.program is not None
                                  and c.format != "sequence" and c.name not in FAST])
def test_mutants_of_every_language_program_are_decided(name):
    check_all(get_case(name).build_program())


@pytest.mark.slow
@pytest.mark.parametrize("case", small_sequence_cases(3), ids=lambda c: f"{c.name}_{len(c.input_alphabet)}")
def test_mutants_of_sequence_programs_at_a_small_vocabulary_are_decided(case):
    check_all(case.build_program())


def test_every_mutation_kind_is_generated():
    b = B.ProgramBuilder(["a", "b"])
    x = b.let("x", B.count(B.and_(B.sym("a"), B.periodic(2, [0]))))
    y = b.let("y", B.guarded(B.sym("b"), [1]))
    b.accept(B.and_(B.lt(x, 2), B.eq(y, 0)))
    kinds = {m.kind for m in mutants(b.build())}
    assert kinds == {"flip comparison", "shift constant", "swap symbol", "drop conjunct", "guard distance",
                     "periodic residue"}


def test_a_redundant_conjunct_is_proved_equivalent():
    """anbn's `n_a > 0` is implied on non-empty words (n_a = n_b and not both zero): dropping it
    or weakening it to >= is a proved-equivalent mutant, not a survivor."""
    results = check_all(get_case("anbn").build_program())
    held = [m.description for m, v in results if v.status == "holds"]
    assert any("n_a > 0" in d for d in held)
