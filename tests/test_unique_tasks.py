"""count, unique reverse and unique bigram copy (cases/unique_tasks.py): references, domains, the paper
group's samplers (count's s range, distinct tokens, the greedy bigram walk at every length 1..150),
programs against references at the catalogue's and the paper's sizes, and the paper's sizes for training."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cases.copy import copy_answer, vocabulary
from cases.unique_tasks import (PAPER_BIGRAM_VOCAB, make_count, make_unique_bigram_copy, make_unique_reverse,
                                unique_bigram_copy_trigram_program)
from torch_bridge.data import TaskData, training_case
from verify.catalogue import get_case
from verify.checking import check_case, families
from verify.crasp.fragment import LOCAL, PLAIN, fragment, radius
from verify.crasp.interpreter import generate
from verify.crasp.parser import parse_program
from verify.crasp.printer import to_text

PAPER = {"count": make_count(150), "unique_reverse": make_unique_reverse(150),
         "unique_bigram_copy": make_unique_bigram_copy(PAPER_BIGRAM_VOCAB)}


def toks(text: str):
    return tuple(text.split())


def bigrams_distinct(x) -> bool:
    return len(set(zip(x, x[1:]))) == len(x) - 1


def greedy_violations(rows, size: int) -> int:
    """Steps after the random prefix of min(V, n) tokens that break the rule: an unused successor of the
    last token with the most unused successors of its own."""
    bad = 0
    for row in rows:
        ids = [int(t) for t in row]
        used = set(zip(ids, ids[1:min(size, len(ids))]))
        left = {t: size - sum(1 for a, _ in used if a == t) for t in range(size)}
        for j in range(min(size, len(ids)), len(ids)):
            last, c = ids[j - 1], ids[j]
            free = [d for d in range(size) if (last, d) not in used]
            bad += c not in free or left[c] != max(left[d] for d in free)
            used.add((last, c))
            left[last] -= 1
    return bad


# ------------------------------------------------------------------ references and domains
@pytest.mark.parametrize("name,given,want", [
    ("count", "3 7", "3 4 5 6 7"), ("count", "0 1", "0 1"), ("count", "38 39", "38 39"),
    ("unique_reverse", "3 1 2", "2 1 3"), ("unique_reverse", "7", "7"), ("unique_reverse", "0 23 5 9", "9 5 23 0"),
    ("unique_bigram_copy", "0 1 0 0 2", "0 1 0 0 2"), ("unique_bigram_copy", "4", "4"),
    ("unique_bigram_copy", "1 1 0 1", "1 1 0 1"),
])
def test_references_on_hand_written_inputs(name, given, want):
    case = get_case(name)
    assert case.valid_input(toks(given)) and case.answer(toks(given)) == toks(want)
    full = case.full_sequence(toks(given))
    assert full == ("<bos>", *toks(given), "<sep>", *toks(want), "<eos>") and set(full) <= set(case.alphabet)
    produced, why = generate(case.build_program(), ["<bos>", *toks(given), "<sep>"])
    assert why == "stop" and tuple(produced) == (*toks(want), "<eos>")


@pytest.mark.parametrize("name,given", [
    ("count", "7 3"), ("count", "3 3"), ("count", "3"), ("count", "1 2 3"), ("count", "3 40"),
    ("unique_reverse", "1 1"), ("unique_reverse", "3 4 3"), ("unique_reverse", ""), ("unique_reverse", "24"),
    ("unique_bigram_copy", "0 1 0 1"), ("unique_bigram_copy", "0 0 0"), ("unique_bigram_copy", "2 3 1 2 3"),
    ("unique_bigram_copy", ""), ("unique_bigram_copy", "5"),
])
def test_inputs_outside_the_domain_are_rejected(name, given):
    assert not get_case(name).valid_input(toks(given))


def test_records_claim_what_was_checked():
    count, reverse, bigram = (get_case(n) for n in ("count", "unique_reverse", "unique_bigram_copy"))
    assert fragment(count.build_program()) == PLAIN and count.expected_nope and count.min_len == 2
    assert fragment(reverse.build_program()) == PLAIN and reverse.expected_nope
    program = bigram.build_program()
    assert fragment(program) == LOCAL and radius(program) == 1
    assert not bigram.expected_nope and not bigram.nope_reason and bigram.extra["nope"] == "undecided"
    assert count.extra["length_is"] == "answer" and count.extra["longest_input"] == 40


@pytest.mark.parametrize("program", [get_case(n).build_program() for n in PAPER] +
                         [unique_bigram_copy_trigram_program(vocabulary(3))()], ids=[*PAPER, "trigram"])
def test_programs_print_and_parse_back(program):
    again = parse_program(to_text(program))
    assert (again.lets, again.outputs) == (program.lets, program.outputs)


# ------------------------------------------------------------------ samplers
def test_count_draws_s_uniformly_below_150_minus_the_length():
    case, rng = PAPER["count"], np.random.default_rng(0)
    for n in (2, 50, 140, 150):
        drawn = case.sampler(rng, 2000, n)
        s = np.array([int(x[0]) for x in drawn])
        assert all(case.valid_input(x) and len(case.answer(x)) == n for x in drawn)
        assert s.min() == 0 and s.max() == 150 - n
        if n == 140:   # 11 values of s: each near 1/11 of the draws
            assert np.bincount(s, minlength=11).min() > 2000 / 11 * 0.7
    for n in (1, 151):
        with pytest.raises(ValueError):
            case.sampler(rng, 2, n)


def test_count_edges_family_touches_both_ends():
    case = get_case("count")
    count_answer = case.answer
    edges = dict((f.name, f) for f in families(case))["vocabulary edges"]
    drawn = edges.draw(np.random.default_rng(0), 64, 10)
    assert "0" in {x[0] for x in drawn} and "39" in {x[1] for x in drawn}
    assert all((x[0] == "0" or x[1] == "39") and len(count_answer(x)) == 10 for x in drawn)


def test_unique_reverse_draws_distinct_tokens():
    case, rng = PAPER["unique_reverse"], np.random.default_rng(0)
    for n in (1, 17, 150):
        drawn = case.sampler(rng, 64, n)
        assert all(len(x) == n and len(set(x)) == n and case.valid_input(x) for x in drawn)
    assert len({x[0] for x in case.sampler(rng, 2000, 3)}) == 150
    with pytest.raises(ValueError):
        case.sampler(rng, 2, 151)


def test_bigram_sampler_reaches_every_length_to_150_with_the_greedy_rule():
    case, rng = PAPER["unique_bigram_copy"], np.random.default_rng(0)
    assert case.input_alphabet == vocabulary(16)
    for n in range(1, 151):
        drawn = case.sampler(rng, 3, n)
        assert len(drawn) == 3 and all(len(x) == n and bigrams_distinct(x) and case.valid_input(x) for x in drawn)
        assert greedy_violations(drawn, 16) == 0, n
    assert len({x[0] for x in case.sampler(rng, 400, 40)}) == 16      # the random prefix


def test_the_greedy_rule_check_can_fail():
    """The uniform walks family breaks the greedy rule; so would a sampler that stopped following it."""
    case = get_case("unique_bigram_copy")
    uniform = dict((f.name, f) for f in families(case))["uniform walks"]
    drawn = uniform.draw(np.random.default_rng(0), 50, 20)
    assert drawn and all(bigrams_distinct(x) for x in drawn)
    assert greedy_violations(drawn, 5) > 0


def test_bigram_sampler_reaches_the_longest_string_and_refuses_past_it():
    case, rng = make_unique_bigram_copy(4), np.random.default_rng(0)
    drawn = case.sampler(rng, 20, 17)                 # 4² + 1: every bigram once (an Eulerian circuit)
    assert all(len(set(zip(x, x[1:]))) == 16 for x in drawn)
    with pytest.raises(ValueError):
        case.sampler(rng, 2, 18)


# ------------------------------------------------------------------ programs
@pytest.mark.parametrize("name", sorted(PAPER))
def test_programs_at_the_papers_size_agree_on_long_random_inputs(name):
    case = PAPER[name]
    v = check_case(case, max_len=0, samples=40, sample_max_len=150, seed=1)
    assert v.status == "holds", v.counterexample


def test_the_radius_2_trigram_program_agrees_with_the_reference():
    case = make_unique_bigram_copy(4)
    program = unique_bigram_copy_trigram_program(vocabulary(4))()
    assert fragment(program) == LOCAL and radius(program) == 2
    v = check_case(case, program, max_len=6, samples=100)
    assert v.status == "holds", v.counterexample


def test_wrong_references_and_inputs_outside_the_domain_are_caught():
    reverse = get_case("unique_reverse")
    as_copy = check_case(dataclasses.replace(reverse, answer=copy_answer), max_len=2, samples=0)
    assert as_copy.status == "refuted" and len(as_copy.counterexample.input) == 2
    count = get_case("count")
    short = check_case(dataclasses.replace(count, answer=lambda x: count.answer(x)[:-1]), max_len=2, samples=0)
    assert short.status == "refuted"
    # a repeated bigram ("0 1" twice): the program's premise fails and it no longer copies
    produced, _ = generate(get_case("unique_bigram_copy").build_program(), toks("<bos> 0 1 0 1 2 <sep>"))
    assert tuple(produced) != toks("0 1 0 1 2 <eos>")


# ------------------------------------------------------------------ training at the paper's size
@pytest.mark.parametrize("name,vocab,table", [("count", 150, 155), ("unique_reverse", 150, 303),
                                              ("unique_bigram_copy", 16, 303)])
def test_training_rebuilds_the_papers_size(name, vocab, table):
    """The paper group's position tables: 150 + 5 rows for count, 2·150 + 3 for the other two."""
    case = training_case(get_case(name))
    assert case.extra["vocab_size"] == vocab and len(case.input_alphabet) == vocab
    data = TaskData(case)
    longest = max(len(case.full_sequence(x)) for x in case.sampler(np.random.default_rng(0), 8, 150))
    assert longest == table and data.valid_lengths(0, 150).max() == 150
