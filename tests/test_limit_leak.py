"""The guarded heads' leak (verify.limit.leak): proved for every length under log-scaled attention,
an exact horizon with fixed logits — and that horizon is real: the model does fail beyond it."""
from fractions import Fraction

import numpy as np
import pytest

from verify.crasp.builder import ProgramBuilder, eq, guarded, sym
from verify.crasp.interpreter import evaluate
from verify.limit import examples
from verify.limit.compiler import compile_program
from verify.limit.forward import forward
from verify.limit.leak import FIXED, SCALED, LeakModel, fixed_horizon, prove, prove_scaled


def _tomita4():
    from verify.catalogue import get_case
    return get_case("tomita4").build_program()


def test_default_construction_is_proved_for_every_length():
    model = compile_program(_tomita4())
    assert model.logit_scale == "log_i" and model.layout.hardness > model.layout.bos_bias
    proof = prove(model)
    assert proof.status == "all" and "sympy" in proof.method
    # the obligation it proves, checked directly (exact integers) on a sample of lengths
    lm = LeakModel(SCALED, model.layout.hardness, model.layout.bos_bias)
    assert all(lm.holds_at(proof.leaks, t) for t in [1, 2, 3, 10, 10 ** 3, 10 ** 9, 10 ** 30])


def test_symbolic_proof_can_fail():
    # λ = μ + 2 with many leaking reads: the bound fails at small lengths, and the prover says so
    proof = prove_scaled(LeakModel(SCALED, 3, 1), Fraction(8))
    assert proof.status == "fails" and "t = [1" in proof.detail
    assert not LeakModel(SCALED, 3, 1).holds_at(Fraction(8), 1)


@pytest.mark.parametrize("lam,mu,leaks", [(20, 10, 1), (16, 8, 3), (12, 6, 2)])
def test_fixed_horizon_is_exact(lam, mu, leaks):
    lm = LeakModel(FIXED, lam, mu, 2)
    proof = fixed_horizon(lm, Fraction(leaks))
    T = proof.horizon
    assert all(lm.holds_at(Fraction(leaks), t) for t in range(1, T + 1))
    assert not lm.holds_at(Fraction(leaks), T + 1)


def test_fixed_logits_fail_beyond_the_horizon_and_log_scaling_does_not():
    program = _tomita4()
    fixed = compile_program(program, logit_scale="none", hardness=20, bos_bias=10)
    T = prove(fixed).horizon
    assert 100 < T < 1000
    scaled = compile_program(program, hardness=20)
    assert prove(scaled).status == "all"
    zero = program.alphabet.index("0")
    failures = []
    for n in (100, 300, T, 500, 800, 1200):
        w = np.full((1, n), 1 - zero, dtype=np.int64)
        w[0, -3:] = zero                                  # 1…1000: the guarded count of 0s must reach 3
        want = evaluate(program, w).output("accept")
        if (forward(fixed, w).outputs["accept"] != want).any():
            failures.append(n)
        assert (forward(scaled, w).outputs["accept"] == want).all(), n
    assert failures and min(failures) > T                 # it fails, and only beyond its proved horizon


def test_exact_rational_forward_under_log_scaling():
    b = ProgramBuilder(["a", "b"])
    b.accept(eq(guarded(sym("a"), [1, 2]), 1))
    program = b.build()
    model = compile_program(program)
    words = np.array(list(np.ndindex(*(2,) * 5)), dtype=np.int64)
    exact = forward(model, words, precision="exact")
    assert (exact.outputs["accept"] == evaluate(program, words).output("accept")).all()
    assert all(isinstance(x, Fraction) for x in exact.scores.ravel())


def test_dyck1_has_nothing_to_leak():
    assert prove(compile_program(examples.dyck1())).status == "none"
