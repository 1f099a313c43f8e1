"""Size and range guards for command-line numbers, checked BEFORE any work or allocation.

Every numeric flag that drives work or memory goes through one of these, so a typo such as
`--d 1000000000` or `--timeout inf` is a user error naming the flag, never a crash, a hang or
a machine out of memory:

- `require_range(flag, value, lo, hi, why)`: an integer (or float) within [lo, hi];
- `require_finite(flag, value, lo, hi)` / `require_finite_timeout(flag, value)`: finite floats;
- `refuse_if_too_big(flag, estimate_bytes, suggestion)`: refuses when an estimated allocation
  exceeds the memory budget, printing the estimate and the flag to change.

The memory budget is MEMORY_FRACTION of the machine's memory (the smaller of physical memory and
a cgroup limit), or the value of $LENGTHGEN_VERIFY_MEMORY (bytes, or with a K/M/G/T suffix,
e.g. `LENGTHGEN_VERIFY_MEMORY=2G`).
"""
from __future__ import annotations

import math
import os
import re
from typing import Optional, Union

from verify.problems import UserError

MEMORY_ENV = "LENGTHGEN_VERIFY_MEMORY"
MEMORY_FRACTION = 0.5            # of physical memory: leave room for the OS and the rest of the process
FALLBACK_MEMORY = 4 << 30        # when the machine's memory cannot be read
MAX_TIMEOUT_S = 1e6              # about 11.5 days; Z3 takes milliseconds as a 32-bit integer (49 days)
MAX_SEED = 2 ** 63 - 1           # numpy's generators take any non-negative integer; keep it in int64
MAX_OFFSET = 2 ** 31             # position offsets are added to int64 positions
MAX_GENERATE_STEPS = 10_000      # generation re-evaluates the whole prefix per step: quadratic time
MAX_BUDGET = 1 << 24             # exhaustive inputs enumerated in memory per check (`check`, `report`)
MAX_SMT_LENGTH = 10_000          # Z3 unrollings (`refute --max-len`, `prove --bound`): one program copy per position
MAX_INDUCTION_K = 64             # k-induction depth (`prove --max-k`)

Number = Union[int, float]
_SUFFIX = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _physical_memory() -> int:
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path).read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) > 0:
            total = int(text) if total is None else min(total, int(text))
    return total if total and total > 0 else FALLBACK_MEMORY


def parse_bytes(text: str) -> int:
    """'2G' -> 2147483648; a UserError naming the variable when unreadable."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    value = float(m.group(1)) * _SUFFIX[m.group(2)] if m else 0.0
    if not math.isfinite(value) or value < 1:
        raise UserError(f"${MEMORY_ENV}={text!r}: give a positive size in bytes, e.g. 2G, 512M or 1000000000")
    return int(value)


def memory_budget() -> int:
    """The largest allocation a command may plan for, in bytes."""
    explicit = os.environ.get(MEMORY_ENV)
    if explicit:
        return parse_bytes(explicit)
    return int(_physical_memory() * MEMORY_FRACTION)


def _describe_range(lo: Optional[Number], hi: Optional[Number]) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:,} and {hi:,}" if isinstance(lo, int) and isinstance(hi, int) else f"between {lo} and {hi}"
    if lo is not None:
        return f"at least {lo}"
    return f"at most {hi:,}" if isinstance(hi, int) else f"at most {hi}"


def require_range(flag: str, value: Number, lo: Optional[Number] = None, hi: Optional[Number] = None,
                  why: str = "") -> Number:
    """value itself when lo <= value <= hi (either bound may be None); else a UserError naming the flag."""
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{flag} must be a finite number (got {value})")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise UserError(f"{flag} must be {_describe_range(lo, hi)} (got {value:,})"
                        + (f": {why}" if why else ""))
    return value


def require_finite(flag: str, value: float, lo: Optional[float] = None, hi: Optional[float] = None,
                   why: str = "", strict_lo: bool = False) -> float:
    """A finite float within [lo, hi] ((lo, hi] when strict_lo); nan and ±inf are user errors."""
    if not math.isfinite(value):
        raise UserError(f"{flag} must be a finite number (got {value})")
    if strict_lo and lo is not None and value <= lo:
        raise UserError(f"{flag} must be greater than {lo} (got {value})" + (f": {why}" if why else ""))
    return require_range(flag, value, lo, hi, why)


def require_finite_timeout(flag: str, value: float, minimum: float = 0.001,
                           maximum: float = MAX_TIMEOUT_S) -> float:
    """A time limit in seconds: finite, at least `minimum`, at most `maximum` (inf and nan are user errors:
    a run without a limit is not what a timeout flag is for)."""
    return require_finite(flag, value, minimum, maximum,
                          why="a time limit in seconds" if value < minimum else
                          f"the solver's limit is {maximum:g} s at most")


def require_seed(flag: str, value: int) -> int:
    return require_range(flag, value, 0, MAX_SEED, "seeds are non-negative 63-bit integers")


def exhaustive_bytes(inputs: int, length: int, operations: int = 8) -> int:
    """About the memory of checking `inputs` strings of `length` symbols at once: the ids (built as
    int64) and one int64 row per program operation, plus the reference's answers."""
    return int(inputs) * max(1, int(length)) * 8 * (int(operations) + 2)


def worst_exhaustive_bytes(budget: int, operations: int = 8) -> int:
    """exhaustive_bytes for `budget` inputs over the smallest alphabet (two symbols: the longest
    strings a budget can reach), for a guard that runs before any case is loaded."""
    return exhaustive_bytes(budget, max(1, int(budget).bit_length()), operations)


def refuse_if_too_big(flag: str, estimate_bytes: float, suggestion: str = "", what: str = "") -> None:
    """A UserError when an allocation of about `estimate_bytes` would exceed memory_budget().
    `flag` is the flag to change; `suggestion` says how (e.g. 'use --d 1024 or less')."""
    budget = memory_budget()
    if estimate_bytes > budget:
        source = (f"set by ${MEMORY_ENV}" if os.environ.get(MEMORY_ENV) else
                  f"{int(MEMORY_FRACTION * 100)}% of this machine's memory; set ${MEMORY_ENV} to change it")
        raise UserError(f"{flag}: {what + ' ' if what else ''}would need about {human_bytes(estimate_bytes)} "
                        f"of memory, more than the budget of {human_bytes(budget)} ({source})"
                        + (f"; {suggestion}" if suggestion else ""))
