"""Certified one-way lower bounds for large N, without enumeration (SPEC §4).

An injectivity certificate for an output task fixes Bob's half y0 and claims that no two distinct
Alice halves x ≠ x' give the same required outputs on (x, y0).  Under teacher forcing that forces
distinct messages: take the first answer position where the answers differ — Bob's view there
(y0, <sep>, the common answer prefix) is the same for x and x', the required next token is not,
so equal messages would make Bob wrong on one of them.  Hence messages ≥ |Σ_A|^N and
bits ≥ ⌈N·log₂|Σ_A|⌉.

Each certificate is checked mechanically at the requested N in three independent ways:
  1. Z3 proves the injectivity claim on a symbolic model of the task's answer (unsat of
     "∃ x ≠ x' with equal required outputs"), and proves the explicit decoder right
     (unsat of "∃ x: decode(answer(x, y0)) ≠ x");
  2. the symbolic model is cross-checked against the catalogue reference: exhaustively on all
     inputs with small halves, and on random inputs at the requested N;
  3. the decoder is run on the reference's own answers for random Alice halves (a verification
     loop over the claimed decoding).
The model is what makes N = 64 or 1000 cheap; (2) is what ties it to the task as implemented.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, log2
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from verify.comm.reference import CommTask
from verify.problems import UserError


@dataclass(frozen=True)
class SymbolicModel:
    """What a task's answer is, in a form Z3 can reason about at any N."""

    name: str
    statement: str                                       # the answer, in words
    alice_symbols: Callable[[CommTask], Tuple[str, ...]]  # the symbols of Alice's half
    # Alice's domain D_N ⊆ Σ_A^N: its size and a random member (the certificate covers all of it)
    domain_size: Callable[[CommTask, int], int]
    random_alice: Callable[[CommTask, int, np.random.Generator], Tuple[str, ...]]
    domain: str
    bob_half: Callable[[CommTask, int], Tuple[str, ...]]  # y0
    # does the reference's answer on this input satisfy the model's statement?
    agrees: Callable[[Tuple[str, ...], Tuple[str, ...]], bool]
    decoder: str                                         # how x is read back from the answer
    decode: Callable[[Tuple[str, ...], Tuple[str, ...], int], Tuple[str, ...]]  # (answer, y0, N) -> x
    z3_claims: Callable[[CommTask, int, Tuple[str, ...]], Dict[str, str]]  # claim -> z3 result
    small_inputs: Callable[[CommTask, int], List[Tuple[str, ...]]]          # exhaustive cross-check set
    random_input: Callable[[CommTask, int, np.random.Generator], Tuple[str, ...]]


# ------------------------------------------------------------------ copy
def _copy_z3(task: CommTask, n: int, y0: Tuple[str, ...]) -> Dict[str, str]:
    import z3
    k = len(task.symbols)
    code = {a: i for i, a in enumerate(task.symbols)}
    x = [z3.Int(f"x{i}") for i in range(n)]
    x2 = [z3.Int(f"u{i}") for i in range(n)]
    dom = [z3.And(0 <= v, v < k) for v in x + x2]
    ans = x + [z3.IntVal(code[a]) for a in y0]        # model: the answer is the input x·y0
    ans2 = x2 + [z3.IntVal(code[a]) for a in y0]
    s = z3.Solver()
    s.add(*dom, z3.Or(*[a != b for a, b in zip(x, x2)]), *[a == b for a, b in zip(ans, ans2)])
    injective = str(s.check())
    s = z3.Solver()
    decoded = ans[:n]                                   # decoder: the first N answer tokens
    s.add(*dom[:n], z3.Or(*[d != v for d, v in zip(decoded, x)]))
    return {"injective": injective, "decoder": str(s.check())}


def _copy_inputs(task: CommTask, n: int) -> List[Tuple[str, ...]]:
    from itertools import product
    return [tuple(w) for w in product(task.symbols, repeat=2 * n)]


COPY = SymbolicModel(
    name="copy",
    statement="the answer is the input x·y itself (then <eos>)",
    alice_symbols=lambda task: task.symbols,
    domain_size=lambda task, n: len(task.symbols) ** n,
    random_alice=lambda task, n, rng: tuple(task.symbols[i] for i in rng.integers(0, len(task.symbols), n)),
    domain="every word over the input alphabet",
    bob_half=lambda task, n: tuple(task.symbols[0] for _ in range(n)),
    agrees=lambda tokens, answer: tuple(answer) == tuple(tokens),
    decoder="x_k is the answer token at answer position k (k = 1..N)",
    decode=lambda answer, y0, n: tuple(answer[:n]),
    z3_claims=_copy_z3,
    small_inputs=lambda task, n: _copy_inputs(task, n),
    random_input=lambda task, n, rng: tuple(task.symbols[i] for i in rng.integers(0, len(task.symbols), 2 * n)),
)


# ------------------------------------------------------------------ addition
def _bits(value: int, width: int) -> Tuple[str, ...]:
    return tuple(format(value, "b").zfill(width)) if width else ()


def _addition_split(tokens: Tuple[str, ...]) -> Tuple[str, str]:
    text = "".join(tokens)
    a, plus, b = text.partition("+")
    return a, b


def _addition_agrees(tokens: Tuple[str, ...], answer: Tuple[str, ...]) -> bool:
    """The answer is a binary numeral (leading zeros allowed) whose value is a + b."""
    a, b = _addition_split(tokens)
    if not answer or any(t not in ("0", "1") for t in answer):
        return False
    return int("".join(answer), 2) == int(a or "0", 2) + int(b or "0", 2)


def _addition_decode(answer: Tuple[str, ...], y0: Tuple[str, ...], n: int) -> Tuple[str, ...]:
    total = int("".join(a for a in answer if a in "01") or "0", 2)
    b = int("".join(y0[1:]) or "0", 2)
    return _bits(total - b, n)


def _addition_z3(task: CommTask, n: int, y0: Tuple[str, ...]) -> Dict[str, str]:
    import z3
    w = n + 1                                         # the sum of two N-bit numbers fits N+1 bits
    a = z3.BitVec("a", w)
    a2 = z3.BitVec("u", w)
    b0 = z3.BitVecVal(int("".join(y0[1:]) or "0", 2), w)
    top = z3.BitVecVal(1 << n, w)
    low = z3.BitVecVal(1 << (n - 1) if n > 1 else 0, w)
    # a, a' are N-bit numbers without leading zeros (Alice's domain)
    dom = [z3.And(z3.ULT(a, top), z3.UGE(a, low)), z3.And(z3.ULT(a2, top), z3.UGE(a2, low))]
    s = z3.Solver()
    # the answer is the binary numeral of a + b0: equal answers iff equal sums
    s.add(*dom, a != a2, a + b0 == a2 + b0)
    injective = str(s.check())
    s = z3.Solver()
    s.add(dom[0], (a + b0) - b0 != a)                  # decoder: a = value(answer) − b0
    return {"injective": injective, "decoder": str(s.check())}


def _addition_inputs(task: CommTask, n: int) -> List[Tuple[str, ...]]:
    from itertools import product
    out = []
    for la in range(1, n + 1):
        for lb in range(1, n + 1):
            for a in product("01", repeat=la):
                for b in product("01", repeat=lb):
                    out.append(tuple(a) + ("+",) + tuple(b))
    return out


def _addition_random(task: CommTask, n: int, rng: np.random.Generator) -> Tuple[str, ...]:
    return _addition_alice(task, n, rng) + ("+",) + _addition_alice(task, n, rng)


def _addition_alice(task: CommTask, n: int, rng: np.random.Generator) -> Tuple[str, ...]:
    rest = tuple("01"[i] for i in rng.integers(0, 2, n - 1))
    return ("1",) + rest if n > 1 else ("01"[int(rng.integers(0, 2))],)


ADDITION = SymbolicModel(
    name="addition",
    statement="the answer is the binary numeral of a + b, most significant bit first (then <eos>)",
    alice_symbols=lambda task: ("0", "1"),
    domain_size=lambda task, n: 2 ** (n - 1) if n > 1 else 2,
    random_alice=_addition_alice,
    domain="N-bit operands a without leading zeros (as the task requires)",
    bob_half=lambda task, n: ("+",) + tuple("10"[i % 2] for i in range(n)),  # b0 = 1010…, no leading zero
    agrees=_addition_agrees,
    decoder="a = value(answer) − b0, written in N bits",
    decode=_addition_decode,
    z3_claims=_addition_z3,
    small_inputs=lambda task, n: _addition_inputs(task, n),
    random_input=_addition_random,
)

# Task -> model.  Keyed by catalogue name: a model is a statement about one task's answer,
# cross-checked against that task's reference every time it is used.
MODELS: Dict[str, SymbolicModel] = {"repeat_copy": COPY, "addition": ADDITION}


def model_for(task: CommTask) -> Optional[SymbolicModel]:
    if task.case is None or task.format != "sequence":
        return None
    return MODELS.get(task.case.name)


def lower_line(task: CommTask) -> Tuple[float, int]:
    """(slope, offset) with certified bits(N) = ⌈slope·N⌉ + offset for every N >= 2."""
    model = model_for(task)
    d2, d3 = model.domain_size(task, 2), model.domain_size(task, 3)
    slope = log2(d3) - log2(d2)
    offset = (d2 - 1).bit_length() - ceil(2 * slope - 1e-9)
    return slope, offset


@dataclass(frozen=True)
class Certificate:
    task: str
    n: int
    alice_symbols: Tuple[str, ...]
    domain: str
    domain_size: int
    bob_half: Tuple[str, ...]
    statement: str
    decoder: str
    z3: Dict[str, str]
    cross_checked_small: int          # inputs compared exhaustively (model vs reference)
    cross_checked_random: int         # random inputs at N compared
    decoded_random: int               # Alice halves decoded back from the reference's answers
    failures: Tuple[str, ...]
    seconds: float

    @property
    def verified(self) -> bool:
        return not self.failures and self.z3.get("injective") == "unsat" and self.z3.get("decoder") == "unsat"

    @property
    def messages(self) -> int:
        return self.domain_size

    @property
    def bits(self) -> int:
        """Certified one-way lower bound: ⌈log₂ |D_N|⌉ bits (|D_N| messages must differ)."""
        return (self.domain_size - 1).bit_length()

    @property
    def method(self) -> str:
        return ("injectivity certificate: Z3 proves no two Alice halves give the same answer on Bob's fixed "
                "half y0 (and the decoder reads x back); the symbolic model is cross-checked against the "
                "catalogue reference")

    def as_dict(self) -> dict:
        return {"task": self.task, "N": self.n, "bits": self.bits, "verified": self.verified,
                "method": self.method, "statement": self.statement, "decoder": self.decoder,
                "bob_half": " ".join(self.bob_half), "alice_symbols": list(self.alice_symbols),
                "alice_domain": self.domain, "messages_at_least": str(self.domain_size),
                "z3": self.z3, "cross_checked_small": self.cross_checked_small,
                "cross_checked_random": self.cross_checked_random, "decoded_random": self.decoded_random,
                "failures": list(self.failures), "seconds": round(self.seconds, 3)}


MAX_CERTIFICATE_N = 5000


def certify(task: CommTask, n: int, samples: int = 200, small: int = 3, seed: int = 0) -> Certificate:
    """Build and check the injectivity certificate for `task` at half-length n."""
    model = model_for(task)
    if model is None:
        raise UserError(f"no injectivity certificate is known for {task.name!r} (certificates exist for "
                        f"{', '.join(sorted(MODELS))}); use exact row counting (`--method rows`, small N)")
    if n < 1:
        raise UserError(f"N = {n} is too small: Alice must hold at least one symbol (use --N 1 or more)")
    if n > MAX_CERTIFICATE_N:
        raise UserError(f"N = {n} is too large for a Z3 certificate here (limit {MAX_CERTIFICATE_N}); the "
                        f"bound ⌈N·log₂|Σ|⌉ follows from the same argument — check it at N <= {MAX_CERTIFICATE_N}")
    case = task.case
    t0 = time.perf_counter()
    failures: List[str] = []
    rng = np.random.default_rng(seed)

    def reference(tokens):
        try:
            return tuple(case.answer(tokens))
        except Exception as err:
            raise UserError(f"the reference of {task.name!r} raised {type(err).__name__}: {err} on "
                            f"{' '.join(tokens)!r}", exit_code=1) from err

    def valid(tokens) -> bool:
        return case.valid_input is None or bool(case.valid_input(tokens))

    checked_small = 0
    for h in range(1, small + 1):
        for tokens in model.small_inputs(task, h):
            if not valid(tokens):
                continue
            checked_small += 1
            got = reference(tokens)
            if not model.agrees(tokens, got):
                failures.append(f"the reference's answer {' '.join(got)!r} on {' '.join(tokens)!r} does not "
                                f"satisfy the model ({model.statement})")
                break
    y0 = model.bob_half(task, n)
    checked_random = decoded = 0
    sigma = model.alice_symbols(task)
    for _ in range(samples):
        tokens = model.random_input(task, n, rng)
        if valid(tokens):
            checked_random += 1
            if not model.agrees(tokens, reference(tokens)):
                failures.append(f"model and reference differ at N = {n} on {' '.join(tokens)!r}")
                break
        x = model.random_alice(task, n, rng)
        full = x + y0
        if not valid(full):
            failures.append(f"Bob's half y0 = {' '.join(y0)!r} makes {' '.join(full)!r} invalid for the task")
            break
        if model.decode(reference(full), y0, n) != x:
            failures.append(f"decoder failed on Alice half {' '.join(x)!r}")
            break
        decoded += 1
    if checked_small == 0:
        failures.append("no small input was valid for the task: the model was not cross-checked")
    z3_result = model.z3_claims(task, n, y0)
    return Certificate(task.name, n, sigma, model.domain, model.domain_size(task, n), y0, model.statement, model.decoder, z3_result, checked_small,
                       checked_random, decoded, tuple(failures), time.perf_counter() - t0)


# ------------------------------------------------------------------ upper bounds and crossing
def count_bits(alice_positions) -> np.ndarray:
    """⌈log₂(N_A+1)⌉ (at least 1): the bits of one count over Alice's N_A positions."""
    return np.maximum(1, np.ceil(np.log2(np.asarray(alice_positions, dtype=float) + 1)))


def exact_count_bits(alice_positions: int) -> int:
    return max(1, int(alice_positions).bit_length())  # = ⌈log₂(N_A+1)⌉ for N_A >= 1, exactly


@dataclass(frozen=True)
class ProgramSize:
    """Any C-RASP[periodic,local] program with K counting operations and radius τ."""

    counting_operations: int = 8
    radius: int = 2

    @property
    def log_coefficient(self) -> int:          # bits = A·⌈log₂(N_A+1)⌉ + B
        return self.counting_operations

    @property
    def constant(self) -> int:
        return self.counting_operations * self.radius

    def bits(self, alice_positions):
        return self.counting_operations * count_bits(alice_positions) + self.counting_operations * self.radius

    def describe(self) -> str:
        k, t = self.counting_operations, self.radius
        return f"C-RASP[periodic,local] program, K = {k} counting ops, τ = {t}: {k}·⌈log₂(N_A+1)⌉ + {k}·{t} bits"

    def crossing(self, lower_slope: float, lower_offset: int = 0, alice_extra: int = 0) -> int:
        return log_crossing(lower_slope, lower_offset, self.log_coefficient, self.constant, alice_extra)


def power_text(exponent: int) -> str:
    return f"2^{exponent}"


@dataclass(frozen=True)
class TransformerSize:
    """Any Limit Transformer (PERIODIC, LOCAL) with L layers, H heads, width d, p-bit activations and
    radius τ, through the protocol of Theorem 12's proof (SPEC §4): per layer and head Alice sends the
    multiset of (key, value) types over her positions except the last τ, as one multiplicity of
    ⌈log₂(N_A+1)⌉ bits per type, plus her last τ residual vectors at every layer (τ·(L+1)·d·p bits).

    The number of types per head T is not free: a head's (key, value) at a position is a function of
    that position's residual vector, d numbers of p bits each, so T ≤ 2^(p·d) — the bound used unless
    `types` overrides it, which the output then labels as an assumption."""

    layers: int = 2
    heads: int = 2
    width: int = 16
    precision: int = 16
    radius: int = 2
    types: Optional[int] = None          # an explicit override of T (an assumption, not derived)

    @property
    def assumed_types(self) -> bool:
        return self.types is not None

    @property
    def types_per_head(self) -> int:
        """T: the override, else 2^(p·d) (exact integer)."""
        return self.types if self.types is not None else 1 << (self.precision * self.width)

    @property
    def log_coefficient(self) -> int:
        return self.layers * self.heads * self.types_per_head

    @property
    def constant(self) -> int:
        return self.radius * (self.layers + 1) * self.width * self.precision

    def bits(self, alice_positions):
        """Float bits for plots and tables (inf past float range); exact: `bits_exact`."""
        a = self.log_coefficient
        coef = float(a) if a.bit_length() < 1020 else float("inf")
        return coef * count_bits(alice_positions) + self.constant

    def bits_exact(self, alice_positions: int) -> int:
        return self.log_coefficient * exact_count_bits(alice_positions) + self.constant

    def types_text(self) -> str:
        if self.assumed_types:
            return f"T = {self.types} types/head (ASSUMED via --types, not implied by d and p)"
        return (f"T = 2^(p·d) = {power_text(self.precision * self.width)} types/head (a type is a function of "
                f"the residual vector: d = {self.width} numbers of p = {self.precision} bits)")

    def describe(self) -> str:
        return (f"Limit Transformer, L = {self.layers}, H = {self.heads}, d = {self.width}, p = {self.precision}, "
                f"τ = {self.radius}, {self.types_text()}: L·H·T·⌈log₂(N_A+1)⌉ + τ·(L+1)·d·p bits")

    def crossing(self, lower_slope: float, lower_offset: int = 0, alice_extra: int = 0) -> int:
        return log_crossing(lower_slope, lower_offset, self.log_coefficient, self.constant, alice_extra)


def _safe_slope(slope: float) -> Fraction:
    """The slope as an exact rational no larger than the true one: integral slopes are exact; others
    (log₂ of a non-power-of-two) lose 2^-40, so the certified line is never overstated."""
    s = Fraction(slope)
    return s if s.denominator == 1 else s - Fraction(1, 1 << 40)


def log_crossing(lower_slope: float, lower_offset: int, a: int, b: int, alice_extra: int = 0) -> int:
    """The least N0 with ⌈s·N⌉ + c > a·⌈log₂(N + e + 1)⌉ + b for every N >= N0, in exact integer
    arithmetic at any magnitude (a may be 2^256).

    On the dyadic block where ⌈log₂(N+e+1)⌉ = j the upper bound is the constant U_j = a·j + b and the
    lower bound increases, so the bad N of the block are those with s·N <= U_j − c: a prefix. Once a
    block is entirely good and the block length 2^(j−1) satisfies s·2^(j−1) >= a, every later block is
    good too (its start moves by 2^(j−1), its threshold by a/s)."""
    s = _safe_slope(lower_slope)
    if s <= 0:
        raise UserError("the lower bound does not grow with N: no crossing")
    e, last_bad, j = int(alice_extra), 0, 1
    while True:
        start, end = max(1, (1 << (j - 1)) - e), (1 << j) - 1 - e
        threshold = (a * j + b - lower_offset) / s          # bad iff N <= threshold
        if end >= start:
            bad_to = min(end, threshold.numerator // threshold.denominator)
            if bad_to >= start:
                last_bad = bad_to
            elif s * (1 << (j - 1)) >= a:
                return last_bad + 1
        j += 1


def crossing(lower_slope: float, upper: Callable, alice_extra: int = 0, limit: int = 1 << 20,
             lower_offset: int = 0) -> int:
    """The least N0 with ⌈N·slope⌉ + lower_offset > upper(N + alice_extra) for every N >= N0.

    Scanned exactly for N <= limit (a power of two).  Beyond it, by dyadic blocks: `upper` is
    monotone and rises by a fixed `jump` per doubling of N, so lower(L) > upper(2L) together with
    L·slope >= jump gives lower(N) > upper(N) on [L, 2L) and, inductively, on every later block."""
    ns = np.arange(1, limit + 1, dtype=np.int64)
    lower = np.ceil(ns * lower_slope - 1e-9) + lower_offset
    up = upper(ns + alice_extra)
    bad = np.nonzero(lower <= up)[0]
    n0 = int(ns[bad[-1]]) + 1 if len(bad) else 1
    at = lambda n: float(upper(np.array([n + alice_extra]))[0])
    jump = at(4 * limit) - at(2 * limit)
    tail_ok = np.ceil(limit * lower_slope - 1e-9) + lower_offset > at(2 * limit) and limit * lower_slope >= jump
    if n0 > limit or not tail_ok:
        raise UserError(f"the lower bound does not overtake the upper bound for N <= {limit:,}; "
                        f"choose a smaller program or transformer size")
    return n0
