"""Programs for the "yes" side of `verify classify` (issue 10 item 3): a C-RASP (or
C-RASP[periodic,local]) program for a regular language, proved equal to its automaton.

    result = synthesize(automaton, acceptance="last"|"end", fragment="crasp"|"crasp_periodic_local",
                        budget_s=30.0)

Candidates come from two routes, cheapest first:
1. construction (`synthesis_construct`): the automaton's state tracked component by component
   with balanced counts since entry (REGULAR.md §3, §6); for the APE fragment on the product with
   a phase (`pos % Δ`) and a window of the last τ letters (`#[a @ d]`);
2. search (`synthesis_search`): small programs enumerated from a grammar of features, fitted to
   all prefixes of all short words, refined with counterexamples.
Every candidate is first compared with the automaton on every word up to a length (~10, as many
as fit in a fixed number of cells), then proved for every length with the k-induction prover of
`verify prove` (`verify.smt.induction.prove` on `verify.smt.miter.Miter(program, automaton, acceptance)`,
the same prefix-membership claim `verify prove --spec` checks). A constructed program whose
components the automaton's states do not pin down is proved against the automaton unfolded by
those components, after checking that both have the same minimal DFA (`prove_candidate`). A
program whose proof is not found in the budget is returned with the prover's bounded verdict
("every word of length 1..L agrees"), never with more.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generator, List, Optional, Sequence, Tuple

import numpy as np

from verify.crasp import ast as A
from verify.crasp.fragment import PLAIN, fragment as fragment_of
from verify.crasp.interpreter import ACCEPT_END, ACCEPT_LAST
from verify.crasp.parser import parse_program
from verify.crasp.printer import to_text
from verify.problems import UserError
from verify.regular import synthesis_construct as C, synthesis_search as S
from verify.regular.synthesis_filter import MAX_CELLS, exhaustive_length, first_mismatch  # noqa: F401 (API)
from verify.spec import Automaton
from verify.verdict import HOLDS, REFUTED, Verdict

FRAGMENTS = ("crasp", "crasp_periodic_local")
SOURCE = "<synthesized>"


@dataclass(frozen=True)
class SynthesisResult:
    program: Optional[A.Program]     # None: no program found (see reason)
    text: Optional[str]              # the .crasp source of `program` (parse_program(text) == program)
    proof: Optional[Verdict]         # how it was shown equal to the automaton (all lengths, or up to L)
    reason: str                      # why there is no program, or how it was found
    seconds: float

    @property
    def proved(self) -> bool:
        """Proved equal for every length (a Z3 k-induction proof)."""
        return self.proof is not None and self.proof.status == HOLDS


def guide_words(automaton: Automaton, length: int = 32, per_state: int = 12, seed: int = 0) -> np.ndarray:
    """Words that reach every state of the automaton and go on from there (random letters, and
    runs of one letter), as ids over the automaton's alphabet: extra traces for the prover's
    invariant guessing, which uniform random words miss when a state lies deep (aa*bb*cc*dd*ee*).
    They only feed candidates; every invariant is still proved inductive by Z3."""
    from verify.regular.dfa import from_automaton
    dfa = from_automaton(automaton)
    k = len(automaton.alphabet)
    access = {dfa.start: []}
    order = [dfa.start]
    for q in order:
        for a in range(k):
            t = int(dfa.delta[q, a])
            if t not in access:
                access[t] = access[q] + [a]
                order.append(t)
    rng = np.random.default_rng(seed)
    rows = []
    for q in order:
        head = access[q][:length]
        for r in range(per_state):
            if r % 2:
                runs = rng.integers(1, 6, size=length)
                tail = np.repeat(rng.integers(0, k, size=length), runs)[:length]
            else:
                tail = rng.integers(0, k, size=length)
            rows.append(np.concatenate([np.array(head, dtype=np.int64), tail])[:length])
    return np.array(rows, dtype=np.int64).reshape(-1, length)


# A proof attempt's solver work is a fixed function of the --budget seconds (Z3 rlimit units, the same on every
# machine; verify.smt.induction budgets each phase by them), so a candidate's answer, and the length an
# unproved one is "checked up to", never depend on the machine's load. The wall clock is only a safety limit;
# when it stops a proof, the answer says so (`time_budgeted`).
WORK_PER_SECOND = 4_000_000


def proof_settings(budget_s: float, timeout_s: Optional[float] = None):
    """The InductionSettings of one proof attempt: work from `budget_s` (phases in fixed shares), wall-clock
    safety limit `timeout_s` (default: twice `budget_s`)."""
    from verify.smt.induction import InductionSettings
    work = max(0.5, budget_s) * WORK_PER_SECOND
    return InductionSettings(timeout_s=max(0.5, timeout_s if timeout_s is not None else 2 * budget_s),
                             bound=16, bound_work=int(0.1 * work), deep_bound=32, deep_work=int(0.2 * work),
                             work=int(0.6 * work), minimize_work=int(0.1 * work))


def time_budgeted(verdict: Optional[Verdict]) -> bool:
    """Whether the wall-clock safety limit, not the work budget, stopped a proof attempt (then how far it got
    depends on the machine and its load)."""
    return verdict is not None and (verdict.evidence.get("stopped_by") == "time"
                                    or "wall-clock safety limit" in (verdict.reason or ""))


def prove_equal(program: A.Program, automaton: Automaton, acceptance: str, budget_s: float,
                timeout_s: Optional[float] = None) -> Verdict:
    """`verify prove PROGRAM --spec AUTOMATON --mode ACCEPTANCE` as a library call (the program's alphabet
    lists the automaton's symbols in the automaton's order), with the work of `proof_settings(budget_s)`."""
    from verify.smt.induction import prove
    from verify.smt.miter import Miter
    settings = proof_settings(budget_s, timeout_s)
    miter = Miter(program, automaton, acceptance, 0, spec_title="the automaton")
    extra = guide_words(automaton) if tuple(program.alphabet) == tuple(automaton.alphabet) else None
    return prove(miter, settings, extra_words=extra)


def prove_candidate(program: A.Program, automaton: Automaton, trackers: Sequence, acceptance: str,
                    budget_s: float, timeout_s: Optional[float] = None) -> Verdict:
    """Prove against the automaton — or, for a constructed program whose components the
    automaton's states do not pin down (two paths through the components reach one state), against
    the same language's automaton unfolded by the components the program tracks
    (`synthesis_construct.unfolded`): there the invariants the proof needs ("this component was
    entered, that one not") are per-state equalities the prover can guess. The unfolded automaton
    is first shown to recognize the same language (identical minimal DFAs), and the verdict says so."""
    from verify.regular.dfa import minimal_dfa
    unfolded = C.unfolded(automaton, trackers) if trackers else None
    if unfolded is None or len(unfolded.states) <= len(minimal_dfa(automaton).accepting):
        return prove_equal(program, automaton, acceptance, budget_s, timeout_s)
    if not minimal_dfa(unfolded).same_as(minimal_dfa(automaton)):  # pragma: no cover - a bug
        raise AssertionError("the unfolded automaton recognizes another language")
    v = prove_equal(program, unfolded, acceptance, budget_s, timeout_s)
    how = (f"; proved against the given automaton unfolded by the components the program tracks "
           f"({len(unfolded.states)} states), which recognizes the same language (identical minimal DFAs)")
    claim = v.claim.replace(f"the automaton ({len(unfolded.states)} states)",
                            f"the automaton ({len(automaton.states)} states)")
    return Verdict(v.status, claim, v.method + how, v.scope, counterexample=v.counterexample,
                   reason=v.reason, evidence={**v.evidence, "unfolded_states": len(unfolded.states)})


# ------------------------------------------------------------------ the search over candidates
def _candidates(automaton: Automaton, acceptance: str, fragment: str, deadline: float,
                notes: List[str]) -> Generator[Tuple[str, A.Program, list], Optional[Tuple[str, ...]], None]:
    """Constructions first (cheapest configuration first), then the search; a word sent back
    (one the last candidate got wrong) refines the search."""
    machine = C.machine_for(automaton, acceptance)
    for config in C.configs(fragment, len(automaton.alphabet), C.scc_periods(machine)):
        if time.monotonic() > deadline:
            return
        routes = [("construction", lambda: C.construct(machine, config, SOURCE))]
        if acceptance == ACCEPT_LAST and len(automaton.alphabet) > 1:
            routes.append(("construction per letter", lambda: C.construct_by_quotients(automaton, config, SOURCE)))
        for name, make in routes:
            try:
                program, trackers = make()
            except C.NoConstruction as ex:
                notes.append(f"{name} ({config.describe()}): {ex}")
                continue
            yield f"{name} ({config.describe()})", program, trackers
    search = S.search(automaton, acceptance, fragment, deadline, notes)
    feedback = None
    while True:
        try:
            route, program = search.send(feedback)
        except StopIteration:
            return
        feedback = yield route, program, []


POLISH_LETS = 8          # a proved construction with more lets than this: look for a smaller program
POLISH_SEARCH_S = 3.0    # ... for at most this long, and prove it within POLISH_PROOF_S
POLISH_PROOF_S = 5.0


def _smaller(automaton: Automaton, acceptance: str, fragment: str, deadline: float, max_len: int):
    """A short search for a smaller program, proved: (program, text, verdict, route) or None.
    Constructed programs are correct but long; a reader prefers `#["b" and #["a"] >= 1] >= 1`."""
    left = deadline - time.monotonic()
    if left < POLISH_SEARCH_S + POLISH_PROOF_S:
        return None
    try:
        route, program = next(S.search(automaton, acceptance, fragment,
                                       time.monotonic() + min(POLISH_SEARCH_S, 0.3 * left), []))
    except StopIteration:
        return None
    if first_mismatch(program, automaton, acceptance, max_len) is not None:
        return None
    text = to_text(program)
    parsed = parse_program(text, SOURCE)
    verdict = prove_equal(parsed, automaton, acceptance, POLISH_PROOF_S, deadline - time.monotonic())
    return (parsed, text, verdict, route) if verdict.status == HOLDS else None


def synthesize(automaton: Automaton, acceptance: str = ACCEPT_LAST, fragment: str = "crasp",
               budget_s: float = 30.0, deadline: Optional[float] = None) -> SynthesisResult:
    """A program for the automaton's language (prefix membership) in the fragment, proved equal.

    acceptance: "last" (accept read at the last position) or "end" (at an appended "<end>").
    fragment: "crasp" (no positions: NoPE) or "crasp_periodic_local" (APE).
    Each proof attempt's solver work is a function of budget_s alone; the search stops at budget_s seconds
    from now or at `deadline` (time.monotonic(): `verify classify`'s budget for all its stages), whichever
    comes first. Returns program None with the reason when nothing is found in time."""
    if acceptance not in (ACCEPT_LAST, ACCEPT_END):
        raise UserError(f"acceptance must be last or end (got {acceptance!r})")
    if fragment not in FRAGMENTS:
        raise UserError(f"fragment must be one of {', '.join(FRAGMENTS)} (got {fragment!r})")
    if not automaton.alphabet:
        raise UserError("the automaton has an empty alphabet")
    started = time.monotonic()
    deadline = min(started + budget_s, deadline if deadline is not None else float("inf"))
    max_len = exhaustive_length(len(automaton.alphabet), acceptance)
    notes: List[str] = []
    best: Optional[Tuple[A.Program, str, Verdict, str]] = None
    tried = 0
    clock_stopped = False   # the deadline (wall clock) cut the search or a proof: the answer is time-budgeted
    candidates = _candidates(automaton, acceptance, fragment, deadline, notes)
    feedback: Optional[Tuple[str, ...]] = None   # a word the last candidate got wrong (for the search)
    while True:
        try:
            route, program, trackers = candidates.send(feedback)
        except StopIteration:
            break
        feedback = None
        if best is not None and route.startswith("construction"):
            continue  # one unproved construction is enough: the search's programs are smaller
        tried += 1
        if fragment == "crasp" and fragment_of(program) != PLAIN:
            notes.append(f"{route}: outside plain C-RASP")
            continue
        bad = first_mismatch(program, automaton, acceptance, max_len)
        if bad is not None:
            notes.append(f"{route}: differs on {' '.join(bad)!r}")
            feedback = bad
            continue
        left = deadline - time.monotonic()
        if left <= 0.5 and best is not None or left <= 0.1:
            clock_stopped = True
            break
        text = to_text(program)
        parsed = parse_program(text, SOURCE)
        # every attempt gets the same work (a function of budget_s alone: its answer does not depend on the
        # load); what is left of the time is only its safety limit
        verdict = prove_candidate(parsed, automaton, trackers, acceptance, 0.75 * budget_s, left)
        clock_stopped = clock_stopped or time_budgeted(verdict)
        if verdict.status == HOLDS:
            if route.startswith("construction") and len(parsed.lets) > POLISH_LETS:
                smaller = _smaller(automaton, acceptance, fragment, deadline, max_len)
                if smaller is not None:
                    (parsed, text, verdict, how), route = smaller, route + ", then a smaller one by " + smaller[3]
            return SynthesisResult(parsed, text, verdict, f"found by {route}; proved for every length",
                                   round(time.monotonic() - started, 3))
        if verdict.status == REFUTED:
            cex = verdict.counterexample
            notes.append(f"{route}: refuted on {' '.join(cex.input) if cex else '?'} (longer than the filter)")
            feedback = tuple(cex.input) if cex else None
            continue
        if best is None:
            best = (parsed, text, verdict, route)
        notes.append(f"{route}: no proof within the budget ({verdict.reason})")
        if time.monotonic() > deadline:
            clock_stopped = True
            break
    seconds = round(time.monotonic() - started, 3)
    clock_stopped = clock_stopped or time.monotonic() > deadline
    label = (f"; time-budgeted: the {budget_s:g} s --budget stopped the search on the clock, so how far it got "
             f"depends on the machine's load (a larger --budget may find more)" if clock_stopped else "")
    if best is not None:
        parsed, text, verdict, route = best
        how = ("the wall-clock safety limit stopped the proof" if time_budgeted(verdict) else
               f"the proof's work budget for --budget {budget_s:g} ran out")
        return SynthesisResult(parsed, text, verdict,
                               f"found by {route}; only checked up to length "
                               f"{verdict.evidence.get('checked_up_to', '?')} (no proof for all lengths: {how})"
                               + label, seconds)
    why = "no program found within the budget" if clock_stopped else "no program found"
    return SynthesisResult(None, None, None, f"{why} ({tried} candidate programs checked; "
                           + "; ".join(notes[-6:]) + ")" + label, seconds)
