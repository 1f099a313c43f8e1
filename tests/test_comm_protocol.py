"""The exact Alice/Bob protocol reproduces the interpreter on Bob's half (SPEC §4)."""
import itertools

import numpy as np
import pytest

from verify.comm.protocol import check_protocol, count_width, make_protocol
from verify.crasp.builder import (ProgramBuilder, and_, count, eq, ge, guarded, gt, implies, ite, max_, min_, not_, or_, periodic, prev, scale, sub, sym, add)
from verify.crasp.interpreter import evaluate
from programs import dyck1_program


dyck1 = dyck1_program


def mixed():
    """Every operation kind: periodic, guarded counts with several distances, arithmetic sugar."""
    b = ProgramBuilder(["a", "b", "c"])
    a = b.let("a", count(sym("a")))
    bb = b.let("b", count(sym("b")))
    even = b.let("even", periodic(2, [0]))
    pair = b.let("pair", guarded(and_(sym("a"), not_(even)), [0, 1, 3]))
    lag = b.let("lag", prev(sym("c"), 2))
    m = b.let("m", max_(min_(a, scale(2, bb)), sub(add(a, 1), pair)))
    t = b.let("t", count(or_(lag, gt(m, ite(even, a, 3)))))
    b.accept(implies(ge(t, bb), periodic(3, [1, 2])))
    b.label("x", eq(pair, 1))
    return b.build()


def all_words(k, n):
    return np.array(list(itertools.product(range(k), repeat=n)), dtype=np.int64)


@pytest.mark.parametrize("make,k", [(dyck1, 2), (mixed, 3)])
@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_exhaustive_agreement(make, k, n):
    ids = all_words(k, n)
    for split in range(1, n):
        for offset in (0, 1):
            check = check_protocol(make(), ids, split, offset)
            assert check.agree, check.mismatch
            assert check.within_bound


@pytest.mark.parametrize("n", [64, 1000, 20000])
def test_random_agreement_large(n):
    rng = np.random.default_rng(n)
    ids = rng.integers(0, 3, size=(8, 2 * n))
    check = check_protocol(mixed(), ids, n, offset=5)
    assert check.agree, check.mismatch
    assert check.bits_sent <= check.protocol.bound


def test_bits_are_counted_from_the_layout():
    p = make_protocol(dyck1(), 100)
    assert p.bits_sent == 3 * count_width(100) == 21
    p = make_protocol(mixed(), 100)  # 3 counts + guarded (max 3) + prev (2)
    assert p.bits_sent == 3 * 7 + 3 + 2
    assert p.bound == 5 * 7 + 5 * 3


def test_guard_reaching_before_position_one():
    ids = all_words(3, 4)
    check = check_protocol(mixed(), ids, 1)  # split < radius: Bob pads the missing positions
    assert check.agree, check.mismatch
    assert make_protocol(mixed(), 1).fields[3].width == 1


def test_message_is_what_bob_uses():
    """Bob's result depends on the message: flipping a bit changes his counts."""
    p = make_protocol(dyck1(), 4)
    ids = np.array([[0, 0, 1, 0, 1, 1, 1, 1]])
    msg = p.alice(ids[:, :4])
    assert msg.bits_sent == p.bits_sent
    good = p.bob(msg, ids[:, 4:])
    flipped = msg.bits.copy()
    flipped[0, 0] ^= 1
    from verify.comm.protocol import Message
    bad = p.bob(Message(flipped), ids[:, 4:])
    count_op = p.fields[0].op_index
    assert not np.array_equal(good[count_op], bad[count_op])
    full = evaluate(dyck1(), ids)
    assert np.array_equal(good[count_op], full.value(count_op)[:, 4:])


def test_mismatch_is_reported():
    """A corrupted protocol (one total bit short) is caught, not silently accepted."""
    import dataclasses
    ids = all_words(2, 6)
    p = make_protocol(dyck1(), 3)
    short = dataclasses.replace(p, fields=tuple(dataclasses.replace(f, width=1) if i == 0 else
                                               dataclasses.replace(f, start=f.start - 1)
                                               for i, f in enumerate(p.fields)))
    msg = short.alice(ids[:, :3])
    bob = short.bob(msg, ids[:, 3:])
    full = evaluate(dyck1(), ids)
    assert any(not np.array_equal(bob[op.index], full.value(op.index)[:, 3:]) for op in p.line.ops)


@pytest.mark.slow
def test_random_agreement_at_ten_to_the_fifth():
    rng = np.random.default_rng(5)
    for make, k in ((dyck1, 2), (mixed, 3)):
        ids = rng.integers(0, k, size=(2, 200_000))
        check = check_protocol(make(), ids, 100_000, offset=1)
        assert check.agree, check.mismatch
        assert check.bits_sent <= check.protocol.bound
