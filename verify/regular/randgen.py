"""Random regular expressions for the inclusion tests and the benchmark (seeded, reproducible), and the
bounded-counter DFA family both use for timing the decider."""
from __future__ import annotations

import random
from typing import Sequence

import numpy as np

from verify.regular.dfa import Dfa


def random_regex(rng: random.Random, letters: Sequence[str], depth: int = 5) -> str:
    """A random expression tree of the given depth over `letters` (|, concatenation, *, +, ?)."""
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(list(letters))
    op = rng.choice("|..*+?")
    if op == "|":
        return f"({random_regex(rng, letters, depth - 1)}|{random_regex(rng, letters, depth - 1)})"
    if op == ".":
        return random_regex(rng, letters, depth - 1) + random_regex(rng, letters, depth - 1)
    return f"({random_regex(rng, letters, depth - 1)}){op}"


def random_regexes(count: int, letters: Sequence[str] = ("a", "b", "c"), seed: int = 0, depth: int = 5):
    rng = random.Random(seed)
    return [random_regex(rng, letters, depth) for _ in range(count)]


def counter_dfa(depth: int) -> Dfa:
    """Dyck words of depth <= depth: one SCC of depth + 1 states and a sink (a C-RASP language)."""
    n = depth + 2
    delta = np.zeros((n, 2), dtype=np.int64)
    for i in range(depth + 1):
        delta[i, 0] = i + 1 if i < depth else n - 1
        delta[i, 1] = i - 1 if i > 0 else n - 1
    delta[n - 1] = n - 1
    acc = np.zeros(n, dtype=bool)
    acc[0] = True
    return Dfa(("a", "b"), delta, acc, 0).minimize()
