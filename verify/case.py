"""The record every catalogue entry is: a task, its reference, its sampler, its program.

Two formats:
- LANGUAGE: per-position labels = membership of each prefix (SPEC §1, "per-position labels";
  a program's `accept` read at every position must equal them). `labels(ids)` maps an int
  array (batch, n) of symbol ids to a Boolean array (batch, n).
- SEQUENCE: `<bos> input <sep> answer <eos>`; `answer(tokens)` gives the answer tokens.
  The program has one `next "a"` per output symbol, checked under teacher forcing at every
  position from the separator to the one before the final `<eos>`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from verify.crasp import ast as A

LANGUAGE, SEQUENCE = "language", "sequence"
FORMATS = (LANGUAGE, SEQUENCE)


@dataclass(frozen=True)
class NextSymbols:
    """The next-symbol reference of a LANGUAGE case without a DFA (the counter languages), for the
    paper's formal-language protocol (torch_bridge.data, next_symbol): a DFA case derives it from its
    automaton's live states. `live(rng, m, n)` draws (m, n) symbol ids every prefix of which can still
    become a member; `continuations(ids)` gives, for every prefix length 0..n of such rows, the legal
    next symbols (m, n+1, k) (those after which a member is still reachable) and whether the prefix is a
    member (m, n+1), the <eos> target."""
    live: Callable[[np.random.Generator, int, int], np.ndarray]
    continuations: Callable[[np.ndarray], Tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Members:
    """The inputs of the paper's formal-language protocol where they are not the automaton's live walks:
    `draw(rng, m, n)` gives (m, n) symbol ids, members of the language, at lengths that are multiples of
    `length_multiple` (Tomita 5: even strings with an even number of 0s; (aa)*: its one member per even
    length). torch_bridge.data draws next-symbol inputs from it (training and `verify audit --measure`)."""
    draw: Callable[[np.random.Generator, int, int], np.ndarray]
    length_multiple: int = 1
    name: str = ""     # what is drawn, where runs on these inputs must not be taken for runs on others (it
    #                    enters the run keys of bench/reproduce.py; "" for the inputs runs were keyed without)


@dataclass(frozen=True)
class Case:
    name: str                      # the key in paper_results.csv where the paper has one
    family: str                    # algorithmic / formal / counter / user
    format: str                    # LANGUAGE or SEQUENCE
    alphabet: Tuple[str, ...]      # every token the program sees
    description: str
    # LANGUAGE: ids (batch, n) -> prefix membership (batch, n)
    labels: Optional[Callable[[np.ndarray], np.ndarray]] = None
    # SEQUENCE: input tokens -> answer tokens (without <eos>)
    answer: Optional[Callable[[Tuple[str, ...]], Tuple[str, ...]]] = None
    input_alphabet: Tuple[str, ...] = ()           # SEQUENCE: symbols of the input part
    valid_input: Optional[Callable[[Tuple[str, ...]], bool]] = None  # SEQUENCE: the task's domain
    bos: str = "<bos>"
    sep: str = "<sep>"
    eos: str = "<eos>"
    # draws `batch` inputs of length n: LANGUAGE -> ids array (batch, n); SEQUENCE -> list of token tuples
    sampler: Optional[Callable[[np.random.Generator, int, int], object]] = None
    # a machine-readable specification (verify.spec.Automaton or CounterSpec) when the task is a
    # regular or counter language; the Z3 backend checks programs against it
    spec: Optional[object] = None
    # the C-RASP program, built lazily (a zero-argument function), or None with a reason
    program: Optional[Callable[[], A.Program]] = None
    no_program_reason: str = ""
    # the paper's predictions (SPEC §5): is there a program with APE / with NoPE?
    expected_ape: bool = True
    expected_nope: bool = True
    nope_reason: str = ""          # why no plain C-RASP program exists, when expected_nope is False
    citation: str = ""             # the theorem or lemma a ✗ verdict rests on
    notes: str = ""                # definition choices made where the paper's data is ambiguous
    paper_name: str = ""           # the row name in paper_results.csv (defaults to name)
    min_len: int = 1               # shortest input the task defines
    max_input_len: int = 50        # the paper's training length
    length_multiple: int = 1       # inputs have lengths that are multiples of this (e.g. interleave: 3)
    extra: Dict[str, object] = field(default_factory=dict)
    # SEQUENCE tasks whose answer length varies with the input (addition's carry): the longest answer
    # for inputs of length n. It sizes the trained model's position table; where it is None the
    # answer length is read off samples, which is exact only for answers of fixed length.
    answer_len_bound: Optional[Callable[[int], int]] = None
    # adversarial input families beside the sampler, each (name, draw) with the sampler's signature;
    # `verify check` adds them to the generic ones it derives (verify/checking.py, `families`).
    # A draw may return fewer rows than asked (e.g. none at a length where the family has no member).
    families: Tuple[Tuple[str, Callable[[np.random.Generator, int, int], object]], ...] = ()
    next_symbols: Optional[NextSymbols] = None     # LANGUAGE cases without a DFA reference (see NextSymbols)
    members: Optional[Members] = None              # LANGUAGE: the paper's next-symbol inputs (see Members)

    @property
    def paper_key(self) -> str:
        return self.paper_name or self.name

    def build_program(self) -> Optional[A.Program]:
        return self.program() if self.program is not None else None

    def full_sequence(self, tokens: Sequence[str]) -> Tuple[str, ...]:
        """SEQUENCE: `<bos> input <sep> answer <eos>`."""
        assert self.answer is not None
        return (self.bos, *tokens, self.sep, *self.answer(tuple(tokens)), self.eos)


# ----------------------------------------------------------------- reference helpers
def uniform_sampler(alphabet_size: int) -> Callable[[np.random.Generator, int, int], np.ndarray]:
    """Uniform random strings: the sampler a LANGUAGE case without its own gets."""
    def sample(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
        return rng.integers(0, alphabet_size, size=(batch, n))
    return sample
