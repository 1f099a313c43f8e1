"""The `verify report` column for the Z3 backend: proved for all lengths / checked up to L / refuted.

A proof takes seconds, so results are cached on disk, keyed by a hash of the program's
straight-line form and of the specification (a changed program or spec never reuses a stale
result). `verify prove`, the theorems check and `record_case` fill the cache; on a miss `columns`
runs a bounded check only (about half a second) and says so.
Cache file: $LENGTHGEN_VERIFY_CACHE or $XDG_CACHE_HOME/lengthgen-verify/smt.json (~/.cache/...).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Dict

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


def _load() -> Dict[str, dict]:
    try:
        return json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}


def remember(key: str, verdict: Verdict) -> None:
    """Store a verdict's summary; a failure to write the cache is never an error."""
    data = _load()
    data[key] = {"cell": cell(verdict), "status": verdict.status}
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
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
        if hit:
            return {COLUMN: hit["cell"]}
        from verify.smt.miter import Miter
        from verify.smt.refute import refute
        v = refute(Miter(program, case.spec), QUICK_MAX_LEN, timeout_s=QUICK_SECONDS)
        if v.status == REFUTED:
            remember(key, v)
        return {COLUMN: cell(v) + ("" if v.status == REFUTED else " (run `verify prove` for all lengths)")}
    except Exception as ex:  # a report row must not die on one case
        return {COLUMN: f"error: {type(ex).__name__}: {ex}"}
