"""The `verify report` column for the Z3 backend: proved for all lengths / checked up to L / refuted.

The column is a function of the inputs only (the program, the specification, the flags), never
of the machine's load or of what an earlier run left in a cache:
- without `--prove` every row says "not run (use --prove)";
- with `--prove` each case is proved with REPORT_SETTINGS, whose phases are budgeted by
  deterministic solver work (Z3 rlimit units), in parallel over the cores (`prepare`). Only a
  result not stopped by the wall-clock safety limit is cached, keyed by the program, the
  specification and the settings, so a cache hit shows exactly what a fresh run would;
  `--no-cache` neither reads nor writes the cache.

Cache file: $LENGTHGEN_VERIFY_CACHE or $XDG_CACHE_HOME/lengthgen-verify/smt.json (~/.cache/...).
`verify prove` and the theorems check also record their results there (`record_case`); the
report does not show those (their settings may differ), only entries made with its own settings.

Safe under concurrent writers: a write is a read-modify-write under an exclusive lock
(fcntl.flock on `smt.json.lock`), through a unique temporary file renamed over the cache, so a
reader sees the old file or the new one, never half of one, and no writer's entry is lost. A
file that is not a proof cache (not a regular file, above MAX_CACHE_BYTES, not a JSON object, or a
JSON object none of whose entries is a cache entry) is ignored with a warning and never overwritten;
an empty file is an empty cache; a cache's malformed entries are skipped. A result never downgrades: a proof (holds for
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
NOT_RUN = "not run (use --prove)"
# the report's proofs: the default work budgets; the wall-clock limit is a safety net only
REPORT_SETTINGS = dict(timeout_s=300.0)
SETTINGS_TAG = "report-v1"      # part of the cache key: change it when REPORT_SETTINGS change


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
MAX_CACHE_BYTES = 64 << 20     # a larger file is not read (nor replaced): the report's cache is a few KiB


def _warn(path: Path, what: str, replaced: bool = True) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        tail = ("ignoring it (the next proof replaces it)" if replaced else
                "ignoring it and leaving it as it is (nothing is written there; set LENGTHGEN_VERIFY_CACHE to "
                "another file)")
        print(f"warning: the proof cache {path} {what}; {tail}", file=sys.stderr)


def _valid_entry(entry) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("cell"), str) and isinstance(entry.get("status"), str)


def _read() -> Tuple[Dict[str, dict], bool]:
    """(the cache's entries, whether the file may be replaced). The file is read only when it is a regular
    file of at most MAX_CACHE_BYTES (verify.inputs: a FIFO or a device is never opened for a blocking read).
    It may be replaced when it is missing, empty, or a JSON object holding at least one cache entry (its
    malformed entries are skipped); anything else is not a proof cache, and is left alone with a warning."""
    from verify.inputs import parse_json, read_text
    from verify.problems import UserError
    path = cache_path()
    if not os.path.lexists(path):
        return {}, True
    try:
        text = read_text(str(path), "proof cache", MAX_CACHE_BYTES)
        data = parse_json(text, str(path)) if text.strip() else {}
    except UserError as err:   # not a regular file, too large, not UTF-8, not JSON
        _warn(path, f"cannot be used ({err.message})", replaced=False)
        return {}, False
    if not isinstance(data, dict):
        kind = {list: "array", str: "string", type(None): "null", bool: "boolean"}.get(type(data), "number")
        _warn(path, f"holds a JSON {kind}, not a proof cache", replaced=False)
        return {}, False
    entries = {k: v for k, v in data.items() if isinstance(k, str) and _valid_entry(v)}
    if data and not entries:
        _warn(path, "holds a JSON object that is not a proof cache (no entry has a cell and a status)",
              replaced=False)
        return {}, False
    return entries, True


def _load() -> Dict[str, dict]:
    """The cache's entries; {} when it is missing, and (with a warning) when it is not a proof cache."""
    return _read()[0]


@contextmanager
def _locked(path: Path):
    """An exclusive lock for a read-modify-write of the cache (a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    # never blocks on opening: a FIFO in the lock file's place fails (OSError) instead of waiting for a reader
    fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK, 0o666)
    with os.fdopen(fd, "a") as lock:
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


def _write_entry(key: str, entry: dict, keep_old=lambda old: False) -> bool:
    """Under the lock: read the cache, store `entry` at `key` unless `keep_old(old entry)`, write it
    back through a unique temporary file. True when stored; a failure to write is never an error."""
    path = cache_path()
    tmp: Optional[str] = None
    from verify.inputs import is_regular_file
    if is_regular_file(str(path)) is False:   # a folder, a device, a FIFO: not even a lock file beside it
        _read()                                # (says so, once)
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            data, replaceable = _read()
            if not replaceable:   # something that is not a proof cache: never overwritten
                return False
            old = data.get(key)
            if old is not None and keep_old(old):
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


def remember(key: str, verdict: Verdict) -> bool:
    """Store a verdict's summary unless the cache already holds a stronger one (never downgrade);
    True when stored."""
    entry = {"cell": cell(verdict), "status": verdict.status}
    return _write_entry(key, entry, keep_old=lambda old: strength(old) > strength(entry))


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


def _report_key(program, spec) -> str:
    from verify.smt.induction import InductionSettings
    settings = InductionSettings(**REPORT_SETTINGS)
    budgets = (settings.bound, settings.bound_work, settings.work, settings.deep_bound, settings.deep_work,
               settings.max_k, settings.seed)
    return f"{fingerprint(program, spec)}:{SETTINGS_TAG}:{budgets}"


def _prove_cell(program, spec) -> Tuple[str, bool]:
    """(the cell, whether it may be cached: not stopped by the wall-clock safety limit)."""
    from verify.smt.induction import InductionSettings, prove
    from verify.smt.miter import Miter
    v = prove(Miter(program, spec), InductionSettings(**REPORT_SETTINGS))
    by_clock = v.evidence.get("stopped_by") == "time"
    return cell(v) + (" (stopped by the wall-clock safety limit)" if by_clock else ""), not by_clock


def z3_cell(case, prove: bool, use_cache: bool = True) -> str:
    """The report's z3 cell for one case: NOT_RUN unless `prove`; else the proof's result (from the
    cache when it holds one made with the same settings and `use_cache`)."""
    if case.spec is None:
        return "no spec"
    program = case.build_program()
    if program is None:
        return "no program"
    if not prove:
        return NOT_RUN
    key = _report_key(program, case.spec)
    if use_cache:
        hit = _load().get(key)
        if hit:
            return hit["cell"]
    text, cacheable = _prove_cell(program, case.spec)
    if use_cache and cacheable:
        _store(key, text)
    return text


def _store(key: str, text: str) -> None:
    """Write one report cell (a deterministic result: replacing an entry never changes it)."""
    _write_entry(key, {"cell": text, "status": "report"})


def _worker(name: str, use_cache: bool) -> str:
    from verify.catalogue import get_case
    return z3_cell(get_case(name), True, use_cache)


_prepared: Dict[tuple, str] = {}   # (case name, prove, use_cache) -> cell, from the last prepare


def prepare(cases, prove: bool, use_cache: bool = True, workers: Optional[int] = None) -> Dict[str, str]:
    """Every case's z3 cell, computed now (proofs in parallel over `workers` processes, default:
    the cores); `columns` then returns them. Each proof runs in a fresh process with a fixed hash
    seed: Z3's work counter is deterministic for the same solver calls in a fresh process (in a
    process that already ran proofs, fresh-name counters differ and the count can move by a few
    percent), so neither the machine nor the order the pool runs them in can change a result."""
    cases = list(cases)
    cells: Dict[str, str] = {}
    todo = []
    for case in cases:
        try:
            quick = z3_cell(case, False)
            if quick != NOT_RUN or not prove:
                cells[case.name] = quick
            elif use_cache and _load().get(_report_key(case.build_program(), case.spec)):
                cells[case.name] = z3_cell(case, True, True)
            else:
                todo.append(case)
        except Exception as ex:  # a report row must not die on one case
            cells[case.name] = f"error: {type(ex).__name__}: {ex}"
    workers = max(1, workers or min(len(todo), os.cpu_count() or 1))
    if todo:  # a fresh process per proof: Z3's work counter then repeats exactly (see the docstring)
        cells.update(_in_pool(todo, use_cache, workers))
    for case in todo:
        if case.name not in cells:
            try:
                cells[case.name] = z3_cell(case, True, use_cache)
            except Exception as ex:
                cells[case.name] = f"error: {type(ex).__name__}: {ex}"
    _prepared.clear()   # the cells of the last `prepare`, for `columns` asked with the same flags
    _prepared.update({(name, prove, use_cache): text for name, text in cells.items()})
    return cells


def _in_pool(cases, use_cache: bool, workers: int) -> Dict[str, str]:
    """Cells computed in worker processes; a case a worker cannot run (e.g. added in this process
    only) is left out, for the caller to run here."""
    from verify.processes import process_pool
    out: Dict[str, str] = {}
    saved = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "0"  # read by each spawned interpreter at its start
    try:
        with process_pool(workers, max_tasks_per_child=1) as pool:
            futures = {case.name: pool.submit(_worker, case.name, use_cache) for case in cases}
            for name, future in futures.items():
                try:
                    out[name] = future.result()
                except Exception:
                    pass
    except OSError:  # no processes here (a sandbox): the caller runs them in this process
        pass
    finally:
        if saved is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = saved
    return out


def columns(case, prove: Optional[bool] = None, use_cache: bool = True) -> Dict[str, object]:
    """{"z3": ...} for a report row. With `prove` left None (how the report asks every column module):
    the cell the last `prepare` computed (the command runs `prepare` with its flags first), else
    NOT_RUN. With `prove` given: `z3_cell(case, prove, use_cache)`, from `prepare`'s memo only when it
    was computed with the same flags."""
    try:
        for flags in ((prove, use_cache),) if prove is not None else ((True, use_cache), (False, use_cache),
                                                                      (True, not use_cache), (False, not use_cache)):
            if (case.name, *flags) in _prepared:
                return {COLUMN: _prepared[(case.name, *flags)]}
        return {COLUMN: z3_cell(case, bool(prove), use_cache)}
    except Exception as ex:  # a report row must not die on one case
        return {COLUMN: f"error: {type(ex).__name__}: {ex}"}


def cached_proof(program, spec, mode: str = "last") -> Optional[dict]:
    """The strongest cached result for this program against this spec — a `verify prove` record or, under
    last-position acceptance, the report's — or None (`verify compile CASE` shows it beside Theorem 9)."""
    entries = _load()
    keys = [fingerprint(program, spec, mode)] + ([_report_key(program, spec)] if mode == "last" else [])
    found = [entries[k] for k in keys if k in entries]
    return max(found, key=strength) if found else None
