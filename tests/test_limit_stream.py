"""The streaming float64 evaluation (verify.limit.stream): the same outputs as the whole-sequence forward pass
at every length, offset and block size; the blockwise interpreter equals the interpreter; margins equal
verify.limit.agreement.measure; memory does not grow with the length; heads that need every key refused."""
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from verify.catalogue import all_cases
from verify.crasp.interpreter import evaluate
from verify.limit import examples
from verify.limit.agreement import measure
from verify.limit.compiler import compile_program
from verify.limit.forward import forward
from verify.limit.stream import BlockInterpreter, NotStreamable, stream, stream_check
from verify.problems import UserError


def _compiled():
    out = []
    for case in all_cases():
        try:
            out.append((case.name, compile_program(case.build_program())))
        except UserError:
            continue                      # outside the fragment: not compiled, nothing to stream
    return out


COMPILED = _compiled()


def _streamed(model, word, offset, block):
    blocks = list(stream(model, word, offset, block))
    scores = np.concatenate([b.scores for b in blocks], axis=1).T
    outs = {k: np.concatenate([b.outputs[k] for b in blocks]) for k in model.output_keys}
    return scores, outs


def test_catalogue_compiles_enough_programs():
    assert len(COMPILED) >= 10 and any(m.radius > 0 for _, m in COMPILED)


@pytest.mark.slow
@pytest.mark.parametrize("name,model", COMPILED, ids=[n for n, _ in COMPILED])
def test_stream_equals_forward(name, model):
    """Every catalogue program: outputs and scores as the dense/banded forward pass, lengths 1..300, offsets 0,
    7, 1000003, blocks so small that every carried state (running sums, the last τ rows, the BOS) crosses
    block borders."""
    rng = np.random.default_rng(3)
    for n, offset, block in ((1, 0, 1), (2, 7, 1), (37, 7, 8), (300, 1_000_003, 64), (300, 0, 4096)):
        word = rng.integers(0, len(model.alphabet), size=n)
        dense = forward(model, word[None], offset)
        scores, outs = _streamed(model, word, offset, block)
        assert np.allclose(scores, dense.scores[0], rtol=0, atol=1e-12), (name, n, offset, block)
        for key in model.output_keys:
            assert (outs[key] == dense.outputs[key][0]).all(), (name, key, n, offset, block)


@pytest.mark.parametrize("name,model", COMPILED, ids=[n for n, _ in COMPILED])
def test_block_interpreter_equals_interpreter(name, model):
    rng = np.random.default_rng(4)
    word = rng.integers(0, len(model.alphabet) + 1, size=203)       # the end marker included
    whole = evaluate(model.program, word[None], 5)
    ref = BlockInterpreter(model.program, word, 5)
    parts = [ref.advance(p1) for p1 in (1, 2, 9, 130, 203)]
    for k in range(len(model.program.ops)):
        got = np.concatenate([np.broadcast_to(p[k], (1, p[k].shape[1])) for p in parts], axis=1)
        assert (got == whole.value(k)).all(), (name, k, model.program.ops[k].kind)


def test_stream_check_margins_equal_measure():
    for name, model in COMPILED:
        if model.width > 200:
            continue
        word = np.random.default_rng(1).integers(0, len(model.alphabet), size=500)
        check = stream_check(model, word, 7, block=64)
        report, _ = measure(model, word[None], 7)
        assert check.agree and check.separated == report.separated, name
        assert check.min_margin == report.min_margin, name
        # the float error itself may differ in the last bits (another summation order of the same products)
        assert check.max_error == pytest.approx(report.max_error, rel=1e-6, abs=1e-15), name


def test_stream_check_finds_the_first_disagreement():
    """Fixed logits with a small λ: the guarded head's leak grows with the length (issue 11: tomita4 with
    hardness 20 disagrees from position ~722); the stream finds the same first wrong position as the dense
    forward pass."""
    model = compile_program(examples.ends_ab(), logit_scale="none", hardness=6, bos_bias=3)
    word = np.random.default_rng(0).integers(0, 2, size=3000)
    dense = forward(model, word[None]).outputs["accept"][0]
    want = evaluate(model.program, word[None]).output("accept")[0]
    wrong = np.flatnonzero(dense != want)
    assert len(wrong), "the test needs a model that fails within 3000 positions"
    check = stream_check(model, word, 0, block=256)
    assert not check.agree
    assert check.mismatch[0] == wrong[0] + 1 and check.mismatch[2] == bool(want[wrong[0]])


def test_wrong_threshold_refuted_at_position_one():
    model = replace(compile_program(examples.majority()), threshold=-1.0)
    check = stream_check(model, np.zeros(100, dtype=np.int64), 0, block=16)
    assert not check.agree and check.mismatch[0] >= 1


def test_memory_does_not_grow_with_length():
    model = dict(COMPILED)["dyck1"]
    peaks = []
    for n in (1 << 15, 1 << 18):
        word = np.random.default_rng(0).integers(0, 2, size=n).astype(np.int8)
        tracemalloc.start()
        check = stream_check(model, word, 1_000_003, block=4096)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert check.agree and check.separated
    assert peaks[1] < 1.5 * peaks[0] + (1 << 20), peaks       # 8× the length, about the same memory


def test_heads_with_varying_keys_are_refused():
    model = compile_program(examples.ends_ab())
    layer = next(i for i, l in enumerate(model.layers) if any(not h.is_uniform for h in l.heads))
    heads = list(model.layers[layer].heads)
    hi = next(i for i, h in enumerate(heads) if not h.is_uniform)
    key = heads[hi].key.copy()
    token_coords = np.flatnonzero(np.ptp(model.embedding[: len(model.alphabet)], axis=0))
    key[:, token_coords[0]] += 1.0                        # the key now reads the token: not constant
    heads[hi] = replace(heads[hi], key=key)
    layers = list(model.layers)
    layers[layer] = replace(layers[layer], heads=tuple(heads))
    broken = replace(model, layers=tuple(layers))
    with pytest.raises(NotStreamable):
        stream_check(broken, np.array([0, 1, 1, 0, 1]), 0)


def test_bad_ids_and_offsets_are_user_errors():
    model = compile_program(examples.dyck1())
    with pytest.raises(UserError):
        list(stream(model, np.array([0, 5]), 0))
    with pytest.raises(UserError):
        list(stream(model, np.array([0, 1]), -1))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dyck1", "tomita4"])
def test_long_stream_equals_the_whole_input_interpreter(name):
    """2^21 positions: the streamed outputs against verify.crasp.interpreter.evaluate run on the whole input
    at once (not the blockwise reference), at a large offset."""
    model = dict(COMPILED)[name]
    word = np.random.default_rng(2).integers(0, len(model.alphabet), size=1 << 21).astype(np.int8)
    whole = evaluate(model.program, word[None], 1_000_003)
    check = stream_check(model, word, 1_000_003)
    assert check.agree and check.separated
    got = {k: np.concatenate([b.outputs[k] for b in stream(model, word, 1_000_003)]) for k in model.output_keys}
    for key in model.output_keys:
        assert (got[key] == whole.output(key)[0]).all(), key


def test_empty_input_streams_the_bos_only():
    model = compile_program(examples.dyck1())
    check = stream_check(model, np.zeros(0, dtype=np.int64), 3)
    assert check.agree and check.n == 0
