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
`verify prove` (`verify.smt.induction.prove` on `verify.smt.miter.Miter(program, automaton, mode)`,
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

from verify.checking import all_strings
from verify.crasp import ast as A
from verify.crasp.fragment import PLAIN, fragment as fragment_of
from verify.crasp.interpreter import ACCEPT_END, ACCEPT_LAST, accepts, evaluate
from verify.crasp.parser import parse_program
from verify.crasp.printer import to_text
from verify.problems import UserError
from verify.spec import Automaton
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Verdict

FRAGMENTS = ("crasp", "crasp_periodic_local")
MAX_CELLS = 2_000_000           # words × positions evaluated by the exhaustive filter
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


# ------------------------------------------------------------------ checking a candidate
def exhaustive_length(k: int, mode: str, max_cells: int = MAX_CELLS) -> int:
    """The longest L such that all words up to L fit in `max_cells` cells (at most 12)."""
    L = 1
    while L < 12:
        nxt = L + 1
        cells = k ** nxt * nxt if mode == ACCEPT_LAST else sum(k ** n * (n + 1) for n in range(1, nxt + 1))
        if cells > max_cells:
            break
        L = nxt
    return L


def first_mismatch(program: A.Program, automaton: Automaton, mode: str, max_len: int) -> Optional[Tuple[str, ...]]:
    """The shortest word up to max_len on which the program's accept and the automaton differ
    (prefix membership: under `last` every prefix of every word of length max_len is compared)."""
    k = len(automaton.alphabet)
    perm = np.array([program.alphabet.index(a) for a in automaton.alphabet], dtype=np.int64)
    if mode == ACCEPT_LAST:
        ids = all_strings(k, max_len).astype(np.int64)
        got = evaluate(program, perm[ids]).output("accept")
        bad = got != automaton.labels(ids)
        if not bad.any():
            return None
        first = np.where(bad.any(axis=1), bad.argmax(axis=1), max_len)
        row = int(first.argmin())
        return tuple(automaton.alphabet[i] for i in ids[row, :int(first[row]) + 1])
    for n in range(1, max_len + 1):
        ids = all_strings(k, n).astype(np.int64)
        bad = accepts(program, perm[ids], ACCEPT_END) != automaton.labels(ids)[:, -1]
        if bad.any():
            return tuple(automaton.alphabet[i] for i in ids[int(bad.argmax())])
    return None


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


def prove_equal(program: A.Program, automaton: Automaton, mode: str, budget_s: float) -> Verdict:
    """`verify prove PROGRAM --spec AUTOMATON --mode MODE` as a library call (the program's alphabet
    lists the automaton's symbols in the automaton's order)."""
    from verify.smt.induction import InductionSettings, prove
    from verify.smt.miter import Miter
    budget_s = max(0.5, budget_s)
    settings = InductionSettings(timeout_s=budget_s, bound=16, bound_s=min(2.0, budget_s / 4),
                                 deep_bound=32, deep_s=min(2.0, budget_s / 8), minimize_s=min(1.0, budget_s / 10))
    miter = Miter(program, automaton, mode, 0, spec_title="the automaton")
    extra = guide_words(automaton) if tuple(program.alphabet) == tuple(automaton.alphabet) else None
    return prove(miter, settings, extra_words=extra)


def prove_candidate(program: A.Program, automaton: Automaton, trackers: Sequence, mode: str,
                    budget_s: float) -> Verdict:
    """Prove against the automaton — or, for a constructed program whose components the
    automaton's states do not pin down (two paths through the components reach one state), against
    the same language's automaton unfolded by the components the program tracks
    (`synthesis_construct.unfolded`): there the invariants the proof needs ("this component was
    entered, that one not") are per-state equalities the prover can guess. The unfolded automaton
    is first shown to recognize the same language (identical minimal DFAs), and the verdict says so."""
    from verify.regular import synthesis_construct as C
    from verify.regular.dfa import minimal_dfa
    unfolded = C.unfolded(automaton, trackers) if trackers else None
    if unfolded is None or len(unfolded.states) <= len(minimal_dfa(automaton).accepting):
        return prove_equal(program, automaton, mode, budget_s)
    if not minimal_dfa(unfolded).same_as(minimal_dfa(automaton)):  # pragma: no cover - a bug
        raise AssertionError("the unfolded automaton recognizes another language")
    v = prove_equal(program, unfolded, mode, budget_s)
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
    from verify.regular import synthesis_construct as C
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
    from verify.regular import synthesis_search as S
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
    from verify.regular import synthesis_search as S
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
    verdict = prove_equal(parsed, automaton, acceptance, min(POLISH_PROOF_S, deadline - time.monotonic()))
    return (parsed, text, verdict, route) if verdict.status == HOLDS else None


def synthesize(automaton: Automaton, acceptance: str = ACCEPT_LAST, fragment: str = "crasp",
               budget_s: float = 30.0) -> SynthesisResult:
    """A program for the automaton's language (prefix membership) in the fragment, proved equal.

    acceptance: "last" (accept read at the last position) or "end" (at an appended "<end>").
    fragment: "crasp" (no positions: NoPE) or "crasp_periodic_local" (APE).
    Returns program None with the reason when nothing is found within budget_s seconds."""
    if acceptance not in (ACCEPT_LAST, ACCEPT_END):
        raise UserError(f"acceptance must be last or end (got {acceptance!r})")
    if fragment not in FRAGMENTS:
        raise UserError(f"fragment must be one of {', '.join(FRAGMENTS)} (got {fragment!r})")
    if not automaton.alphabet:
        raise UserError("the automaton has an empty alphabet")
    started = time.monotonic()
    deadline = started + budget_s
    max_len = exhaustive_length(len(automaton.alphabet), acceptance)
    notes: List[str] = []
    best: Optional[Tuple[A.Program, str, Verdict, str]] = None
    tried = 0
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
        if left <= 0.5 and best is not None:
            break
        text = to_text(program)
        parsed = parse_program(text, SOURCE)
        # a proof attempt may use most, not all, of what is left: a later candidate (a smaller
        # program from the search) may be provable where this one is not
        verdict = prove_candidate(parsed, automaton, trackers, acceptance, max(min(left, 5.0), 0.75 * left))
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
            break
    seconds = round(time.monotonic() - started, 3)
    if best is not None:
        parsed, text, verdict, route = best
        return SynthesisResult(parsed, text, verdict,
                               f"found by {route}; only checked up to length "
                               f"{verdict.evidence.get('checked_up_to', '?')} (no proof for all lengths "
                               f"within {budget_s:g} s)", seconds)
    why = "no program found within the budget" if time.monotonic() > deadline else "no program found"
    return SynthesisResult(None, None, None, f"{why} ({tried} candidate programs checked; "
                           + "; ".join(notes[-6:]) + ")", seconds)
