"""The `verify report` column for the Z3 backend: proved for all lengths / checked up to L / refuted.

The column is a function of the inputs only (the program, the specification, the flags), never
of what an earlier run left in a cache, nor of the machine's load (but for a proof the wall-clock safety
limit cut short, whose cell says so):
- by default each case is proved with REPORT_SETTINGS, whose phases are budgeted by deterministic
  solver work (Z3 rlimit units), in parallel over the cores (`prepare`); with `--no-prove` every row
  says NOT_RUN. Where the package ships a proof certificate for the program and spec
  (verify/smt/certificates.py: the invariant of an earlier proof), it is re-checked instead of searched
  for again, and a certificate that fails the check is ignored (the proof then runs as above). Each
  result is cached (one the wall-clock safety limit cut short says so in its cell), keyed by the content it
  rests on (`_report_key`: the program, the specification with the code of its functions, the settings, the
  prover's own source and Z3's version; verify/content_hash.py), so a cache hit shows what a fresh run would
  and a warm run proves only what changed; `--no-cache` neither reads nor writes the cache.

Cache file: $LENGTHGEN_VERIFY_CACHE or $XDG_CACHE_HOME/lengthgen-verify/smt.json (~/.cache/...).
`verify prove` and the theorems check also record their results there (`record_case`); the
report does not show those (their settings may differ), only entries made with its own settings.
The report also keeps its checks and the other stages' columns there (verify/report_memo.py), under
keys of the same kind.

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

import hashlib
import json
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from verify.outputs import normal_permissions
from verify.verdict import HOLDS, REFUTED, Verdict

COLUMN = "z3"
NOT_RUN = "not run (--no-prove)"
# the report's proofs: the default work budgets; the wall-clock limit is a safety net only. The report
# shows whether a proof closed, not the invariant, so the work spent shrinking the printed invariant is
# saved (minimize_work=0; `verify prove` still minimizes).
REPORT_SETTINGS = dict(timeout_s=300.0, minimize_work=0)
SETTINGS_TAG = "report-v2"      # part of the cache key (with the settings themselves and the prover's code)
# the prover and the semantics it encodes: their source is in the key (these files alone, not everything they
# import: an edit to, say, the input-size checks does not re-prove the catalogue)
PROVER_SOURCES = ("verify.smt.encode", "verify.smt.induction", "verify.smt.candidates", "verify.smt.linear",
                  "verify.smt.miter", "verify.smt.refute", "verify.smt.sequence", "verify.smt.specs",
                  "verify.sequence_spec", "verify.spec", "verify.crasp.ast", "verify.crasp.checks",
                  "verify.crasp.interpreter", "verify.crasp.linear", "verify.crasp.values")


def cache_path() -> Path:
    explicit = os.environ.get("LENGTHGEN_VERIFY_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lengthgen-verify" / "smt.json"


def _canon(x):
    """A run-independent rendering of programs and specs for hashing: sets sorted, and a function (a
    sequence specification's step, answer, sampler) by its module, name, defaults and closure values,
    never by its address (verify/content_hash.py)."""
    from verify.content_hash import canon
    return canon(x)


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


def _write_entry(key: str, entry: dict, keep_old=lambda old, new: False) -> bool:
    """Under the lock: read the cache, store `entry` at `key` unless `keep_old(old entry, entry)`, write it
    back through a unique temporary file. True when stored; a failure to write is never an error."""
    return write_entries({key: entry}, keep_old) == 1


def stronger(old: dict, new: dict) -> bool:
    """The cache's `keep_old` that never downgrades: keep the old entry when it is stronger than the new."""
    return strength(old) > strength(new)


def write_entries(entries: Dict[str, dict], keep_old=lambda old, new: False,
                  prune: Optional[Callable[[Dict[str, dict]], None]] = None) -> int:
    """Several entries in one read-modify-write under the lock (each unless `keep_old(its old entry, it)`);
    `prune(data)` may then drop entries before the file is written. How many were stored."""
    path = cache_path()
    tmp: Optional[str] = None
    from verify.inputs import is_regular_file
    if not entries:
        return 0
    if is_regular_file(str(path)) is False:   # a folder, a device, a FIFO: not even a lock file beside it
        _read()                                # (says so, once)
        return 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            data, replaceable = _read()
            if not replaceable:   # something that is not a proof cache: never overwritten
                return 0
            stored = 0
            for key, entry in entries.items():
                old = data.get(key)
                if old is not None and keep_old(old, entry):
                    continue
                data[key] = entry
                stored += 1
            if not stored:
                return 0
            if prune is not None:
                prune(data)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(data, indent=1, sort_keys=True))
            normal_permissions(Path(tmp))
            os.replace(tmp, path)
            tmp = None
        return stored
    except OSError:
        return 0
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def remember(key: str, verdict: Verdict) -> bool:
    """Store a verdict's summary unless the cache already holds a stronger one (never downgrade);
    True when stored."""
    return _write_entry(key, {"cell": cell(verdict), "status": verdict.status}, keep_old=stronger)


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
    """The report's cache key for a proof of `program` against `spec`: their content (the spec's functions
    by the source of their modules, with what those import), the settings, the prover's source
    (PROVER_SOURCES) and Z3's version."""
    import z3

    from verify.content_hash import content_key
    from verify.smt.encode import as_line
    from verify.smt.induction import InductionSettings
    settings = InductionSettings(**REPORT_SETTINGS)
    budgets = (settings.bound, settings.bound_work, settings.work, settings.deep_bound, settings.deep_work,
               settings.max_k, settings.seed, settings.sample_words, settings.sample_len, settings.max_classes,
               settings.max_pairwise, settings.minimize_work)
    return "report:" + content_key(as_line(program), spec, budgets, sources=PROVER_SOURCES,
                                   extra=f"{SETTINGS_TAG}; z3 {z3.get_version_string()}")


BY_CLOCK = " (stopped by the wall-clock safety limit)"


def _prove_cell(program, spec, certificates: bool = True) -> Tuple[str, bool]:
    """(the cell, whether it may be cached). A result the wall-clock safety limit cut short depends on the
    machine's load; it is cached all the same, marked BY_CLOCK in its cell, so that a warm report does not
    wait for the same proof again (minutes where the work budget does not bound a phase); a later result
    that reaches further replaces it, and deleting the cache (or changing what the key rests on) retries it."""
    from verify.smt.induction import InductionSettings, prove
    from verify.smt.miter import Miter
    certified = _certified_cell(program, spec) if certificates else None
    if certified is not None:
        return certified, True
    v = prove(Miter(program, spec), InductionSettings(**REPORT_SETTINGS))
    by_clock = v.evidence.get("stopped_by") == "time"
    return cell(v) + (BY_CLOCK if by_clock else ""), True


def _certified_cell(program, spec) -> Optional[str]:
    """The cell of a shipped proof certificate that passes its re-check (verify/smt/certificates.py), or
    None (no certificate, or one that fails: the caller proves from scratch)."""
    from verify.smt import certificates
    from verify.smt.miter import Miter
    shipped = certificates.shipped().get(certificates.key(program, spec))
    if shipped is None or "smt2" not in shipped:
        return None
    v = certificates.check(Miter(program, spec), shipped)
    return None if v is None else cell(v)


def z3_cell(case, prove: bool, use_cache: bool = True, certificates: bool = True) -> str:
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
    text, cacheable = _prove_cell(program, case.spec, certificates)
    if use_cache and cacheable:
        _store(key, text)
    return text


def _store(key: str, text: str) -> None:
    """Write one report cell unless the cache holds a stronger one (a result the clock cut short can be
    weaker than one an earlier, less loaded run reached)."""
    _write_entry(key, _report_entry(text), keep_old=stronger)


def _report_entry(text: str) -> dict:
    return {"cell": text, "status": "report"}


def _worker(name: str, use_cache: bool, certificates: bool) -> str:
    from verify.catalogue import get_case
    return z3_cell(get_case(name), True, use_cache, certificates)


_prepared: Dict[tuple, str] = {}   # (case name, prove, use_cache) -> cell, from the last prepare
# what the last `prepare` did: cells read from the cache, proofs run now (a test hook, and the report's
# closing line): `certified` by re-checking a shipped certificate, `searched` from scratch (a cold run over
# the catalogue searches none: one that does has a certificate that no longer checks); a warm run has
# proved_now == 0
LAST_PREPARE: Dict[str, int] = {}


def prepare(cases, prove: bool, use_cache: bool = True, workers: Optional[int] = None,
            progress: Optional[Callable[[str], None]] = None, certificates: bool = True) -> Dict[str, str]:
    """Every case's z3 cell, computed now (proofs in parallel over `workers` processes, default:
    the cores; `progress(name)` after each); `columns` then returns them. The cache is read once; only
    the cases it does not hold are proved. Each proof runs in a fresh process with a fixed hash
    seed: Z3's work counter is deterministic for the same solver calls in a fresh process (in a
    process that already ran proofs, fresh-name counters differ and the count can move by a few
    percent), so neither the machine nor the order the pool runs them in can change a result."""
    cases = list(cases)
    cells: Dict[str, str] = {}
    todo = []   # (case, its program, its cache key): the cases to prove now
    entries = _load() if prove and use_cache else {}
    hits = 0
    for case in cases:
        try:
            quick = z3_cell(case, False)
            if quick != NOT_RUN or not prove:
                cells[case.name] = quick
                continue
            program = case.build_program()
            key = _report_key(program, case.spec)
            hit = entries.get(key)
            if hit:
                cells[case.name] = hit["cell"]
                hits += 1
            else:
                todo.append((case, program, key))
        except Exception as ex:  # a report row must not die on one case
            cells[case.name] = f"error: {type(ex).__name__}: {ex}"
    if progress:
        for name in cells:
            progress(name)
    searched, checked = [], {}
    for case, program, key in todo:   # a certificate's re-check is seconds at most: not worth a process each
        try:
            certified = _certified_cell(program, case.spec) if certificates else None
        except Exception:  # noqa: BLE001 - the proof in the pool then reports what is wrong
            certified = None
        if certified is None:
            searched.append(case)
            continue
        cells[case.name] = certified
        checked[key] = _report_entry(certified)
        if progress:
            progress(case.name)
    if use_cache:   # one locked write for them all
        write_entries(checked, keep_old=stronger)
    workers = max(1, workers or min(len(searched), os.cpu_count() or 1))
    if searched:  # a fresh process per proof: Z3's work counter then repeats exactly (see the docstring)
        cells.update(_in_pool(searched, use_cache, workers, progress, certificates))
    for case, _, _ in todo:
        if case.name not in cells:
            try:
                cells[case.name] = z3_cell(case, True, use_cache, certificates)
            except Exception as ex:
                cells[case.name] = f"error: {type(ex).__name__}: {ex}"
            if progress:
                progress(case.name)
    _prepared.clear()   # the cells of the last `prepare`, for `columns` asked with the same flags
    _prepared.update({(name, prove, use_cache): text for name, text in cells.items()})
    LAST_PREPARE.clear()
    LAST_PREPARE.update(from_cache=hits, proved_now=len(todo), certified=len(todo) - len(searched),
                        searched=len(searched))
    return cells


def _in_pool(cases, use_cache: bool, workers: int, progress: Optional[Callable[[str], None]] = None,
             certificates: bool = True) -> Dict[str, str]:
    """Cells computed in worker processes; a case a worker cannot run (e.g. added in this process
    only) is left out, for the caller to run here."""
    from concurrent.futures import as_completed

    from verify.processes import process_pool
    out: Dict[str, str] = {}
    saved = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "0"  # read by each spawned interpreter at its start
    try:
        with process_pool(workers, max_tasks_per_child=1) as pool:
            futures = {pool.submit(_worker, case.name, use_cache, certificates): case.name for case in cases}
            for future in as_completed(futures):
                try:
                    out[futures[future]] = future.result()
                except Exception:
                    continue
                if progress:
                    progress(futures[future])
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
