"""`verify comm-complexity` as data: the upper bounds (the task's own program through the exact
protocol; any program or Limit Transformer of a stated size), the lower bounds (certificates,
exact rows, two-way bounds), the growth classes, the crossing and the conclusion."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from math import ceil, log2
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from verify.case import LANGUAGE, SEQUENCE, Case
from verify.comm import certificates as cert_mod
from verify.comm.certificates import ProgramSize, TransformerSize, certify, model_for
from verify.comm.growth import CONSTANT, classify
from verify.comm.matrix import (distinguishing_bob_half, largest_exact_n, one_way_rows, row_partition,
                                two_way_bounds)
from verify.comm.protocol import check_protocol, make_protocol
from verify.comm.reference import CommTask
from verify.crasp.interpreter import encode, straight_line
from verify.problems import UserError
from verify.spec import Automaton, CounterSpec
from verify.verdict import JsonFields
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Counterexample, Verdict

METHODS = ("auto", "protocol", "rows", "certificate", "two-way")
MAX_PROTOCOL_N = 1_000_000
REGULAR_CITATION = "Lemmas 35, 36, 38"


# ------------------------------------------------------------------ inputs for a case's program
def _language_tokens(case: Case, ids: np.ndarray) -> List[Tuple[str, ...]]:
    return [tuple(case.alphabet[int(k)] for k in row) for row in ids]


def case_inputs(case: Case, n: int, batch: int, rng: np.random.Generator,
                exhaustive: bool = False) -> List[Tuple[List[Tuple[str, ...]], int]]:
    """Full token sequences with Alice's share: a list of (sequences of one length, split)."""
    if case.format == LANGUAGE:
        if exhaustive:
            words = [tuple(w) for w in itertools.product(case.alphabet, repeat=2 * n)]
        else:
            words = [tuple(case.alphabet[int(k)] for k in row)
                     for row in rng.integers(0, len(case.alphabet), size=(batch, 2 * n))]
            if case.sampler is not None:
                words += _language_tokens(case, np.asarray(case.sampler(rng, batch, 2 * n)))
        return [(words, n)]
    if exhaustive:
        inputs = [tuple(w) for w in itertools.product(case.input_alphabet, repeat=2 * n)]
        inputs = [w for w in inputs if case.valid_input is None or case.valid_input(w)]
    else:
        inputs, errors = [], []
        # some formats need an odd length (a+b) or a multiple of 3 (interleave): Bob takes the extra symbols
        for length in range(2 * n, 2 * n + max(2, case.length_multiple)):
            try:
                inputs = [tuple(w) for w in case.sampler(rng, batch, length)]
            except Exception as err:
                errors.append(f"{type(err).__name__}: {err}")
                inputs = []
            if inputs:
                break
        if not inputs:
            raise UserError(f"N = {n} does not fit the task {case.name!r}: its sampler makes no input of length "
                            f"{2 * n}..{2 * n + max(2, case.length_multiple) - 1} ({'; '.join(errors[:1])}); "
                            f"choose a smaller N for the protocol check")
    groups: Dict[int, List[Tuple[str, ...]]] = {}
    for w in inputs:
        full = case.full_sequence(w)
        groups.setdefault(len(full), []).append(full)
    return [(seqs, 1 + n) for _, seqs in sorted(groups.items())]


@dataclass(frozen=True)
class ProtocolRun:
    n: int
    split: int                  # Alice's positions (N, or N+1 with <bos>)
    inputs: int
    bob_positions: int
    bits_sent: int
    bound: int
    counting_operations: int
    radius: int
    agree: bool
    counterexample: Optional[Counterexample]
    exhaustive: bool

    def as_dict(self) -> dict:
        return {"N": self.n, "alice_positions": self.split, "inputs": self.inputs,
                "bob_positions_checked": self.bob_positions, "bits_sent": self.bits_sent,
                "bound": self.bound, "K": self.counting_operations, "tau": self.radius, "agree": self.agree,
                "exhaustive": self.exhaustive,
                "counterexample": self.counterexample.as_dict() if self.counterexample else None}


def run_protocol(case: Case, program, n: int, batch: int = 32, seed: int = 0,
                 exhaustive: bool = False) -> ProtocolRun:
    """Alice's message and Bob's half for the case's program at half-length n, checked against
    the interpreter on every operation at every one of Bob's positions."""
    line = straight_line(program)
    rng = np.random.default_rng(seed)
    groups = case_inputs(case, n, batch, rng, exhaustive)
    inputs = bob = 0
    split = groups[0][1] if groups else (n if case.format == LANGUAGE else n + 1)
    proto = make_protocol(line, split)
    for seqs, split in groups:
        if not seqs:
            continue
        ids = encode(line.alphabet, seqs)
        check = check_protocol(line, ids, split)
        inputs += len(seqs)
        bob += check.bob_positions * len(seqs)
        if not check.agree:
            b, op, pos, want, got = check.mismatch
            cx = Counterexample(tuple(seqs[b]), pos, want, got,
                                f"Bob's value of operation %{op} ({line.ops[op].label()}) differs from the "
                                f"interpreter's; Alice held positions 1..{split}")
            return ProtocolRun(n, split, inputs, bob, proto.bits_sent, proto.bound, proto.counting_operations,
                               proto.radius, False, cx, exhaustive)
    return ProtocolRun(n, split, inputs, bob, proto.bits_sent, proto.bound, proto.counting_operations,
                       proto.radius, inputs > 0, None, exhaustive)


# ------------------------------------------------------------------ is the witness program the task?
WITNESS_TIMEOUT_S = 20.0   # Z3 proof of the program against the case's spec
WITNESS_BUDGET = 1 << 14   # exhaustive inputs for the reference check
WITNESS_SAMPLES = 300


def check_witness(case: Case, program, timeout_s: float = WITNESS_TIMEOUT_S, seed: int = 0
                  ) -> Tuple[Optional[Verdict], Verdict]:
    """(proof, check): the program proved equal to the case's specification for every length (Z3
    k-induction, LANGUAGE cases with a DFA or counter spec; None otherwise), and the program checked
    against the case's reference — exhaustively up to the length the budget allows, then sampled
    (verify/checking.py, the same checker as `verify check`)."""
    from verify.checking import check_case
    proof = None
    if case.format == LANGUAGE and isinstance(case.spec, (Automaton, CounterSpec)):
        from verify.smt.induction import InductionSettings, prove
        from verify.smt.miter import Miter
        claim = f"the program computes {case.name}'s specification"
        try:
            proof = prove(Miter(program, case.spec),
                          InductionSettings(timeout_s=timeout_s, seed=seed, bound_s=min(timeout_s / 4, 10.0),
                                            deep_s=min(10.0, timeout_s / 4)))
        except UserError as err:
            proof = Verdict(UNKNOWN, claim, "k-induction (Z3)", "—", reason=err.message)
    samples = WITNESS_SAMPLES if case.format == LANGUAGE or case.sampler is not None else 0  # exhaustive only
    check = check_case(case, program, samples=samples, budget=WITNESS_BUDGET, seed=seed)
    return proof, check


@dataclass(frozen=True)
class LowerBoundRefutation:
    """The program's protocol sends fewer bits than a certified lower bound at the same N, so two
    Alice halves the bound says must be told apart get the same message: Bob then answers the same
    on both with Bob's half y, where the task requires different outputs — the program is wrong on
    one of the two inputs (`counterexample`: replayed through the interpreter and the reference)."""

    n: int
    m: int                                   # Bob's input symbols
    protocol_bits: int
    lower_bits: int
    lower_method: str
    alice_halves: Tuple[Tuple[str, ...], Tuple[str, ...]]
    bob_half: Tuple[str, ...]
    message: str                             # the one bit string both Alice halves produce
    required: Tuple[str, str]                # what the reference requires of Bob on x·y and x'·y
    bob_outputs: Optional[Tuple[str, str]]   # LANGUAGE: Bob's accept bits on both (equal, same message)
    counterexample: Optional[Counterexample]

    def describe(self) -> str:
        (x1, x2), y = self.alice_halves, self.bob_half
        text = (f"at N = {self.n} the program's protocol sends {self.protocol_bits} bits, below the certified "
                f"{self.lower_bits} ({self.lower_method}); Alice halves x = {' '.join(x1)!r} and x' = "
                f"{' '.join(x2)!r} get the same message {self.message or '(empty)'!r}, but with Bob's half y = "
                f"{' '.join(y)!r} the task requires {self.required[0]} on x·y and {self.required[1]} on x'·y")
        if self.bob_outputs is not None:
            text += f"; Bob's accept from that message is {self.bob_outputs[0]} on both"
        if self.counterexample is not None:
            cx = self.counterexample
            text += (f"; replayed: the program is wrong on {' '.join(cx.input)!r} at position {cx.position} "
                     f"({cx.detail})")
        return text

    def as_dict(self) -> dict:
        return {"N": self.n, "bob_symbols": self.m, "protocol_bits": self.protocol_bits,
                "lower_bits": self.lower_bits, "lower_method": self.lower_method,
                "alice_halves": [list(x) for x in self.alice_halves], "bob_half": list(self.bob_half),
                "message": self.message, "required": list(self.required),
                "bob_outputs": list(self.bob_outputs) if self.bob_outputs else None,
                "counterexample": self.counterexample.as_dict() if self.counterexample else None}


def _alice_tokens(case: Case, x: Tuple[str, ...]) -> Tuple[str, ...]:
    return x if case.format == LANGUAGE else (case.bos,) + x


def _shared_message(case: Case, line, xs: List[Tuple[str, ...]], split: int):
    """Messages of the given Alice halves and the first two indices with the same one (or None)."""
    proto = make_protocol(line, split)
    bits = proto.alice(encode(line.alphabet, [_alice_tokens(case, x) for x in xs])).bits
    if bits.shape[1] == 0:
        return proto, bits, ((0, 1) if len(xs) > 1 else None)
    _, inverse = np.unique(bits, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    order = np.argsort(inverse, kind="stable")
    same = np.flatnonzero(inverse[order][1:] == inverse[order][:-1])
    if not len(same):
        return proto, bits, None
    return proto, bits, (int(order[same[0]]), int(order[same[0] + 1]))


def _replay_pair(task: CommTask, case: Case, program, proto, bits, x1, x2, y, n, m, lower_bits, method,
                 required) -> LowerBoundRefutation:
    from verify.checking import first_disagreement
    from verify.comm.protocol import Message
    line = straight_line(program)
    bob, cx = None, None
    if case.format == LANGUAGE:  # Bob's half is y alone: his outputs are a function of (message, y)
        from verify.crasp.interpreter import evaluate
        accept = line.output_index("accept")
        outs = np.asarray(proto.bob(Message(np.asarray(bits)), encode(line.alphabet, [y, y]))[accept])
        bob = tuple("".join(str(int(v)) for v in row) for row in outs)
        want = np.asarray(task.required(np.asarray([[task.symbols.index(a) for a in x] for x in (x1, x2)]),
                                        np.asarray([[task.symbols.index(a) for a in y]] * 2))[0]).astype(bool)
        j = int(np.flatnonzero(want[0] != want[1])[0])   # the first of Bob's positions they must differ at
        wrong = x1 if bool(outs[0, j]) != want[0, j] else x2
        word = wrong + y[:j + 1]
        got = bool(evaluate(line, encode(line.alphabet, [word])).output("accept")[0, -1])  # the interpreter
        expected = bool(case.labels(encode(case.alphabet, [word]))[0, -1])                 # the reference
        if got != expected:
            cx = Counterexample(word, len(word), expected, got,
                                f"accept at position {len(word)} (Bob's position {j + 1}) is {got}, the reference "
                                f"says {expected}")
    if cx is None:
        cx = first_disagreement(case, program, x1 + y) or first_disagreement(case, program, x2 + y)
    message = "".join(str(int(v)) for v in np.asarray(bits)[0])
    return LowerBoundRefutation(n, m, proto.bits_sent, lower_bits, method, (x1, x2), y, message, required, bob, cx)


def _required_text(task: CommTask, x, y) -> Tuple[str, str]:
    out, _ = task.required(np.asarray(x), np.asarray(y))
    out = np.asarray(out)
    if task.format == LANGUAGE:
        return tuple("labels " + "".join(str(int(v)) for v in row) for row in out)
    names = tuple(task.case.alphabet) if task.case is not None else ()
    return tuple("answer " + repr(" ".join(names[int(v)] if int(v) < len(names) else f"#{int(v)}"
                                           for v in row if v >= 0)) for row in out)


def below_rows(task: CommTask, case: Case, program, rows, alice_extra: int) -> Optional[LowerBoundRefutation]:
    """The smallest N among the exact row counts where the program's protocol sends fewer bits than
    the certified bound, with the pair of Alice halves that shows it (None if nowhere)."""
    line = straight_line(program)
    for r in sorted(rows, key=lambda r: r.n):
        split = r.n + alice_extra
        if make_protocol(line, split).bits_sent >= r.bits:
            continue
        part = row_partition(task, r.n, r.m)
        xs = [task.tokens(part.xs[i]) for i in part.witnesses]
        proto, bits, pair = _shared_message(case, line, xs, split)
        if pair is None:  # impossible by pigeonhole: 2^bits < |witnesses|
            raise AssertionError(f"{len(xs)} pairwise incompatible rows got distinct messages of "
                                 f"{proto.bits_sent} bits")
        i, j = (int(part.witnesses[k]) for k in pair)
        yk = distinguishing_bob_half(task, part.xs[i], part.xs[j], part.ys)
        y = task.tokens(part.ys[yk])
        req = _required_text(task, part.xs[[i, j]], part.ys[[yk, yk]])
        method = f"exact one-way bound: {len(part.witnesses)} pairwise incompatible rows at N = {r.n}"
        return _replay_pair(task, case, program, proto, bits[list(pair)], task.tokens(part.xs[i]),
                            task.tokens(part.xs[j]), y, r.n, r.m, r.bits, method, req)
    return None


COLLISION_SAMPLES = 1 << 15


def below_certificate(task: CommTask, case: Case, program, cert, seed: int = 0) -> Optional[LowerBoundRefutation]:
    """The program's protocol below a verified injectivity certificate at its N: random Alice halves
    from the certificate's domain until two share a message (birthday search), Bob's half y0."""
    line = straight_line(program)
    split = cert.n + 1
    if make_protocol(line, split).bits_sent >= cert.bits:
        return None
    model = model_for(task)
    rng = np.random.default_rng(seed)
    seen, xs = set(), []
    for _ in range(COLLISION_SAMPLES):
        x = tuple(model.random_alice(task, cert.n, rng))
        if x not in seen:
            seen.add(x)
            xs.append(x)
    proto, bits, pair = _shared_message(case, line, xs, split)
    if pair is None:
        return None
    x1, x2 = xs[pair[0]], xs[pair[1]]
    y = tuple(cert.bob_half)
    req = (" ".join(case.answer(x1 + y)), " ".join(case.answer(x2 + y)))
    return _replay_pair(task, case, program, proto, bits[list(pair)], x1, x2, y, cert.n, len(y), cert.bits,
                        "injectivity certificate", tuple(f"answer {a!r}" for a in req))


def big_number(n: Optional[int]) -> str:
    """Exact below 10^12; beyond, the leading digits and the power of two (the exact value is in --json)."""
    if n is None:
        return "—"
    if n < 10 ** 12:
        return f"{n:,}"
    digits = str(n)
    return f"{digits[0]}.{digits[1:4]}×10^{len(digits) - 1} (≈ 2^{n.bit_length() - 1})"


def _json_int(n):
    """JSON numbers past 2^53 lose digits in most readers: give those as strings."""
    return n if n is None or abs(n) < (1 << 53) else str(n)


# ------------------------------------------------------------------ the whole analysis
@dataclass
class CommReport(JsonFields):   # its JSON keys are attributes too (`N`, `lower_bound`, ...)
    task: str
    note: str
    format: str
    split: str
    n: int
    method: str
    program_size: ProgramSize
    transformer_size: TransformerSize
    protocol: Optional[ProtocolRun] = None
    protocol_series: List[Tuple[int, int, int]] = field(default_factory=list)   # (N, bits, bound)
    certificate: Optional[cert_mod.Certificate] = None
    certificate_series: List[Tuple[int, int, bool]] = field(default_factory=list)  # (N, bits, verified)
    rows: list = field(default_factory=list)
    two_way: list = field(default_factory=list)
    lower_growth: Optional[object] = None
    upper_growth: Optional[object] = None
    crossing_program: Optional[int] = None
    crossing_transformer: Optional[int] = None
    regular_states: Optional[int] = None
    transformer: Optional[dict] = None       # the compiled Limit Transformer's protocol, types per N
    witness_proof: Optional[Verdict] = None  # the task's program against the case's spec, every length (Z3)
    witness_check: Optional[Verdict] = None  # the task's program against the reference (exhaustive + sampled)
    below_lower_bound: Optional["LowerBoundRefutation"] = None
    verdict: str = ""
    conclusion: str = ""
    citation: str = ""
    notes: List[str] = field(default_factory=list)

    @property
    def alice_extra(self) -> int:
        return 1 if self.format == SEQUENCE else 0   # <bos> is Alice's

    @property
    def lower_bits(self) -> Optional[int]:
        if self.certificate is not None and self.certificate.verified:
            return self.certificate.bits
        exact = [r for r in self.rows if r.n == self.n]
        return exact[0].bits if exact else None

    @property
    def lower_method(self) -> str:
        if self.certificate is not None and self.certificate.verified:
            return self.certificate.method
        if any(r.n == self.n for r in self.rows):
            return "exact one-way bound: distinct rows of the communication matrix (all Alice and Bob halves)"
        return "none at this N"

    def upper_any_program(self) -> int:
        return int(self.program_size.bits(np.array([self.n + self.alice_extra]))[0])

    def upper_any_transformer(self) -> int:
        return self.transformer_size.bits_exact(self.n + self.alice_extra)

    def as_dict(self) -> dict:
        return {
            "task": self.task, "note": self.note, "format": self.format, "split": self.split, "N": self.n,
            "method": self.method,
            "lower_bound": {"bits": self.lower_bits, "method": self.lower_method,
                            "certificate": self.certificate.as_dict() if self.certificate else None,
                            "certificate_series": [{"N": n, "bits": b, "verified": v}
                                                   for n, b, v in self.certificate_series],
                            "exact_rows": [{"N": r.n, "bob_symbols": r.m, "alice_halves": r.alice_halves,
                                            "distinct_rows": r.distinct_rows,
                                            "pairwise_incompatible": r.incompatible_rows, "exact": r.exact,
                                            "bits": r.bits, "seconds": round(r.seconds, 3)} for r in self.rows],
                            "two_way": [{"N": t.n, "function": t.function, "fooling_set": t.fooling_set,
                                         "rank_gf_p": t.rank_gf_p, "rank_real": t.rank_real,
                                         "bits": round(t.bits, 3)} for t in self.two_way],
                            "growth": self.lower_growth.as_dict() if self.lower_growth else None},
            "upper_bound": {
                "task_program": self.protocol.as_dict() if self.protocol else None,
                "task_program_series": [{"N": n, "bits": b, "bound": c} for n, b, c in self.protocol_series],
                "growth": self.upper_growth.as_dict() if self.upper_growth else None,
                "regular_dfa_states": self.regular_states,
                "compiled_limit_transformer": self.transformer,
                "any_program": {"size": self.program_size.describe(), "bits_at_N": self.upper_any_program(),
                                "crossing_N": self.crossing_program},
                "any_limit_transformer": {"size": self.transformer_size.describe(),
                                          "types_per_head": _json_int(self.transformer_size.types_per_head),
                                          "types_assumed": self.transformer_size.assumed_types,
                                          "bits_at_N": _json_int(self.upper_any_transformer()),
                                          "crossing_N": _json_int(self.crossing_transformer)}},
            "witness": {"proof": self.witness_proof.as_dict() if self.witness_proof else None,
                        "check": self.witness_check.as_dict() if self.witness_check else None,
                        "below_lower_bound": self.below_lower_bound.as_dict() if self.below_lower_bound
                        else None},
            "verdict": self.verdict, "conclusion": self.conclusion, "citation": self.citation,
            "notes": self.notes,
        }


def _powers_up_to(n: int) -> List[int]:
    out = [1 << j for j in range(0, n.bit_length()) if (1 << j) < n]
    return out + [n]


def _series_rows(task: CommTask, n_max: int, budget_cells: int, progress) -> list:
    rows = []
    k = len(task.symbols)
    for n in range(1, n_max + 1):
        if k ** (2 * n) > budget_cells:
            break
        for m in (n, n + 1):  # formats like `a+b` need Bob to hold one more symbol
            try:
                rows.append(one_way_rows(task, n, m, progress=progress))
                break
            except UserError as err:
                if "domain" not in err.message:
                    raise
    return rows


def analyze(task: CommTask, n: int, method: str = "auto",
            program_size: Optional[ProgramSize] = None,
            transformer_size: TransformerSize = TransformerSize(),
            samples: int = 32, seed: int = 0,
            progress: Optional[Callable[[str], Callable[[int, int], None]]] = None,
            witness_timeout_s: float = WITNESS_TIMEOUT_S) -> CommReport:
    if method not in METHODS:
        raise UserError(f"unknown method {method!r} (--method); choose one of {', '.join(METHODS)}")
    if n < 1:
        raise UserError(f"N = {n} is too small: Alice and Bob must each hold at least one symbol (use --N 1 or more)")
    case = task.case
    program = case.build_program() if case is not None else None
    if method == "protocol" and program is None:
        why = case.no_program_reason if case is not None else "a reference function has no program"
        raise UserError(f"{task.name!r} has no C-RASP program to run the protocol on ({why}); use "
                        f"`--method rows` (small N)" + (" or `--method certificate`" if model_for(task) else ""))
    if method in ("protocol", "auto") and program is not None and n > MAX_PROTOCOL_N:
        raise UserError(f"N = {n:,} is too large for the protocol check (limit {MAX_PROTOCOL_N:,}); "
                        f"use --N {MAX_PROTOCOL_N} or less")
    if program_size is None:
        if program is not None:
            line = straight_line(program)
            from verify.crasp.linear import radius_of
            program_size = ProgramSize(max(1, len(line.counting_ops)), radius_of(line))
        else:
            program_size = ProgramSize()
    rep = CommReport(task.name, task.note, task.format, task.split_description, n, method,
                     program_size, transformer_size)
    tick = progress or (lambda label: None)

    # ---- upper bound: the task's own program through the exact protocol
    if program is not None and method in ("auto", "protocol"):
        rep.protocol = run_protocol(case, program, n, batch=samples, seed=seed)
        line = straight_line(program)
        for m in _powers_up_to(n):
            p = make_protocol(line, m + rep.alice_extra)
            rep.protocol_series.append((m, p.bits_sent, p.bound))
        if len(rep.protocol_series) >= 3:
            rep.upper_growth = classify([s[0] for s in rep.protocol_series], [s[1] for s in rep.protocol_series])
    if program is not None and method in ("auto", "protocol"):
        rep.transformer = _transformer_protocol(case, program, n, seed, rep.notes)
    if case is not None and isinstance(case.spec, Automaton):
        rep.regular_states = len(case.spec.states) + 1  # + the rejecting sink

    # ---- lower bounds
    model = model_for(task)
    if method == "certificate" and model is None:
        raise UserError(f"no injectivity certificate is known for {task.name!r} (certificates exist for "
                        f"{', '.join(sorted(cert_mod.MODELS))}); use `--method rows` with N <= "
                        f"{largest_exact_n(task)}")
    if model is not None and method in ("auto", "certificate"):
        if n > cert_mod.MAX_CERTIFICATE_N:
            raise UserError(f"N = {n:,} is too large for a Z3 certificate (limit {cert_mod.MAX_CERTIFICATE_N:,}); "
                            f"use --N {cert_mod.MAX_CERTIFICATE_N} or less")
        rep.certificate = certify(task, n, seed=seed)
        for m in _powers_up_to(n)[:-1]:
            c = certify(task, m, samples=10, small=1, seed=seed)
            rep.certificate_series.append((m, c.bits, c.verified))
        rep.certificate_series.append((n, rep.certificate.bits, rep.certificate.verified))
    if method == "rows":
        try:
            rep.rows = [one_way_rows(task, n, progress=tick("counting rows"))]
        except UserError as err:
            if "domain" not in err.message:
                raise
            rep.rows = [one_way_rows(task, n, n + 1, progress=tick("counting rows"))]  # e.g. Bob holds `+ b`
    elif method == "auto" or (method == "protocol" and program is not None):
        # protocol mode too: the program's bits are compared with these certified bounds below
        budget = (1 << 16) if task.vectorized else (1 << 14)
        rep.rows = _series_rows(task, n, budget, tick("counting rows"))
    if method == "two-way" or (method == "auto" and task.format == LANGUAGE and rep.rows):
        m = n if method == "two-way" else min(rep.rows[-1].n, 6)
        rep.two_way = two_way_bounds(task, m, seed=seed)

    # ---- growth of the lower bound: exact rows at small N, then certificates
    pts: Dict[int, float] = {r.n: r.bits for r in rep.rows}
    for m, bits, ok in rep.certificate_series:
        if ok:
            pts[m] = bits
    if len(pts) >= 3:
        rep.lower_growth = classify(list(pts), list(pts.values()))

    # ---- is the program the task? Its bits against every certified bound at the same N, then a
    # proof for every length (or a check up to a length) against the case's own reference
    if program is not None and method in ("auto", "protocol"):
        rep.below_lower_bound = below_rows(task, case, program, rep.rows, rep.alice_extra)
        if rep.below_lower_bound is None and rep.certificate is not None and rep.certificate.verified:
            rep.below_lower_bound = below_certificate(task, case, program, rep.certificate, seed)
        rep.witness_proof, rep.witness_check = check_witness(case, program, witness_timeout_s, seed)

    task.refuse_constant()   # a reference function constant on every input given: nothing to bound
    _conclude(rep, task, program)
    return rep


TRANSFORMER_MAX_N = 1024
TRANSFORMER_BUDGET = 4_000_000  # rows × width × layers per forward pass


def _transformer_protocol(case: Case, program, n: int, seed: int, notes: List[str]) -> Optional[dict]:
    """Compile the program (Theorem 9) and run the Limit Transformer protocol at N and at powers of 2
    below it: agreement with the forward pass and the number of (key, value) types per head."""
    try:
        from verify.comm.transformer_protocol import check_transformer_protocol
        from verify.limit.compiler import compile_program
        model = compile_program(program)
    except Exception as err:
        notes.append(f"Limit Transformer protocol skipped: {type(err).__name__}: {err}")
        return None
    line = straight_line(program)
    series = []
    size = model.embedding.shape[1] * max(1, len(model.layers))
    for m in [x for x in _powers_up_to(min(n, TRANSFORMER_MAX_N)) if x >= 4 or x == n]:
        if (2 * m + 3) * size > TRANSFORMER_BUDGET:
            notes.append(f"Limit Transformer protocol: N ≥ {m} skipped (width {model.embedding.shape[1]} × "
                         f"{len(model.layers)} layers is over the time budget)")
            break
        groups = case_inputs(case, m, 2, np.random.default_rng(seed + m))
        for seqs, split in groups[:1]:
            if split < model.radius:
                continue
            run = check_transformer_protocol(model, encode(line.alphabet, seqs), split)
            series.append({"N": m, **run.as_dict()})
    if n > TRANSFORMER_MAX_N:
        notes.append(f"Limit Transformer protocol checked up to N = {TRANSFORMER_MAX_N} only")
    return {"series": series, "radius": model.radius,
            "types_bounded_so_far": len({tuple(r["types_per_head"]) for r in series[-3:]}) <= 1 if series else None}


def _witness_scope(rep: CommReport) -> Tuple[str, str]:
    """(verdict, what it rests on) once the program is known to agree with the task."""
    proof, check = rep.witness_proof, rep.witness_check
    ev = check.evidence if check is not None else {}
    checked = (f"checked against the reference: {check.scope}" if check is not None else "")
    if proof is not None and proof.status == HOLDS:
        return ("expressible (witness program proved for every length)",
                f"the program was proved equal to the case's specification for every length ({proof.method}); "
                f"it was also {checked}. The verdict assumes the specification is the task (for catalogue cases "
                f"the reference labels are computed from it)")
    length = ev.get("exhaustive_len", 0)
    why = f"; no proof for all lengths: {proof.reason}" if proof is not None and proof.reason else \
        ("; no proof for all lengths was attempted (only LANGUAGE cases with a DFA or counter specification "
         "can be proved with Z3)" if proof is None else "")
    return (f"expressible (witness program checked up to length {length})",
            f"the program was {checked}{why}. The verdict ASSUMES the program also computes the task on longer "
            f"inputs, which was not proved")


def _conclude(rep: CommReport, task: CommTask, program) -> None:
    case = task.case
    bad = [r for r in (rep.transformer or {}).get("series", []) if not r["agree"]]
    if bad:
        rep.verdict = "refuted"
        rep.conclusion = (f"the compiled Limit Transformer's protocol disagrees with its forward pass at N = "
                          f"{bad[0]['N']} (input {bad[0]['mismatch']}) — a compiler or protocol bug")
        return
    if rep.protocol is not None and not rep.protocol.agree:
        rep.verdict = "refuted"
        rep.conclusion = ("the protocol disagrees with the interpreter on Bob's half — a bug in the protocol "
                          "or interpreter; see the counterexample")
        return
    below = rep.below_lower_bound
    if below is not None and below.counterexample is None:  # impossible if protocol and interpreter agree
        rep.verdict = "unknown"
        rep.conclusion = (f"{below.describe()}; yet neither input replays as a disagreement between the program "
                          f"and the reference, so the protocol and the interpreter disagree — a bug in the toolkit")
        return
    if below is not None:
        rep.verdict = "refuted"
        rep.conclusion = (f"the task's program does not compute {task.name}: {below.describe()}. Two Alice halves "
                          f"that must be told apart cannot share a message, so a one-way protocol with fewer bits "
                          f"than the certified bound is wrong on some input; this rests on the exactness of the "
                          f"program's protocol (Bob recomputes the interpreter's values from the message) and on "
                          f"the reference the bound was computed from")
        rep.citation = "Theorem 12 (the program's protocol) against the certified one-way lower bound"
        return
    for v in (rep.witness_proof, rep.witness_check):
        if v is not None and v.status == REFUTED:
            cx = v.counterexample
            rep.verdict = "refuted"
            rep.conclusion = (f"the task's program does not compute {task.name}: {v.method} found "
                              f"{' '.join(cx.input) or '(empty)'!r} — {cx.detail} (replays through the "
                              f"interpreter and the reference); no expressibility claim rests on it")
            return
    cert = rep.certificate
    if cert is not None and not cert.verified:
        rep.verdict = "unknown"
        rep.conclusion = ("the injectivity certificate did not check out: " + "; ".join(cert.failures or
                          [f"Z3 answered {cert.z3}"]) + " — no lower bound is claimed")
        return
    if cert is not None and cert.verified:
        slope, offset = cert_mod.lower_line(task)
        try:
            rep.crossing_program = rep.program_size.crossing(slope, offset, rep.alice_extra)
            rep.crossing_transformer = rep.transformer_size.crossing(slope, offset, rep.alice_extra)
        except UserError as err:
            rep.notes.append(err.message)
        rep.verdict = "not expressible"
        beyond = []
        if rep.crossing_program:
            beyond.append(f"any program of that size fails from N = {big_number(rep.crossing_program)}")
        if rep.crossing_transformer:
            t = rep.transformer_size
            beyond.append(f"any Limit Transformer with L = {t.layers}, H = {t.heads}, d = {t.width}, "
                          f"p = {t.precision}, τ = {t.radius} from N = {big_number(rep.crossing_transformer)} "
                          + ("(ASSUMING at most T = %d (key, value) types per head, as --types says)" % t.types
                             if t.assumed_types else
                             f"(T = 2^(p·d) = 2^{t.precision * t.width} types per head, as Theorem 12's protocol "
                             f"needs at p-bit precision; the bound assumes activations of p bits)"))
        rep.conclusion = (
            f"Alice must send at least {cert.bits} bits at N = {rep.n} (certified), while a C-RASP[periodic,local] "
            f"program with K counting operations sends K·⌈log₂(N+1)⌉ + K·τ and a Limit Transformer "
            f"L·H·T·⌈log₂(N+1)⌉ + τ·(L+1)·d·p; {'; '.join(beyond) or 'the bounds cross'}. Since the lower bound "
            f"grows linearly, every fixed size is overtaken: not expressible, not length-generalizable by the "
            f"paper's theory.")
        rep.citation = "Theorem 12 (communication bound), with Theorem 7 (length generalization needs expressibility)"
        return
    growth = rep.lower_growth
    constant = rep.regular_states is not None or (growth is not None and growth.kind == CONSTANT)
    if rep.protocol is not None:
        p = rep.protocol
        proof, check = rep.witness_proof, rep.witness_check
        sound = (proof is not None and proof.status == HOLDS) or (check is not None and check.status == HOLDS)
        rows = [r for r in rep.rows if r.n <= rep.n]
        compared = (f"; its bits are at least the certified one-way bound at every N with exact rows "
                    f"(N ≤ {max(r.n for r in rows)})" if rows else "")
        if sound:
            rep.verdict, rests = _witness_scope(rep)
            how = "computes it" if "proved" in rep.verdict else "agrees with it on every input checked"
            rep.conclusion = (
                f"the task's C-RASP[periodic,local] program {how} ({rests}) and runs as a one-way protocol: "
                f"Bob reproduced every operation at every one of his positions on {p.inputs} inputs from "
                f"{p.bits_sent} bits (≤ K·⌈log₂(N_A+1)⌉ + K·τ = {p.bound}){compared}, as Theorem 12 predicts; a "
                f"communication lower bound cannot refute an expressible task.")
            rep.citation = "Theorem 12"
        else:
            rep.verdict = "inconclusive"
            why = "; ".join(v.reason for v in (proof, check) if v is not None and v.reason) or "nothing was checked"
            rep.conclusion = (f"the task's program runs as a one-way protocol of {p.bits_sent} bits, but it was not "
                              f"shown to compute the task ({why}); no expressibility claim is made")
    if constant:
        why = (f"a regular language: Alice can send her DFA state, ⌈log₂ {rep.regular_states}⌉ = "
               f"{ceil(log2(rep.regular_states)) if rep.regular_states > 1 else 0} bits at every N"
               if rep.regular_states is not None else f"the exact one-way bound is constant ({growth.reason})")
        cite = (case.citation if case is not None and case.citation else REGULAR_CITATION)
        expected_bad = case is not None and not case.expected_ape
        text = (f"communication cannot separate this task from expressible ones: it needs O(1) bits ({why}). "
                f"Theorem 12 gives no verdict here")
        if expected_bad:
            text += (f"; the paper's ✗ must rest on other arguments ({REGULAR_CITATION} where they apply) and on "
                     f"search for programs, not on communication (the case cites: {cite})")
            rep.citation = REGULAR_CITATION
        else:
            text += "."
        if rep.protocol is None:
            rep.verdict = "no separation by communication"
            rep.conclusion = text
        else:
            rep.notes.append(text)
        return
    if rep.protocol is None:
        rep.verdict = "inconclusive"
        kind = growth.kind if growth else "undetermined (too few N)"
        rep.conclusion = (f"no certificate is known for large N and no program was given; the exact one-way bound at "
                          f"small N grows {kind}. Only a certificate for every N (or a program) would settle it.")
