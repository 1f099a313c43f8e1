"""Majority tasks (SEQUENCE format `<bos> input <sep> answer <eos>`): binary majority, majority over
26 letters, and binary majority interleave (three interleaved binary strands, three answer bits)."""
from __future__ import annotations

import string
from collections import Counter
from typing import Tuple

import numpy as np

from verify.case import SEQUENCE, Case
from verify.crasp.builder import (ProgramBuilder, and_, count, eq, gt, not_, or_, periodic, sym)

from cases._common import (BOS, EOS, SEP, as_tokens, sequence_alphabet, shuffled_counts,
                           untied_counts)
from cases._sequence_specs import interleave_spec, majority_spec

INTERLEAVE_NOPE_UNDECIDED = (
    "no plain C-RASP program is known, and nothing here rules one out. The strands are defined by position "
    "residues mod 3, which plain C-RASP cannot read directly; but the pumping argument that machine-checks "
    "such limits for regular languages (verify classify; ../shared/REGULAR.md §4) does not carry over: every "
    "valid input has a length that is a multiple of 3, so a pumped block that keeps inputs valid adds fixed "
    "counts to each strand per copy and every strand's majority settles. The paper's NoPE label "
    "(program_found = no) is its empirical finding, not a proof, so it is not cited as one.")


# ------------------------------------------------------------------ binary majority
def bin_majority_answer(tokens: Tuple[str, ...]) -> Tuple[str, ...]:
    return ("1",) if tokens.count("1") > tokens.count("0") else ("0",)


def bin_majority_valid(tokens: Tuple[str, ...]) -> bool:
    return (len(tokens) >= 1 and set(tokens) <= {"0", "1"}
            and tokens.count("1") != tokens.count("0"))


def bin_majority_sampler(rng: np.random.Generator, batch: int, n: int):
    if n < 1:
        raise ValueError("binary majority needs at least one input bit")
    return as_tokens(shuffled_counts(rng, batch, n, untied_counts(rng, batch, n)), ("0", "1"))


def closest_margin(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
    """Number of ones with #1 − #0 = ±1 (odd n) or ±2 (even n): the closest untied counts."""
    margin = 1 if n % 2 else 2
    return (n + margin * rng.choice([-1, 1], size=batch)) // 2


def bin_majority_boundary(rng: np.random.Generator, batch: int, n: int):
    """Adversarial family: the closest untied counts, shuffled or as two runs (0…0 1…1 / 1…1 0…0)."""
    if n < 1:
        raise ValueError("binary majority needs at least one input bit")
    ones = closest_margin(rng, batch, n)
    ids = shuffled_counts(rng, batch, n, ones)
    runs = rng.random(batch) < 0.3
    pos = np.arange(n)[None, :]
    first_ones = rng.random(batch) < 0.5
    blocks = np.where(first_ones[:, None], pos < ones[:, None], pos >= (n - ones)[:, None]).astype(np.int64)
    return as_tokens(np.where(runs[:, None], blocks, ids), ("0", "1"))


def bin_majority_program():
    b = ProgramBuilder(sequence_alphabet(("0", "1"), ("0", "1")), "bin_majority")
    ones = b.let("ones", count(sym("1")))
    zeros = b.let("zeros", count(sym("0")))
    b.next("0", and_(sym(SEP), gt(zeros, ones)))
    b.next("1", and_(sym(SEP), gt(ones, zeros)))
    b.next(EOS, and_(gt(count(sym(SEP)), 0), not_(sym(SEP))))
    return b.build()


# ------------------------------------------------------------------ majority over 26 letters
LETTERS = tuple(string.ascii_lowercase)


def majority_answer(tokens: Tuple[str, ...]) -> Tuple[str, ...]:
    return (Counter(tokens).most_common(1)[0][0],)


def majority_valid(tokens: Tuple[str, ...]) -> bool:
    if len(tokens) < 1 or not set(tokens) <= set(LETTERS):
        return False
    top = Counter(tokens).most_common(2)
    return len(top) == 1 or top[0][1] > top[1][1]


def majority_sampler(rng: np.random.Generator, batch: int, n: int):
    """Uniform letters; a tie for the most frequent letter is repaired by turning one occurrence of
    each other tied letter into the first tied letter (the paper redraws instead)."""
    if n < 1:
        raise ValueError("majority needs at least one input letter")
    k = len(LETTERS)
    ids = rng.integers(0, k, size=(batch, n))
    counts = np.zeros((batch, k), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(batch), n), ids.ravel()), 1)
    top = counts.max(axis=1)
    for b in np.flatnonzero((counts == top[:, None]).sum(axis=1) > 1):
        tied = np.flatnonzero(counts[b] == top[b])
        for loser in tied[1:]:
            ids[b, np.flatnonzero(ids[b] == loser)[0]] = tied[0]
    return as_tokens(ids, LETTERS)


def majority_boundary(rng: np.random.Generator, batch: int, n: int):
    """Adversarial family: the winner leads the runner-up by exactly one; the other letters are spread
    round-robin so none reaches the runner-up (for n too short for that, only the two letters)."""
    if n < 1:
        raise ValueError("majority needs at least one input letter")
    k = len(LETTERS)
    lo = max(1, -(-(n + 1 + 2 * (k - 2)) // k))            # rest = n − (2c − 1) ≤ (k − 2)(c − 2)
    hi = (n + 1) // 2
    top = rng.integers(min(lo, hi), hi + 1, size=batch)
    out = []
    for b in range(batch):
        c = int(top[b])
        w, r, *others = rng.permutation(k)
        rest = n - (2 * c - 1)
        fill = [others[j % len(others)] for j in range(rest)] if c > 2 or rest <= 0 else [w] * rest
        row = np.array([w] * c + [r] * (c - 1) + fill, dtype=np.int64)[:n]
        out.append(rng.permutation(row))
    return [t for t in as_tokens(np.array(out), LETTERS) if majority_valid(t)]


def interleave_boundary(rng: np.random.Generator, batch: int, n: int):
    """Adversarial family: every strand at its closest untied counts."""
    if n < STRANDS or n % STRANDS:
        raise ValueError(f"binary majority interleave needs a length that is a positive multiple of {STRANDS}")
    m = n // STRANDS
    ids = np.empty((batch, n), dtype=np.int64)
    for k in range(STRANDS):
        ids[:, k::STRANDS] = shuffled_counts(rng, batch, m, closest_margin(rng, batch, m))
    return as_tokens(ids, ("0", "1"))


def majority_program():
    b = ProgramBuilder(sequence_alphabet(LETTERS, LETTERS), "majority")
    counts = {x: b.let(f"n_{x}", count(sym(x))) for x in LETTERS}
    for x in LETTERS:
        b.next(x, and_(sym(SEP), *[gt(counts[x], counts[y]) for y in LETTERS if y != x]))
    b.next(EOS, and_(gt(count(sym(SEP)), 0), not_(sym(SEP))))
    return b.build()


# ------------------------------------------------------------------ binary majority interleave
STRANDS = 3


def interleave_answer(tokens: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(bin_majority_answer(tokens[k::STRANDS])[0] for k in range(STRANDS))


def interleave_valid(tokens: Tuple[str, ...]) -> bool:
    return (len(tokens) >= STRANDS and len(tokens) % STRANDS == 0
            and all(bin_majority_valid(tokens[k::STRANDS]) for k in range(STRANDS)))


def interleave_sampler(rng: np.random.Generator, batch: int, n: int):
    if n < STRANDS or n % STRANDS:
        raise ValueError(f"binary majority interleave needs a length that is a positive multiple of {STRANDS}")
    m = n // STRANDS
    ids = np.empty((batch, n), dtype=np.int64)
    for k in range(STRANDS):
        ids[:, k::STRANDS] = shuffled_counts(rng, batch, m, untied_counts(rng, batch, m))
    return as_tokens(ids, ("0", "1"))


def interleave_program():
    """C-RASP[periodic], correct for every position offset: the residue r of the <bos> position fixes
    which residue class mod 3 holds strand k (input symbol j sits at position bos + j)."""
    b = ProgramBuilder(sequence_alphabet(("0", "1"), ("0", "1")), "bin_majority_interleave")
    bos_at = [b.let(f"bos_at_{r}", eq(count(and_(sym(BOS), periodic(3, [r]))), 1)) for r in range(3)]
    before_sep = b.let("before_sep", eq(count(sym(SEP)), 0))
    ones = [b.let(f"ones_{s}", count(and_(sym("1"), periodic(3, [s]), before_sep))) for s in range(3)]
    zeros = [b.let(f"zeros_{s}", count(and_(sym("0"), periodic(3, [s]), before_sep))) for s in range(3)]
    maj1, maj0 = [], []
    for k in range(STRANDS):
        maj1.append(b.let(f"strand{k}_1", or_(*[and_(bos_at[r], gt(ones[(r + 1 + k) % 3], zeros[(r + 1 + k) % 3]))
                                                 for r in range(3)])))
        maj0.append(b.let(f"strand{k}_0", or_(*[and_(bos_at[r], gt(zeros[(r + 1 + k) % 3], ones[(r + 1 + k) % 3]))
                                                 for r in range(3)])))
    # step = 1 at the separator, then 2, 3, 4: which answer bit comes next
    step = b.let("step", count(gt(count(sym(SEP)), 0)))
    b.next("0", or_(*[and_(eq(step, k + 1), maj0[k]) for k in range(STRANDS)]))
    b.next("1", or_(*[and_(eq(step, k + 1), maj1[k]) for k in range(STRANDS)]))
    b.next(EOS, eq(step, STRANDS + 1))
    return b.build()


CASES = [
    Case(name="bin_majority", family="algorithmic", format=SEQUENCE,
         alphabet=sequence_alphabet(("0", "1"), ("0", "1")), input_alphabet=("0", "1"),
         description="binary majority: the more frequent bit (ties excluded)",
         answer=bin_majority_answer, valid_input=bin_majority_valid, sampler=bin_majority_sampler,
         families=(("boundary counts", bin_majority_boundary),),
         program=bin_majority_program,
         spec=majority_spec(sequence_alphabet(("0", "1"), ("0", "1")), ("0", "1"), bin_majority_answer,
                            bin_majority_valid, bin_majority_sampler),
         # the paper group's later training code ends this answer without <eos> (torch_bridge.task_adapter)
         extra={"paper_answer_eos": False},
         notes=("Plain C-RASP. Sampler as in the paper: the number of zeros uniform over 0..n except "
                "a tie, then shuffled.")),
    Case(name="majority", family="algorithmic", format=SEQUENCE,
         alphabet=sequence_alphabet(LETTERS, LETTERS), input_alphabet=LETTERS,
         description="majority: the unique most frequent of 26 letters",
         answer=majority_answer, valid_input=majority_valid, sampler=majority_sampler,
         families=(("boundary counts", majority_boundary),),
         program=majority_program,
         spec=majority_spec(sequence_alphabet(LETTERS, LETTERS), LETTERS, majority_answer, majority_valid,
                            majority_sampler),
         notes=("Plain C-RASP with 26·25 comparisons: next x at the separator iff #x > #y for every "
                "other letter y. Inputs whose most frequent letter is not unique are outside the task.")),
    Case(name="bin_majority_interleave", family="algorithmic", format=SEQUENCE,
         alphabet=sequence_alphabet(("0", "1"), ("0", "1")), input_alphabet=("0", "1"),
         description="binary majority interleave: majority of each of 3 interleaved strands, 3 answer bits",
         answer=interleave_answer, valid_input=interleave_valid, sampler=interleave_sampler,
         families=(("boundary counts", interleave_boundary),),
         program=interleave_program, expected_nope=False,
         spec=interleave_spec(sequence_alphabet(("0", "1"), ("0", "1")), STRANDS, interleave_answer,
                              interleave_valid, interleave_sampler),
         length_multiple=STRANDS, min_len=STRANDS, max_input_len=48,
         extra={"nope": "undecided", "nope_undecided": INTERLEAVE_NOPE_UNDECIDED},
         notes=("As in the paper's code: strand k holds input symbols k, k+3, k+6, ... (0-based), every "
                "strand has no tie, and the answer lists the strands' majorities in order. Input length "
                "is a positive multiple of 3. The program is C-RASP[periodic] (Δ = 3) and works for "
                "every position offset, because it reads the residue of the <bos> position. NoPE is undecided "
                "(the paper's label is ✗): " + INTERLEAVE_NOPE_UNDECIDED)),
]
