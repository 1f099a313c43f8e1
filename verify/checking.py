"""Check a program against a task's reference: exhaustively on every input up to a length
(within a size budget), then on random inputs up to a longer length.

LANGUAGE cases compare the program's `accept` at every position with the prefix-membership
labels, so all strings of length L cover all shorter strings as prefixes. SEQUENCE cases
compare the teacher-forced `next` prediction at every position from the separator on.
The verdict says exactly what was covered; a disagreement is reported as the shortest
counterexample found, which replays through the interpreter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from verify.case import LANGUAGE, SEQUENCE, Case, uniform_sampler
from verify.crasp import ast as A
from verify.crasp.interpreter import encode, evaluate, next_tokens, straight_line
from verify.problems import UserError
from verify.verdict import HOLDS, REFUTED, Counterexample, Verdict

DEFAULT_BUDGET = 1 << 17        # exhaustive inputs per check
DEFAULT_SAMPLES = 1000
MAX_SAMPLED_TOKENS = 50_000_000  # samples × length past this is refused
CHUNK_ROWS = 1 << 15

Progress = Optional[Callable[[int], None]]


@dataclass(frozen=True)
class Plan:
    exhaustive_len: int      # every input of length <= this (0: none)
    exhaustive_inputs: int
    samples: int
    sample_min_len: int
    sample_max_len: int


def _alphabet_for_inputs(case: Case) -> Tuple[str, ...]:
    return case.input_alphabet if case.format == SEQUENCE else case.alphabet


def exhaustive_size(case: Case, length: int) -> int:
    """How many inputs an exhaustive check up to `length` enumerates."""
    k = len(_alphabet_for_inputs(case))
    if case.format == LANGUAGE:
        return k ** length  # strings of length L cover shorter ones as prefixes
    return sum(k ** n for n in range(case.min_len, length + 1) if n % case.length_multiple == 0)


def largest_exhaustive_len(case: Case, budget: int) -> int:
    length = 0
    while length < 64 and exhaustive_size(case, length + 1) <= budget:
        length += 1
    return length


def plan(case: Case, max_len: Optional[int], samples: int, sample_max_len: Optional[int],
         budget: int = DEFAULT_BUDGET) -> Plan:
    """Decide what to enumerate; explicit requests past the budget are user errors."""
    fit = largest_exhaustive_len(case, budget)
    if max_len is None:
        max_len = fit
    elif max_len < 0:
        raise UserError("--max-len must be >= 0")
    elif max_len > fit:
        k = len(_alphabet_for_inputs(case))
        raise UserError(
            f"exhaustive checking up to length {max_len} over {k} symbols means "
            f"{exhaustive_size(case, max_len):,} inputs, past the budget of {budget:,}; "
            f"use --max-len {fit} or less, or raise --budget")
    if samples < 0:
        raise UserError("--samples must be >= 0")
    longest = case.extra.get("longest_input")  # tasks whose inputs cannot be longer (unique tokens)
    if sample_max_len is None:
        sample_max_len = max(2 * case.max_input_len, max_len)
        if longest is not None:
            sample_max_len = min(sample_max_len, int(longest))
    elif longest is not None and sample_max_len > int(longest):
        raise UserError(f"{case.name} has no valid input longer than {longest}; use --sample-max-len {longest}")
    if sample_max_len < case.min_len and samples:
        raise UserError(f"--sample-max-len must be at least {case.min_len} for {case.name}")
    if samples * sample_max_len > MAX_SAMPLED_TOKENS:
        raise UserError(f"{samples:,} samples of length up to {sample_max_len:,} is past the budget of "
                        f"{MAX_SAMPLED_TOKENS:,} tokens; lower --samples or --sample-max-len")
    return Plan(max_len, exhaustive_size(case, max_len) if max_len else 0, samples,
                max(case.min_len, 1), sample_max_len)


def sample_len_for(case: Case, wanted: int) -> int:
    """`wanted`, capped at the longest input the task has (e.g. unique tokens from a small vocabulary)."""
    longest = case.extra.get("longest_input")
    return wanted if longest is None else min(wanted, int(longest))


# ------------------------------------------------------------------ enumeration
def all_strings(k: int, length: int, dtype=np.int8) -> np.ndarray:
    """Every string of the given length over k symbols, as ids (k**length, length)."""
    if length == 0:
        return np.zeros((1, 0), dtype=dtype)
    codes = np.arange(k ** length, dtype=np.int64)
    powers = k ** np.arange(length - 1, -1, -1, dtype=np.int64)
    return ((codes[:, None] // powers[None, :]) % k).astype(dtype)


def _to_program_ids(program, case: Case, ids: np.ndarray) -> np.ndarray:
    """Case ids -> the program's ids (a user's program may list the alphabet in another order)."""
    alphabet = straight_line(program).alphabet
    if tuple(alphabet) == tuple(case.alphabet):
        return ids
    perm = np.array([alphabet.index(a) for a in case.alphabet], dtype=np.int64)
    return perm[ids]


# ------------------------------------------------------------------ language cases
def _language_mismatch(program, case: Case, ids: np.ndarray, offset: int):
    """(row, position) of the earliest disagreement over a batch, or None."""
    got = evaluate(program, _to_program_ids(program, case, ids), offset).output("accept")
    want = np.asarray(case.labels(ids), dtype=bool)
    bad = got != want
    if not bad.any():
        return None
    first = np.where(bad.any(axis=1), bad.argmax(axis=1), ids.shape[1])
    row = int(first.argmin())
    pos = int(first[row])
    return row, pos, bool(want[row, pos]), bool(got[row, pos])


def _check_language_batch(program, case, ids, offset, best):
    hit = _language_mismatch(program, case, ids, offset)
    if hit is None:
        return best
    row, pos, want, got = hit
    tokens = tuple(case.alphabet[k] for k in ids[row, : pos + 1])
    if best is None or len(tokens) < len(best.input):
        return Counterexample(tokens, pos + 1, want, got,
                              f"accept at position {pos + 1} is {got}, the reference says {want}")
    return best


# ------------------------------------------------------------------ sequence cases
def _check_sequence_inputs(program, case: Case, inputs: Sequence[Tuple[str, ...]], offset: int, best):
    """Teacher-forced check of `next` outputs on full sequences, grouped by length."""
    groups: Dict[int, List[Tuple[Tuple[str, ...], Tuple[str, ...]]]] = {}
    for x in inputs:
        full = case.full_sequence(x)
        groups.setdefault(len(full), []).append((x, full))
    names = list(straight_line(program).alphabet)
    for n, items in sorted(groups.items()):
        if best is not None and n > len(best.input) + 2:
            break
        ids = encode(case.alphabet, [full for _, full in items])
        prog_ids = _to_program_ids(program, case, ids)
        sep_index = np.array([1 + len(x) for x, _ in items])
        pred = next_tokens(program, prog_ids, offset)
        idx = np.arange(n)[None, :]
        checked = (idx >= sep_index[:, None]) & (idx <= n - 2)
        target = np.zeros_like(prog_ids)
        target[:, :-1] = prog_ids[:, 1:]
        bad = checked & (pred != target)
        if not bad.any():
            continue
        rows = np.flatnonzero(bad.any(axis=1))
        row = int(rows[np.argmin([len(items[r][0]) for r in rows])])
        pos = int(bad[row].argmax())
        x, full = items[row]
        p = int(pred[row, pos])
        got = {-1: "no next is true", -2: "several next are true"}.get(p, names[p] if p >= 0 else p)
        cex = Counterexample(tuple(x), pos + 1, full[pos + 1], got,
                             f"after {' '.join(full[:pos + 1])} the next token must be {full[pos + 1]!r}; "
                             f"the program says {got!r} (teacher forcing)")
        if best is None or len(cex.input) < len(best.input):
            best = cex
    return best


def _exhaustive_sequence_inputs(case: Case, max_len: int):
    k = len(case.input_alphabet)
    for n in range(case.min_len, max_len + 1):
        if n % case.length_multiple:
            continue
        for row in all_strings(k, n, dtype=np.int16):
            x = tuple(case.input_alphabet[j] for j in row)
            if case.valid_input is None or case.valid_input(x):
                yield x


# ------------------------------------------------------------------ driver
def _sample_lengths(rng, case: Case, samples: int, lo: int, hi: int) -> Dict[int, int]:
    lengths = [n for n in range(lo, hi + 1) if n % case.length_multiple == 0]
    if not lengths:
        raise UserError(f"no input length in {lo}..{hi} is a multiple of {case.length_multiple} for {case.name}")
    drawn = rng.choice(lengths, size=samples)
    values, counts = np.unique(drawn, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


def check_case(case: Case, program: Optional[A.Program] = None, max_len: Optional[int] = None,
               samples: int = DEFAULT_SAMPLES, sample_max_len: Optional[int] = None, seed: int = 0,
               budget: int = DEFAULT_BUDGET, offset: int = 0, progress: Progress = None) -> Verdict:
    """The program (default: the case's own) against the case's reference."""
    program = program if program is not None else case.build_program()
    if program is None:
        raise UserError(f"case {case.name!r} has no C-RASP program: {case.no_program_reason}")
    if not set(program.alphabet) >= set(case.alphabet):
        raise UserError(f"{program.source}: the program's alphabet {list(program.alphabet)} does not cover "
                        f"the case's alphabet {list(case.alphabet)}")
    if case.format == LANGUAGE and "accept" not in program.output_keys:
        raise UserError(f"{program.source}: a language program needs an `accept` output")
    line = straight_line(program)
    pl = plan(case, max_len, samples, sample_max_len, budget)
    rng = np.random.default_rng(seed)
    best: Optional[Counterexample] = None
    done = 0

    if case.format == LANGUAGE:
        if pl.exhaustive_len:
            ids_all = all_strings(len(case.alphabet), pl.exhaustive_len)
            for start in range(0, len(ids_all), CHUNK_ROWS):
                chunk = ids_all[start:start + CHUNK_ROWS]
                best = _check_language_batch(line, case, chunk, offset, best)
                done += len(chunk)
                if progress:
                    progress(len(chunk))
        for n, count in sorted(_sample_lengths(rng, case, pl.samples, pl.sample_min_len,
                                               pl.sample_max_len).items()) if pl.samples else ():
            sampler = case.sampler or uniform_sampler(len(case.alphabet))
            ids = np.asarray(sampler(rng, count, n))
            best = _check_language_batch(line, case, ids, offset, best)
            if progress:
                progress(count)
    else:
        if pl.exhaustive_len:
            inputs = list(_exhaustive_sequence_inputs(case, pl.exhaustive_len))
            for start in range(0, len(inputs), CHUNK_ROWS):
                chunk = inputs[start:start + CHUNK_ROWS]
                best = _check_sequence_inputs(line, case, chunk, offset, best)
                if progress:
                    progress(len(chunk))
        if pl.samples:
            if case.sampler is None:
                raise UserError(f"case {case.name!r} has no sampler; use --samples 0")
            for n, count in sorted(_sample_lengths(rng, case, pl.samples, pl.sample_min_len,
                                                   pl.sample_max_len).items()):
                inputs = [tuple(x) for x in case.sampler(rng, count, n)]
                best = _check_sequence_inputs(line, case, inputs, offset, best)
                if progress:
                    progress(count)

    scope = describe_scope(case, pl, seed, offset)
    claim = f"the program computes {case.name}"
    method = "interpreter against the reference"
    evidence = {"exhaustive_len": pl.exhaustive_len, "exhaustive_inputs": pl.exhaustive_inputs,
                "samples": pl.samples, "sample_lengths": [pl.sample_min_len, pl.sample_max_len],
                "seed": seed, "offset": offset}
    if best is not None:
        return Verdict(REFUTED, claim, method, scope, counterexample=best, evidence=evidence)
    return Verdict(HOLDS, claim, method, scope, evidence=evidence)


def describe_scope(case: Case, pl: Plan, seed: int, offset: int) -> str:
    symbols = "{" + ", ".join(_alphabet_for_inputs(case)) + "}"
    parts = []
    if pl.exhaustive_len:
        what = ("every string (all prefixes) of length" if case.format == LANGUAGE
                else "every valid input of length")
        parts.append(f"exhaustive: {what} 1..{pl.exhaustive_len} over {symbols} "
                     f"({pl.exhaustive_inputs:,} enumerated)")
    if pl.samples:
        parts.append(f"sampled: {pl.samples:,} random inputs of length {pl.sample_min_len}..{pl.sample_max_len} "
                     f"(seed {seed})")
    if not parts:
        parts.append("nothing (no exhaustive length and no samples)")
    if offset:
        parts.append(f"position offset {offset}")
    per = "every position" if case.format == LANGUAGE else "every position from the separator on, teacher-forced"
    return "; ".join(parts) + f"; compared at {per}"


def replay(case: Case, program: A.Program, cex: Counterexample, offset: int = 0) -> bool:
    """Does the counterexample still show a disagreement? (Used by tests and the CLI.)"""
    if case.format == LANGUAGE:
        ids = encode(case.alphabet, [cex.input])
        return _language_mismatch(program, case, ids, offset) is not None
    return _check_sequence_inputs(straight_line(program), case, [cex.input], offset, None) is not None
