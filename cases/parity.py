"""Parity (SEQUENCE): answer e if the number of 1s is even, o if odd. No program (the paper's ✗)."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from verify.case import SEQUENCE, Case

from cases._common import CITED_LABEL, as_tokens, modular_reason, sequence_alphabet, shuffled_counts


def parity_answer(tokens: Tuple[str, ...]) -> Tuple[str, ...]:
    return ("e",) if tokens.count("1") % 2 == 0 else ("o",)


def parity_valid(tokens: Tuple[str, ...]) -> bool:
    return len(tokens) >= 1 and set(tokens) <= {"0", "1"}


def parity_sampler(rng: np.random.Generator, batch: int, n: int):
    if n < 1:
        raise ValueError("parity inputs have at least one bit here")
    ones = rng.integers(0, n + 1, size=batch)   # as the paper: #1 uniform in 0..n, then shuffled
    return as_tokens(shuffled_counts(rng, batch, n, ones), ("0", "1"))


CASES = [
    Case(name="parity", family="algorithmic", format=SEQUENCE,
         alphabet=sequence_alphabet(("0", "1"), ("e", "o")), input_alphabet=("0", "1"),
         description="parity: e if the number of 1s is even, else o",
         answer=parity_answer, valid_input=parity_valid, sampler=parity_sampler,
         expected_ape=False, expected_nope=False, citation=CITED_LABEL,
         no_program_reason=modular_reason("the number of 1s modulo 2", subject="The answer"),
         notes=("The paper's code also draws the empty input (length 0); here inputs have length ≥ 1. "
                "Theorem 12 cannot refute it (O(1) bits: the parity of Alice's half).")),
]
