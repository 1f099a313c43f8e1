"""The catalogue's references, samplers and records: hand-picked members and non-members for every
language, known answers for sequence inputs, samplers within the task's domain, programs that
type-check in the fragment their record claims, and records that agree with the paper's labels."""
from __future__ import annotations

import numpy as np
import pytest

from verify.case import LANGUAGE, SEQUENCE
from verify.catalogue import all_cases, get_case, paper_results
from verify.crasp.checks import check_program
from verify.crasp.fragment import LOCAL, PERIODIC, PERIODIC_LOCAL, PLAIN, fragment

# name -> (members, non-members); every symbol of these alphabets is one character
LANGUAGE_EXAMPLES = {
    "tomita1": (["1", "11", "1111"], ["0", "10", "01", "110"]),
    "tomita2": (["10", "1010", "101010"], ["1", "0", "01", "1001", "1100", "10101"]),
    "tomita3": (["0", "1", "11", "110", "100", "1001", "11100", "011"],
                ["10", "1000", "101", "0101", "111000"]),
    "tomita4": (["1", "00", "1001", "0010010"], ["000", "1000", "10001", "0001"]),
    "tomita5": (["00", "11", "0101", "1001"], ["0", "1", "01", "000"]),
    "tomita6": (["01", "10", "000", "111", "0011", "000111"], ["0", "1", "00", "0000", "0001", "00011"]),
    "tomita7": (["0", "1", "0110", "0101", "00110011"], ["1010", "10101", "0010101", "11011010"]),
    "d2": (["()", "(())", "()()", "(())()"], ["((()))", ")(", "(", "())"]),
    "d3": (["((()))", "()", "(()(()))"], ["(((())))", ")(", "(()"]),
    "d4": (["(((())))", "(()(()))"], ["((((()))))", "(()))"]),
    "d12": (["(" * 12 + ")" * 12, "()" * 5], ["(" * 13 + ")" * 13, "(" * 12]),
    "aa_star": (["aa", "aaaa"], ["a", "aaa"]),
    "aaaa_star": (["aaaa", "aaaaaaaa"], ["a", "aa", "aaaaaa"]),
    "abab_star": (["abab", "abababab"], ["ab", "aabb", "ababab", "baba", "abba"]),
    "aa_bb_cc_dd_ee": (["abcde", "aabbbcdeee", "abcdde"], ["abcd", "abcdea", "bcde", "aabbddccee", "abcded"]),
    "ab_d_bc": (["d", "abd", "dbc", "babdcbc", "bdb"], ["ab", "dd", "adca", "cd", "dbca"]),
    "zot_02": (["0", "02", "1022", "2202", "0120"], ["1", "2", "01", "0221", "22"]),
    "dyck1": (["()", "(())()", "((()))"], ["(", ")(", "())(", "(()"]),
    "shuffle2": (["()", "[]", "([)]", "[(])", "([])"], ["(]", "([)", ")(", "[(]"]),
    "anbn": (["ab", "aabb", "aaabbb"], ["a", "b", "ba", "aab", "abab", "abb"]),
    "anbncn": (["abc", "aabbcc"], ["aabbc", "abcabc", "acb", "aabcc"]),
    "anbncndn": (["abcd", "aabbccdd"], ["abcdd", "abdc", "aabbccd"]),
    "boolean3": (["0", "1", "~0", "+01", ">011", "+~0>101", "~~1"], ["+0", "01", "+011", "~", ">01", "+"]),
    "boolean5": (["^01010", "*0101", "~^11111", "+01"], ["^0101", "*01010", "*"]),
}

# name -> [(input, answer)], tokens separated by spaces
SEQUENCE_EXAMPLES = {
    "bin_majority": [("0 1 1", "1"), ("0", "0"), ("1 0 0 1 0", "0")],
    "majority": [("a b a", "a"), ("z", "z"), ("c b b c c", "c")],
    "bin_majority_interleave": [("0 1 1 0 1 1 1 0 1", "0 1 1"), ("1 0 0", "1 0 0")],
    "unique_copy": [("3 1 2", "3 1 2"), ("7", "7")],
    "repeat_copy": [("a b a a", "a b a a")],
    "sort": [("10 2 7", "2 7 10"), ("4", "4"), ("3 1 2 0", "0 1 2 3")],
    "parity": [("1 1 0", "e"), ("1 0 0", "o"), ("0", "e")],
    "addition": [("1 1 + 1", "1 0 0"), ("0 + 0", "0"), ("1 0 1 + 1 1", "1 0 0 0")],
}

INVALID_INPUTS = {
    "bin_majority": ["0 1", "1 1 0 0"],
    "majority": ["a b", "a a b b c"],
    "bin_majority_interleave": ["0 1 1 0", "0 0 0 1 1 1"],  # length not a multiple of 3; tied strands
    "unique_copy": ["1 1", "3 4 3"],
    "sort": ["2 2"],
    "addition": ["0 1 + 1", "1 +", "1 + + 1", "1 1", "+ 1"],
}

PAPER_NAMES = sorted({task for task, _ in paper_results()})


def _ids(case, word: str) -> np.ndarray:
    return np.array([[case.alphabet.index(ch) for ch in word]])


def test_catalogue_has_every_task_of_the_paper():
    names = [c.name for c in all_cases()]
    assert len(names) == len(set(names))
    assert set(PAPER_NAMES) <= set(names)
    assert set(LANGUAGE_EXAMPLES) | set(SEQUENCE_EXAMPLES) >= set(PAPER_NAMES)


@pytest.mark.parametrize("name", sorted(LANGUAGE_EXAMPLES))
def test_language_reference_examples(name):
    case = get_case(name)
    assert case.format == LANGUAGE
    members, non_members = LANGUAGE_EXAMPLES[name]
    for word in members:
        assert case.labels(_ids(case, word))[0, -1], f"{name}: {word!r} should be a member"
        assert case.spec.accepts(tuple(word)), f"{name}: spec rejects member {word!r}"
    for word in non_members:
        assert not case.labels(_ids(case, word))[0, -1], f"{name}: {word!r} should not be a member"
        assert not case.spec.accepts(tuple(word)), f"{name}: spec accepts non-member {word!r}"


@pytest.mark.parametrize("name", sorted(LANGUAGE_EXAMPLES))
def test_language_labels_are_prefix_membership(name):
    """labels at position i equal the label of the prefix of length i, computed on its own."""
    case = get_case(name)
    word = max(LANGUAGE_EXAMPLES[name][0], key=len) + LANGUAGE_EXAMPLES[name][1][0]
    full = case.labels(_ids(case, word))[0]
    alone = [case.labels(_ids(case, word[:i + 1]))[0, -1] for i in range(len(word))]
    assert list(full) == alone


@pytest.mark.parametrize("name", sorted(SEQUENCE_EXAMPLES))
def test_sequence_answers(name):
    case = get_case(name)
    assert case.format == SEQUENCE
    for given, want in SEQUENCE_EXAMPLES[name]:
        tokens = tuple(given.split())
        assert case.valid_input(tokens), f"{name}: {given!r} should be a valid input"
        assert case.answer(tokens) == tuple(want.split())
        full = case.full_sequence(tokens)
        assert full[0] == case.bos and full[-1] == case.eos and full[len(tokens) + 1] == case.sep
        assert set(full) <= set(case.alphabet)
    for given in INVALID_INPUTS.get(name, []):
        assert not case.valid_input(tuple(given.split())), f"{name}: {given!r} should be invalid"


@pytest.mark.parametrize("case", [c for c in all_cases() if c.name in PAPER_NAMES], ids=lambda c: c.name)
def test_samplers_stay_in_the_domain(case):
    rng = np.random.default_rng(0)
    lengths = [n for n in (1, 2, 3, 6, 7, 12, 30, 60, 150) if n >= case.min_len and n % case.length_multiple == 0]
    if case.format == LANGUAGE:
        for n in lengths:
            ids = case.sampler(rng, 64, n)
            assert ids.shape == (64, n) and ids.min() >= 0 and ids.max() < len(case.alphabet)
        # the mix reaches members: some position of some sample is labelled positive
        assert case.labels(case.sampler(rng, 256, 40)).any()
        assert not case.labels(case.sampler(rng, 256, 40)).all()
    else:
        drawn = 0
        for n in lengths:
            try:
                inputs = case.sampler(rng, 32, n)
            except ValueError:
                assert n > case.max_input_len or n % case.length_multiple, f"{case.name} refused length {n}"
                continue
            drawn += 1
            assert len(inputs) == 32
            for x in inputs:
                assert len(x) == n and case.valid_input(x), (case.name, x)
                assert set(case.full_sequence(x)) <= set(case.alphabet)
        assert drawn >= 3
    if case.length_multiple > 1:
        with pytest.raises(ValueError):
            case.sampler(rng, 2, case.length_multiple + 1)


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.name)
def test_records_match_the_paper_and_claim_the_right_fragment(case):
    table = paper_results()
    if (case.paper_key, "APE") in table:
        disputed = case.extra.get("paper_label_disputed", ())
        for encoding, expected in (("APE", case.expected_ape), ("NoPE", case.expected_nope)):
            # a label we dispute must be one our verdict contradicts, argued in the case's notes
            agrees = expected == (table[(case.paper_key, encoding)]["program_found"] == "yes")
            assert agrees != (encoding in disputed), (case.name, encoding)
            assert encoding not in disputed or "against the paper" in case.notes
    if not case.expected_nope:   # a ✗ needs its reason; an undecided NoPE (no plain program known) says so
        assert case.nope_reason or case.no_program_reason or case.extra.get("nope") == "undecided"
        assert not (case.nope_reason and case.extra.get("nope") == "undecided")   # never both cited and undecided
    if case.program is None:
        # the paper's ✗ needs what it rests on: a citation (which the report replaces by a certificate where it
        # has one) or, where nothing here settles it, "undecided" with the reason (../shared/REGULAR.md §4)
        assert not case.expected_ape and case.no_program_reason
        assert case.citation or (case.extra.get("ape") == "undecided" and "undecided" in case.no_program_reason.lower())
        return
    program = case.program()
    assert check_program(program) == []
    assert tuple(program.alphabet) == tuple(case.alphabet)
    frag = fragment(program)
    assert case.expected_ape and frag in (PLAIN, PERIODIC, LOCAL, PERIODIC_LOCAL)
    # NoPE ✓ needs plain C-RASP; NoPE ✗ with a program means the program needs positions
    assert (frag == PLAIN) == case.expected_nope, f"{case.name}: fragment {frag}"
    if case.format == SEQUENCE:
        nexts = {o.name for o in program.outputs if o.kind == "next"}
        assert case.eos in nexts and nexts <= set(case.alphabet)
    else:
        assert [o.kind for o in program.outputs] == ["accept"]


def test_vocabulary_parameters_build_uniform_programs():
    from cases.copy import make_unique_copy
    from cases.sort import make_sort
    from cases.copy import unique_copy_program, vocabulary
    small = make_unique_copy(4)
    assert small.build_program() is not None and fragment(small.build_program()) == PLAIN
    assert fragment(unique_copy_program(vocabulary(4))()) == LOCAL    # the paper's bigram program
    big_sort = make_sort(150)
    assert len(big_sort.alphabet) == 150 + 3 and fragment(big_sort.build_program()) == PLAIN
    assert big_sort.answer(("149", "3", "20")) == ("3", "20", "149")


@pytest.mark.parametrize("case", [c for c in all_cases() if c.program is not None], ids=lambda c: c.name)
def test_adversarial_families_stay_in_the_domain(case):
    """Every family `verify check` samples from (generic and the case's own) gives inputs of the asked
    length inside the task's domain, and at least one family beside the sampler is adversarial."""
    from verify.checking import families
    rng = np.random.default_rng(1)
    fams = families(case)
    assert len(fams) >= 2 and fams[0].name in ("case sampler", "uniform")
    lengths = [n for n in (case.length_multiple * 3, 12, 30, 60) if n % case.length_multiple == 0 and n >= case.min_len]
    # the task's length: the input's, or the answer's where the input's is fixed (count: `s e`)
    size = (lambda x: len(case.answer(x))) if case.extra.get("length_is") == "answer" else len
    for fam in fams:
        for n in lengths:
            try:
                drawn = fam.draw(rng, 16, n)
            except ValueError:  # a length the task has no input of (e.g. distinct tokens)
                assert case.extra.get("longest_input") is not None and n > int(case.extra["longest_input"])
                continue
            if case.format == LANGUAGE:
                ids = np.asarray(drawn)
                assert ids.ndim == 2 and len(ids) <= 16 and (ids.size == 0 or ids.shape[1] == n)
                assert ids.size == 0 or (ids.min() >= 0 and ids.max() < len(case.alphabet))
            else:
                assert len(drawn) <= 16
                assert all(size(x) == n and case.valid_input(x) for x in drawn), (case.name, fam.name)


def test_deep_and_boundary_families_reach_what_uniform_strings_do_not():
    """Dyck-1: the deep family gives members nested at least n/4 deep; near-miss members are one edit
    from a member and never members; boundary counts have #( − #) within one step of 0."""
    from verify.checking import families
    case = next(c for c in all_cases() if c.name == "dyck1")
    fams = {f.name: f for f in families(case)}
    assert {"long runs", "deep members", "near-miss members", "boundary counts"} <= set(fams)
    rng = np.random.default_rng(0)
    deep = np.asarray(fams["deep members"].draw(rng, 64, 80))
    height = np.cumsum(np.where(deep == 0, 1, -1), axis=1)
    assert case.labels(deep)[:, -1].all() and (height.max(axis=1) >= 20).all()
    near = np.asarray(fams["near-miss members"].draw(rng, 64, 80))
    assert len(near) >= 32 and not case.labels(near)[:, -1].any()
    edge = np.asarray(fams["boundary counts"].draw(rng, 64, 80))
    assert (np.abs(height := np.cumsum(np.where(edge == 0, 1, -1), axis=1)[:, -1]) <= 2).all()


@pytest.mark.parametrize("name,depth", [("d4", 4), ("d12", 12)])
def test_bounded_counters_get_members_of_maximal_depth(name, depth):
    """From the automaton alone: walks that climb as far from the start as they can, then come back —
    for D-k, members that reach depth k."""
    from verify.checking import families
    case = next(c for c in all_cases() if c.name == name)
    fam = next(f for f in families(case) if f.name == "deep members")
    ids = np.asarray(fam.draw(np.random.default_rng(0), 32, 40))
    height = np.cumsum(np.where(ids == 0, 1, -1), axis=1)
    assert (height.max(axis=1) == depth).all() and case.labels(ids)[:, -1].mean() > 0.9
