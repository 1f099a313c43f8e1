"""Copy tasks (SEQUENCE): unique copy (distinct tokens; a plain C-RASP program, the paper's C-RASP[local]
one kept beside it) and repeat copy over {a, b} (no program: Theorem 12)."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from verify.case import SEQUENCE, Case
from verify.crasp.builder import ProgramBuilder, add, and_, count, eq, gt, ite, or_, prev, sub, sym

from cases._common import BOS, EOS, SEP, as_tokens, ordered_distinct, sequence_alphabet
from cases._locate import input_marker, tail
from cases._sequence_specs import copy_spec

PAPER_VOCAB = 150
UNIQUE_COPY_VOCAB = 12       # default for the catalogue: the program has ~V² counting operations


def vocabulary(size: int) -> Tuple[str, ...]:
    """Tokens "0".."size-1", as in the paper's code."""
    return tuple(str(i) for i in range(size))


def copy_answer(tokens: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(tokens)


def unique_copy_plain_program(vocab: Tuple[str, ...]):
    """Plain C-RASP, about 2·V counts (cases/_locate.py): tail_y = n − p_y + 1 for the token y at input
    position p_y; `current` is n + 1 at the separator (the input and <bos>) and the tail of the answer
    token just written after it. The next token is the y one input position later (tail_y = current − 1),
    <eos> once current = 1 (the last input token was written)."""
    def build():
        b = ProgramBuilder(sequence_alphabet(vocab, vocab), f"unique_copy_{len(vocab)}")
        in_input = input_marker(b)
        at = {y: tail(b, f"tail_{y}", sym(y), in_input) for y in vocab}
        current = b.let("current", ite(sym(SEP), count(in_input), add(*[ite(sym(a), at[a], 0) for a in vocab])))
        for y in vocab:
            b.next(y, and_(gt(current, 1), eq(at[y], sub(current, 1))))
        b.next(EOS, eq(current, 1))
        return b.build()
    return build


def unique_copy_program(vocab: Tuple[str, ...]):
    """The paper's idea, C-RASP[local], radius 1 (kept to cross-check the plain program): at a token a of the copy, the next token is the b that followed a in
    the input (the bigram "a b" has occurred); at the separator, the token that followed <bos>; after
    the token that preceded the separator, <eos>. Distinct tokens make each choice unique."""
    def build():
        b = ProgramBuilder(sequence_alphabet(vocab, vocab), f"unique_copy_{len(vocab)}")
        after = {a: b.let(f"after_{a}", prev(sym(a), 1)) for a in (BOS, *vocab)}
        first = {x: b.let(f"first_{x}", gt(count(and_(sym(x), after[BOS])), 0)) for x in vocab}
        for y in vocab:
            seen = [and_(sym(a), gt(count(and_(sym(y), after[a])), 0)) for a in vocab if a != y]
            b.next(y, or_(and_(sym(SEP), first[y]), *seen))
        b.next(EOS, or_(*[and_(sym(a), gt(count(and_(sym(SEP), after[a])), 0)) for a in vocab]))
        return b.build()
    return build


def make_unique_copy(vocab_size: int = UNIQUE_COPY_VOCAB, name: str = "unique_copy") -> Case:
    vocab = vocabulary(vocab_size)

    def valid(tokens: Tuple[str, ...]) -> bool:
        return len(tokens) >= 1 and set(tokens) <= set(vocab) and len(set(tokens)) == len(tokens)

    def sampler(rng: np.random.Generator, batch: int, n: int):
        if not 1 <= n <= vocab_size:
            raise ValueError(f"unique copy with {vocab_size} tokens has inputs of length 1..{vocab_size}")
        ids = np.argsort(rng.random((batch, vocab_size)), axis=1)[:, :n]
        return as_tokens(ids, vocab)

    return Case(
        name=name, family="algorithmic", format=SEQUENCE, alphabet=sequence_alphabet(vocab, vocab),
        input_alphabet=vocab, description="unique copy: copy a string of distinct tokens",
        answer=copy_answer, valid_input=valid, sampler=sampler, program=unique_copy_plain_program(vocab),
        spec=copy_spec(sequence_alphabet(vocab, vocab), vocab, copy_answer, valid, sampler),
        families=(("ordered", ordered_distinct(vocab)),),
        # half the vocabulary: checkers sample up to twice the training length, and no valid input
        # is longer than V
        max_input_len=min(50, vocab_size // 2),
        notes=(f"The paper draws distinct tokens from a vocabulary of {PAPER_VOCAB} (tokens '0'..'149'). "
               f"The program family is uniform in the vocabulary size V (about 2·V counts and V "
               f"comparisons), so the catalogue uses V = {vocab_size} to keep checks fast; "
               f"make_unique_copy({PAPER_VOCAB}) builds the paper's size. Inputs have length 1..V; the "
               f"training length is taken as V // 2 = {vocab_size // 2} so that sampling up to twice it "
               "stays within the task's domain. NoPE: the program is plain C-RASP (the position of a token "
               "is read from a count, cases/_locate.py), proved equal to the task for every length, so the "
               "theory predicts ✓ with NoPE too — against the paper's NoPE label (program_found = no), "
               "which the report shows as a disagreement. The paper's C-RASP[local] program (the next "
               "token is the one after the bigram 'a b' in the input) is unique_copy_program, kept to "
               "cross-check it (`verify equiv`)."),
        extra={"vocab_size": vocab_size, "paper_vocab_size": PAPER_VOCAB,
               # the paper's NoPE label is program_found = no; this plain program is proved for every length
               "paper_label_disputed": ("NoPE",),
               # no valid input is longer (distinct tokens): the sampler raises ValueError past it
               "longest_input": vocab_size},
    )


REPEAT = ("a", "b")


def repeat_valid(tokens: Tuple[str, ...]) -> bool:
    return len(tokens) >= 1 and set(tokens) <= set(REPEAT)


def repeat_sampler(rng: np.random.Generator, batch: int, n: int):
    if n < 1:
        raise ValueError("repeat copy needs at least one input symbol")
    return as_tokens(rng.integers(0, 2, size=(batch, n)), REPEAT)


CASES = [
    make_unique_copy(),
    Case(name="repeat_copy", family="algorithmic", format=SEQUENCE,
         alphabet=sequence_alphabet(REPEAT, REPEAT), input_alphabet=REPEAT,
         description="repeat copy: copy a string over {a, b} (symbols repeat)",
         answer=copy_answer, valid_input=repeat_valid, sampler=repeat_sampler,
         expected_ape=False, expected_nope=False, citation="Theorem 12",
         no_program_reason=(
             "Theorem 12 (communication): with the input split between Alice and Bob, Bob must output "
             "Alice's whole half while copying, so any one-way protocol sends Ω(N) bits, while a Limit "
             "Transformer satisfying PERIODIC and LOCAL (hence any C-RASP[periodic,local] program, "
             "Theorem 9) needs only O(log N). The communication bound itself is checked by verify/comm; "
             "this record only cites it."),
         notes="Uniform random strings over {a, b}, as in the paper's code."),
]
