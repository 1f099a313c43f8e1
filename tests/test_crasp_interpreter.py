"""The vectorized interpreter against an independent per-position evaluator."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.crasp.checks import END_MARKER
from verify.crasp.interpreter import accepts, encode, evaluate, generate, next_tokens, prefix_outputs, tokenize
from verify.crasp.linear import first_named, flatten
from verify.crasp.parser import parse_program
from verify.problems import UserError

from programs import ALPHABET, naive_outputs, programs

words = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=9)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(programs(), st.lists(words, min_size=1, max_size=4), st.integers(0, 5))
def test_interpreter_matches_the_definitions(program, batch, offset):
    for word in batch:  # one input at a time keeps shapes simple; the batch path is tested below
        got = prefix_outputs(program, encode(ALPHABET, [word]), offset=offset)[0].tolist()
        want = naive_outputs(program, word, offset)["accept"]
        assert got == want, (word, offset)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(programs(), st.integers(1, 8), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_batches_equal_one_at_a_time(program, n, batch, seed):
    ids = np.random.default_rng(seed).integers(0, len(ALPHABET), size=(batch, n))
    together = prefix_outputs(program, ids)
    for b in range(batch):
        assert (prefix_outputs(program, ids[b:b + 1])[0] == together[b]).all()


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(programs(), st.integers(1, 8), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_int64_and_python_integer_paths_agree(program, n, batch, seed):
    """The Python-integer path (taken where int64 could overflow) computes what int64 computes."""
    ids = np.random.default_rng(seed).integers(0, len(ALPHABET), size=(batch, n))
    fast, exact = evaluate(program, ids), evaluate(program, ids, python_ints=True)
    assert not fast.exact_objects and exact.exact_objects
    for a, b in zip(fast.values, exact.values):
        assert a.tolist() == b.tolist()


def test_flatten_shares_identical_subexpressions():
    p = parse_program('alphabet "a" "b"\nlet x = #["a"]\naccept = #["a"] > 0 and x > 0')
    line = flatten(p)
    assert sum(op.kind == "count" for op in line.ops) == 1


def test_core_flattening_removes_sugar_and_keeps_values():
    p = parse_program('alphabet "a" "b"\nlet x = min(#["a"], #["b"]) + max(#["a"], 2)\naccept = x > 2 or "b"')
    core = flatten(p, core=True)
    assert not {"or", "min", "max"} & {op.kind for op in core.ops}
    ids = np.array(list(itertools.product([0, 1], repeat=7)))
    assert (prefix_outputs(core, ids) == prefix_outputs(p, ids)).all()


def test_guarded_count_counts_only_the_listed_distances():
    p = parse_program('alphabet "a" "b"\nlet g = #["a" @ 0, 2]\naccept = g == 2')
    ev = evaluate(p, encode(p.alphabet, [list("aabab")]))
    g = ev.value(first_named(flatten(p), "g").index)
    # w = a a b a b: [w_i = a] + [w_{i-2} = a]
    assert g[0].tolist() == [1, 1, 1, 2, 0]


def test_last_position_and_end_marker_acceptance_differ():
    # Σ*b with last-position acceptance needs only "b"; with an end marker the program sees <end> last
    p = parse_program('alphabet "a" "b"\naccept = "b"')
    ids = encode(p.alphabet, [list("ab"), list("ba")])
    assert accepts(p, ids).tolist() == [True, False]
    assert accepts(p, ids, mode="end").tolist() == [False, False]
    q = parse_program(f'alphabet "a" "b"\naccept = "{END_MARKER}" and #["b" @ 1] == 1')
    assert accepts(q, ids, mode="end").tolist() == [True, False]


def test_offset_shifts_periodic_predicates():
    p = parse_program('alphabet "a"\naccept = pos % 2 in {0}')
    ids = encode(p.alphabet, [list("aa")])
    assert accepts(p, ids).tolist() == [True]
    assert accepts(p, ids, offset=1).tolist() == [False]


def test_empty_input_is_a_user_error():
    p = parse_program('alphabet "a"\naccept = true')
    with pytest.raises(UserError):
        accepts(p, np.zeros((1, 0), dtype=int))


def test_generation_and_teacher_forcing():
    p = parse_program('''alphabet "<bos>" "0" "1" "<sep>" "<eos>"
        let ones = #["1"]
        let zeros = #["0"]
        next "1" = "<sep>" and ones > zeros
        next "0" = "<sep>" and zeros > ones
        next "<eos>" = not "<sep>"''')
    assert generate(p, ["<bos>", "1", "0", "1", "<sep>"]) == (["1", "<eos>"], "stop")
    assert generate(p, ["<bos>", "1", "0", "<sep>"]) == ([], "none true")
    pred = next_tokens(p, encode(p.alphabet, [["<bos>", "0", "<sep>", "0", "<eos>"]]))
    assert pred[0, 2] == 1 and pred[0, 3] == 4


def test_tokenize():
    assert tokenize(["<bos>", "0", "1"], "<bos>01 1") == ["<bos>", "0", "1", "1"]
    with pytest.raises(UserError):
        tokenize(["a"], "ab")


def _chunked_values(program, ids, offset, cuts):
    """Every operation's values over `ids`, evaluated chunk by chunk at the given cut points."""
    from verify.crasp.interpreter import Chunked
    run = Chunked(program, ids.shape[1], offset)
    parts = [run.advance(ids[:, a:b]) for a, b in zip([0, *cuts], [*cuts, ids.shape[1]])]
    return [np.concatenate([p.value(k) for p in parts], axis=1) for k in range(len(run.line.ops))]


@settings(max_examples=40, deadline=None)
@given(programs(), st.integers(1, 12), st.integers(1, 3), st.integers(0, 5), st.integers(0, 2**32 - 1))
def test_chunked_evaluation_equals_the_whole_array(program, n, batch, offset, seed):
    """Chunks with carried prefix state (counts' totals, guarded counts' last source values) give every
    operation the values one whole-array pass gives, wherever the chunks are cut (chunks of one position,
    empty chunks, one chunk)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, len(ALPHABET) + 1, size=(batch, n))         # the end marker included
    whole = evaluate(program, ids, offset)
    for cuts in ([], list(range(1, n)), sorted(rng.integers(0, n + 1, size=3).tolist())):
        got = _chunked_values(program, ids, offset, cuts)
        for k, values in enumerate(got):
            assert values.tolist() == whole.value(k).tolist(), (k, cuts)


def test_catalogue_programs_chunked_equal_whole():
    """Every catalogue program on a random input of 1,000 positions, in chunks of 1, 7 and 256 positions, and
    last_values (what `verify run` prints without --trace) at the last position."""
    from verify.catalogue import all_cases
    from verify.crasp.interpreter import last_values, straight_line
    rng = np.random.default_rng(0)
    for case in all_cases():
        program = case.build_program()
        if program is None:
            continue
        line = straight_line(program)
        ids = rng.integers(0, len(line.alphabet), size=(1, 1000))
        whole = evaluate(line, ids, 3)
        for step in (1, 7, 256):
            cuts = list(range(step, 1000, step))
            got = _chunked_values(line, ids[:, :40] if step == 1 else ids, 3, cuts[:39] if step == 1 else cuts)
            for k, values in enumerate(got):
                assert (values == whole.value(k)[:, :values.shape[1]]).all(), (case.name, step, k)
        last = last_values(line, ids[0], 3, chunk=100)
        assert all(last[k] == whole.value(k)[0, -1] for k in range(len(line.ops))), case.name
