"""Datasets drawn from the catalogue, in the paper's format (SPEC §5).

SEQUENCE cases: `<bos> input <sep> answer <eos>`; the model is a next-token LM; loss and
accuracy only on the answer tokens and `<eos>` (predicted from the `<sep>` position on).
LANGUAGE cases: `<bos> w_1 … w_n`; a per-position binary classifier (the `classifier` head)
predicts prefix membership `labels(ids)` at w_1 … w_n — documented choice: the paper's
per-position label for these languages is membership-like, and a binary head keeps the LM
vocabulary equal to the alphabet.

NEXT-SYMBOL protocol (`protocol="next_symbol"`, LANGUAGE cases with a DFA reference or a
`Case.next_symbols` reference: the counter languages): the style of the paper's formal-language suite
(Bhattamishra et al. 2020). Inputs are strings every prefix of which can still become a member (random
walks through the DFA's live states, or the case's own live sampler); the model (LM head over
alphabet, <bos>, <eos>) predicts at <bos> and at every symbol the set of legal next symbols: a symbol
is legal when a member can still be reached after it, <eos> when the prefix is a member. Targets are k-hot
(batch, n, vocab), the <bos> column never scored; a string is right when every position's set is. Where the
paper draws its inputs otherwise, the case's `members` give them (`inputs="paper"`, the default: (aa)*, (aaaa)*,
Tomita 5, D-n's nested blocks); `inputs="walks"` draws live walks for every case.

Lengths are input lengths (the answer is extra). A bin (lo, hi) draws lengths uniformly from the
valid lengths in [max(lo, case.min_len), hi] that are multiples of case.length_multiple.
Accuracy is exact match of every scored position, in percent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from verify.case import LANGUAGE, SEQUENCE, Case
from verify.problems import UserError

PAD_LABEL = -100
MEMBERSHIP, NEXT_SYMBOL = "membership", "next_symbol"
PROTOCOLS = (MEMBERSHIP, NEXT_SYMBOL)
# next-symbol inputs: the paper's (the case's `members` where it has them: (aa)*, Tomita 5, D-n's nested blocks;
# else live walks), or live walks through the automaton for every case (harder strings: D-n returns to depth 0
# often, so its depth cannot be read off the last few symbols)
PAPER_INPUTS, WALKS = "paper", "walks"
INPUTS = (PAPER_INPUTS, WALKS)
DEFAULT_BINS: Tuple[Tuple[int, int], ...] = ((0, 50), (51, 100), (101, 150))
TRAIN_BIN: Tuple[int, int] = (0, 50)


def bin_key(b: Tuple[int, int]) -> str:
    """The column name used by paper_results.csv and the trained-results JSON: acc_0_50."""
    return f"acc_{b[0]}_{b[1]}"


@dataclass
class Batch:
    ids: np.ndarray        # (B, T) int64 token ids, padded
    targets: np.ndarray    # (B, T): next-token id (SEQUENCE) or 0/1 label (LANGUAGE); PAD_LABEL = not scored
    #                        (B, T, vocab) 0/1 legal-next-symbol sets under the NEXT-SYMBOL protocol
    lengths: np.ndarray    # (B,) real sequence lengths (tokens, including <bos>)


class TaskData:
    """Encodes one catalogue case for a model; knows its vocabulary and how long sequences get."""

    def __init__(self, case: Case, protocol: str = MEMBERSHIP, inputs: str = PAPER_INPUTS):
        if protocol not in PROTOCOLS:
            raise UserError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
        if inputs not in INPUTS:
            raise UserError(f"inputs must be one of {', '.join(INPUTS)}, not {inputs!r}")
        self.protocol, self.inputs = protocol, inputs
        if protocol == NEXT_SYMBOL:
            if not has_next_symbols(case):
                raise UserError(f"case {case.name!r}: next-symbol labels need a language with a DFA reference "
                                f"or a next-symbol reference (Case.next_symbols); use prefix membership")
            if case.next_symbols is not None:
                self._members, self._continuations = case.next_symbols.live, case.next_symbols.continuations
            else:
                self._members, self._continuations = _dfa_next_symbols(case.spec)
            if uses_members(case, inputs):   # the paper's inputs: members, not live walks (verify.case.Members)
                self._members = case.members.draw
        if case.sampler is None:
            raise UserError(f"case {case.name!r} has no sampler, so it cannot be trained on")
        if case.format == SEQUENCE and case.answer is None:
            raise UserError(f"case {case.name!r} has no answer function")
        self.case = case
        if case.format == SEQUENCE:
            tokens = [case.bos, *case.input_alphabet, *case.alphabet, case.sep, case.eos]
        elif protocol == NEXT_SYMBOL:
            tokens = [*case.alphabet, case.bos, case.eos]
        else:
            tokens = [*case.alphabet, case.bos]
        self.tokens: Tuple[str, ...] = tuple(dict.fromkeys(tokens))
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @property
    def next_symbol(self) -> bool:
        return self.protocol == NEXT_SYMBOL

    @property
    def binary_head(self) -> bool:
        """Prefix membership of a language: one logit per position; else the LM head over the tokens."""
        return self.is_language and not self.next_symbol

    @property
    def is_language(self) -> bool:
        return self.case.format == LANGUAGE

    def valid_lengths(self, lo: int, hi: int) -> np.ndarray:
        c = self.case
        lengths = np.arange(max(lo, c.min_len, 1 if self.is_language else 0), hi + 1)
        multiple = c.length_multiple
        if self.next_symbol and uses_members(c, self.inputs):
            multiple = c.members.length_multiple
        lengths = lengths[lengths % max(1, multiple) == 0]
        if lengths.size == 0:
            raise UserError(f"case {c.name!r} has no valid input length in [{lo}, {hi}]")
        return lengths

    def max_total_length(self, hi: int, rng: np.random.Generator) -> int:
        """Longest encoded sequence for inputs up to `hi`, plus 2: `<bos> input <sep> answer <eos>` with the
        case's answer-length bound where answers vary in length (a sampled longest answer can miss the rare
        longest one: addition's carry), else the sampled length (exact for fixed-length answers)."""
        n = int(self.valid_lengths(0, hi).max())
        if self.is_language:
            return n + 1
        seqs = self.case.sampler(rng, 32, n)
        sampled = max(len(self.case.full_sequence(s)) for s in seqs)
        bound = self.case.answer_len_bound
        return max(sampled, n + bound(n) + 3 if bound else 0) + 2

    def sample(self, rng: np.random.Generator, size: int, lo: int, hi: int) -> Batch:
        lengths = rng.choice(self.valid_lengths(lo, hi), size=size)
        if self.next_symbol:
            return self._sample_next_symbol(rng, lengths)
        rows: List[Tuple[np.ndarray, np.ndarray]] = []
        for n in np.unique(lengths):
            count = int((lengths == n).sum())
            rows += self._encode(self.case.sampler(rng, count, int(n)))
        width = max(len(r[0]) for r in rows)
        ids = np.full((size, width), self.index[self.case.eos if not self.is_language else self.case.bos], np.int64)
        targets = np.full((size, width), PAD_LABEL, np.int64)
        real = np.empty(size, np.int64)
        for b, (x, y) in enumerate(rows):
            ids[b, :len(x)], targets[b, :len(y)], real[b] = x, y, len(x)
        return Batch(ids, targets, real)

    def _sample_next_symbol(self, rng: np.random.Generator, lengths: np.ndarray) -> Batch:
        c, k = self.case, len(self.case.alphabet)
        size, width = len(lengths), int(lengths.max()) + 1
        ids = np.full((size, width), self.index[c.bos], np.int64)
        targets = np.full((size, width, len(self.tokens)), PAD_LABEL, np.int64)
        for n in np.unique(lengths):
            rows = np.flatnonzero(lengths == n)
            words = self._members(rng, rows.size, int(n))                        # (m, n) symbol ids
            ids[rows, 1:n + 1] = words                                           # symbol id = token index
            legal, final = self._continuations(words)                            # (m, n+1, k), (m, n+1)
            targets[rows, :n + 1, :k] = legal
            targets[rows, :n + 1, self.index[c.eos]] = final
        return Batch(ids, targets, lengths + 1)

    def _encode(self, drawn) -> List[Tuple[np.ndarray, np.ndarray]]:
        c = self.case
        if self.is_language:
            ids = np.asarray(drawn, dtype=np.int64)
            labels = np.asarray(c.labels(ids), dtype=np.int64)
            bos = np.full((ids.shape[0], 1), self.index[c.bos], np.int64)
            x = np.concatenate([bos, ids], axis=1)
            y = np.concatenate([np.full_like(bos, PAD_LABEL), labels], axis=1)
            return list(zip(x, y))
        out = []
        for tokens in drawn:
            full = c.full_sequence(tokens)
            try:
                x = np.array([self.index[t] for t in full], dtype=np.int64)
            except KeyError as ex:
                raise UserError(f"case {c.name!r}: token {ex.args[0]!r} of a sample is not in its alphabet") from None
            y = np.full(len(x), PAD_LABEL, np.int64)
            start = len(tokens) + 1                    # the <sep> position predicts the first answer token
            y[start:len(x) - 1] = x[start + 1:]
            out.append((x, y))
        return out


def uses_members(case: Case, inputs: str) -> bool:
    return inputs == PAPER_INPUTS and case.members is not None


def inputs_key(case: Case, protocol: str, inputs: str) -> str:
    """What a run's next-symbol inputs are, for its key: "" where they are what runs were keyed without
    (live walks, or members without a name), else the members' name or "walks" (walks where the case has
    members)."""
    if protocol != NEXT_SYMBOL or case.members is None:
        return ""
    return case.members.name if inputs == PAPER_INPUTS else ("" if case.members.name else WALKS)


def has_next_symbols(case: Case) -> bool:
    """A language the next-symbol protocol can label: a DFA reference, or the case's own (counters)."""
    from verify.spec import Automaton
    return case.format == LANGUAGE and (isinstance(case.spec, Automaton) or case.next_symbols is not None)


def _dfa_next_symbols(automaton):
    """(live walks, continuations) from a DFA: a symbol is legal when its state is live."""
    from cases._common import automaton_members, live_states
    delta, final, start = automaton.tables()
    live, k = live_states(automaton), len(automaton.alphabet)

    def continuations(words):
        states = np.concatenate([np.full((len(words), 1), start), automaton.prefix_states(words)], axis=1)
        return live[delta[states][:, :, :k]], final[states]
    return automaton_members(automaton), continuations


def training_case(case: Case) -> Case:
    """The paper's task size where the catalogue keeps a smaller one for fast checks: a case whose
    `extra` names a `paper_vocab_size` different from its `vocab_size` is rebuilt by its module's
    `make_<name>(paper_vocab_size)` (unique copy and sort: tokens drawn from 150, SPEC §5)."""
    import importlib
    size, paper = case.extra.get("vocab_size"), case.extra.get("paper_vocab_size")
    if not paper or paper == size or case.sampler is None:
        return case
    module = importlib.import_module(case.sampler.__module__)
    maker = getattr(module, f"make_{case.name}", None)
    return maker(paper) if maker is not None else case


def exact_match(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(B,) True where every scored position is right."""
    scored = targets != PAD_LABEL
    return ((predictions == targets) | ~scored).reshape(len(targets), -1).all(axis=1)
