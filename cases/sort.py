"""Sort (SEQUENCE): distinct tokens, answer in ascending order. Plain C-RASP, linear in the vocabulary."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from verify.case import SEQUENCE, Case
from verify.crasp.builder import (ProgramBuilder, add, and_, count, eq, gt, indicator, ite, sym)

from cases._common import EOS, SEP, as_tokens, ordered_distinct, sequence_alphabet
from cases._sequence_specs import sort_spec
from cases.copy import PAPER_VOCAB, vocabulary

SORT_VOCAB = 100             # default: room for the checker to sample up to twice the training length 50


def sort_program(vocab: Tuple[str, ...]):
    """present_c: c occurs in the input; L_c: how many present tokens are smaller than c (a running
    sum over the vocabulary in order); cur: the rank L_a + 1 of the current token a (0 at the
    separator). Next is the present c with L_c == cur, or <eos> once cur == the input length."""
    def build():
        b = ProgramBuilder(sequence_alphabet(vocab, vocab), f"sort_{len(vocab)}")
        in_input = b.let("in_input", eq(count(sym(SEP)), 0))
        present = {c: b.let(f"present_{c}", gt(count(and_(sym(c), in_input)), 0)) for c in vocab}
        smaller = {}
        running = None
        for c in vocab:
            smaller[c] = running if running is not None else b.let(f"smaller_{c}", 0)
            running = b.let(f"smaller_{c}_next", add(smaller[c], indicator(present[c])))
        total = running
        cur = b.let("rank", add(*[ite(sym(a), add(smaller[a], 1), 0) for a in vocab]))
        for c in vocab:
            b.next(c, and_(present[c], eq(smaller[c], cur)))
        b.next(EOS, and_(gt(cur, 0), eq(cur, total)))
        return b.build()
    return build


def make_sort(vocab_size: int = SORT_VOCAB, name: str = "sort") -> Case:
    vocab = vocabulary(vocab_size)

    def answer(tokens: Tuple[str, ...]) -> Tuple[str, ...]:
        return tuple(sorted(tokens, key=int))

    def valid(tokens: Tuple[str, ...]) -> bool:
        return len(tokens) >= 1 and set(tokens) <= set(vocab) and len(set(tokens)) == len(tokens)

    def sampler(rng: np.random.Generator, batch: int, n: int):
        if not 1 <= n <= vocab_size:
            raise ValueError(f"sort with {vocab_size} tokens has inputs of length 1..{vocab_size}")
        return as_tokens(np.argsort(rng.random((batch, vocab_size)), axis=1)[:, :n], vocab)

    return Case(
        name=name, family="algorithmic", format=SEQUENCE, alphabet=sequence_alphabet(vocab, vocab),
        input_alphabet=vocab, description="sort: distinct tokens in ascending order",
        answer=answer, valid_input=valid, sampler=sampler, program=sort_program(vocab),
        spec=sort_spec(sequence_alphabet(vocab, vocab), vocab, answer, valid, sampler),
        families=(("ordered", ordered_distinct(vocab)),),
        max_input_len=min(50, vocab_size // 2),
        notes=(f"Tokens '0'..'{vocab_size - 1}' ordered as integers. The paper draws distinct tokens from "
               f"{PAPER_VOCAB}; the program family is uniform in V (V + 3 counting operations, a running "
               f"sum over the vocabulary), the catalogue uses V = {vocab_size} and "
               f"make_sort({PAPER_VOCAB}) builds the paper's size. The program works for every "
               "position offset (no positional predicate)."),
        extra={"vocab_size": vocab_size, "paper_vocab_size": PAPER_VOCAB,
               # no valid input is longer (distinct tokens): the sampler raises ValueError past it
               "longest_input": vocab_size},
    )


CASES = [make_sort()]
