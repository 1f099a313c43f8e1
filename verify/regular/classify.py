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
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from verify.crasp.interpreter import ACCEPT_END, ACCEPT_LAST, ACCEPTANCE_MODES
from verify.regular.decider import DeciderResult, access_words, decide
from verify.regular.dfa import Dfa, minimal_dfa, require_alphabet_size
from verify.regular.monoid import Monoid, transition_monoid
from verify.regular.pumping import (periodic_local_certificates, plain_certificate,
                                    recheck)
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
KEYS = ("regex", "alphabet", "acceptance", "states", "classes", "crasp", "crasp_periodic_local",
        "program", "program_proof", "certificate", "seconds")


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
               "seconds": round(self.seconds, 4)}
        assert tuple(out) == KEYS
        return out


# ------------------------------------------------------------------ stages
def _classes(monoid: Optional[Monoid]) -> Dict[str, Optional[bool]]:
    if monoid is None:
        return {"R": None, "R_omega": None, "aperiodic": None, "quasi_aperiodic": None}
    return {"R": monoid.r_trivial, "R_omega": monoid.r_omega, "aperiodic": monoid.aperiodic,
            "quasi_aperiodic": monoid.quasi_aperiodic}


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


def _crasp(dfa: Dfa, acceptance: str, monoid: Optional[Monoid]) -> Finding:
    read_at = ACCEPTANCE_READ[acceptance]
    if dfa.n_states > MAX_DECIDER_STATES:
        return Finding(None, "undecided", f"undecided: too large (minimal DFA has {dfa.n_states} states, "
                                          f"the decider's cap is {MAX_DECIDER_STATES})")
    result = decide(dfa, acceptance)
    if result.passed:
        return Finding(True, "decider", f"in C-RASP (NoPE), read at the {read_at} — decider: every strongly "
                                        f"connected component of the minimal DFA separates its states "
                                        f"by balanced labellings (exact rational arithmetic)")
    witness = _decider_witness(result)
    line = (f"not in C-RASP (NoPE), read at the {read_at} — decider: a component of the minimal DFA "
            f"does not separate its states")
    rests = "decider"
    if monoid is not None and not monoid.aperiodic:
        cert = plain_certificate(monoid)
        if cert is not None and recheck(cert, dfa)[0]:
            witness["pumping"] = cert.as_dict()
            line += f"; and pumping (Δ = 1, re-checked): {cert.describe()}"
            rests = "decider; pumping"
    return Finding(False, rests, line, witness)


def _ape(dfa: Dfa, monoid: Optional[Monoid], crasp: Finding, monoid_reason: str) -> Finding:
    if monoid is not None and not monoid.quasi_aperiodic:
        certs = periodic_local_certificates(monoid)
        checked = [c for c in certs if recheck(c, dfa)[0]]
        if checked and len(checked) == len(certs):
            s = checked[0].stability
            general = (f"η(Σ^{s}) = η(Σ^{2 * s}) holds a group element g of order {checked[0].period}; "
                       f"for every period Δ a word u of length {s}·Δ with η(u) = g exists, and x·u^k·y "
                       f"alternates with period {checked[0].period} in k, while every C-RASP[periodic,local] "
                       "program with period Δ is eventually constant on it (REGULAR.md §4)")
            return Finding(False, "pumping", "not in C-RASP[periodic,local] (APE) — pumping, certificates "
                           f"re-checked for Δ = {', '.join(str(c.delta) for c in checked)} and the general "
                           f"argument: {checked[-1].describe()}",
                           {"general_argument": general, "stability_index": s,
                            "certificates": [c.as_dict() for c in checked]})
    if crasp.value:
        return Finding(True, "decider", "in C-RASP[periodic,local] (APE) — decider: the language is "
                                        "plain C-RASP, a sub-fragment")
    if monoid is None:
        return Finding(None, "undecided", f"undecided: {monoid_reason}")
    return Finding(None, "undecided", "undecided: the language is quasi-aperiodic, so the pumping argument "
                                      "does not apply, and no C-RASP[periodic,local] program is known")


def _synthesize(dfa: Dfa, acceptance: str, fragment: str, budget_s: float):
    """(program text, proof line, proved for all lengths?, reason) from H7's synthesis, if present."""
    try:
        from verify.regular.synthesis import synthesize, time_budgeted
    except ImportError:
        return None, None, False, "synthesis not available"
    try:
        result = synthesize(dfa.to_automaton(), acceptance=acceptance, fragment=fragment, budget_s=budget_s)
    except ImportError as ex:            # a partial installation of the synthesis stage
        return None, None, False, f"synthesis not available ({ex})"
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


def classify_dfa(dfa: Dfa, acceptance: str = DEFAULT_ACCEPTANCE, regex: Optional[str] = None,
                 source: str = "", synthesis_budget_s: float = 0.0) -> Classification:
    """Classifies the language of a (not necessarily minimal) complete DFA."""
    if acceptance not in ACCEPTANCE:
        raise ValueError(f"acceptance must be one of {ACCEPTANCE}")
    require_alphabet_size(len(dfa.alphabet), source or "the automaton's alphabet")
    started = time.perf_counter()
    dfa = dfa.minimize()
    notes: List[str] = [f"acceptance {acceptance}: {ACCEPTANCE_WHY[acceptance]}"]
    monoid: Optional[Monoid] = None
    monoid_reason = ""
    try:
        monoid = transition_monoid(dfa)
    except TooLarge as ex:
        monoid_reason = f"monoid too large ({ex})"
        notes.append(f"classes undecided: {monoid_reason}")
    crasp = _crasp(dfa, acceptance, monoid)
    ape = _ape(dfa, monoid, crasp, monoid_reason)
    program = proof_line = None
    if synthesis_budget_s > 0 and ape.value is not False and crasp.value is not None:
        fragment = "crasp" if crasp.value else "crasp_periodic_local"
        program, proof_line, proved, reason = _synthesize(dfa, acceptance, fragment, synthesis_budget_s)
        if program is None:
            notes.append(f"no program: {reason}; the verdicts rest on the decider and the certificates alone")
        elif proved and ape.value is None and fragment == "crasp_periodic_local":
            ape = Finding(True, "proved program for all lengths",
                          f"in C-RASP[periodic,local] (APE) — a synthesized program, {proof_line}")
        if proved and crasp.value is False and reason == "plain":  # the decider and the prover disagree
            notes.append("CONFLICT: a plain C-RASP program was proved equal for all lengths although the "
                         "decider says the language is not C-RASP; one of them has a bug")
    elif synthesis_budget_s > 0 and ape.value is False:
        notes.append("no program: the pumping certificate shows none exists")
    elif synthesis_budget_s > 0:
        notes.append("no program searched: the automaton is past the decider's size cap")
    else:
        notes.append("no program searched (synthesis budget 0)")
    if monoid is not None and crasp.value is True and not monoid.aperiodic:  # pragma: no cover - a bug
        notes.append("CONFLICT: the decider accepts a language that is not aperiodic")
    return Classification(source or (f"regex {regex}" if regex else "a DFA"), regex, dfa.alphabet, acceptance,
                          dfa.n_states, _classes(monoid), crasp, ape, program, proof_line,
                          time.perf_counter() - started, tuple(notes), dfa)


def classify_regex(pattern: str, alphabet: Optional[Sequence[str]] = None, acceptance: str = DEFAULT_ACCEPTANCE,
                   synthesis_budget_s: float = 0.0) -> Classification:
    started = time.perf_counter()
    require_alphabet_size(len(alphabet) if alphabet is not None else len(used_symbols(pattern)),
                          "--alphabet" if alphabet is not None else "the regular expression's alphabet")
    try:
        dfa = regex_dfa(pattern, alphabet)
    except TooLarge as ex:
        alpha = tuple(alphabet) if alphabet else ()
        reason = f"undecided: too large ({ex})"
        return Classification(f"regex {pattern}", pattern, alpha, acceptance, None, _classes(None),
                              Finding(None, "undecided", reason), Finding(None, "undecided", reason),
                              seconds=time.perf_counter() - started)
    result = classify_dfa(dfa, acceptance, pattern, f"regex {pattern}", synthesis_budget_s)
    return _with_seconds(result, time.perf_counter() - started)


def classify_automaton(automaton: Automaton, acceptance: str = DEFAULT_ACCEPTANCE, source: str = "",
                       synthesis_budget_s: float = 0.0) -> Classification:
    started = time.perf_counter()
    result = classify_dfa(minimal_dfa(automaton), acceptance, None, source, synthesis_budget_s)
    return _with_seconds(result, time.perf_counter() - started)


def _with_seconds(c: Classification, seconds: float) -> Classification:
    from dataclasses import replace
    return replace(c, seconds=seconds)


def render_lines(c: Classification) -> List[str]:
    """The human-readable report: one line per verdict, each saying what it rests on."""
    cls = c.classes
    fmt = lambda v: "?" if v is None else ("yes" if v else "no")
    out = [f"{c.source}: alphabet {{{', '.join(c.alphabet)}}}, acceptance {c.acceptance} "
           f"({ACCEPTANCE_WHY[c.acceptance]}), minimal DFA {c.states if c.states is not None else '?'} states",
           f"classes: R-trivial {fmt(cls['R'])}, R_omega {fmt(cls['R_omega'])}, aperiodic {fmt(cls['aperiodic'])}, "
           f"quasi-aperiodic {fmt(cls['quasi_aperiodic'])} (syntactic monoid, exact)",
           f"NoPE (C-RASP): {_word(c.crasp.value)} — {c.crasp.line}",
           f"APE (C-RASP[periodic,local]): {_word(c.ape.value)} — {c.ape.line}"]
    if c.crasp.witness and c.crasp.value is False:
        w = c.crasp.witness
        if "quotient" in w:
            out.append(f"  {w['quotient']}:")
        out.append(f"  failing component: {', '.join(w['component'][:8])}"
                   + (" ..." if len(w["component"]) > 8 else ""))
        if "not_separated" in w:
            out.append(f"  {w['not_separated']}")
    if c.ape.value is False and c.ape.witness:
        out.append(f"  general argument: {c.ape.witness['general_argument']}")
    if c.program:
        out.append(f"program ({c.program_proof}):")
        out.extend("  " + line for line in c.program.splitlines())
    out.extend(f"note: {n}" for n in c.notes[1:])
    out.append(f"({c.seconds:.3f} s)")
    return out


def _word(v: Optional[bool]) -> str:
    return "undecided" if v is None else ("yes" if v else "no")
