"""Binary addition (SEQUENCE): `<bos> a + b = sum <eos>`, most significant bit first. No program:
Theorem 12."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from verify.case import SEQUENCE, Case

from cases._common import sequence_alphabet

DIGITS = ("0", "1")


def _operand_ok(bits: Tuple[str, ...]) -> bool:
    return len(bits) >= 1 and set(bits) <= set(DIGITS) and (len(bits) == 1 or bits[0] == "1")


def addition_valid(tokens: Tuple[str, ...]) -> bool:
    if tokens.count("+") != 1:
        return False
    k = tokens.index("+")
    return _operand_ok(tokens[:k]) and _operand_ok(tokens[k + 1:])


def addition_answer(tokens: Tuple[str, ...]) -> Tuple[str, ...]:
    k = tokens.index("+")
    total = int("".join(tokens[:k]), 2) + int("".join(tokens[k + 1:]), 2)
    return tuple(bin(total)[2:])


def addition_sampler(rng: np.random.Generator, batch: int, n: int):
    """n = len(a) + 1 + len(b); len(a) uniform in 1..n-2; operands have no leading zeros."""
    if n < 3:
        raise ValueError("addition inputs `a + b` have length >= 3")
    out = []
    len_a = rng.integers(1, n - 1, size=batch)
    bits = rng.integers(0, 2, size=(batch, n)).astype(str)
    for row, la in zip(bits, len_a):
        lb = n - 1 - la
        a = list(row[:la])
        b_ = list(row[la + 1:])
        if la > 1:
            a[0] = "1"
        if lb > 1:
            b_[0] = "1"
        out.append((*a, "+", *b_))
    return out


CASES = [
    Case(name="addition", family="algorithmic", format=SEQUENCE,
         alphabet=sequence_alphabet(("0", "1", "+"), DIGITS, sep="="), input_alphabet=("0", "1", "+"),
         sep="=", description="binary addition: a+b= then the sum, most significant bit first",
         answer=addition_answer, valid_input=addition_valid, sampler=addition_sampler,
         expected_ape=False, expected_nope=False, citation="Theorem 12", min_len=3,
         # len(a) + len(b) = n - 1 with both ≥ 1, so the sum has at most max(len a, len b) + 1 ≤ n - 1 bits
         answer_len_bound=lambda n: max(1, n - 1),
         no_program_reason=(
             "Theorem 12 (communication): with a and b split between Alice and Bob, Bob must output "
             "bits of the sum that depend on Alice's whole operand, so one-way communication grows "
             "linearly in N, while a Limit Transformer satisfying PERIODIC and LOCAL (hence any "
             "C-RASP[periodic,local] program, Theorem 9) needs only O(log N) bits. Cited here; the "
             "bound itself is checked by verify/comm."),
         notes=("Operands have no leading zeros (a one-bit operand may be 0), the sum is written without "
                "leading zeros, as in the paper's code. Input length n counts a, '+', and b; the "
                "paper's length also counts '=' (n + 1). The separator is '='.")),
]
