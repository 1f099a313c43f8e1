"""`verify classify` stays within seconds inside its documented limits (issue 20): the DFA-file parser, the
minimization and the subset construction are linear (or n·log n) in what they read, and the alphabet is capped
(last-position acceptance builds one quotient DFA per symbol). Limits: docs/classify.md."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from verify.cli import main
from verify.problems import UserError
from verify.regular.dfa import MAX_ALPHABET, Dfa, minimize
from verify.regular.dfafile import MAX_FILE_STATES, parse_dfa
from verify.regular.regex import regex_dfa

SECONDS = 60     # a generous ceiling on a loaded 2-core machine; these took minutes before


def _counter_dfa_text(n: int) -> str:
    """Σ = {a, b}: a counts modulo n, b stays; accepting at 0. Minimal: n states, a cyclic group."""
    table = {f"q{i}": {"a": f"q{(i + 1) % n}", "b": f"q{i}"} for i in range(n)}
    return json.dumps({"alphabet": ["a", "b"], "start": "q0", "accepting": ["q0"], "transitions": table})


def test_a_100000_state_dfa_file_is_read_and_classified_in_seconds(tmp_path, capsys):
    path = tmp_path / "counter.dfa"
    path.write_text(_counter_dfa_text(MAX_FILE_STATES))
    start = time.perf_counter()
    dfa = parse_dfa(path.read_text(), str(path))           # used to rescan the text once per state
    assert dfa.n_states == MAX_FILE_STATES
    assert time.perf_counter() - start < SECONDS / 4
    start = time.perf_counter()
    assert main(["classify", str(path), "--budget", "0", "--json"]) in (0, 3)
    assert json.loads(capsys.readouterr().out)["states"] == MAX_FILE_STATES
    assert time.perf_counter() - start < SECONDS


def test_minimization_splits_in_time_proportional_to_the_smaller_half():
    """Hopcroft's bound: a chain of 50,000 states (each split cuts one state off a large block) used to cost
    a set difference over the large block per split, quadratic in the states."""
    n = 50_000
    delta = np.stack([np.minimum(np.arange(n) + 1, n - 1), np.arange(n)], axis=1)
    accepting = np.zeros(n, dtype=bool)
    accepting[-1] = True
    start = time.perf_counter()
    small = minimize(Dfa(("a", "b"), delta, accepting, 0))
    assert small.n_states == n and time.perf_counter() - start < SECONDS / 4
    # and it is still the minimal DFA: a chain whose states all accept collapses to one state
    assert minimize(Dfa(("a", "b"), delta, np.ones(n, dtype=bool), 0)).n_states == 1


def test_a_union_of_as_many_symbols_as_allowed_is_classified_in_seconds(capsys):
    pattern = "|".join(chr(0x4E00 + i) for i in range(MAX_ALPHABET))
    start = time.perf_counter()
    assert regex_dfa(pattern).n_states == 3
    assert main(["classify", pattern, "--budget", "0"]) in (0, 3)
    assert time.perf_counter() - start < SECONDS
    capsys.readouterr()


def test_the_subset_construction_reads_each_edge_once_per_state():
    """`.` over a large alphabet (allowed outside classify, e.g. --spec regex:) is linear in the alphabet."""
    alphabet = tuple(f"s{i}" for i in range(20_000))
    start = time.perf_counter()
    assert regex_dfa('"s1"(.)*"s2"', alphabet).n_states == 4
    assert time.perf_counter() - start < SECONDS / 4


@pytest.mark.parametrize("argv, message", [
    (["classify", "a*", "--alphabet", ",".join(f"s{i}" for i in range(MAX_ALPHABET + 1))], "--alphabet has 257"),
    (["classify", "|".join(chr(0x4E00 + i) for i in range(MAX_ALPHABET + 1))], "has 257 symbols"),
])
def test_past_the_alphabet_limit_is_one_message_at_once(argv, message, capsys):
    start = time.perf_counter()
    assert main(argv) == 2
    assert message in capsys.readouterr().err and time.perf_counter() - start < 10


def test_a_dfa_file_past_the_transition_limit_is_refused_before_the_table_is_built():
    symbols = [f"s{i}" for i in range(200)]
    table = {f"q{i}": {a: "q0" for a in symbols} for i in range(2_001)}   # 400,200 transitions
    with pytest.raises(UserError, match="transitions; the limit is 400,000"):
        parse_dfa(json.dumps({"alphabet": symbols, "start": "q0", "accepting": [], "transitions": table}), "x.dfa")
