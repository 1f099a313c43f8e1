"""The `verify report` column for the Z3 backend: proved for all lengths / checked up to L / refuted.

A proof takes seconds, so results are cached on disk, keyed by a hash of the program's
straight-line form and of the specification (a changed program or spec never reuses a stale
result). `verify prove`, the theorems check and `record_case` fill the cache; on a miss `columns`
runs a bounded check only (about half a second) and says so.
Cache file: $LENGTHGEN_VERIFY_CACHE or $XDG_CACHE_HOME/lengthgen-verify/smt.json (~/.cache/...).

Safe under concurrent writers: a write is a read-modify-write under an exclusive lock
(fcntl.flock on `smt.json.lock`), through a unique temporary file renamed over the cache, so a
reader sees the old file or the new one, never half of one, and no writer's entry is lost. A
cache that is not a JSON object (corrupt, `[]`, `null`) is ignored with a warning and replaced by
the next write; malformed entries are skipped. A result never downgrades: a proof (holds for
every length, or a replayed refutation) is never replaced by an unknown or a bounded check, and a
bounded check only by one that reached at least as far.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Optional, Tuple

from verify.outputs import normal_permissions
from verify.verdict import HOLDS, REFUTED, Verdict

COLUMN = "z3"
QUICK_MAX_LEN = 12
QUICK_SECONDS = 0.5


def cache_path() -> Path:
    explicit = os.environ.get("LENGTHGEN_VERIFY_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lengthgen-verify" / "smt.json"


def _canon(x):
    """A run-independent rendering (sets sorted) of programs and specs for hashing."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return [type(x).__name__] + [_canon(getattr(x, f.name)) for f in dataclasses.fields(x)]
    if isinstance(x, (set, frozenset)):
        return sorted((_canon(v) for v in x), key=repr)
    if isinstance(x, (list, tuple)):
        return [_canon(v) for v in x]
    if isinstance(x, dict):
        return sorted(([_canon(k), _canon(v)] for k, v in x.items()), key=repr)
    return repr(x)


def fingerprint(program, spec, mode: str = "last") -> str:
    from verify.smt.encode import as_line
    text = json.dumps([_canon(as_line(program)), _canon(spec), mode])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


_warned = set()


def _warn(path: Path, what: str) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        print(f"warning: the proof cache {path} {what}; ignoring it (the next proof replaces it)", file=sys.stderr)


def _valid_entry(entry) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("cell"), str) and isinstance(entry.get("status"), str)


def _load() -> Dict[str, dict]:
    """The cache's entries; {} when it is missing, and (with a warning) when it is not a JSON object."""
    path = cache_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:  # unreadable or not JSON
        _warn(path, f"cannot be read ({type(err).__name__})")
        return {}
    if not isinstance(data, dict):
        kind = {list: "array", str: "string", type(None): "null", bool: "boolean"}.get(type(data), "number")
        _warn(path, f"holds a JSON {kind}, not an object")
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and _valid_entry(v)}


@contextmanager
def _locked(path: Path):
    """An exclusive lock for a read-modify-write of the cache (a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_CHECKED = re.compile(r"checked up to (\d+)")


def strength(entry: dict) -> Tuple[int, int]:
    """How much an entry settles: (2, 0) a proof or a replayed refutation, (1, L) a bounded check
    up to L, (0, 0) unknown. Entries only ever move up this order."""
    status, text = entry.get("status"), entry.get("cell", "")
    if status == REFUTED or text.startswith("proved for all lengths"):
        return (2, 0)
    m = _CHECKED.match(text)
    return (1, int(m.group(1))) if m else (0, 0)


def remember(key: str, verdict: Verdict) -> bool:
    """Store a verdict's summary unless the cache already holds a stronger one (never downgrade);
    True when stored. A failure to write the cache is never an error."""
    entry = {"cell": cell(verdict), "status": verdict.status}
    path = cache_path()
    tmp: Optional[str] = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            data = _load()
            old = data.get(key)
            if old is not None and strength(old) > strength(entry):
                return False
            data[key] = entry
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(data, indent=1, sort_keys=True))
            normal_permissions(Path(tmp))
            os.replace(tmp, path)
            tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cell(v: Verdict) -> str:
    if v.status == REFUTED:
        return f"refuted (length {len(v.counterexample.input)}: {' '.join(v.counterexample.input)})"
    if v.status == HOLDS and "every length" in v.scope:
        return f"proved for all lengths ({v.evidence.get('k', '?')}-induction)"
    reached = v.evidence.get("max_len", v.evidence.get("checked_up_to", 0))
    return f"checked up to {reached}" if reached else "unknown"


def record_case(case, verdict: Verdict, mode: str = "last") -> None:
    program = case.build_program()
    if program is not None and case.spec is not None:
        remember(fingerprint(program, case.spec, mode), verdict)


def columns(case) -> Dict[str, object]:
    """{"z3": ...} for a report row: the cached result, else a quick bounded check."""
    if case.spec is None:
        return {COLUMN: "no spec"}
    program = case.build_program()
    if program is None:
        return {COLUMN: "no program"}
    try:
        key = fingerprint(program, case.spec)
        hit = _load().get(key)
        if hit:  # entries are validated by _load
            return {COLUMN: hit["cell"]}
        from verify.smt.miter import Miter
        from verify.smt.refute import refute
        v = refute(Miter(program, case.spec), QUICK_MAX_LEN, timeout_s=QUICK_SECONDS)
        if v.status == REFUTED:
            remember(key, v)
        return {COLUMN: cell(v) + ("" if v.status == REFUTED else " (run `verify prove` for all lengths)")}
    except Exception as ex:  # a report row must not die on one case
        return {COLUMN: f"error: {type(ex).__name__}: {ex}"}
