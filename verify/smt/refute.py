"""Shortest counterexample by bounded model checking: lengths 1, 2, ... in order on one
incremental solver. At length n the solver holds the unrolled miter for positions 1..n and the
facts "no disagreement at 1..n-1" (already established), and asks for a disagreement at n.
Checking the label of every prefix is the same as checking every non-empty word up to n.

Budgets are deterministic: each phase may spend a number of Z3 resource units (`rlimit`, counted
by Z3 itself, the same on any machine and under any load for the same Z3 version and the same
solver calls in a fresh process — a process that already ran other proofs has other fresh-name
counters and may count a few percent differently), with wall-clock time only as an outer safety
limit; the verdict says which limit stopped it.

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


WORK_UNIT = "Z3 rlimit units"
_RLIMIT_MAX = 2 ** 32 - 1   # Z3 takes the limit as an unsigned 32-bit integer
_STOPPED_BY_WORK, _STOPPED_BY_TIME = "work", "time"


def rlimit_count(solver: z3.Solver) -> int:
    """Z3's resource counter (one per context, so any solver reads it): deterministic work done."""
    stats = solver.statistics()
    return int(stats.get_key_value("rlimit count")) if "rlimit count" in stats.keys() else 0


class Budget:
    """A phase's limits: `work` Z3 resource units (deterministic; None: unlimited) and `seconds`
    of wall-clock time (an outer safety limit only; None: unlimited). `check` runs one solver
    query within what is left and records which limit stopped it, if one did."""

    def __init__(self, work: Optional[int] = None, seconds: Optional[float] = None):
        self.work, self.seconds = work, seconds
        self.started = time.monotonic()
        self.used = 0
        self.stopped_by: Optional[str] = None   # "work", "time", or the solver's own reason

    def left_work(self) -> Optional[int]:
        return None if self.work is None else max(0, self.work - self.used)

    def left_seconds(self) -> Optional[float]:
        return None if self.seconds is None else self.seconds - (time.monotonic() - self.started)

    def over(self) -> bool:
        if self.work is not None and self.used >= self.work:
            self.stopped_by = self.stopped_by or _STOPPED_BY_WORK
            return True
        left = self.left_seconds()
        if left is not None and left <= 0:
            self.stopped_by = self.stopped_by or _STOPPED_BY_TIME
            return True
        return False

    def sub(self, work: Optional[int]) -> "Budget":
        """A budget for one part of this phase: at most `work` units and what is left of both limits."""
        mine = self.left_work()
        limit = work if mine is None else (mine if work is None else min(work, mine))
        return Budget(limit, self.left_seconds())

    def charge(self, other: "Budget") -> None:
        self.used += other.used

    def check(self, solver: z3.Solver, *assumptions):
        """solver.check(*assumptions) within the budget: z3.unknown when a limit runs out."""
        if self.over():
            return z3.unknown
        work, left = self.left_work(), self.left_seconds()
        solver.set("rlimit", 0 if work is None else int(min(max(1, work), _RLIMIT_MAX)))
        solver.set("timeout", _RLIMIT_MAX if left is None else int(min(max(1.0, left * 1000), _RLIMIT_MAX)))
        before = rlimit_count(solver)
        result = solver.check(*assumptions)
        self.used += rlimit_count(solver) - before
        if result == z3.unknown:
            why = solver.reason_unknown()
            if self.work is not None and ("resource" in why or self.used >= self.work):
                self.stopped_by = _STOPPED_BY_WORK
            elif left is not None and ("timeout" in why or "canceled" in why or self.left_seconds() <= 0):
                self.stopped_by = _STOPPED_BY_TIME
            else:
                self.stopped_by = why or "unknown"
        return result

    def describe_stop(self) -> str:
        """Which limit stopped the phase, in words."""
        if self.stopped_by == _STOPPED_BY_WORK:
            return f"the work budget ran out: {self.work:,} {WORK_UNIT} (raise --work)"
        if self.stopped_by == _STOPPED_BY_TIME:
            return f"the wall-clock safety limit ran out (after {self.seconds:.3g} s; raise --timeout)"
        return f"Z3 answered unknown ({self.stopped_by})"


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
    if theirs is None:
        raise ReplayError(f"Z3 reported a disagreement on {' '.join(tokens)}, a word the specification's "
                          "reference does not check: the encoding is wrong")
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
           on_length: Optional[Callable[[int], None]] = None, invariant=(),
           work: Optional[int] = None) -> Verdict:
    """Shortest disagreement up to `max_len`: REFUTED (replayed), HOLDS up to the bound, or UNKNOWN
    (a limit ran out; the length reached and the limit are stated). `work`: Z3 resource units for
    the whole search (deterministic); `timeout_s`: wall-clock safety limit. `invariant`: Candidates
    already proved inductive (induction.infer_invariant), asserted at every position to speed up
    deep checks."""
    if max_len < 1:
        from verify.problems import UserError
        raise UserError("--max-len must be at least 1")
    budget = Budget(work, timeout_s)
    unrolling = Unrolling.start(miter, invariant=invariant)
    k = len(miter.alphabet)
    claim = miter.describe_claim()
    method = "bounded model checking with Z3 (incremental, lengths in increasing order)"
    if invariant:
        method += f", strengthened by {len(invariant)} proved inductive invariants"
    checked = 0
    for n in range(1, max_len + 1):
        bad = unrolling.extend()
        result = budget.check(unrolling.solver, bad)
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
                           evidence={"length": n, "work": budget.used,
                                     "seconds": round(time.monotonic() - budget.started, 3)})
        if result == z3.unknown:
            return _timeout(claim, method, checked, budget)
        unrolling.solver.add(z3.Not(bad))
        checked = n
        if on_length:
            on_length(n)
    return Verdict(HOLDS, claim, method,
                   f"every word of length 1..{max_len} over {{{', '.join(miter.alphabet)}}} "
                   f"({words_up_to(k, max_len)} words); longer words not checked",
                   evidence={"max_len": max_len, "work": budget.used,
                             "seconds": round(time.monotonic() - budget.started, 3)})


def _timeout(claim, method, checked, budget: Budget) -> Verdict:
    return Verdict(UNKNOWN, claim, method,
                   f"every word of length 1..{checked} agrees" if checked else "nothing checked",
                   reason=f"the solver gave up at length {checked + 1}: {budget.describe_stop()}",
                   evidence={"checked_up_to": checked, "stopped_by": budget.stopped_by, "work": budget.used,
                             "seconds": round(time.monotonic() - budget.started, 3)})
