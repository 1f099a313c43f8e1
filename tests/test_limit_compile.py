"""The compiler and the forward pass: compiled models compute their programs (exact and float),
PERIODIC/LOCAL by construction, bad input rejected with the operation named."""
import itertools

import numpy as np
import pytest

from verify.crasp import ast as A
from verify.crasp.builder import ProgramBuilder, count, gt, guarded, periodic, sym
from verify.crasp.interpreter import evaluate
from verify.limit import examples
from verify.limit.agreement import AgreementScope, check_agreement, float64_limit, measure
from verify.limit.compiler import compile_program
from verify.limit.forward import forward
from verify.problems import UserError


def _all_words(n, k=2):
    return np.array(list(itertools.product(range(k), repeat=n)), dtype=np.int64).reshape(-1, n)


@pytest.mark.parametrize("make", [examples.dyck1, examples.majority, examples.aa_star, examples.ends_ab])
def test_examples_agree_exhaustively(make):
    program = make()
    model = compile_program(program)
    for n in range(1, 11):
        words = _all_words(n, len(program.alphabet))
        for offset in (0, 1, 3):
            got = forward(model, words, offset).outputs["accept"]
            assert (got == evaluate(program, words, offset).output("accept")).all(), (n, offset)


@pytest.mark.slow
def test_random_programs_agree_float_and_exact():
    rng = np.random.default_rng(7)
    for _ in range(40):
        program = examples.random_program(rng, size=int(rng.integers(3, 10)))
        model = compile_program(program)
        for n in (1, 2, 4, 7):
            words = _all_words(n)
            want = evaluate(program, words, 2).output("accept")
            assert (forward(model, words, 2).outputs["accept"] == want).all()
        words = _all_words(3)
        exact = forward(model, words, 1, precision="exact")
        assert (exact.outputs["accept"] == evaluate(program, words, 1).output("accept")).all()
        # the float path stays within rounding of the rational ground truth
        flt = forward(model, words, 1)
        diff = np.abs(flt.scores - exact.scores.astype(np.float64))
        assert diff.max() < 1e-12
        long = rng.integers(0, 2, (2, 700))
        assert (forward(model, long).outputs["accept"] == evaluate(program, long).output("accept")).all()


def test_exact_mode_norm_inputs_match_integer_counts():
    model = compile_program(examples.dyck1())
    words = _all_words(5)
    report, _ = measure(model, words, precision="exact")
    assert report.separated and report.max_error < 1e-300  # rationals: no error at all


def test_model_is_periodic_and_local_by_construction():
    b = ProgramBuilder(["a", "b"])
    b.accept(gt(guarded(sym("a"), [1, 3]), count(periodic(3, [0]))))
    model = compile_program(b.build())
    assert model.period == 3 and model.radius == 3
    assert model.is_periodic() and model.is_local()
    assert all(h.phi is None or len(h.phi) <= 4 for layer in model.layers for h in layer.heads)


def test_margins_and_float_limit_layernorm_vs_relu():
    program = examples.dyck1()
    exact_sign = compile_program(program)
    assert float64_limit(exact_sign) > 10 ** 6        # LayerNorm sign: only rounding limits it
    step = compile_program(program, comparison="relu", slope=64)
    limit = float64_limit(step)
    assert 25 <= limit <= 31                            # gap 1/(2(n+1)) must stay >= 1/slope
    ok = check_agreement(step, AgreementScope(exhaustive_up_to=8, long_lengths=(limit,), long_samples=4))
    assert ok.status == "holds"
    # beyond the limit the step is no longer saturated: never reported as holding
    words = np.zeros((1, 200), dtype=np.int64)
    words[0, 1::2] = 1                                  # ()()()...: D stays at 0 or 1
    report, _ = measure(step, words)
    assert not report.separated


def test_logit_scales_keep_agreement():
    program = examples.ends_ab()
    words = np.random.default_rng(0).integers(0, 2, (16, 300))
    want = evaluate(program, words).output("accept")
    for scale in ("none", "inv_sqrt_dhead", "log_i"):
        model = compile_program(program, logit_scale=scale)
        assert (forward(model, words).outputs["accept"] == want).all(), scale


def test_forward_returns_activations_and_attention():
    model = compile_program(examples.ends_ab())
    words = np.array([[0, 1, 0, 1]])
    res = forward(model, words, return_activations=True, return_attention=True)
    assert res.residuals[0].shape == (1, 5, model.width)
    assert len(res.attention) == model.total_heads
    rec = res.attention[-1]
    assert rec.logits.shape == (1, 5, 5) and np.isneginf(rec.logits[0, 0, 1])
    # recompute the head's output from logits and values (what a protocol does for Bob)
    base = np.log(model.softmax_base)
    w = np.exp((rec.logits[0] - rec.logits[0].max(axis=1, keepdims=True)) * base)
    again = (w / w.sum(axis=1, keepdims=True)) @ rec.values[0]
    assert np.allclose(again, rec.output[0])


def test_bad_input_names_the_operation():
    bad = A.Program(("a",), (), (A.Output("accept", "", A.Compare("<", A.GuardedCount(A.Symbol("a"), frozenset()),
                                                                       A.IntConst(1))),))
    with pytest.raises(UserError) as err:
        compile_program(bad)
    assert "guard" in err.value.render()
    with pytest.raises(UserError):
        compile_program(examples.dyck1(), bos=False)
    with pytest.raises(UserError):
        forward(compile_program(examples.dyck1()), np.array([[0, 5]]))


def test_refutes_a_wrong_model():
    model = compile_program(examples.majority())
    from dataclasses import replace
    wrong = replace(model, threshold=-1.0)  # every output true
    verdict = check_agreement(wrong, AgreementScope(exhaustive_up_to=3, long_lengths=()))
    assert verdict.status == "refuted" and verdict.counterexample is not None


def test_banded_fast_attention_equals_dense_attention():
    """The O(n·τ) attention path (constant keys: band + BOS + prefix sum) against the dense softmax."""
    from verify.limit.realize import densify, realize
    rng = np.random.default_rng(5)
    for _ in range(10):
        program = examples.random_program(rng, size=8)
        model = compile_program(program)
        words = rng.integers(0, 2, (3, 60))
        fast = forward(model, words, 4)
        dense = forward(model, words, 4, return_attention=True)     # logits requested: the dense path
        assert np.allclose(fast.scores, dense.scores, atol=1e-12)
        finite = realize(model, 70)
        assert np.allclose(forward(finite, words, 4).scores, forward(densify(finite), words, 4).scores, atol=1e-12)


@pytest.mark.slow
def test_certify_runs_16N_and_near_the_float64_horizon():
    """(b) streams N at offsets 0, 7, 1000003, 16·N, and the longest power of two below the horizon that
    the time budget allows; with no budget that run is left out and a note says so."""
    from verify.limit.certify import LONG_OFFSETS, certify
    model = compile_program(examples.dyck1())
    cert = certify(model, 64, "dyck1", check_length=4, long_seconds=1.0)
    ev = cert.float64.evidence
    runs = {(r["length"], r["offset"]) for r in ev["long_runs"]}
    assert {(64, off) for off in LONG_OFFSETS} <= runs and (16 * 64, 7) in runs
    H = cert.float64_horizon
    assert H > 10 ** 6 and max(ev["checked_long_lengths"]) >= 1 << 17      # far beyond 16·N
    assert max(ev["checked_long_lengths"]) <= H
    assert cert.float64.status == "holds"
    lean = certify(model, 64, "dyck1", check_length=4, long_seconds=0.0)
    longest = max(lean.float64.evidence["checked_long_lengths"])
    assert longest < max(ev["checked_long_lengths"])
    assert any("budget" in note and f"{1 << (H.bit_length() - 1):,}" in note for note in lean.notes), lean.notes


def test_streamed_long_runs_refute_with_a_replayable_prefix():
    """A model that is wrong from position ~22 (fixed logits, λ = 8), checked as if it had no horizon:
    the streamed run at 16·N refutes it, and the counterexample (a prefix) replays through forward."""
    from verify.limit.certify import _long_runs, _merge_long
    from verify.verdict import HOLDS, Verdict
    model = compile_program(examples.ends_ab(), logit_scale="none", hardness=8, bos_bias=3)
    notes = []
    runs = _long_runs(model, 4, None, 0.1, None, notes)
    short = Verdict(HOLDS, "claim", "method", "short words")
    v = _merge_long(model, "ends_ab", short, runs)
    assert v.status == "refuted"
    ce = v.counterexample
    ids = np.array([[model.alphabet.index(t) for t in ce.input]])
    off = int(ce.detail.split("offset ")[1].split(" ")[0])
    got = forward(model, ids, off).outputs["accept"][0, ce.position - 1]
    want = evaluate(model.program, ids, off).output("accept")[0, ce.position - 1]
    assert got == ce.got and want == ce.expected and got != want


def test_certify_runs_the_horizon_itself_when_it_is_below_N():
    from verify.limit.certify import LONG_OFFSETS, certify
    model = compile_program(examples.dyck1(), comparison="relu", slope=64)
    cert = certify(model, 512, "dyck1", check_length=4)
    H = cert.float64_horizon
    assert 1 <= H < 512 and cert.float64.status == "holds"
    runs = {(r["length"], r["offset"]) for r in cert.float64.evidence["long_runs"]}
    assert {(H, off) for off in LONG_OFFSETS} <= runs and max(n for n, _ in runs) == H
    assert any("16·N" in note and "beyond the float64 horizon" in note for note in cert.notes)


def test_the_exact_rational_check_is_budgeted_by_work_not_by_the_clock(monkeypatch):
    """Issue 20: the check covered 24 or 32 words depending on the machine's load (a 1.5 s budget). Now a
    fixed work budget: the same words under a clock that races (each reading 100 s after the last)."""
    import time

    from verify.catalogue import get_case
    from verify.limit import certify as C
    from verify.limit.compiler import compile_program
    model = compile_program(get_case("dyck1").build_program())
    calm = C._exact_check(model, "dyck1", "claim").scope
    assert "32 words of length 5" in calm and "fixed work budget" in calm
    ticks = iter(range(0, 10 ** 9, 100))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(ticks)))
    assert C._exact_check(model, "dyck1", "claim").scope == calm
