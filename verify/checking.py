"""Check a program against a task's reference: exhaustively on every input up to a length
(within a size budget), then on sampled inputs up to a longer length — half from the case's
sampler, half from adversarial families (long runs, deep members, near-miss members, boundary
counts, the case's own; see `families`). Nothing covered is UNKNOWN, never HOLDS.

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
from verify.crasp.interpreter import encode, next_tokens, prefix_outputs, straight_line
from verify.limits import refuse_if_too_big
from verify.problems import UserError
from verify.spec import Automaton, CounterSpec
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Counterexample, Verdict

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


MAX_EXHAUSTIVE_LEN = 64


def largest_exhaustive_len(case: Case, budget: int) -> int:
    length = 0
    while length < MAX_EXHAUSTIVE_LEN and exhaustive_size(case, length + 1) <= budget:
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
        many = (f"{exhaustive_size(case, max_len):,}" if max_len <= MAX_EXHAUSTIVE_LEN
                else f"more than {k}^{MAX_EXHAUSTIVE_LEN}")   # never build k^(10^9) to say so
        raise UserError(
            f"exhaustive checking up to length {max_len:,} over {k} symbols means "
            f"{many} inputs, past the budget of {budget:,}; "
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
    exhaustive = exhaustive_size(case, max_len) if max_len else 0
    # the exhaustive part is held in memory at once (LANGUAGE: every string as int8 ids plus its int64
    # code; SEQUENCE: tuples of tokens): refuse before building it
    per_input = (max_len + 16) if case.format == LANGUAGE else (72 + 16 * max_len)
    refuse_if_too_big("--budget", exhaustive * per_input, what=f"enumerating {exhaustive:,} inputs",
                      suggestion="lower --budget or --max-len")
    return Plan(max_len, exhaustive, samples, max(case.min_len, 1), sample_max_len)


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
    got = prefix_outputs(program, _to_program_ids(program, case, ids), offset)
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
BUCKET_CELLS = 1 << 15     # rows × positions evaluated at once by the sequence check (padded)


def _length_buckets(groups: List[Tuple[int, list]]) -> List[List[Tuple[int, list]]]:
    """Consecutive length groups evaluated together, padded to the longest: a program is causal (a position's
    values depend only on the prefix), so padding changes nothing before it. A bucket grows while its padded
    cells stay within twice the actual ones and BUCKET_CELLS: one evaluation per bucket, not per length."""
    buckets: List[List[Tuple[int, list]]] = []
    cells = rows = 0
    for n, items in groups:
        if buckets and (rows + len(items)) * n <= min(2 * (cells + len(items) * n), BUCKET_CELLS):
            buckets[-1].append((n, items))
        else:
            buckets.append([(n, items)])
            cells = rows = 0
        cells += len(items) * n
        rows += len(items)
    return buckets


def _check_sequence_inputs(program, case: Case, inputs: Sequence[Tuple[str, ...]], offset: int, best):
    """Teacher-forced check of `next` outputs on full sequences, grouped by length (lengths in order, a
    counterexample the shortest input of the first length that has one; longer lengths are skipped once
    they are more than two longer than it), the groups evaluated together in padded buckets."""
    groups: Dict[int, List[Tuple[Tuple[str, ...], Tuple[str, ...]]]] = {}
    for x in inputs:
        full = case.full_sequence(x)
        groups.setdefault(len(full), []).append((x, full))
    names = list(straight_line(program).alphabet)
    for bucket in _length_buckets(sorted(groups.items())):
        if best is not None and bucket[0][0] > len(best.input) + 2:
            break
        width = bucket[-1][0]
        parts = [encode(case.alphabet, [full for _, full in items]) for _, items in bucket]
        padded = np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in parts])
        pred_all = next_tokens(program, _to_program_ids(program, case, padded), offset)
        first = 0
        for (n, items), ids in zip(bucket, parts):
            pred, first = pred_all[first:first + len(items), :n], first + len(items)
            if best is not None and n > len(best.input) + 2:
                return best
            prog_ids = _to_program_ids(program, case, ids)
            sep_index = np.array([1 + len(x) for x, _ in items])
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


# ------------------------------------------------------------------ input families
# Uniform strings almost never reach the inputs where wrong programs break: deep nesting, long runs
# of one symbol, members with one symbol changed, counts at a boundary. Beside the case's sampler
# (or uniform strings) the sampled part draws from adversarial families derived from the case's
# alphabet and specification, plus the case's own (`Case.families`).
SAMPLER_SHARE = 0.5   # of --samples for the case's sampler; the families share the rest equally


@dataclass(frozen=True)
class Family:
    name: str
    draw: Callable[[np.random.Generator, int, int], object]  # like Case.sampler; may return fewer rows


def _run_ids(rng: np.random.Generator, batch: int, n: int, k: int, most: int = 4) -> np.ndarray:
    """1..most runs of one symbol each, random lengths (a^n, a^i b^j, ...)."""
    runs = rng.integers(1, most + 1, size=batch)
    bounds = np.sort(rng.integers(0, n + 1, size=(batch, most - 1)), axis=1)
    bounds = np.where(np.arange(most - 1)[None, :] < (runs - 1)[:, None], bounds, n)
    run_of = (np.arange(n)[None, :, None] >= bounds[:, None, :]).sum(axis=2)
    return np.take_along_axis(rng.integers(0, k, size=(batch, most)), run_of, axis=1)


def _live_and_distances(automaton: Automaton):
    """(delta without the end marker, live states, distance from the start, distance to accepting)."""
    delta, final, start = automaton.tables()
    delta = delta[:, :-1]
    s = delta.shape[0]
    live = final.copy()
    while True:
        grown = live | live[delta].any(axis=1)
        if (grown == live).all():
            break
        live = grown
    far = np.full(s, -1)
    far[start], frontier, step = 0, [start], 0
    while frontier:
        step += 1
        nxt = {int(t) for q in frontier for t in delta[q] if far[t] < 0 and live[t]}
        for t in nxt:
            far[t] = step
        frontier = list(nxt)
    to_accept = np.where(final, 0, s + 1)
    for _ in range(s):
        to_accept = np.minimum(to_accept, np.where(final, 0, 1 + to_accept[delta].min(axis=1)))
    return delta, live, far, to_accept, start


def _automaton_mountains(automaton: Automaton) -> Callable:
    """Live walks that go as far from the start as they can for a random share of the length, then
    head back to acceptance: members of maximal depth for bounded counters (D-k), long blocks."""
    delta, live, far, to_accept, start = _live_and_distances(automaton)
    k = delta.shape[1]

    def draw(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
        ok = live[delta]                                              # (states, k)
        noise = rng.random((2,) + delta.shape) * 0.5                  # ties broken at random, per draw
        climb = np.where(ok, far[delta], -10 ** 9) + noise[0]
        home = np.where(ok, -to_accept[delta], -10 ** 9) + noise[1]
        picks = np.stack([climb.argmax(axis=1), home.argmax(axis=1)])  # (2, states): one table lookup a step
        turn = rng.integers(n // 3, n - n // 4 + 1, size=batch)
        detour = rng.integers(0, k, size=(n, batch))                  # now and then a random live symbol
        use_detour = rng.random((n, batch)) < 0.1
        state = np.full(batch, start)
        out = np.empty((batch, n), dtype=np.int64)
        for i in range(n):
            pick = picks[(i >= turn).astype(np.int64), state]
            pick = np.where(use_detour[i] & (i < turn) & ok[state, detour[i]], detour[i], pick)  # not on the way home
            out[:, i] = pick
            state = delta[state, pick]
        return out

    return draw


def _counter_mountains(spec: CounterSpec) -> List[Callable]:
    """For every `always` constraint with a rising symbol u and a falling symbol d: u^h (u d)* d^h,
    h up to n/2 — members of maximal depth (deep nesting for Dyck-1)."""
    index = {a: i for i, a in enumerate(spec.alphabet)}
    pairs = []
    for c in spec.always:
        ups = [index[a] for a, w in c.coeffs if w > 0]
        downs = [index[a] for a, w in c.coeffs if w < 0]
        if ups and downs:
            pairs.append((ups, downs))
    if not pairs:
        return []

    def draw(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
        ups, downs = pairs[int(rng.integers(len(pairs)))]
        u = np.asarray(ups)[rng.integers(len(ups), size=batch)][:, None]
        d = np.asarray(downs)[rng.integers(len(downs), size=batch)][:, None]
        h = rng.integers(max(1, n // 4), n // 2 + 1, size=batch)[:, None] if n >= 2 else np.ones((batch, 1), int)
        pos = np.arange(n)[None, :]
        middle = np.where((pos - h) % 2 == 0, u, d)
        return np.where(pos < h, u, np.where(pos >= n - h, d, middle))

    return [draw]


def _boundary_counts(spec: CounterSpec) -> Optional[Callable]:
    """Counts of the constrained symbols equal, or one apart (the edge of `#a == #b`, `#( >= #)`):
    half of the rows in blocks (a^i b^j c^l in alphabet order), half shuffled."""
    index = {a: i for i, a in enumerate(spec.alphabet)}
    syms = sorted({index[a] for c in spec.final + spec.always for a, w in c.coeffs if w})
    if len(syms) < 2:
        return None
    syms = np.asarray(syms)
    m = len(syms)

    def draw(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
        counts = np.full((batch, m), n // m)
        counts[:, : n % m] += 1                                    # total n
        rows = np.arange(batch)
        a, b = rng.integers(m, size=batch), rng.integers(m, size=batch)
        shift = rng.integers(0, 2, size=batch) * (a != b) * (counts[rows, b] > 0)
        counts[rows, a] += shift
        counts[rows, b] -= shift
        ends = np.cumsum(counts, axis=1)
        slot = (np.arange(n)[None, :, None] >= ends[:, None, :]).sum(axis=2).clip(max=m - 1)
        out = syms[slot]
        mix = rng.random(batch) < 0.5
        keys = rng.random((batch, n))
        shuffled = np.take_along_axis(out, np.argsort(keys, axis=1), axis=1)
        return np.where(mix[:, None], shuffled, out)

    return draw


def _near_misses(case: Case, sources: Sequence[Callable]) -> Callable:
    """Members (drawn from `sources`, kept if the reference accepts them) with one symbol changed,
    inserted or deleted — a third each."""
    k = len(case.alphabet)

    def members(rng, m: int, n: int) -> np.ndarray:
        if n < 1 or m < 1:
            return np.zeros((0, max(n, 0)), dtype=np.int64)
        # one draw per source (a draw costs per position, not per row): 4m candidates each
        pool = np.concatenate([np.asarray(src(rng, 4 * m, n), dtype=np.int64).reshape(-1, n) for src in sources])
        return pool[np.asarray(case.labels(pool), dtype=bool)[:, -1]][:m] if len(pool) else pool

    def draw(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
        pos = np.arange(n)[None, :]
        out = []
        third = batch // 3 + 1
        mem = members(rng, third, n - 1)                           # insert one symbol
        if len(mem):
            at = rng.integers(0, n, size=len(mem))[:, None]
            grown = np.take_along_axis(mem, np.clip(pos - (pos > at), 0, n - 2), axis=1)
            out.append(np.where(pos == at, rng.integers(0, k, size=(len(mem), 1)), grown))
        mem = members(rng, third, n + 1)                           # delete one symbol
        if len(mem):
            at = rng.integers(0, n + 1, size=len(mem))[:, None]
            out.append(np.take_along_axis(mem, pos + (pos >= at), axis=1))
        mem = members(rng, batch - sum(len(o) for o in out), n)    # change one symbol: the rest
        if len(mem):
            rows, where = np.arange(len(mem)), rng.integers(0, n, size=len(mem))
            mem[rows, where] = (mem[rows, where] + rng.integers(1, max(k, 2), size=len(mem))) % k
            out.append(mem)
        return np.concatenate(out)[:batch] if out else np.zeros((0, n), dtype=np.int64)

    return draw


def _sequence_runs(case: Case) -> Callable:
    k = len(case.input_alphabet)

    def draw(rng: np.random.Generator, batch: int, n: int):
        rows = [tuple(case.input_alphabet[j] for j in row) for row in _run_ids(rng, batch, n, k)]
        return [x for x in rows if case.valid_input is None or case.valid_input(x)]

    return draw


def families(case: Case) -> List[Family]:
    """The sampled part's families: the case's sampler first, then the adversarial ones."""
    out = []
    if case.format == LANGUAGE:
        k = len(case.alphabet)
        base = case.sampler or uniform_sampler(k)
        out.append(Family("case sampler" if case.sampler else "uniform", base))
        out.append(Family("long runs", lambda rng, b, n: _run_ids(rng, b, n, k)))
        spec = case.spec
        deep: List[Callable] = []
        if isinstance(spec, CounterSpec):
            deep += _counter_mountains(spec)
            boundary = _boundary_counts(spec)
            if boundary is not None:
                out.append(Family("boundary counts", boundary))
            spec = spec.automaton
        if isinstance(spec, Automaton) and not deep:
            deep.append(_automaton_mountains(spec))
        out += [Family("deep members", d) for d in deep[:1]]
        if case.labels is not None:
            # members to edit: from the spec-derived families when there are any (vectorized and
            # cheap), else from the case's sampler
            sources = deep[:1] + [f.draw for f in out if f.name == "boundary counts"]
            out.append(Family("near-miss members", _near_misses(case, sources or [base])))
    elif case.sampler is not None:
        out.append(Family("case sampler", case.sampler))
        out.append(Family("long runs", _sequence_runs(case)))
    out += [Family(name, draw) for name, draw in case.families]
    return out


def family_counts(fams: Sequence[Family], samples: int) -> List[int]:
    """--samples split: SAMPLER_SHARE to the first (the case's sampler), the rest equally."""
    if not fams:
        return []
    if len(fams) == 1:
        return [samples]
    rest = samples - int(round(samples * SAMPLER_SHARE))
    each, extra = divmod(rest, len(fams) - 1)
    counts = [each + (1 if j < extra else 0) for j in range(len(fams) - 1)]
    return [samples - sum(counts)] + counts


# ------------------------------------------------------------------ driver
def _sample_lengths(rng, case: Case, samples: int, lo: int, hi: int) -> Dict[int, int]:
    lengths = [n for n in range(lo, hi + 1) if n % case.length_multiple == 0]
    if not lengths:
        raise UserError(f"no input length in {lo}..{hi} is a multiple of {case.length_multiple} for {case.name}")
    drawn = rng.choice(lengths, size=samples)
    values, counts = np.unique(drawn, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


FAMILY_LENGTHS = 12   # distinct lengths per adversarial family: each costs a draw and an evaluation


def _family_lengths(rng, case: Case, samples: int, lo: int, hi: int) -> Dict[int, int]:
    """An adversarial family's lengths: a few spread over lo..hi, the longest always among them
    (deep members and long runs matter most there)."""
    lengths = [n for n in range(lo, hi + 1) if n % case.length_multiple == 0]
    if not lengths:
        raise UserError(f"no input length in {lo}..{hi} is a multiple of {case.length_multiple} for {case.name}")
    grid = sorted({lengths[int(round(j))] for j in np.linspace(0, len(lengths) - 1, FAMILY_LENGTHS)})
    drawn = rng.choice(grid, size=samples)
    drawn[: min(samples, max(1, samples // len(grid)))] = grid[-1]
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

    found_by = None
    if case.format == LANGUAGE:
        if pl.exhaustive_len:
            ids_all = all_strings(len(case.alphabet), pl.exhaustive_len)
            for start in range(0, len(ids_all), CHUNK_ROWS):
                chunk = ids_all[start:start + CHUNK_ROWS]
                best = _check_language_batch(line, case, chunk, offset, best)
                done += len(chunk)
                if progress:
                    progress(len(chunk))
            found_by = "exhaustive" if best is not None else None
    else:
        if pl.exhaustive_len:
            inputs = list(_exhaustive_sequence_inputs(case, pl.exhaustive_len))
            for start in range(0, len(inputs), CHUNK_ROWS):
                chunk = inputs[start:start + CHUNK_ROWS]
                best = _check_sequence_inputs(line, case, chunk, offset, best)
                if progress:
                    progress(len(chunk))
            found_by = "exhaustive" if best is not None else None
        if pl.samples and case.sampler is None:
            raise UserError(f"case {case.name!r} has no sampler; use --samples 0")

    ran: Dict[str, int] = {}
    fams = families(case) if pl.samples else []
    for fam, count in zip(fams, family_counts(fams, pl.samples)):
        ran[fam.name] = 0
        if not count:
            continue
        lengths = (_sample_lengths(rng, case, count, pl.sample_min_len, pl.sample_max_len) if fam is fams[0]
                   else _family_lengths(rng, case, count, pl.sample_min_len, pl.sample_max_len))
        # one draw and one evaluation per chunk of rows: memory stays bounded whatever --samples is
        chunks = [(n, min(CHUNK_ROWS, c - start)) for n, c in sorted(lengths.items())
                  for start in range(0, c, CHUNK_ROWS)]
        for n, c in chunks:
            try:
                drawn = fam.draw(rng, c, n)
            except ValueError:
                if fam is fams[0]:
                    raise          # the case's own sampler must cover the lengths the plan allows
                continue           # an adversarial family with no input of this length
            before = best
            if case.format == LANGUAGE:
                ids = np.asarray(drawn, dtype=np.int64).reshape(-1, n)
                if len(ids):
                    best = _check_language_batch(line, case, ids, offset, best)
                got = len(ids)
            else:  # a family's input outside the task's domain is dropped, never checked
                inputs = [tuple(x) for x in drawn]
                if fam is not fams[0] and case.valid_input is not None:
                    inputs = [x for x in inputs if case.valid_input(x)]
                if inputs:
                    best = _check_sequence_inputs(line, case, inputs, offset, best)
                got = len(inputs)
            ran[fam.name] += got
            if best is not before:
                found_by = fam.name
            if progress:
                progress(c)

    scope = describe_scope(case, pl, seed, offset, ran)
    claim = f"the program computes {case.name}"
    method = "interpreter against the reference"
    evidence = {"exhaustive_len": pl.exhaustive_len, "exhaustive_inputs": pl.exhaustive_inputs,
                "samples": sum(ran.values()), "families": dict(ran),
                "sample_lengths": [pl.sample_min_len, pl.sample_max_len], "seed": seed, "offset": offset}
    if best is not None:
        evidence["counterexample_found_by"] = found_by
        return Verdict(REFUTED, claim, method, scope, counterexample=best, evidence=evidence)
    if not pl.exhaustive_len and not sum(ran.values()):
        return Verdict(UNKNOWN, claim, method, scope, evidence=evidence,
                       reason="nothing was checked: no exhaustive length (--max-len 0) and no sampled input "
                              "(--samples 0, or no family produced a valid input); raise --max-len or --samples")
    return Verdict(HOLDS, claim, method, scope, evidence=evidence)


def describe_scope(case: Case, pl: Plan, seed: int, offset: int, ran: Optional[Dict[str, int]] = None) -> str:
    symbols = "{" + ", ".join(_alphabet_for_inputs(case)) + "}"
    parts = []
    if pl.exhaustive_len:
        what = ("every string (all prefixes) of length" if case.format == LANGUAGE
                else "every valid input of length")
        parts.append(f"exhaustive: {what} 1..{pl.exhaustive_len} over {symbols} "
                     f"({pl.exhaustive_inputs:,} enumerated)")
    ran = ran if ran is not None else ({"sampler": pl.samples} if pl.samples else {})
    if sum(ran.values()):
        each = ", ".join(f"{name} {count:,}" for name, count in ran.items())
        parts.append(f"sampled: {sum(ran.values()):,} inputs of length {pl.sample_min_len}..{pl.sample_max_len} "
                     f"(seed {seed}; {each})")
    if not parts:
        parts.append("nothing (no exhaustive length and no samples)")
    if offset:
        parts.append(f"position offset {offset}")
    per = "every position" if case.format == LANGUAGE else "every position from the separator on, teacher-forced"
    return "; ".join(parts) + f"; compared at {per}"


def first_disagreement(case: Case, program: A.Program, tokens: Sequence[str],
                       offset: int = 0) -> Optional[Counterexample]:
    """The program against the reference on one input (LANGUAGE: the word; SEQUENCE: the input
    part, run teacher-forced on its full sequence): the earliest disagreement, or None."""
    line = straight_line(program)
    if case.format == LANGUAGE:
        return _check_language_batch(line, case, encode(case.alphabet, [tuple(tokens)]), offset, None)
    return _check_sequence_inputs(line, case, [tuple(tokens)], offset, None)


def replay(case: Case, program: A.Program, cex: Counterexample, offset: int = 0) -> bool:
    """Does the counterexample still show a disagreement? (Used by tests and the CLI.)"""
    return first_disagreement(case, program, cex.input, offset) is not None
