"""Shortest counterexample by bounded model checking: lengths 1, 2, ... in order on one
incremental solver. At length n the solver holds the unrolled miter for positions 1..n and the
facts "no disagreement at 1..n-1" (already established), and asks for a disagreement at n.
Checking the label of every prefix is the same as checking every non-empty word up to n.

Every counterexample is replayed through the interpreter and the specification's reference
before it is returned; one that does not replay raises ReplayError (an encoding bug), never a
verdict.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import z3

from verify.smt.encode import z3_value
from verify.smt.miter import Miter
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Counterexample, Verdict


class ReplayError(AssertionError):
    """Z3 found a word the interpreter or the reference does not confirm: a bug in the encoding."""


@dataclass
class Unrolling:
    """An incremental unrolling of a miter: positions are added one at a time."""

    miter: Miter
    solver: z3.Solver
    state: dict
    symbols: List
    bads: List
    labels: List

    invariant: tuple = ()  # proved invariants (Candidates), asserted at every position

    @staticmethod
    def start(miter: Miter, solver: Optional[z3.Solver] = None, invariant=()) -> "Unrolling":
        return Unrolling(miter, solver or z3.Solver(), miter.init_state(), [], [], [], tuple(invariant))

    def extend(self) -> object:
        """Add one position; returns the z3 Boolean 'the labels disagree there'."""
        n = len(self.symbols) + 1
        sym = z3.Int(f"w{n}")
        self.solver.add(*self.miter.symbol_domain(sym))
        bad, mine, theirs, new = self.miter.step(self.state, sym)
        # name every state component once so terms do not grow with n
        named = {}
        for v in self.miter.vars:
            term = new[v.name]
            if isinstance(term, int):
                named[v.name] = term
                continue
            fresh = v.fresh(str(n))
            self.solver.add(fresh == term)
            named[v.name] = fresh
        self.state = named
        # sound: a proved invariant holds in every reachable state, so it removes no word; it
        # makes each length's query nearly local for the solver
        self.solver.add(*[c.holds(named) for c in self.invariant])
        self.symbols.append(sym)
        self.bads.append(bad)
        self.labels.append((mine, theirs))
        return bad

    def word(self, model: z3.ModelRef, n: int) -> Tuple[str, ...]:
        ids = [model.eval(s, model_completion=True).as_long() for s in self.symbols[:n]]
        return tuple(self.miter.alphabet[i] for i in ids)


def words_up_to(k: int, n: int) -> int:
    return sum(k ** i for i in range(1, n + 1))


def confirmed_counterexample(miter: Miter, tokens: Sequence[str], z3_labels=None) -> Counterexample:
    """Replay a word; return the Counterexample only if interpreter and reference disagree."""
    mine, theirs = miter.replay(tokens)
    if mine == theirs:
        raise ReplayError(f"Z3 reported a disagreement on {' '.join(tokens)} but the interpreter "
                          f"({mine}) and the reference ({theirs}) agree: the encoding is wrong")
    if z3_labels is not None and (tuple(z3_labels[0]), tuple(z3_labels[1])) != (mine, theirs):
        raise ReplayError(f"on {' '.join(tokens)} Z3's labels {z3_labels} differ from the replay "
                          f"{(mine, theirs)}: the encoding is wrong")
    keys = ", ".join(miter.keys)
    show = lambda v: v[0] if len(v) == 1 else dict(zip(miter.keys, v))
    return Counterexample(tuple(tokens), len(tokens), show(theirs), show(mine),
                          f"on this word the program's {keys} is {show(mine)} but the specification "
                          f"({miter.spec.describe()}) says {show(theirs)}; replayed through the "
                          "interpreter and the reference")


def refute(miter: Miter, max_len: int = 20, timeout_s: Optional[float] = 60.0,
           on_length: Optional[Callable[[int], None]] = None, invariant=()) -> Verdict:
    """Shortest disagreement up to `max_len`: REFUTED (replayed), HOLDS up to the bound, or UNKNOWN
    (solver timeout; the length reached is stated). `invariant`: Candidates already proved
    inductive (induction.infer_invariant), asserted at every position to speed up deep checks."""
    if max_len < 1:
        from verify.problems import UserError
        raise UserError("--max-len must be at least 1")
    started = time.monotonic()
    unrolling = Unrolling.start(miter, invariant=invariant)
    k = len(miter.alphabet)
    claim = miter.describe_claim()
    method = "bounded model checking with Z3 (incremental, lengths in increasing order)"
    if invariant:
        method += f", strengthened by {len(invariant)} proved inductive invariants"
    checked = 0
    for n in range(1, max_len + 1):
        bad = unrolling.extend()
        if timeout_s is not None:
            left = timeout_s - (time.monotonic() - started)
            if left <= 0:
                return _timeout(claim, method, miter, checked, timeout_s)
            unrolling.solver.set("timeout", max(1, int(left * 1000)))
        result = unrolling.solver.check(bad)
        if result == z3.sat:
            model = unrolling.solver.model()
            tokens = unrolling.word(model, n)
            mine, theirs = unrolling.labels[n - 1]
            z3_labels = ([z3_value(model.eval(t, model_completion=True)) for t in mine],
                         [z3_value(model.eval(t, model_completion=True)) for t in theirs])
            cex = confirmed_counterexample(miter, tokens, z3_labels)
            return Verdict(REFUTED, claim, method,
                           f"all words of length 1..{n - 1} agree; a word of length {n} disagrees",
                           counterexample=cex,
                           evidence={"length": n, "seconds": round(time.monotonic() - started, 3)})
        if result == z3.unknown:
            return _timeout(claim, method, miter, checked, timeout_s, unrolling.solver.reason_unknown())
        unrolling.solver.add(z3.Not(bad))
        checked = n
        if on_length:
            on_length(n)
    return Verdict(HOLDS, claim, method,
                   f"every word of length 1..{max_len} over {{{', '.join(miter.alphabet)}}} "
                   f"({words_up_to(k, max_len)} words); longer words not checked",
                   evidence={"max_len": max_len, "seconds": round(time.monotonic() - started, 3)})


def _timeout(claim, method, miter, checked, timeout_s, why: str = "timeout") -> Verdict:
    return Verdict(UNKNOWN, claim, method,
                   f"every word of length 1..{checked} agrees" if checked else "nothing checked",
                   reason=f"the solver gave up ({why}; limit {timeout_s} s) at length {checked + 1}",
                   evidence={"checked_up_to": checked})
