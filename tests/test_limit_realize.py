"""Finite realization T_N, numeric conditions, regularizers, saving."""
import numpy as np
import pytest

from verify.crasp.interpreter import evaluate
from verify.limit import examples
from verify.limit.compiler import compile_program
from verify.limit.conditions import audit, locality, model_heads, periodicity, position_products, translation_invariance
from verify.limit.forward import forward
from verify.limit.io import load_finite, save_finite
from verify.limit.realize import realize
from verify.limit.regularizers import (DEFAULT_THEORETICAL, nonlocal_example, nonperiodic_example, practical,
                                       practical_penalty, tabulate)
from verify.problems import UserError


def test_realization_agrees_with_limit_and_program():
    rng = np.random.default_rng(3)
    for _ in range(15):
        program = examples.random_program(rng, size=8)
        model = compile_program(program)
        finite = realize(model, 80)
        words = rng.integers(0, 2, (8, 70))
        want = evaluate(program, words, 5).output("accept")
        assert (forward(finite, words, 5).outputs["accept"] == want).all()
        assert (forward(model, words, 5).outputs["accept"] == want).all()


def test_realization_has_no_phi_and_reproduces_it_by_products():
    from verify.limit.realize import densify
    model = compile_program(examples.ends_ab())
    banded = realize(model, 40)
    assert banded.banded and banded.width == model.width          # bands: no (N+1)-wide blocks
    finite = densify(banded)
    assert finite.width == model.width + 41 and realize(model, 40, dense=True).width == finite.width
    words = np.random.default_rng(1).integers(0, 2, (6, 40))
    assert (forward(banded, words).scores == forward(finite, words).scores).all() or np.allclose(
        forward(banded, words).scores, forward(finite, words).scores, atol=1e-12)
    assert all(h.phi is None for layer in finite.layers for h in layer.heads)
    guarded = [(li, hi) for li, layer in enumerate(model.layers) for hi, h in enumerate(layer.heads) if h.phi is not None]
    li, hi = guarded[0]
    h = finite.layers[li].heads[hi]
    M = position_products(finite.positions, h.query.T, h.key.T)
    phi = model.layers[li].heads[hi].phi
    for i in range(41):
        for j in range(i + 1):
            want = phi[i - j] if i - j < len(phi) else 0.0
            assert M[i, j] == want
    with pytest.raises(UserError):
        forward(finite, np.zeros((1, 41), dtype=np.int64))


def test_context_too_small_is_reported():
    b = examples.aa_star()
    model = compile_program(b)
    with pytest.raises(UserError, match="period"):
        realize(model, 1)
    with pytest.raises(UserError, match="radius"):
        from verify.crasp.builder import ProgramBuilder, guarded, eq, sym
        pb = ProgramBuilder(["a"])
        pb.accept(eq(guarded(sym("a"), [5]), 1))
        realize(compile_program(pb.build()), 3)


def test_numeric_conditions_on_plain_arrays():
    n = 50
    i = np.arange(n)
    onehot = np.eye(4)[i % 4]
    assert periodicity(onehot).period == 4
    sinus = np.stack([np.cos(i * 1.0), np.sin(i * 1.0)], axis=1)
    assert not periodicity(sinus, max_period=20).periodic
    M = position_products(sinus, np.eye(2), np.eye(2))    # cos(i − j): invariant, not local
    assert translation_invariance(M).invariant
    assert not locality(M).local
    banded = np.where((i[:, None] - i[None, :] >= 0) & (i[:, None] - i[None, :] <= 2), 1.0, 0.0)
    loc = locality(banded)
    assert loc.local and loc.effective_radius == 2
    absolute = np.outer(i, np.ones(n))                       # depends on i only: not invariant
    assert not translation_invariance(absolute).invariant
    finite = realize(compile_program(examples.ends_ab()), 64)
    report = audit(finite.positions, model_heads(finite), start=1)
    assert report.local


def test_regularizers():
    from verify.limit.regularizers import absolute_onehot_example, copy_head_example
    model = compile_program(examples.ends_ab())
    rows = tabulate(model, (64, 128, 256))
    assert len({round(r["theoretical"], 9) for r in rows}) == 1
    assert rows[0]["theoretical.parameter_norms"] > 0 and rows[0]["theoretical.positional_interaction"] > 0
    assert all(abs(r["practical"] - rows[-1]["practical"]) < 0.02 * rows[-1]["practical"] for r in rows)
    for make in (nonlocal_example, copy_head_example, absolute_onehot_example, nonperiodic_example):
        grow = [DEFAULT_THEORETICAL(make(N)).total for N in (64, 128, 256)]
        assert grow[0] < grow[1] < grow[2], make.__name__
    # the practical formula by hand: one head with A[i, j] = 1 on the causal triangle
    P = np.ones((4, 1))
    assert practical_penalty(P, [(np.ones((1, 1)), np.ones((1, 1)))]) == pytest.approx(10 / 4)
    assert practical(realize(compile_program(examples.dyck1()), 32)) == 0.0


def test_regularizer_terms_by_hand():
    from verify.limit.regularizers import copy_head_example, interaction_charge, operator_norm
    assert operator_norm(np.array([[3.0, 0.0], [0.0, 0.0]])) == 3.0
    assert operator_norm(np.ones((1, 4))) == pytest.approx(2.0)          # √(1·4): grows with width read
    band = np.zeros((5, 3))
    band[2:, 2] = 5.0                                                     # only offset 2: weight (1 + 2)·5
    assert interaction_charge(np.zeros((5, 1)), np.zeros((1, 1)), np.zeros((1, 1)), band) == 15.0
    # the charge of a banded head equals that of its dense form (same products)
    finite = realize(compile_program(examples.ends_ab()), 32)
    from verify.limit.realize import densify
    dense = densify(finite)
    assert DEFAULT_THEORETICAL(finite).parts["positional_interaction"] == pytest.approx(
        DEFAULT_THEORETICAL(dense).parts["positional_interaction"])
    assert practical(finite) == pytest.approx(practical(dense))
    # a copy head's single entry per row is charged by its distance N/2
    assert DEFAULT_THEORETICAL(copy_head_example(64)).parts["positional_interaction"] == (1 + 32) * 8.0


def test_save_and_load(tmp_path):
    model = compile_program(examples.ends_ab())
    finite = realize(model, 32)
    path = save_finite(finite, str(tmp_path / "t.npz"))
    again = load_finite(path)
    words = np.random.default_rng(0).integers(0, 2, (4, 30))
    assert (forward(again, words).outputs["accept"] == forward(finite, words).outputs["accept"]).all()
    assert again.banded
    dense = load_finite(save_finite(finite, str(tmp_path / "d.npz"), dense=True))
    assert not dense.banded and dense.width == finite.width + 33
    assert np.allclose(forward(dense, words).scores, forward(finite, words).scores, atol=1e-12)
    (tmp_path / "d.npz").unlink()
    with pytest.raises(UserError):
        save_finite(finite, str(tmp_path / "t.txt"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]
