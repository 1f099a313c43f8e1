"""The Limit Transformer protocol: Bob completes every attention sum from Alice's (type, multiplicity)
summary and her last τ rows, and agrees with the full forward pass."""
import dataclasses

import numpy as np
import pytest

pytest.importorskip("verify.limit.compiler")

from verify.comm.transformer_protocol import (alice_message, bob_scores, check_transformer_protocol)
from verify.crasp.builder import ProgramBuilder, and_, count, eq, periodic, prev, sym
from verify.limit.compiler import compile_program
from verify.limit.forward import forward
from programs import dyck1_program


dyck1 = dyck1_program


def local_periodic():
    b = ProgramBuilder(["a", "b"])
    pair = b.let("pair", and_(sym("b"), prev(sym("a"), 1)))
    b.accept(and_(eq(count(pair), count(periodic(3, [0]))), prev(sym("b"), 2)))
    return b.build()


@pytest.mark.parametrize("make", [dyck1, local_periodic])
@pytest.mark.parametrize("n", [3, 8, 40])
def test_bob_agrees_with_forward(make, n):
    model = compile_program(make())
    ids = np.random.default_rng(n).integers(0, 2, size=(4, 2 * n))
    run = check_transformer_protocol(model, ids, n)
    assert run.agree, run.mismatch
    assert run.max_score_error < 1e-9
    assert all(t >= 1 for t in run.types)


def test_types_stay_bounded_as_n_grows():
    model = compile_program(dyck1())
    seen = []
    for n in (8, 32, 128, 512):
        ids = np.random.default_rng(n).integers(0, 2, size=(2, 2 * n))
        seen.append(max(check_transformer_protocol(model, ids, n).types))
    assert max(seen) <= 4 and seen[-1] == seen[-2]


def test_a_wrong_multiplicity_is_detected():
    """Bob's scores depend on the multiplicities: doubling one type's count changes an output."""
    model = compile_program(dyck1())
    n = 6
    ids = np.array([[0, 0, 0, 0, 0, 0] + [1, 1, 1, 1, 1, 1]])
    msg = alice_message(model, ids[0, :n])
    good = bob_scores(model, msg, ids[0, n:], n)
    want = forward(model, ids).scores[0, n:]
    assert np.allclose(good, want)
    layer0 = msg.summaries[0]
    h = next(i for i, sm in enumerate(layer0) if len(sm.counts) >= 2)
    counts = layer0[h].counts.copy()
    counts[-1] += 3  # three more of one type only
    bad_head = dataclasses.replace(layer0[h], counts=counts)
    bad = dataclasses.replace(msg, summaries=(layer0[:h] + (bad_head,) + layer0[h + 1:],) + msg.summaries[1:])
    broken = bob_scores(model, bad, ids[0, n:], n)
    assert not np.allclose(broken, want)
