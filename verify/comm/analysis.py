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
from verify.comm.certificates import ProgramSize, TransformerSize, certify, crossing, model_for
from verify.comm.growth import CONSTANT, classify
from verify.comm.matrix import largest_exact_n, one_way_rows, two_way_bounds
from verify.comm.protocol import check_protocol, make_protocol
from verify.comm.reference import CommTask
from verify.crasp.interpreter import encode, straight_line
from verify.problems import UserError
from verify.spec import Automaton
from verify.verdict import Counterexample

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


# ------------------------------------------------------------------ the whole analysis
@dataclass
class CommReport:
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
        return int(self.transformer_size.bits(np.array([self.n + self.alice_extra]))[0])

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
                                          "bits_at_N": self.upper_any_transformer(),
                                          "crossing_N": self.crossing_transformer}},
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
            progress: Optional[Callable[[str], Callable[[int, int], None]]] = None) -> CommReport:
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if n < 1:
        raise UserError(f"N = {n} is too small: Alice and Bob must each hold at least one symbol (use N >= 1)")
    case = task.case
    program = case.build_program() if case is not None else None
    if method == "protocol" and program is None:
        why = case.no_program_reason if case is not None else "a reference function has no program"
        raise UserError(f"{task.name!r} has no C-RASP program to run the protocol on ({why}); use "
                        f"`--method rows` (small N)" + (" or `--method certificate`" if model_for(task) else ""))
    if method in ("protocol", "auto") and program is not None and n > MAX_PROTOCOL_N:
        raise UserError(f"N = {n:,} is too large for the protocol check (limit {MAX_PROTOCOL_N:,}); "
                        f"use N <= {MAX_PROTOCOL_N:,}")
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
                            f"use N <= {cert_mod.MAX_CERTIFICATE_N:,}")
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
    elif method == "auto":
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


def _conclude(rep: CommReport, task: CommTask, program) -> None:
    case = task.case
    bad = [r for r in (rep.transformer or {}).get("series", []) if not r["agree"]]
    if bad:
        rep.verdict = "refuted"
        rep.conclusion = (f"the compiled Limit Transformer's protocol disagrees with its forward pass at N = "
                          f"{bad[0]['N']} (input {bad[0]['mismatch']}) — a compiler or protocol bug")
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
            rep.crossing_program = crossing(slope, rep.program_size.bits, rep.alice_extra, lower_offset=offset)
            rep.crossing_transformer = crossing(slope, rep.transformer_size.bits, rep.alice_extra,
                                               lower_offset=offset)
        except UserError as err:
            rep.notes.append(err.message)
        rep.verdict = "not expressible"
        beyond = []
        if rep.crossing_program:
            beyond.append(f"any program of that size fails from N = {rep.crossing_program}")
        if rep.crossing_transformer:
            beyond.append(f"any Limit Transformer of that size from N = {rep.crossing_transformer}")
        rep.conclusion = (
            f"Alice must send at least {cert.bits} bits at N = {rep.n} (certified), while a C-RASP[periodic,local] "
            f"program with K counting operations sends K·⌈log₂(N+1)⌉ + K·τ and a Limit Transformer C·log N; "
            f"{'; '.join(beyond) or 'the bounds cross'}. Since the lower bound grows linearly, every fixed size "
            f"is overtaken: not expressible, not length-generalizable by the paper's theory.")
        rep.citation = "Theorem 12 (communication bound), with Theorem 7 (length generalization needs expressibility)"
        return
    growth = rep.lower_growth
    constant = rep.regular_states is not None or (growth is not None and growth.kind == CONSTANT)
    if rep.protocol is not None:
        p = rep.protocol
        if not p.agree:
            rep.verdict = "refuted"
            rep.conclusion = ("the protocol disagrees with the interpreter on Bob's half — a bug in the protocol "
                              "or interpreter; see the counterexample")
            return
        rep.verdict = "expressible (witness program)"
        rep.conclusion = (f"the task's C-RASP[periodic,local] program runs as a one-way protocol: Bob reproduced every "
                          f"operation at every one of his positions on {p.inputs} inputs from {p.bits_sent} bits "
                          f"(≤ K·⌈log₂(N_A+1)⌉ + K·τ = {p.bound}), as Theorem 12 predicts; a communication lower "
                          f"bound cannot refute an expressible task.")
        rep.citation = "Theorem 12"
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
