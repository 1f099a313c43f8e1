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


# ------------------------------------------------ counting rows from the machine's states (issue 12 §3)
QUOTIENT_TASKS = ["dyck1", "shuffle2", "anbn", "anbncn", "boolean3", "d2", "d12", "tomita3", "tomita5",
                  "abab_star", "ab_d_bc", "zot_02", "aa_star"]


def _enumerated(task):
    """The same task with its spec hidden: rows counted over every (Alice half, Bob half) pair."""
    import dataclasses
    return dataclasses.replace(task, case=None)


@pytest.mark.parametrize("name", QUOTIENT_TASKS)
def test_state_quotient_counts_equal_full_enumeration(name):
    from verify.catalogue import get_case
    from verify.comm.matrix import row_partition, state_representatives
    task = from_case(get_case(name))
    k = len(task.symbols)
    for n in range(1, 7):
        if k ** (2 * n) > 1 << 16:
            break
        for m in (n, n + 1):
            fast, slow = one_way_rows(task, n, m), one_way_rows(_enumerated(task), n, m)
            assert fast.distinct_rows == slow.distinct_rows, (name, n, m)
            assert fast.exact and slow.exact and fast.alice_halves == slow.alice_halves == k ** n
        part = row_partition(task, n)
        reps = state_representatives(task, n)
        assert reps is not None and part.how == "machine states" and len(part.xs) == len(reps) <= k ** n


@pytest.mark.parametrize("name", ["d2", "d3", "tomita4", "tomita7", "aaaa_star", "aa_bb_cc_dd_ee"])
def test_dfa_refinement_equals_rows_of_the_state_representatives(name):
    """The Myhill–Nerode count (no Bob half enumerated) against rows computed from words."""
    from verify.catalogue import get_case
    from verify.comm.matrix import dfa_distinct_rows, row_partition
    case = get_case(name)
    task = from_case(case)
    k = len(task.symbols)
    for n in range(1, 9):
        for m in range(1, 6):
            if k ** m > 1 << 12:
                break
            assert dfa_distinct_rows(case.spec, n, m) == row_partition(task, n, m).distinct, (name, n, m)


@pytest.mark.parametrize("name", ["d2", "tomita4", "abab_star", "zot_02"])
def test_dfa_rows_at_large_n_match_a_plain_walk(name):
    """The cycle-skipping reachable set at large N against a step-by-step walk over state sets
    (plain Python), and the refinement against words of length 1..M."""
    from verify.catalogue import get_case
    from verify.comm.matrix import dfa_distinct_rows
    spec = get_case(name).spec
    delta, final, q0 = spec.tables()
    k = len(spec.alphabet)
    for n in (10 ** 4 + 1, 10 ** 4 + 2):
        reach = {q0}
        for _ in range(n):
            reach = {int(delta[q, a]) for q in reach for a in range(k)}
        m = 6
        words = list(itertools.product(range(k), repeat=m))

        def row(q):
            out = []
            for w in words:
                s = q
                for a in w:
                    s = int(delta[s, a])
                    out.append(bool(final[s]))
            return tuple(out)
        assert dfa_distinct_rows(spec, n, m) == len({row(q) for q in reach}), (name, n)
    task = from_case(get_case(name))
    assert one_way_rows(task, 3000).distinct_rows == dfa_distinct_rows(spec, 3000, 3000) >= 1


def test_labels_not_from_the_spec_fall_back_to_enumeration():
    """A case whose labels are not its spec's own must not be counted from the spec."""
    import dataclasses

    from verify.catalogue import get_case
    from verify.comm.matrix import row_partition
    case = get_case("dyck1")
    flipped = dataclasses.replace(case, labels=lambda ids: ~case.spec.labels(ids))
    part = row_partition(from_case(flipped), 4)
    assert part.how == "enumeration" and part.distinct == one_way_rows(from_case(case), 4).distinct_rows


@pytest.mark.slow
def test_dyck1_at_n14_is_exact_and_fast():
    import time

    from verify.catalogue import get_case
    t0 = time.perf_counter()
    r = one_way_rows(from_case(get_case("dyck1")), 14)
    assert r.total and r.exact and r.distinct_rows == 14 // 2 + 2 and r.alice_halves == 2 ** 14
    assert time.perf_counter() - t0 < 30
