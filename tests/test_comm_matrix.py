"""Exact one-way rows, fooling sets and ranks (SPEC §4 lower bounds)."""
import itertools

import numpy as np
import pytest

from verify.case import LANGUAGE, Case
from verify.comm.matrix import (all_halves, greedy_fooling_set, one_way_rows, rank_mod_p, two_way_bounds,
                                verify_fooling_set)
from verify.comm.reference import from_case, from_function
from verify.problems import UserError
from verify.spec import CounterSpec, LinearConstraint

import test_comm_fixtures as fx

DYCK = CounterSpec(("(", ")"), always=(LinearConstraint.make({"(": 1, ")": -1}, ">=", 0),),
                   final=(LinearConstraint.make({"(": 1, ")": -1}, "==", 0),))
DYCK_CASE = Case("dyck", "counter", LANGUAGE, ("(", ")"), "Dyck-1", labels=DYCK.labels)


def brute_rows(member, symbols, n):
    """Independent definition: group Alice halves by their label vectors over all Bob halves."""
    rows = set()
    for x in itertools.product(symbols, repeat=n):
        rows.add(tuple(member(x + y[:j]) for y in itertools.product(symbols, repeat=n)
                       for j in range(1, n + 1)))
    return len(rows)


def dyck_member(word):
    depth = 0
    for a in word:
        depth += 1 if a == "(" else -1
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("n", range(1, 9))
def test_dyck_rows_match_formula_and_brute_force(n):
    r = one_way_rows(from_case(DYCK_CASE), n)
    assert r.total and r.exact
    assert r.distinct_rows == n // 2 + 2  # reachable even/odd balances ≤ n, plus the dead row
    if n <= 5:
        assert r.distinct_rows == brute_rows(dyck_member, ("(", ")"), n)


def test_python_language_reference_matches_vectorized():
    slow = from_function("dyck", dyck_member, ("(", ")"))
    for n in (3, 4):
        assert one_way_rows(slow, n).distinct_rows == one_way_rows(from_case(DYCK_CASE), n).distinct_rows


def test_parity_needs_one_bit_at_every_n():
    task = from_function("p", fx.parity, ("0", "1"))
    assert [one_way_rows(task, n).bits for n in range(1, 7)] == [1] * 6


def test_copy_rows_are_all_alice_halves():
    task = from_function("copy", lambda t: t, ("a", "b"))
    for n in range(1, 6):
        r = one_way_rows(task, n)
        assert r.distinct_rows == 2 ** n and r.bits == n


def test_reverse_rows_are_all_alice_halves_too():
    task = from_function("rev", fx.reverse, ("a", "b", "c"))
    assert one_way_rows(task, 3).distinct_rows == 27


def test_partial_task_gives_lower_and_upper():
    task = from_case(fx.ADDITION)
    r = one_way_rows(task, 2, 3)  # Alice: 2 symbols of "a+b", Bob 3
    assert not r.total
    assert 1 <= r.incompatible_rows <= r.distinct_rows


def test_sizes_and_bad_n():
    task = from_case(DYCK_CASE)
    with pytest.raises(UserError, match="too small"):
        one_way_rows(task, 0)
    with pytest.raises(UserError, match="certificate"):
        one_way_rows(task, 20)


def test_reference_that_raises_is_a_user_error():
    task = from_function("broken", fx.broken, ("0", "1"))
    with pytest.raises(UserError, match="raised ValueError"):
        one_way_rows(task, 2)


def test_rank_mod_p_matches_real_rank_on_random_matrices():
    rng = np.random.default_rng(1)
    for _ in range(20):
        r = rng.integers(1, 9)
        m = (rng.integers(0, 2, (12, r)) @ rng.integers(0, 2, (r, 12)) > 0).astype(int)
        assert rank_mod_p(m) == np.linalg.matrix_rank(m.astype(float))
    assert rank_mod_p(np.eye(30, dtype=int)) == 30
    assert rank_mod_p(np.ones((5, 7), dtype=int)) == 1


def test_fooling_set_is_checked_independently():
    f = np.eye(8, dtype=np.int64)
    pairs = greedy_fooling_set(f, 1, np.random.default_rng(0))
    assert len(pairs) == 8 and verify_fooling_set(f, 1, pairs)
    assert not verify_fooling_set(np.ones((3, 3), dtype=np.int64), 1, [(0, 0), (1, 1)])


def test_two_way_equality_needs_n_bits():
    task = from_function("eq", fx.equality, ("0", "1"))
    [b] = two_way_bounds(task, 4)
    assert b.rank_gf_p == 16 == b.rank_real and b.bits == 4
    assert b.fooling_set >= 2


def test_all_halves_order():
    assert all_halves(2, 2).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


@pytest.mark.parametrize("make,n,m", [(lambda: from_case(DYCK_CASE), 4, 4), (lambda: from_case(fx.ADDITION), 2, 3)])
def test_row_partition_witnesses_are_pairwise_incompatible(make, n, m):
    """The Alice halves a lower-bound refutation picks from: every pair has a Bob half, inside the task's
    domain for both, where the required outputs differ — checked pair by pair, independently."""
    from verify.comm.matrix import distinguishing_bob_half, row_partition
    task = make()
    part = row_partition(task, n, m)
    assert len(part.witnesses) == one_way_rows(task, n, m).incompatible_rows >= 2
    for i, j in itertools.combinations(part.witnesses[:12], 2):
        y = distinguishing_bob_half(task, part.xs[i], part.xs[j], part.ys)
        assert y is not None
        out, ok = task.required(part.xs[[i, j]], part.ys[[y, y]])
        assert ok.all() and (np.asarray(out)[0] != np.asarray(out)[1]).any()
    same = distinguishing_bob_half(task, part.xs[part.witnesses[0]], part.xs[part.witnesses[0]], part.ys)
    assert same is None
