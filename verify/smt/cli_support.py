"""What the refute / prove / equiv / mutate commands share: options, progress, rendering, exit codes.

Exit codes: 0 the claim holds (up to the stated bound for `refute`, for every length for
`prove`), 1 refuted (a replayed counterexample is printed), 3 unknown (solver timeout, no proof
found), 2 bad input (a UserError), 70 an internal error (verify/cli.py).
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Optional

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept light: command modules import this file when `verify` starts
    from verify.verdict import Verdict

EXIT = {"holds": 0, "refuted": 1}   # verify.verdict.HOLDS, REFUTED
EXIT_UNKNOWN = 3


def exit_code(v: Verdict) -> int:
    return EXIT.get(v.status, EXIT_UNKNOWN)


def check_mode(mode: str) -> str:
    from verify.crasp.interpreter import ACCEPTANCE_MODES
    if mode not in ACCEPTANCE_MODES:
        from verify.problems import UserError
        raise UserError(f"--mode must be one of {', '.join(ACCEPTANCE_MODES)} (got {mode!r})")
    return mode


def check_positive(name: str, value, minimum=1):
    if value < minimum:
        from verify.problems import UserError
        raise UserError(f"{name} must be at least {minimum} (got {value})")
    return value


REFUTE_WORK = 200_000_000   # Z3 rlimit units for `refute` (measured: bench/bench_smt.py, section 4)
MAX_WORK_FACTOR = 1e4
WORK_HELP = ("solver work budget, a multiple of the default (Z3 rlimit units, counted by Z3: the same "
             "answer on any machine and under any load); --timeout is only a safety limit")


def scaled(work: float, value: Optional[int]) -> Optional[int]:
    return None if value is None else max(1, int(value * work))


def induction_settings(work: float = 1.0, **fields):
    """InductionSettings with every phase's work budget multiplied by `work` (the --work flag)."""
    from verify.smt.induction import InductionSettings
    s = InductionSettings(**fields)
    return dataclasses.replace(s, bound_work=scaled(work, s.bound_work), work=scaled(work, s.work),
                               deep_work=scaled(work, s.deep_work), minimize_work=scaled(work, s.minimize_work))


def check_options(timeout: Optional[float] = None, offset: Optional[int] = None, work: Optional[float] = None,
                  **lengths) -> None:
    """The numeric flags these commands share, checked before any solving: a finite time limit
    (inf/nan/negative are user errors), an offset within int64 reach, and lengths / depths within
    what the solver can unroll (`max_len=`, `bound=`, `max_k=`, `seed=`)."""
    from verify.limits import (MAX_INDUCTION_K, MAX_OFFSET, MAX_SMT_LENGTH, require_finite_timeout,
                               require_range, require_seed)
    if timeout is not None:
        require_finite_timeout("--timeout", timeout)
    if work is not None:
        from verify.limits import require_finite
        require_finite("--work", work, 1e-6, MAX_WORK_FACTOR)
    if offset is not None:
        require_range("--offset", offset, -MAX_OFFSET, MAX_OFFSET)
    why = "Z3 keeps one copy of the program per position"
    for name, value in lengths.items():
        flag = "--" + name.replace("_", "-")
        if name in ("max_len", "bound"):
            require_range(flag, value, 1, MAX_SMT_LENGTH, why)
        elif name == "max_k":
            require_range(flag, value, 1, MAX_INDUCTION_K, why)
        elif name == "seed":
            require_seed(flag, value)
        else:  # pragma: no cover - a programming mistake
            raise TypeError(f"unknown option {name}")


@contextmanager
def status_line(text: str, quiet: bool):
    """A spinner while the solver works (stderr; silent with --json)."""
    if quiet:
        yield lambda s: None
        return
    from rich.console import Console
    err = Console(stderr=True)
    with err.status(text) as st:
        yield lambda s: st.update(f"{text}: {s}")


def render(v: Verdict, console, title: Optional[str] = None) -> None:
    color = {"holds": "green", "refuted": "red"}.get(v.status, "yellow")
    if title:
        console.print(f"[bold]{title}[/]")
    console.print(f"[bold {color}]{v.status.upper()}[/]: {v.claim}")
    console.print(f"  method: {v.method}")
    console.print(f"  scope:  {v.scope}")
    if v.reason:
        console.print(f"  reason: {v.reason}")
    if v.counterexample is not None:
        c = v.counterexample
        console.print(f"  counterexample (length {len(c.input)}): [bold]{' '.join(c.input)}[/]")
        console.print(f"    program: {c.got}   specification: {c.expected}")
        console.print(f"    {c.detail}")
    inv = v.evidence.get("invariant")
    if inv:
        console.print(f"  invariant ({len(inv)} conjuncts, proved inductive):")
        for line in inv:
            if line.startswith("one of: "):  # a disjunction: one disjunct per line
                console.print("    one of:", markup=False, highlight=False)
                for part in line[len("one of: "):].split(") or ("):
                    console.print(f"      ({part.strip('()')})", soft_wrap=True, markup=False, highlight=False)
            else:
                console.print(f"    {line}", soft_wrap=True, markup=False, highlight=False)
