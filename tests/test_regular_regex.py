"""verify/regular/regex.py and dfa.py: the regex compiler agrees with Python's `re`, the minimal DFA
is minimal and canonical, and bad input is one located message."""
import itertools
import random
import re

import pytest

from verify.problems import UserError
from verify.regular.dfa import from_automaton, minimal_dfa, minimize
from verify.regular.regex import MAX_REGEX_CHARS, TooLarge, regex_dfa, used_symbols
from verify.smt.specs import regex_to_automaton

PATTERNS = ["(ab)*", "a*b*", "(a|b)*abb", "a+b?a", "((aa)*|b)(ba)*", "[ab]c*", "a(b|c)*c", "(ab|aabb)*",
            "(a|b)*b(a|b)(a|b)", "c?(a|bc)+"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_agrees_with_python_re(pattern):
    dfa = regex_dfa(pattern, ("a", "b", "c"))
    rx = re.compile(pattern)
    for n in range(7):
        for w in itertools.product("abc", repeat=n):
            assert dfa.accepts(w) == bool(rx.fullmatch("".join(w))), (pattern, w)


def test_empty_word_spellings():
    for p in ("ε", "()", "", "a|ε"):
        d = regex_dfa(p, ("a",))
        assert d.accepts(()) and (d.accepts(("a",)) == (p == "a|ε"))
    assert regex_dfa("ε*", ("a",)).n_states == 2          # {ε} and the sink


def _brute_minimal_states(dfa):
    """Number of Myhill–Nerode classes by comparing acceptance on all suffixes up to length 6."""
    sigs = set()
    for q in range(dfa.n_states):
        sigs.add(tuple(dfa.accepting[dfa.run(w, q)] for n in range(7)
                       for w in itertools.product(dfa.alphabet, repeat=n)))
    return len(sigs)


def test_minimal_dfa_is_minimal_and_canonical():
    rng = random.Random(3)
    for _ in range(40):
        p = "".join(rng.choice(["a", "b", "(a|b)", "a*", "(ab)*", "b+", "(a|bb)?"]) for _ in range(4))
        d = regex_dfa(p, ("a", "b"))
        assert d.n_states == _brute_minimal_states(d), p
        # a different regex for the same language gives the identical table
        assert regex_dfa(f"({p})|({p})", ("a", "b")).same_as(d)
        # minimizing a minimal DFA changes nothing; the automaton round trip too
        assert minimize(d).same_as(d) and minimal_dfa(d.to_automaton()).same_as(d)


def test_old_entry_point_is_a_thin_call():
    auto = regex_to_automaton("(a|bb)*a", ("a", "b"))
    assert from_automaton(auto).minimize().same_as(regex_dfa("(a|bb)*a", ("a", "b")))
    assert regex_to_automaton('("(" ")")*', ("(", ")")).accepts(("(", ")"))


def test_default_alphabet_is_the_symbols_used():
    assert used_symbols("(b|a)*c") == ("a", "b", "c")
    assert regex_dfa("(ab|aabb)*").alphabet == ("a", "b")


@pytest.mark.parametrize("pattern,column,what", [
    ("(ab", 1, "never closed"), ("a)b", 2, "has no ("), ("*a", 1, "unexpected '*'"), ("a|*", 3, "unexpected"),
    ("a{2}", 2, "not part of the syntax"), ("ab[", 3, "unterminated ["), ('a"b', 2, "unterminated quote"),
    ("abz", 3, "not in the alphabet"),
])
def test_parse_errors_are_located(pattern, column, what):
    with pytest.raises(UserError) as err:
        regex_dfa(pattern, ("a", "b"))
    msg = str(err.value)
    assert msg.startswith(f"regex:1:{column}: ") and what in msg
    lines = msg.splitlines()
    assert lines[1].strip() == pattern and lines[2].index("^") - lines[1].index(pattern[0]) == column - 1


@pytest.mark.slow
def test_limits():
    with pytest.raises(UserError, match=f"the limit is {MAX_REGEX_CHARS}"):
        regex_dfa("a" * (MAX_REGEX_CHARS + 1), ("a",))
    with pytest.raises(UserError, match="nested deeper"):
        regex_dfa("(" * 300 + "a" + ")" * 300, ("a",))
    with pytest.raises(UserError, match="alphabet is empty"):
        regex_dfa("ε")
    with pytest.raises(TooLarge):                # (a|b)*a(a|b)^12: 2^13 subset states
        regex_dfa("(a|b)*a" + "(a|b)" * 12, ("a", "b"), max_states=1000)
    # a long regex within the limit compiles quickly (minimal DFA of (a|b)* is one state)
    assert regex_dfa("(a|b)*" * 1600).n_states == 1


def test_dfa_file_format_round_trips():
    import json

    from verify.regular.dfa import table_dict
    from verify.regular.dfafile import parse_dfa
    d = regex_dfa("(ab|aabb)*")
    assert parse_dfa(json.dumps(table_dict(d))).minimize().same_as(d)


def _moore_classes(delta, accepting):
    """Reference: naive Moore refinement (classes = tuples of successor classes), for the count."""
    cls = [int(a) for a in accepting]
    while True:
        sig = [(cls[q], *[cls[t] for t in delta[q]]) for q in range(len(cls))]
        ids = {s: i for i, s in enumerate(sorted(set(sig)))}
        new = [ids[s] for s in sig]
        if len(set(new)) == len(set(cls)):
            return len(set(new))
        cls = new


def test_hopcroft_agrees_with_a_naive_moore_refinement():
    import numpy as np

    from verify.regular.dfa import Dfa, reachable
    rng = np.random.default_rng(4)
    for _ in range(60):
        n, k = int(rng.integers(1, 40)), int(rng.integers(1, 4))
        d = reachable(Dfa(tuple("abc"[:k]), rng.integers(0, n, size=(n, k)), rng.random(n) < 0.4, 0))
        m = minimize(d)
        assert m.n_states == _moore_classes(d.delta.tolist(), d.accepting.tolist())
        words = [tuple(rng.choice(list(d.alphabet), size=int(rng.integers(0, 9)))) for _ in range(50)]
        assert all(m.accepts(w) == d.accepts(w) for w in words)
