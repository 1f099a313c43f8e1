"""Random regular expressions for the inclusion tests and the benchmark (seeded, reproducible)."""
from __future__ import annotations

import random
from typing import Sequence


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
