"""`verify classify`: certified NoPE (plain C-RASP) and APE (C-RASP[periodic,local]) verdicts for a
regular language, each with what it rests on.

Stages: minimal DFA (dfa.py / regex.py) -> transition monoid and classes (monoid.py) -> the
balanced-labelling decider (decider.py) -> pumping certificates (pumping.py) -> a program from
synthesis (verify/regular/synthesis.py, when present) proved for all lengths.

Verdicts:
- crasp: the decider (polynomial, exact), under the stated acceptance convention. A "false" for a
  non-aperiodic language also carries the Δ = 1 pumping certificate, re-checked.
- crasp_periodic_local: false by the pumping certificate when the language is not quasi-aperiodic
  (re-checked, all Δ); true when crasp is true (plain C-RASP ⊆ C-RASP[periodic,local]) or when a
  program of the fragment is proved equal for all lengths; otherwise null ("undecided").
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from verify.crasp.interpreter import ACCEPT_END, ACCEPT_LAST, ACCEPTANCE_MODES
from verify.regular.budget import DONE, NOT_FINISHED, SKIPPED, Budget, OutOfTime, Stage, alarm_at
from verify.regular.decider import DeciderResult, access_words, decide
from verify.regular.dfa import Dfa, minimal_dfa, require_alphabet_size
from verify.regular.monoid import Monoid, transition_monoid
from verify.regular.pumping import (PumpingCertificate, periodic_local_certificates, plain_certificate,
                                    recheck_all)
from verify.regular.regex import TooLarge, regex_dfa, used_symbols
from verify.spec import Automaton
from verify.verdict import JsonFields

ACCEPTANCE = ACCEPTANCE_MODES           # the acceptance convention: one name (`acceptance`) along the whole route
DEFAULT_ACCEPTANCE = ACCEPT_LAST
ACCEPTANCE_READ = {ACCEPT_LAST: "last position", ACCEPT_END: "end marker"}   # where the output is read
ACCEPTANCE_WHY = {
    ACCEPT_LAST: "output read at the last input position (the catalogue's per-position labels and "
            "`verify prove`'s default); ADT's published labels use `end`",
    ACCEPT_END: "output read at an appended end marker (ADT's convention)",
}
MAX_DECIDER_STATES = 2_000
SYNTHESIS_MARGIN_S = 1.5
KEYS = ("regex", "alphabet", "acceptance", "states", "classes", "crasp", "crasp_periodic_local",
        "program", "program_proof", "certificate", "stages", "seconds")
STAGES = ("minimal_dfa", "decider", "monoid", "layers", "certificates", "synthesis")


@dataclass(frozen=True)
class Finding:
    """One three-valued verdict and what it rests on."""
    value: Optional[bool]
    rests_on: str                     # "decider", "pumping", "proved program for all lengths", "undecided"
    line: str                         # the sentence printed for it
    witness: Optional[Dict[str, Any]] = None

    def as_dict(self) -> Dict[str, Any]:
        return {"value": self.value, "rests_on": self.rests_on, "explanation": self.line,
                "witness": self.witness}


@dataclass(frozen=True)
class Classification(JsonFields):   # its JSON keys are attributes too (`crasp_periodic_local`, `certificate`)
    source: str                       # what was classified, in words
    regex: Optional[str]
    alphabet: Tuple[str, ...]
    acceptance: str
    states: Optional[int]
    classes: Dict[str, Optional[bool]]
    crasp: Finding
    ape: Finding
    program: Optional[str] = None
    program_proof: Optional[str] = None
    seconds: float = 0.0
    notes: Tuple[str, ...] = ()
    dfa: Optional[Dfa] = field(default=None, compare=False)
    stages: Dict[str, Stage] = field(default_factory=dict, compare=False)   # each stage: done / not finished / skipped

    @property
    def decided(self) -> bool:
        return self.crasp.value is not None and self.ape.value is not None

    def as_dict(self) -> Dict[str, Any]:
        out = {"regex": self.regex, "alphabet": list(self.alphabet), "acceptance": self.acceptance,
               "states": self.states, "classes": dict(self.classes), "crasp": self.crasp.value,
               "crasp_periodic_local": self.ape.value, "program": self.program,
               "program_proof": self.program_proof,
               "certificate": {"source": self.source, "crasp": self.crasp.as_dict(),
                               "crasp_periodic_local": self.ape.as_dict(), "notes": list(self.notes)},
               "stages": {name: self.stages[name].as_dict() for name in STAGES if name in self.stages},
               "seconds": round(self.seconds, 4)}
        assert tuple(out) == KEYS
        return out


# ------------------------------------------------------------------ stages
def _classes(monoid: Optional[Monoid]) -> Dict[str, Optional[bool]]:
    """The classes each finished stage settled (R, R_omega, aperiodic: the monoid stage; quasi-aperiodic: the
    layers stage); null where that stage did not finish."""
    out: Dict[str, Optional[bool]] = {"R": None, "R_omega": None, "aperiodic": None, "quasi_aperiodic": None}
    if monoid is not None:
        cache = monoid.__dict__                  # only what the stages computed: no work here
        if "_r_labels" in cache and "group_witness" in cache and "idempotents" in cache:
            out.update(R=monoid.r_trivial, R_omega=monoid.r_omega, aperiodic=monoid.aperiodic)
        if "stable_group_witness" in cache:
            out["quasi_aperiodic"] = monoid.quasi_aperiodic
    return out


def _decider_witness(result: DeciderResult) -> Dict[str, Any]:
    scc = result.failing
    assert scc is not None and result.dfa is not None
    words = access_words(result.dfa)
    show = lambda q: "".join(words[q]) or "ε"
    witness: Dict[str, Any] = {
        "component": [f"q{q} (reached by {show(q)})" for q in scc.states],
        "rounds": scc.rounds, "balanced_labelling_dimension_per_round": list(scc.nullity),
        "round1_system": list(scc.system), "round1_balanced_labellings": [list(b) for b in scc.round1_basis],
    }
    if scc.unseparated:
        p, q = scc.unseparated
        witness["not_separated"] = (f"q{p} (after {show(p)}) and q{q} (after {show(q)}) have the same "
                                    "outgoing labels after the last round")
    if result.quotient is not None:
        witness["quotient"] = (f"the language {{w : w{result.quotient} ∈ L}} (the last letter being "
                               f"{result.quotient!r}) fails under end-marker reading; its minimal DFA has "
                               f"{result.dfa.n_states} states")
    return witness


def _unfinished(stage: Stage) -> str:
    """The undecided line of a verdict whose stage did not finish."""
    return stage.reason if stage.reason.startswith("monoid too large") or stage.reason.startswith("too large") \
        else f"not finished within the budget ({stage.reason})"


def _crasp(dfa: Dfa, acceptance: str, result: Optional[DeciderResult], stage: Stage,
           plain: Optional[PumpingCertificate]) -> Finding:
    read_at = ACCEPTANCE_READ[acceptance]
    if result is None:
        return Finding(None, "undecided", f"undecided: {_unfinished(stage)}")
    if result.passed:
        return Finding(True, "decider", f"in C-RASP (NoPE), read at the {read_at} — decider: every strongly "
                                        f"connected component of the minimal DFA separates its states "
                                        f"by balanced labellings (exact rational arithmetic)")
    witness = _decider_witness(result)
    line = (f"not in C-RASP (NoPE), read at the {read_at} — decider: a component of the minimal DFA "
            f"does not separate its states")
    rests = "decider"
    if plain is not None:
        witness["pumping"] = plain.as_dict()
        line += f"; and pumping (Δ = 1, re-checked): {plain.describe()}"
        rests = "decider; pumping"
    return Finding(False, rests, line, witness)


def _ape(certs: List[PumpingCertificate], crasp: Finding, classes: Dict[str, Optional[bool]],
         why_open: str) -> Finding:
    if certs:
        s = certs[0].stability
        general = (f"η(Σ^{s}) = η(Σ^{2 * s}) holds a group element g of order {certs[0].period}; "
                   f"for every period Δ a word u of length {s}·Δ with η(u) = g exists, and x·u^k·y "
                   f"alternates with period {certs[0].period} in k, while every C-RASP[periodic,local] "
                   "program with period Δ is eventually constant on it (REGULAR.md §4)")
        return Finding(False, "pumping", "not in C-RASP[periodic,local] (APE) — pumping, certificates "
                       f"re-checked for Δ = {', '.join(str(c.delta) for c in certs)} and the general "
                       f"argument: {certs[-1].describe()}",
                       {"general_argument": general, "stability_index": s,
                        "certificates": [c.as_dict() for c in certs]})
    if crasp.value:
        return Finding(True, "decider", "in C-RASP[periodic,local] (APE) — decider: the language is "
                                        "plain C-RASP, a sub-fragment")
    if why_open:
        return Finding(None, "undecided", f"undecided: {why_open}")
    if classes["quasi_aperiodic"] is False:      # pragma: no cover - a certificate failed its re-check: a bug
        return Finding(None, "undecided", "undecided: the pumping certificates did not re-check")
    return Finding(None, "undecided", "undecided: the language is quasi-aperiodic, so the pumping argument "
                                      "does not apply, and no C-RASP[periodic,local] program is known")


def _synthesize(dfa: Dfa, acceptance: str, fragment: str, budget_s: float, deadline: float):
    """(program text, proof line, proved for all lengths?, reason) from the synthesis stage."""
    try:
        from verify.regular.synthesis import synthesize, time_budgeted
    except ImportError:
        return None, None, False, "synthesis not available"
    try:
        result = synthesize(dfa.to_automaton(), acceptance=acceptance, fragment=fragment, budget_s=budget_s,
                            deadline=deadline)
    except ImportError as ex:            # a partial installation of the synthesis stage
        return None, None, False, f"synthesis not available ({ex})"
    except OutOfTime:
        raise
    except Exception as ex:  # the verdicts do not depend on synthesis: report its failure, keep them
        return None, None, False, f"synthesis failed ({type(ex).__name__}: {ex})"
    if result.program is None or result.text is None:
        return None, None, False, result.reason or "no program found"
    proof = result.proof
    if proof is not None and proof.status == "holds":
        from verify.crasp.fragment import PLAIN, fragment as fragment_of
        plain = fragment_of(result.program) == PLAIN
        return (result.text, f"proved for all lengths: {proof.method}; {proof.scope}", True,
                "plain" if plain else result.reason)
    if proof is not None:
        label = (" (time-budgeted: the wall-clock safety limit stopped the proof, so this length depends on the "
                 "machine's load)" if time_budgeted(proof) else " (the proof's work budget: the same on every machine)")
        return (result.text, f"not proved for all lengths ({proof.status}): {proof.scope}{label}", False,
                proof.reason)
    return result.text, "not proved", False, result.reason


class _Stages:
    """Runs the stages in order under one budget, recording each: done, not finished (why) or skipped."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self.done: Dict[str, Stage] = {}

    def run(self, name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            self.budget.check()
            with alarm_at(self.budget.deadline):
                out = work()
        except TooLarge as ex:
            why = f"monoid too large ({ex})" if name in ("monoid", "layers", "certificates") else str(ex)
            self.done[name] = Stage(NOT_FINISHED, time.perf_counter() - started, why)
            return None
        except OutOfTime as ex:
            self.done[name] = Stage(NOT_FINISHED, time.perf_counter() - started, str(ex))
            return None
        self.done[name] = Stage(DONE, time.perf_counter() - started)
        return out

    def skip(self, name: str, why: str) -> None:
        self.done[name] = Stage(SKIPPED, 0.0, why)

    def why_not(self, name: str) -> str:
        stage = self.done.get(name)
        return "" if stage is None or stage.status != NOT_FINISHED else _unfinished(stage)


def _decide(dfa: Dfa, acceptance: str, budget: Budget) -> DeciderResult:
    if dfa.n_states > MAX_DECIDER_STATES:
        raise TooLarge(f"too large (minimal DFA has {dfa.n_states} states, the decider's cap is "
                       f"{MAX_DECIDER_STATES})")
    return decide(dfa, acceptance, check=budget.check)


def _monoid(dfa: Dfa, budget: Budget) -> Monoid:
    monoid = transition_monoid(dfa, budget=budget)
    monoid.r_classes, monoid.idempotents, monoid.group_witness      # the classes R, R_omega, aperiodic
    return monoid


def _certificates(dfa: Dfa, monoid: Monoid, decider: Optional[DeciderResult], budget: Budget):
    """(the Δ = 1 certificate for a NoPE "false", the certificates for every shown Δ for an APE "false"),
    each kept only if it re-checks from the DFA."""
    plain = None
    if decider is not None and not decider.passed and not monoid.aperiodic:
        cert = plain_certificate(monoid)
        if cert is not None and recheck_all([cert], dfa, budget)[0][0]:
            plain = cert
    certs: List[PumpingCertificate] = []
    if not monoid.quasi_aperiodic:
        found = periodic_local_certificates(monoid)
        checked = [c for c, (ok, _) in zip(found, recheck_all(found, dfa, budget)) if ok]
        if checked and len(checked) == len(found):
            certs = checked
    return plain, certs


def classify_dfa(dfa: Dfa, acceptance: str = DEFAULT_ACCEPTANCE, regex: Optional[str] = None,
                 source: str = "", synthesis_budget_s: float = 0.0,
                 budget: Optional[Budget] = None) -> Classification:
    """Classifies the language of a (not necessarily minimal) complete DFA, every stage under `budget`
    (default: `Budget.for_seconds(synthesis_budget_s)`, the budget of `verify classify --budget`)."""
    if acceptance not in ACCEPTANCE:
        raise ValueError(f"acceptance must be one of {ACCEPTANCE}")
    require_alphabet_size(len(dfa.alphabet), source or "the automaton's alphabet")
    budget = budget if budget is not None else Budget.for_seconds(synthesis_budget_s)
    started = time.perf_counter()
    stages = _Stages(budget)
    alphabet = dfa.alphabet
    dfa = stages.run("minimal_dfa", dfa.minimize)
    notes: List[str] = [f"acceptance {acceptance}: {ACCEPTANCE_WHY[acceptance]}"]
    decider = stages.run("decider", lambda: _decide(dfa, acceptance, budget)) if dfa is not None else None
    monoid = stages.run("monoid", lambda: _monoid(dfa, budget)) if dfa is not None else None
    if monoid is None:
        notes.append(f"classes undecided: {stages.why_not('monoid') or 'no automaton'}")
        stages.skip("layers", "no monoid")
    elif stages.run("layers", lambda: monoid.quasi_aperiodic) is None:
        notes.append(f"quasi-aperiodicity undecided: {stages.why_not('layers')}")
    plain, certs = None, []
    if monoid is None or "layers" in stages.done and stages.done["layers"].status != DONE:
        stages.skip("certificates", "no monoid" if monoid is None else "the layers η(Σ^k) did not finish")
    elif monoid.aperiodic:
        stages.skip("certificates", "the monoid is aperiodic: no group to pump")
    else:
        plain, certs = stages.run("certificates", lambda: _certificates(dfa, monoid, decider, budget)) or (None, [])
    classes = _classes(monoid)
    crasp = _crasp(dfa, acceptance, decider, stages.done["decider"], plain) if dfa is not None else \
        Finding(None, "undecided", f"undecided: {stages.why_not('minimal_dfa')}")
    open_why = stages.why_not("certificates") or stages.why_not("layers") or stages.why_not("monoid")
    ape = _ape(certs, crasp, classes, open_why if classes["quasi_aperiodic"] is not True else "")
    program = proof_line = None
    if synthesis_budget_s <= 0:
        stages.skip("synthesis", "--budget 0")
        notes.append("no program searched (synthesis budget 0)")
    elif ape.value is False:
        stages.skip("synthesis", "the pumping certificate shows no program exists")
        notes.append("no program: the pumping certificate shows none exists")
    elif crasp.value is None:
        stages.skip("synthesis", "the decider did not finish")
        notes.append("no program searched: the decider did not finish (past its size cap or the budget)")
    else:
        fragment = "crasp" if crasp.value else "crasp_periodic_local"
        # the search and its proofs stop on their own a little before the deadline (a proof may overrun its
        # wall-clock limit by about a second), so that an unproved candidate is still reported; the timer at
        # the deadline is only for a step that does not stop
        wrap_up = budget.deadline - min(SYNTHESIS_MARGIN_S, 0.15 * budget.seconds)
        found = stages.run("synthesis", lambda: _synthesize(dfa, acceptance, fragment, synthesis_budget_s, wrap_up))
        program, proof_line, proved, reason = found or (None, None, False, stages.why_not("synthesis"))
        if program is None:
            notes.append(f"no program: {reason}; the verdicts rest on the decider and the certificates alone")
        elif proved and ape.value is None and fragment == "crasp_periodic_local":
            ape = Finding(True, "proved program for all lengths",
                          f"in C-RASP[periodic,local] (APE) — a synthesized program, {proof_line}")
        if proved and crasp.value is False and reason == "plain":  # the decider and the prover disagree
            notes.append("CONFLICT: a plain C-RASP program was proved equal for all lengths although the "
                         "decider says the language is not C-RASP; one of them has a bug")
    if classes["aperiodic"] is False and crasp.value is True:  # pragma: no cover - a bug
        notes.append("CONFLICT: the decider accepts a language that is not aperiodic")
    return Classification(source or (f"regex {regex}" if regex else "a DFA"), regex, alphabet,
                          acceptance, dfa.n_states if dfa is not None else None, classes, crasp, ape, program,
                          proof_line, time.perf_counter() - started, tuple(notes), dfa, dict(stages.done))


def classify_regex(pattern: str, alphabet: Optional[Sequence[str]] = None, acceptance: str = DEFAULT_ACCEPTANCE,
                   synthesis_budget_s: float = 0.0) -> Classification:
    started = time.perf_counter()
    budget = Budget.for_seconds(synthesis_budget_s)      # from here: the regex's automaton is in the budget
    require_alphabet_size(len(alphabet) if alphabet is not None else len(used_symbols(pattern)),
                          "--alphabet" if alphabet is not None else "the regular expression's alphabet")
    try:
        dfa = regex_dfa(pattern, alphabet)
    except TooLarge as ex:
        alpha = tuple(alphabet) if alphabet else ()
        reason = f"undecided: too large ({ex})"
        stages = {"minimal_dfa": Stage(NOT_FINISHED, time.perf_counter() - started, f"too large ({ex})")}
        stages.update((name, Stage(SKIPPED, 0.0, "no automaton")) for name in STAGES[1:])
        return Classification(f"regex {pattern}", pattern, alpha, acceptance, None, _classes(None),
                              Finding(None, "undecided", reason), Finding(None, "undecided", reason),
                              seconds=time.perf_counter() - started, stages=stages)
    result = classify_dfa(dfa, acceptance, pattern, f"regex {pattern}", synthesis_budget_s, budget)
    return replace(result, seconds=time.perf_counter() - started)


def classify_automaton(automaton: Automaton, acceptance: str = DEFAULT_ACCEPTANCE, source: str = "",
                       synthesis_budget_s: float = 0.0) -> Classification:
    started = time.perf_counter()
    budget = Budget.for_seconds(synthesis_budget_s)
    result = classify_dfa(minimal_dfa(automaton), acceptance, None, source, synthesis_budget_s, budget)
    return replace(result, seconds=time.perf_counter() - started)


def render_lines(c: Classification) -> List[str]:
    """The human-readable report: one line per verdict, each saying what it rests on."""
    from verify.regular.classify_render import render
    return render(c, ACCEPTANCE_WHY[c.acceptance])
