"""Proofs for all lengths: k-induction on the program × specification product, strengthened with
invariants inferred from traces and kept only if Z3 proves them inductive (Houdini).

Plain k-induction fails on counter programs: states no input reaches (open = 3, #( = 5) satisfy
the property for any k and then break it. So:

0. a first bounded check from the initial state (a slice of its work budget: the shortest
   counterexample of a wrong program, cheaply; a machine whose lengths are costly goes on to the
   proof sooner);
1. run the product concretely on sampled words (interpreter + the specification's own code) and
   collect every reached state (steps 1 and 2: verify/smt/candidates.py, its linear algebra
   verify/smt/linear.py);
2. propose candidate invariants from those states — affine equalities among the integer
   components (the rational nullspace of the sampled states), lower/upper bounds, bounds on
   pairwise differences, the set of finite parts (phase, automaton state, Booleans) seen — both
   globally and split by the value of each finite component and of the whole finite part — and
   one disjunction: the (finite part, sign of every integer component) combinations seen; plus the
   specification's own guesses, if it offers some (`hints`: a sequence task's);
3. Houdini: drop candidates false at the initial state; then repeatedly ask Z3 for a transition
   from a state satisfying all remaining candidates to one violating some, and drop those it
   violates, until the set is inductive (what remains is proved to hold in every reachable state);
   over many candidates, first by families (a violated bound drops its siblings; exact Houdini
   decides when that invariant proves nothing);
4. k-induction for k = 0..max_k with the invariant assumed along the path (k = 0: the invariant
   alone rules out a disagreement; k >= 1 on top of a bounded check that covers the base case),
   the last transition checked once per symbol;
5. without a proof, the rest of the bounded check and a deeper search for a counterexample.

Every candidate is only a guess until step 3 proves it; the printed invariant is the proved one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import z3

from verify.smt.candidates import Candidate, CandidateFactory, bound_family, prune, sampled_states, words_for
from verify.smt.encode import BOOL, z3_value
from verify.smt.miter import Miter
from verify.smt.refute import Budget, refute
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Verdict


@dataclass(frozen=True)
class InductionSettings:
    """Each phase is budgeted by deterministic solver work (Z3 rlimit units: the same result on any
    machine, under any load); `timeout_s` is only an outer wall-clock safety limit. The `*_s`
    fields add optional wall-clock caps per phase (None: none; they make results load-dependent)."""

    max_k: int = 3                 # k-induction depth
    bound: int = 16                # bounded check from the initial state (covers the base case)
    bound_work: Optional[int] = 40_000_000   # ... with this much work; k is capped at the length it reaches
    base_work: Optional[int] = 4_000_000     # the first slice of it, spent before the proof (a machine whose
    # lengths are costly, a sequence task over a large vocabulary, goes on to the proof sooner); the base case
    # of k >= 1 and the rest of the bound get the whole bound_work, when needed
    bound_s: Optional[float] = None
    sample_words: int = 300        # words per sampler
    sample_len: int = 32           # their length (every prefix is a sample)
    max_classes: int = 64          # split by the whole finite part only up to this many classes
    max_pairwise: int = 16         # bounds on pairwise differences only up to this many integer components
    work: Optional[int] = 600_000_000        # Houdini and k-induction together
    timeout_s: float = 60.0        # wall-clock safety limit for the whole proof attempt
    seed: int = 0
    deep_bound: int = 48           # without a proof, search for a counterexample up to this length
    deep_work: Optional[int] = 150_000_000   # ... with this much work
    deep_s: Optional[float] = None
    minimize_work: Optional[int] = 60_000_000  # work spent shrinking the printed invariant
    minimize_s: Optional[float] = None        # 0: print the whole invariant (no minimization)


def _symbolic(miter: Miter, tag: str) -> Tuple[Dict[str, object], List]:
    S = {v.name: v.fresh(tag) for v in miter.vars}
    domain = [c for v in miter.vars for c in v.domain(S[v.name])]
    return S, domain


def _init_terms(miter: Miter) -> Dict[str, object]:
    init = miter.init_values()
    return {v.name: (z3.BoolVal(bool(init[v.name])) if v.sort == BOOL else z3.IntVal(int(init[v.name])))
            for v in miter.vars}


def Deadline(seconds: float) -> Budget:
    """A wall-clock-only budget (kept for callers that want one)."""
    return Budget(None, seconds)


def _cap(seconds: Optional[float], outer: Budget) -> Optional[float]:
    left = outer.left_seconds()
    if seconds is None:
        return left
    return seconds if left is None else min(seconds, left)


def houdini(miter: Miter, candidates: List[Candidate], deadline: Budget,
            speculate: bool = False) -> Tuple[Optional[List[Candidate]], int]:
    """The largest inductive subset of the candidates (None if the solver gave up) and the
    number of solver rounds. Candidates violated by a counterexample to induction are found by
    evaluating them on the post-state's concrete values (falling back to Z3's evaluation).
    With `speculate`, a violated bound takes its whole `bound_family` with it: fewer rounds over a
    large vocabulary, and still an inductive subset (what is left is proved so), only perhaps
    not the largest — the caller retries without it when the proof does not close."""
    init = miter.init_values()
    init_terms = _init_terms(miter)
    # both evaluations must agree that a candidate holds initially (belt and braces: the Python
    # `check` is only an accelerator for the Z3 formula)
    alive = [c for c in candidates if c.check(init) and z3.is_true(z3.simplify(c.holds(init_terms)))]
    S, domain = _symbolic(miter, "h")
    a = z3.Int("a@h")
    _, _, _, S1 = miter.step(S, a)
    post_vars = {v.name: z3.FreshConst(z3.BoolSort() if v.sort == BOOL else z3.IntSort(), "post")
                 for v in miter.vars}
    pre = [c.holds(S) for c in alive]
    post = [c.holds(post_vars) for c in alive]
    solver = z3.Solver()
    solver.add(*domain, *miter.symbol_domain(a))
    solver.add(*[post_vars[name] == S1[name] for name in post_vars])
    flags = [z3.Bool(f"inv{j}") for j in range(len(alive))]
    broken = [z3.Bool(f"broken{j}") for j in range(len(alive))]  # broken_j -> not post_j
    for f, p, b, q in zip(flags, pre, broken, post):
        solver.add(z3.Implies(f, p), z3.Implies(b, z3.Not(q)))
    active = list(range(len(alive)))
    rounds = 0
    while active:
        rounds += 1
        solver.push()
        solver.add(z3.Or([broken[j] for j in active]))
        result = deadline.check(solver, *[flags[j] for j in active])
        if result == z3.unsat:
            solver.pop()
            break
        if result == z3.unknown:
            solver.pop()
            return None, rounds
        model = solver.model()
        values = {name: z3_value(model.eval(t, model_completion=True)) for name, t in post_vars.items()}
        keep = [j for j in active if alive[j].check(values)]
        if len(keep) == len(active):  # concrete evaluation disagrees with Z3: trust Z3's
            keep = [j for j in active if z3.is_true(model.eval(post[j], model_completion=True))]
        if speculate:
            gone = {bound_family(alive[j]) for j in set(active) - set(keep)} - {None}
            keep = [j for j in keep if bound_family(alive[j]) not in gone]
        solver.pop()
        if len(keep) == len(active):  # pragma: no cover - the model must violate one
            raise AssertionError("Houdini made no progress")
        active = keep
    return [alive[j] for j in active], rounds


def k_induction(miter: Miter, invariant: List[Candidate], k: int, deadline: Budget,
                want_core: bool = False):
    """Step case: from any state satisfying the invariant, k good transitions are followed by a
    good one. Returns z3.unsat (proved), z3.sat (not inductive at this k) or z3.unknown; with
    want_core, also the indices of the invariants the proof used (an unsat core).

    The last transition is checked once per symbol (a concrete symbol, in a fresh solver): the
    cases together are the whole claim, and each is far easier for Z3 than one query over a
    symbolic symbol — the program's and the specification's terms for the symbol read collapse,
    which over a large vocabulary (a sequence task) is the difference between milliseconds and
    no answer at all."""
    if want_core:
        return _k_induction_core(miter, invariant, k, deadline)
    S, domain = _symbolic(miter, "k0")
    path = [*domain, *[c.holds(S) for c in invariant]]
    for j in range(k):
        a = z3.Int(f"a@k{j}")
        path.extend(miter.symbol_domain(a))
        bad, _, _, nxt = miter.step(S, a)
        S2, domain2 = _symbolic(miter, f"k{j + 1}")
        path += [z3.Not(bad), *domain2, *[S2[name] == term for name, term in nxt.items()],
                 *[c.holds(S2) for c in invariant]]
        S = S2
    last = z3.Int(f"a@k{k}")
    bad = miter.step(S, last)[0]        # built once; each case substitutes its symbol (the solver folds it)
    whole = z3.And(path) if path else z3.BoolVal(True)     # one assertion per case, not thousands
    outcome = z3.unsat
    for symbol in range(len(miter.alphabet)):
        solver = z3.Solver()
        solver.add(whole, z3.substitute(bad, (last, z3.IntVal(symbol))))
        result = deadline.check(solver)
        if result == z3.sat:
            return z3.sat
        if result == z3.unknown:
            outcome = z3.unknown
            if deadline.over():
                break
    return outcome


def _k_induction_core(miter: Miter, invariant: List[Candidate], k: int, deadline: Budget):
    """k_induction in one query over a symbolic last symbol, with one assumption literal per
    invariant: (result, the indices in the unsat core or None)."""
    solver = z3.Solver()
    flags = [z3.Bool(f"use{j}") for j in range(len(invariant))]
    S, domain = _symbolic(miter, "k0")
    solver.add(*domain)
    solver.add(*[z3.Implies(f, c.holds(S)) for f, c in zip(flags, invariant)])
    bad = None
    for j in range(k + 1):
        a = z3.Int(f"a@k{j}")
        solver.add(*miter.symbol_domain(a))
        bad, _, _, nxt = miter.step(S, a)
        if j < k:
            solver.add(z3.Not(bad))
            S2, domain2 = _symbolic(miter, f"k{j + 1}")
            solver.add(*domain2, *[S2[name] == term for name, term in nxt.items()])
            solver.add(*[z3.Implies(f, c.holds(S2)) for f, c in zip(flags, invariant)])
            S = S2
    solver.add(bad)
    result = deadline.check(solver, *flags)
    core = None
    if result == z3.unsat:
        names = {x.decl().name() for x in solver.unsat_core()}
        core = [j for j, f in enumerate(flags) if f.decl().name() in names]
    return result, core


def support_closure(miter: Miter, invariant: List[Candidate], seed: List[int],
                    deadline: Budget) -> Optional[List[int]]:
    """Smallest-ish inductive subset containing `seed`: the whole invariant is inductive, so each
    member's preservation has an unsat core among the others; add cores until closed."""
    S, domain = _symbolic(miter, "c")
    a = z3.Int("a@c")
    _, _, _, S1 = miter.step(S, a)
    flags = [z3.Bool(f"sup{j}") for j in range(len(invariant))]
    solver = z3.Solver()
    solver.add(*domain, *miter.symbol_domain(a))
    solver.add(*[z3.Implies(f, c.holds(S)) for f, c in zip(flags, invariant)])
    chosen = set(seed)
    todo = list(seed)
    while todo:
        if deadline.over():
            return None
        j = todo.pop()
        solver.push()
        solver.add(z3.Not(invariant[j].holds(S1)))
        result = deadline.check(solver, *flags)
        if result != z3.unsat:
            solver.pop()
            return None
        names = {x.decl().name() for x in solver.unsat_core()}
        solver.pop()
        for i, f in enumerate(flags):
            if f.decl().name() in names and i not in chosen:
                chosen.add(i)
                todo.append(i)
    return sorted(chosen)


# equalities solved and unconstrained terms dropped before the SMT core: the one-step query of a large
# invariant (hundreds of conjuncts over a sequence task's product) is mostly such bookkeeping
_PREPROCESSED = z3.Then("simplify", "propagate-values", "solve-eqs", "elim-uncnstr", "smt")


def is_inductive(miter: Miter, invariant: List[Candidate], deadline: Budget):
    """z3.unsat when the conjunction holds initially and is preserved by every transition."""
    init = miter.init_values()
    if not all(c.check(init) for c in invariant):
        return z3.sat
    S, domain = _symbolic(miter, "m")
    a = z3.Int("a@m")
    _, _, _, S1 = miter.step(S, a)
    solver = _PREPROCESSED.solver()   # 2-3x faster than z3.Solver() on the certificates of sort, count, ...
    solver.add(*domain, *miter.symbol_domain(a), *[c.holds(S) for c in invariant])
    solver.add(z3.Or([z3.Not(c.holds(S1)) for c in invariant]) if invariant else z3.BoolVal(False))
    return deadline.check(solver)


def _priority(c: Candidate) -> int:
    """Removal order for minimization: the sign-pattern disjunction and bounds on differences
    first, equalities last."""
    t = c.text
    if t.startswith("one of: "):  # the sign-pattern disjunction: long to print, so tried first
        return 0
    if "finite part" in t or ") is one of" in t:
        return 1
    if " = " in t.split(" implies ")[-1]:
        return 3
    if " - " in t and " implies " not in t:
        return 0
    return 2


def minimize(miter: Miter, invariant: List[Candidate], k: int, deadline: Budget) -> List[Candidate]:
    """A smaller invariant that is still inductive and still proves the property by k-induction.

    Deterministic: the result depends only on which subsets are inductive (logical facts), never
    on the solver's unsat cores, which vary with what the process asked Z3 before. Candidates are
    tried for removal in a fixed order (`_priority`, then as inferred), a whole block at a time,
    halving a block that cannot go, then once more one at a time; every accepted set is
    re-proved, and when the work budget runs out the last proved set is returned. Two orders
    are tried; the shorter result is printed."""
    def proves(trial: List[Candidate]) -> bool:
        return is_inductive(miter, trial, deadline) == z3.unsat and k_induction(miter, trial, k, deadline) == z3.unsat

    def shrink(current: List[Candidate], block: List[Candidate]) -> List[Candidate]:
        if not block or deadline.over():
            return current
        drop = {id(c) for c in block}
        trial = [c for c in current if id(c) not in drop]
        if proves(trial):
            return trial
        if len(block) == 1:
            return current
        half = len(block) // 2
        return shrink(shrink(current, block[:half]), block[half:])

    def minimal(order: List[Candidate]) -> List[Candidate]:
        current = shrink(list(invariant), order)
        for c in [c for c in order if c in current]:  # one more pass: inductiveness is not monotone
            if deadline.over():
                break
            trial = [x for x in current if x is not c]
            if proves(trial):
                current = trial
        return current

    # two fixed orders (sorted() is stable: ties keep the inferred order): the sign-pattern
    # disjunction tried first (readable conjuncts stay) or last (it alone may suffice); the
    # shorter text is printed
    first = minimal(sorted(invariant, key=_priority))
    if deadline.over():
        return first
    second = minimal(sorted(invariant, key=lambda c: (_priority(c) == 0 and c.text.startswith("one of: "),
                                                      _priority(c))))
    size = lambda inv: sum(len(c.text) for c in inv)
    return second if size(second) < size(first) else first


def infer_invariant(miter: Miter, settings: Optional[InductionSettings] = None,
                    extra_words: Optional[np.ndarray] = None) -> List[Candidate]:
    """The Houdini-proved invariant alone (no property): sampled, guessed, kept only if inductive.
    Empty if the solver gives up."""
    settings = settings or InductionSettings()
    states = sampled_states(miter, words_for(miter, settings, extra_words))
    invariant, _ = houdini(miter, CandidateFactory(miter, states, settings).build(),
                           Budget(settings.work, settings.timeout_s))
    return invariant or []


def prove(miter: Miter, settings: Optional[InductionSettings] = None,
          extra_words: Optional[np.ndarray] = None, log: Optional[Callable[[str], None]] = None,
          keep_certificate: bool = False) -> Verdict:
    """HOLDS for every length (with the invariant), REFUTED (shortest, replayed), or UNKNOWN with
    what was tried, the length checked and which limit stopped it. Every phase spends a fixed
    amount of solver work, so the answer does not depend on the machine or its load (unless the
    wall-clock safety limit `timeout_s` is reached first, which the answer then says)."""
    settings = settings or InductionSettings()
    started = time.monotonic()
    outer = Budget(None, settings.timeout_s)
    say = log or (lambda s: None)
    claim = miter.describe_claim()
    say(f"bounded check up to length {settings.bound}")
    # first slice: the base case (every word up to max_k) and, where lengths are cheap, the whole bound
    first_work = settings.bound_work if settings.base_work is None else (
        settings.base_work if settings.bound_work is None else min(settings.base_work, settings.bound_work))
    bounded = refute(miter, max(1, settings.bound), timeout_s=_cap(settings.bound_s, outer), work=first_work)
    if bounded.status == REFUTED:
        return bounded  # the shortest counterexample, replayed
    bound = _reached(bounded, 0)
    tried = f"bounded check to length {bound}"
    if bounded.status != HOLDS or bound < settings.bound:
        stop = bounded.reason.split(": ", 1)[-1] if bounded.status != HOLDS else \
            "the rest of the bound was left for after the proof"
        tried += f" ({stop})"
    say("sampling states")
    states = sampled_states(miter, words_for(miter, settings, extra_words))
    candidates = CandidateFactory(miter, states, settings).build()
    budget = Budget(settings.work, outer.left_seconds())
    tried += (f"; {len(candidates)} candidate invariants from "
              f"{len(states[miter.vars[0].name]) if miter.vars else 0} sampled states")
    # over many candidates (a sequence task over a vocabulary), Houdini first drops whole families at a
    # time; when that invariant does not prove the claim, exact Houdini decides
    tries = (True, False) if len(candidates) > SPECULATE_OVER else (False,)
    for speculate in tries:
        say(f"Houdini over {len(candidates)} candidates" + (" (by families)" if speculate else ""))
        invariant, rounds = houdini(miter, candidates, budget, speculate=speculate)
        what = "Houdini by families" if speculate else "Houdini"
        if invariant is None:
            tried += f"; {what} stopped after {rounds} rounds: {budget.describe_stop()}"
            return _no_proof(miter, settings, outer, claim, bound, tried, started, budget, say)
        tried += f"; {what} kept {len(invariant)} after {rounds} rounds"
        invariant = prune(invariant)
        for k in range(0, settings.max_k + 1):
            if k > bound:   # k-induction's base case: every word up to length k, with the whole bounded budget
                say(f"bounded check up to length {k}")
                base = refute(miter, k, timeout_s=_cap(settings.bound_s, outer), work=settings.bound_work)
                if base.status == REFUTED:
                    return base
                if _reached(base, 0) < k:
                    tried += f"; no base case for {k}-induction ({base.reason.split(': ', 1)[-1]})"
                    break
                bound = k
            if budget.over():
                tried += f"; k-induction not finished at k={k}: {budget.describe_stop()}"
                return _no_proof(miter, settings, outer, claim, bound, tried, started, budget, say)
            say(f"{k}-induction")
            result = k_induction(miter, invariant, k, budget)
            if result == z3.unsat:
                v = _proved(miter, settings, outer, claim, invariant, k, bound, len(candidates), rounds,
                            budget, started, say)
                if keep_certificate:   # the printed (minimized) invariant, for verify/smt/certificates.py
                    printed = set(v.evidence["invariant"])
                    v.evidence["certificate"] = certificate(miter, [c for c in invariant if c.text in printed], k)
                return v
            if result == z3.unknown:
                tried += f"; {k}-induction: {budget.describe_stop()}"
                return _no_proof(miter, settings, outer, claim, bound, tried, started, budget, say)
        tried += f"; k-induction failed for k = 0..{min(k, bound)}"
    tried += (" (a state satisfying the invariant leads to a disagreement: the invariant is too weak, or the "
              "claim is false beyond the bound)")
    return _no_proof(miter, settings, outer, claim, bound, tried, started, budget, say, deep=True)


CERTIFICATE_TAG = "cert"   # a certificate's state variables are `<var>@cert` (StateVar.fresh)


def certificate(miter: Miter, invariant: List[Candidate], k: int) -> Dict[str, object]:
    """A proof's invariant as SMT-LIB over the state variables named `<var>@cert`, with the k it closed at:
    verify/smt/certificates.py re-checks it instead of searching again."""
    S, _ = _symbolic(miter, CERTIFICATE_TAG)
    solver = z3.Solver()
    solver.add(*[c.holds(S) for c in invariant])
    return {"k": k, "conjuncts": len(invariant), "smt2": solver.to_smt2()}


SPECULATE_OVER = 400     # candidates past which Houdini first drops by families
MINIMIZE_MAX = 300       # conjuncts past which the invariant is printed as proved, not minimized


def _proved(miter, settings: InductionSettings, outer: Budget, claim: str, invariant: List[Candidate], k: int,
            bound: int, candidates: int, rounds: int, budget: Budget, started: float, say) -> Verdict:
    full = len(invariant)
    whole = ""
    if settings.minimize_s != 0 and settings.minimize_work != 0:
        if full <= MINIMIZE_MAX:
            say("minimizing the invariant")
            invariant = minimize(miter, invariant, k, Budget(settings.minimize_work,
                                                             _cap(settings.minimize_s, outer)))
        else:   # each trial is a proof over thousands of conjuncts: the budget would buy a handful
            whole = f"; printed whole, not minimized: over {MINIMIZE_MAX} conjuncts"
    return Verdict(
        HOLDS, claim,
        f"{k}-induction with Z3 over the program × specification product, strengthened by "
        f"an invariant inferred from traces and proved inductive (Houdini kept {full} of "
        f"{candidates} candidates" + (f"; the {len(invariant)} printed were re-proved after "
                                      "minimization" if len(invariant) < full else "") + whole + "); "
        + (f"base case by bounded model checking to length {bound}" if k else
           "0-induction: the invariant alone rules out a disagreement at every position (no base "
           f"case beyond it; bounded model checking reached length {bound})"),
        f"every word of every length >= 1 over {{{', '.join(miter.alphabet)}}}",
        evidence={"k": k, "invariant": [c.text for c in invariant], "base_checked_up_to": bound,
                  "candidates": candidates, "houdini_rounds": rounds, "work": budget.used,
                  "seconds": round(time.monotonic() - started, 3)})


def _reached(v: Verdict, default: int) -> int:
    return v.evidence.get("max_len", v.evidence.get("checked_up_to", default))


def _no_proof(miter, settings: InductionSettings, outer: Budget, claim: str, bound: int, tried: str,
              started: float, budget: Budget, say, deep: bool = False) -> Verdict:
    """No proof: the rest of the bounded check (to --bound, with its whole budget) where the first slice
    stopped short, then, after a failed k-induction (`deep`), a deeper search for a counterexample —
    each with its own work budget, so a wrong program still gets its shortest counterexample."""
    if bound < settings.bound and not outer.over():
        say(f"bounded check up to length {settings.bound}")
        rest = refute(miter, settings.bound, timeout_s=_cap(settings.bound_s, outer), work=settings.bound_work)
        if rest.status == REFUTED:
            return rest
        reached = _reached(rest, bound)
        if reached > bound:
            tried += f"; the bounded check went on to length {reached}"
            if rest.status != HOLDS:
                tried += f" ({rest.reason.split(': ', 1)[-1]})"
            bound = reached
    if deep and settings.deep_bound > bound and not outer.over():
        say(f"searching deeper, up to length {settings.deep_bound}")
        found = refute(miter, settings.deep_bound, timeout_s=_cap(settings.deep_s, outer),
                       work=settings.deep_work)  # plain: finds words faster
        if found.status == REFUTED:
            return found
        reached = _reached(found, bound)
        if reached > bound:
            tried += f"; deeper bounded search to length {reached} found no counterexample"
            if found.status != HOLDS:
                tried += f" ({found.reason.split(': ', 1)[-1]})"
            bound = reached
    return _unknown(claim, bound, tried, started, budget)


def _unknown(claim: str, bound: int, tried: str, started: float, budget: Optional[Budget] = None) -> Verdict:
    return Verdict(UNKNOWN, claim, "k-induction with trace-inferred invariants (Z3)",
                   f"every word of length 1..{bound} agrees (bounded model checking); longer words unproved",
                   reason=f"no proof for all lengths: {tried}",
                   evidence={"checked_up_to": bound, "stopped_by": budget.stopped_by if budget else None,
                             "seconds": round(time.monotonic() - started, 3)})
