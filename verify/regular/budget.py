"""One budget for the whole of `verify classify`: a work allowance and a deadline.

Work is counted in cells (one array cell read or written by the monoid and certificate stages: an element
times a letter, or an element times a state), a fixed function of `--budget`, so whether a stage finished
is the same on every machine; the deadline (wall clock) is only a safety limit, and a stage it stops is
reported as "not finished within the budget", never as a verdict. Past the work allowance the monoid
stages say "monoid too large" (`TooLarge`), as past the element cap.

Each stage of a classification is recorded as a `Stage`: done, not finished (why), or skipped (why)."""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, Iterator, Optional

from verify.regular.regex import TooLarge

DEFAULT_BUDGET_S = 10.0          # `verify classify --budget` default: the whole classification, per language
CELLS_PER_SECOND = 20_000_000    # the algebraic stages' work allowance per second of budget (a slow core does
ALGEBRA_SHARE = 0.4              # ~5e7 cells/s); they may use this share of it, the rest is for the program

DONE, NOT_FINISHED, SKIPPED = "done", "not finished", "skipped"


class OutOfTime(Exception):
    """The deadline passed inside a stage: the stage did not finish (never a verdict)."""


@dataclass
class Budget:
    """`seconds` of wall clock from `started` for everything; `work` cells for the algebraic stages."""
    seconds: float
    work: int
    started: float = field(default_factory=time.monotonic)
    spent: int = 0

    @classmethod
    def for_seconds(cls, seconds: float) -> "Budget":
        """The budget of `--budget seconds` (0, no program search: the default deadline for the other stages)."""
        base = seconds if seconds > 0 else DEFAULT_BUDGET_S
        return cls(base, int(ALGEBRA_SHARE * base * CELLS_PER_SECOND))

    @property
    def deadline(self) -> float:
        return self.started + self.seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise OutOfTime(f"the {self.seconds:g} s budget ran out (wall clock)")

    def spend(self, cells: int) -> None:
        """Charge `cells` of work; TooLarge past the allowance, OutOfTime past the deadline."""
        self.spent += int(cells)
        if self.spent > self.work:
            raise TooLarge(f"the work budget of {self.work:,} cells ran out (--budget {self.seconds:g})")
        self.check()


@contextlib.contextmanager
def alarm_at(deadline: float) -> Iterator[None]:
    """Raises OutOfTime in the block once time.monotonic() passes `deadline`: the safety net for code that does
    not check the budget itself (program constructions, exact linear algebra). Only in the main thread of a
    platform with SIGALRM, and never shortening or replacing a timer someone else set; elsewhere a no-op."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    left = max(deadline - time.monotonic(), 0.0) + 0.05

    def ring(signum, frame):
        raise OutOfTime("the budget ran out (wall clock) inside a step that does not check it")

    old_timer = signal.getitimer(signal.ITIMER_REAL)
    if old_timer[0] > 0:                       # someone else's timer is running: leave it alone
        yield
        return
    old_handler = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, left, 0.25)    # and again every 0.25 s, should a step swallow it
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)


def charge(budget: Optional[Budget], cells: int) -> None:
    """`budget.spend(cells)`; a budget of None (library calls, tests) has no allowance and no deadline."""
    if budget is not None:
        budget.spend(cells)


@dataclass(frozen=True)
class Stage:
    status: str                  # DONE, NOT_FINISHED or SKIPPED
    seconds: float = 0.0
    reason: str = ""             # why it did not finish, or was skipped

    def as_dict(self) -> Dict[str, object]:
        return {"status": self.status, "seconds": round(self.seconds, 4), "reason": self.reason or None}

    def describe(self) -> str:
        return self.status + (f" ({self.reason})" if self.reason else "")
