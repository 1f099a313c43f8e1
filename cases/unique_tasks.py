"""Three SEQUENCE tasks of the paper group's later work (shared/checkpoints/README.md): count, unique
reverse and unique bigram copy. Their programs locate input positions with one plain C-RASP idea,
`tail(P) = #[in_input and #[P] > 0]` (cases/_locate.py), the same as unique copy's (cases/copy.py)."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from verify.case import SEQUENCE, Case
from verify.crasp import ast as A
from verify.crasp.builder import (ProgramBuilder, add, and_, count, eq, gt, ite, not_, or_, prev, sub,
                                  sym)

from cases._common import BOS, EOS, SEP, as_tokens, ordered_distinct, sequence_alphabet
from cases._locate import input_marker, tail
from cases._sequence_specs import bigram_copy_spec, copy_spec, count_spec
from cases.copy import PAPER_VOCAB, copy_answer, make_unique_copy, vocabulary

COUNT_VOCAB = 40             # catalogue defaults: every valid count input is enumerated at this size
REVERSE_VOCAB = 24
BIGRAM_VOCAB = 5             # inputs up to 5² + 1 = 26 tokens; the program has ~3·V² operations
PAPER_BIGRAM_VOCAB = 16      # ⌈1.25·√150⌉, the paper group's choice
WALK_ATTEMPTS = 60           # redraws of a stuck bigram walk before a length counts as unreachable


def name_of(symbol: str) -> str:
    """A symbol as part of a let name that the parser reads back ("<bos>" -> "bos")."""
    return symbol.strip("<>")


def distinct_tokens_sampler(vocab: Tuple[str, ...], task: str):
    """n distinct tokens, uniformly (the paper's unique copy and sort draw)."""
    def sampler(rng: np.random.Generator, batch: int, n: int):
        if not 1 <= n <= len(vocab):
            raise ValueError(f"{task} with {len(vocab)} tokens has inputs of length 1..{len(vocab)}")
        return as_tokens(np.argsort(rng.random((batch, len(vocab))), axis=1)[:, :n], vocab)
    return sampler


# ------------------------------------------------------------------ count
def count_program(vocab: Tuple[str, ...]):
    """Plain C-RASP, 2·V counts: tail_x is 2 for s (the first input token) and 1 for e. At <sep> the next
    token is s; at an answer token a the next is a + 1, unless a is e, where it is <eos>."""
    def build():
        b = ProgramBuilder(sequence_alphabet(vocab, vocab), f"count_{len(vocab)}")
        in_input = input_marker(b)
        at = {x: tail(b, f"tail_{x}", sym(x), in_input) for x in vocab}
        for i, x in enumerate(vocab):
            start = and_(sym(SEP), eq(at[x], 2))
            b.next(x, start if i == 0 else or_(start, and_(sym(vocab[i - 1]), not_(eq(at[vocab[i - 1]], 1)))))
        b.next(EOS, or_(*[and_(sym(a), eq(at[a], 1)) for a in vocab]))
        return b.build()
    return build


def make_count(vocab_size: int = COUNT_VOCAB, name: str = "count") -> Case:
    vocab = vocabulary(vocab_size)
    index = {t: i for i, t in enumerate(vocab)}

    def answer(tokens: Tuple[str, ...]) -> Tuple[str, ...]:
        return vocab[index[tokens[0]]:index[tokens[1]] + 1]

    def valid(tokens: Tuple[str, ...]) -> bool:
        return len(tokens) == 2 and set(tokens) <= set(vocab) and index[tokens[0]] < index[tokens[1]]

    def check_length(n: int) -> None:
        if not 2 <= n <= vocab_size:
            raise ValueError(f"count over {vocab_size} tokens has answers of length 2..{vocab_size}")

    def sampler(rng: np.random.Generator, batch: int, n: int):
        """n is the answer's length: s uniform in [0, V − n], e = s + n − 1 (the paper group's draw)."""
        check_length(n)
        s = rng.integers(0, vocab_size - n + 1, size=batch)
        return as_tokens(np.stack([s, s + n - 1], axis=1), vocab)

    def edges(rng: np.random.Generator, batch: int, n: int):
        """Adversarial family: answers that start at the vocabulary's first token or end at its last."""
        check_length(n)
        s = np.where(rng.random(batch) < 0.5, 0, vocab_size - n)
        return as_tokens(np.stack([s, s + n - 1], axis=1), vocab)

    return Case(
        name=name, family="algorithmic", format=SEQUENCE, alphabet=sequence_alphabet(vocab, vocab),
        input_alphabet=vocab, description="count: from s to e (input `s e`, s < e), one token at a time",
        answer=answer, valid_input=valid, sampler=sampler, program=count_program(vocab),
        spec=count_spec(sequence_alphabet(vocab, vocab), vocab, answer, valid, sampler),
        families=(("vocabulary edges", edges),),
        min_len=2, max_input_len=min(50, vocab_size // 2),
        notes=("Task length = the answer's length e − s + 1 (the paper group's convention), not the input's, "
               "which is always 2 tokens: the sampler's n, min_len, max_input_len and longest_input count "
               "answer tokens (extra['length_is'] = 'answer'); `verify check`'s exhaustive part still "
               "enumerates inputs by their own length, and at length 2 that is every valid input. "
               f"The paper group uses tokens '0'..'{PAPER_VOCAB - 1}'; the program is uniform in V "
               f"(2·V counts), the catalogue uses V = {vocab_size} and make_count({PAPER_VOCAB}) builds "
               "the paper's size. Plain C-RASP, so no position offset matters."),
        extra={"vocab_size": vocab_size, "paper_vocab_size": PAPER_VOCAB, "length_is": "answer",
               "longest_input": vocab_size},     # the longest answer: the sampler's n stops there
    )


# ------------------------------------------------------------------ unique reverse
def unique_reverse_program(vocab: Tuple[str, ...]):
    """Plain C-RASP, about 3·V operations: tail_y = n − p_y + 1 for the token y at input position p_y;
    `current` is the tail of the answer token just written (0 at <sep>). The next token is the y one
    position earlier in the input (tail_y = current + 1), <eos> once current = n (the first input token)."""
    def build():
        b = ProgramBuilder(sequence_alphabet(vocab, vocab), f"unique_reverse_{len(vocab)}")
        in_input = input_marker(b)
        at = {y: tail(b, f"tail_{y}", sym(y), in_input) for y in vocab}
        length = b.let("length", count(and_(in_input, not_(sym(BOS)))))
        current = b.let("current", add(*[ite(sym(a), at[a], 0) for a in vocab]))
        for y in vocab:
            b.next(y, eq(at[y], add(current, 1)))
        b.next(EOS, and_(gt(current, 0), eq(current, length)))
        return b.build()
    return build


def make_unique_reverse(vocab_size: int = REVERSE_VOCAB, name: str = "unique_reverse") -> Case:
    vocab = vocabulary(vocab_size)
    answer = lambda tokens: tuple(reversed(tokens))
    valid = make_unique_copy(vocab_size).valid_input       # the same domain: distinct tokens
    sampler = distinct_tokens_sampler(vocab, "unique reverse")
    return Case(
        name=name, family="algorithmic", format=SEQUENCE, alphabet=sequence_alphabet(vocab, vocab),
        input_alphabet=vocab, description="unique reverse: a string of distinct tokens, reversed",
        answer=answer, valid_input=valid, sampler=sampler, program=unique_reverse_program(vocab),
        spec=copy_spec(sequence_alphabet(vocab, vocab), vocab, answer, valid, sampler, reverse=True),
        families=(("ordered", ordered_distinct(vocab)),),
        max_input_len=min(50, vocab_size // 2),
        notes=(f"Distinct tokens drawn from '0'..'{PAPER_VOCAB - 1}' in the paper group's setting. Plain "
               "C-RASP (so ✓ with NoPE too), machine-checked against the reference; a C-RASP[local] "
               "program of radius 1 (the next token y is the one with the bigram 'y a' in the input) "
               "also agrees (checked when this case was written, not kept) but is larger (V² counts). "
               f"The catalogue uses V = {vocab_size}; make_unique_reverse({PAPER_VOCAB}) builds the paper's "
               "size. The training length is V // 2 so that sampling up to twice it stays in the domain."),
        extra={"vocab_size": vocab_size, "paper_vocab_size": PAPER_VOCAB,
               "longest_input": vocab_size},     # distinct tokens: no valid input is longer
    )


# ------------------------------------------------------------------ unique bigram copy
def distinct_bigram_prefix(rng: np.random.Generator, m: int, k: int, size: int) -> np.ndarray:
    """m rows of k uniform tokens whose k − 1 bigrams are distinct (rejection, as the paper group draws)."""
    out = rng.integers(0, size, size=(m, k))
    while k > 1:
        codes = np.sort(out[:, :-1] * size + out[:, 1:], axis=1)
        bad = (codes[:, 1:] == codes[:, :-1]).any(axis=1)
        if not bad.any():
            break
        out[bad] = rng.integers(0, size, size=(int(bad.sum()), k))
    return out


def _walk(rng: np.random.Generator, m: int, n: int, size: int, greedy: bool):
    """One attempt for m rows: (ids (m, n), ok (m,)). Greedy: a random prefix of min(V, n) tokens with
    distinct bigrams, then from the last token the unused successor with the most unused successors
    of its own (ties at random). Not greedy: one random token, then uniformly among unused successors.
    A walk is stuck when every bigram after its last token is used; in the complete graph of bigrams
    (in-degree = out-degree = V at every token) that happens only back at its first token."""
    k = min(size, n) if greedy else min(1, n)
    x = np.empty((m, n), dtype=np.int64)
    x[:, :k] = distinct_bigram_prefix(rng, m, k, size)
    used = np.zeros((m, size, size), dtype=bool)
    left = np.full((m, size), size)                  # unused successors of every token
    rows = np.arange(m)
    for j in range(1, k):
        used[rows, x[:, j - 1], x[:, j]] = True
        left[rows, x[:, j - 1]] -= 1
    ok = np.ones(m, dtype=bool)
    for j in range(k, n):
        last = x[:, j - 1]
        free = ~used[rows, last]
        ok &= free.any(axis=1)
        score = (left if greedy else 0) + rng.random((m, size))
        x[:, j] = np.where(free, score, -1.0).argmax(axis=1)
        used[rows, last, x[:, j]] = True
        left[rows, last] -= 1
    return x, ok


def bigram_walks(rng: np.random.Generator, m: int, n: int, size: int, greedy: bool = True) -> np.ndarray:
    """Up to m rows of n tokens with distinct bigrams; a stuck row is redrawn from scratch, at most
    WALK_ATTEMPTS times (so the rows follow the walk conditioned on reaching length n)."""
    done = []
    for _ in range(WALK_ATTEMPTS):
        x, ok = _walk(rng, m - sum(len(d) for d in done), n, size, greedy)
        done.append(x[ok])
        if sum(len(d) for d in done) == m:
            break
    return np.concatenate(done)


def unique_bigram_copy_program(vocab: Tuple[str, ...]):
    """C-RASP[local], radius 1, about 3·V² operations: tail_ab locates the input position of the bigram
    'a b' (a may be <bos>; distinct bigrams make every input position the end of exactly one), and
    target = n − k at answer index k (n at <sep>) is the tail of input position k + 1, whose token is next;
    <eos> at target 0."""
    def build():
        b = ProgramBuilder(sequence_alphabet(vocab, vocab), f"unique_bigram_copy_{len(vocab)}")
        in_input = input_marker(b)
        after = {a: b.let(f"after_{name_of(a)}", prev(sym(a), 1)) for a in (BOS, *vocab)}
        at = {(a, c): tail(b, f"tail_{name_of(a)}_{c}", and_(after[a], sym(c)), in_input)
              for a in after for c in vocab}
        target = b.let("target", sub(count(in_input), count(gt(count(sym(SEP)), 0))))
        for c in vocab:
            b.next(c, and_(gt(target, 0), or_(*[eq(at[a, c], target) for a in after])))
        b.next(EOS, eq(target, 0))
        return b.build()
    return build


def unique_bigram_copy_trigram_program(vocab: Tuple[str, ...]):
    """The lookup a reader might write first, C-RASP[local] with radius 2 and (V+1)²·V counts: the next
    token is the c that followed the current bigram 'a b' in the input (<sep> 'b' reads as <bos> 'b' at
    the answer's start). Answer trigrams repeat input ones, so counting them does no harm. Kept to
    cross-check the catalogue's smaller program."""
    def build():
        b = ProgramBuilder(sequence_alphabet(vocab, vocab), f"unique_bigram_copy_trigram_{len(vocab)}")
        firsts = (BOS, *vocab)
        after = {a: b.let(f"after_{name_of(a)}", prev(sym(a), 1)) for a in (*firsts, SEP)}
        after2 = {a: b.let(f"after2_{name_of(a)}", prev(sym(a), 2)) for a in firsts}
        context = {(a, x): b.let(f"at_{name_of(a)}_{x}", and_(after[SEP if a == BOS else a], sym(x)))
                   for a in firsts for x in vocab}

        def followed(c: str) -> A.Expr:
            seen = [and_(context[a, x], gt(count(and_(after2[a], after[x], sym(c))), 0)) for a, x in context]
            return or_(*seen)
        for c in vocab:
            b.next(c, or_(and_(sym(SEP), gt(count(and_(after[BOS], sym(c))), 0)), followed(c)))
        b.next(EOS, followed(SEP))
        return b.build()
    return build


def make_unique_bigram_copy(vocab_size: int = BIGRAM_VOCAB, name: str = "unique_bigram_copy") -> Case:
    vocab = vocabulary(vocab_size)
    longest = vocab_size ** 2 + 1             # an Eulerian circuit of the complete graph of bigrams

    def valid(tokens: Tuple[str, ...]) -> bool:
        return (len(tokens) >= 1 and set(tokens) <= set(vocab)
                and len(set(zip(tokens, tokens[1:]))) == len(tokens) - 1)

    def draw(greedy: bool, must: bool):
        def sample(rng: np.random.Generator, batch: int, n: int):
            if not 1 <= n <= longest:
                raise ValueError(f"no input over {vocab_size} tokens has {n} tokens and distinct bigrams "
                                 f"(the longest has {longest})")
            ids = bigram_walks(rng, batch, n, vocab_size, greedy)
            if must and len(ids) < batch:
                raise ValueError(f"the greedy walk over {vocab_size} tokens stayed stuck before length {n} "
                                 f"in {WALK_ATTEMPTS} attempts")
            return as_tokens(ids.reshape(-1, n), vocab)
        return sample

    return Case(
        name=name, family="algorithmic", format=SEQUENCE, alphabet=sequence_alphabet(vocab, vocab),
        input_alphabet=vocab, description="unique bigram copy: copy a string in which no bigram repeats",
        answer=copy_answer, valid_input=valid, sampler=draw(greedy=True, must=True),
        program=unique_bigram_copy_program(vocab),
        spec=bigram_copy_spec(sequence_alphabet(vocab, vocab), vocab, copy_answer, valid, draw(greedy=False, must=False)),
        families=(("uniform walks", draw(greedy=False, must=False)),),
        expected_nope=False,
        max_input_len=min(50, longest // 2),
        notes=(f"The paper group uses ⌈1.25·√150⌉ = {PAPER_BIGRAM_VOCAB} tokens; the program is uniform in "
               f"V (about 3·V² operations), the catalogue uses V = {vocab_size} (inputs up to V² + 1 = "
               f"{longest} tokens) and make_unique_bigram_copy({PAPER_BIGRAM_VOCAB}) builds the paper's "
               "size. Sampler: the paper group's greedy walk (see _walk); a walk that gets stuck (only "
               "possible back at its first token) is redrawn, so lengths up to V² + 1 are reached; at "
               "V = 16 no walk of up to 150 tokens got stuck in our draws. NoPE is undecided: no plain "
               "C-RASP program is known (bigram detection needs a guarded count), and no lemma of the "
               "paper rules one out; the paper does not treat this task, so there is no label to cite."),
        extra={"vocab_size": vocab_size, "paper_vocab_size": PAPER_BIGRAM_VOCAB, "longest_input": longest,
               "nope": "undecided"},
    )


CASES = [make_count(), make_unique_reverse(), make_unique_bigram_copy()]
