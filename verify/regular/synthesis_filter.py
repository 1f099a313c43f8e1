"""The exhaustive filter every synthesized candidate passes before a proof is tried (`synthesis`,
`synthesis_search`): the program against the automaton on every word up to a length, as many words as fit
in a fixed number of cells, under the acceptance convention (`last`: every prefix; `end`: at an end marker
after each word).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from verify.checking import all_strings
from verify.crasp import ast as A
from verify.crasp.interpreter import ACCEPT_END, ACCEPT_LAST, accepts, evaluate
from verify.spec import Automaton

MAX_CELLS = 2_000_000           # words × positions evaluated by the exhaustive filter


def exhaustive_length(k: int, acceptance: str, max_cells: int = MAX_CELLS) -> int:
    """The longest L such that all words up to L fit in `max_cells` cells (at most 12)."""
    L = 1
    while L < 12:
        nxt = L + 1
        cells = k ** nxt * nxt if acceptance == ACCEPT_LAST else sum(k ** n * (n + 1) for n in range(1, nxt + 1))
        if cells > max_cells:
            break
        L = nxt
    return L


def first_mismatch(program: A.Program, automaton: Automaton, acceptance: str,
                   max_len: int) -> Optional[Tuple[str, ...]]:
    """The shortest word up to max_len on which the program's accept and the automaton differ
    (prefix membership: under `last` every prefix of every word of length max_len is compared)."""
    k = len(automaton.alphabet)
    perm = np.array([program.alphabet.index(a) for a in automaton.alphabet], dtype=np.int64)
    if acceptance == ACCEPT_LAST:
        ids = all_strings(k, max_len).astype(np.int64)
        got = evaluate(program, perm[ids]).output("accept")
        bad = got != automaton.labels(ids)
        if not bad.any():
            return None
        first = np.where(bad.any(axis=1), bad.argmax(axis=1), max_len)
        row = int(first.argmin())
        return tuple(automaton.alphabet[i] for i in ids[row, :int(first[row]) + 1])
    for n in range(1, max_len + 1):
        ids = all_strings(k, n).astype(np.int64)
        bad = accepts(program, perm[ids], ACCEPT_END) != automaton.labels(ids)[:, -1]
        if bad.any():
            return tuple(automaton.alphabet[i] for i in ids[int(bad.argmax())])
    return None
