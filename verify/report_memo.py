"""The report's results kept by content: a program's check against its task's reference and the later
stages' columns, in the proof cache file (verify/smt/report_columns.py), so a warm `verify report` pays
only for what changed.

Each result is stored under `content_key` (verify/content_hash.py) of everything it is a function of: the
case (its reference, sampler and families by the code of their functions, the program builder), the
program, the settings and the source of the module that computes it with all it imports. A hit is
therefore what a fresh computation would give. Only results are kept, never an error (a column that
raised is computed again next time). `--no-cache` neither reads nor writes them.

Entries look like proof-cache entries (`cell`, `status`) with the result under `value` (JSON text, so key
order survives) and the time it was written under `t`; at most MAX_MEMO of them are kept, the oldest dropped
first.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Optional

from verify.verdict import Verdict

STATUS = "memo"
LAST_STATS: Dict[str, int] = {}   # the last flushed memo's hits and misses (a test hook)
MAX_MEMO = 4000
CHECK_MODULES = ("verify.checking",)


class Memo:
    """Reads the cache once; `flush()` writes what was computed, in one locked write."""

    def __init__(self, use_cache: bool = True):
        self.use_cache = use_cache
        self.entries: Dict[str, dict] = {}
        if use_cache:
            from verify.smt.report_columns import _load
            self.entries = _load()
        self.new: Dict[str, dict] = {}
        self.hits = self.misses = 0
        self._rendered: Dict[int, Any] = {}   # id(case) -> its rendering, made once for all of its keys

    def render(self, case):
        from verify.content_hash import rendered
        found = self._rendered.get(id(case))
        if found is None or found[0] is not case:
            found = self._rendered[id(case)] = (case, rendered(case))
        return found[1]

    def get(self, key: str, compute: Callable[[], Any], keep: Callable[[Any], bool] = lambda v: True) -> Any:
        """The value stored at key, else compute() (stored when keep(value))."""
        if not self.use_cache:
            return compute()
        entry = self.entries.get(key)
        if entry is not None and entry.get("status") == STATUS and isinstance(entry.get("value"), str):
            try:
                value = json.loads(entry["value"])
            except ValueError:
                value = None
            if value is not None:
                self.hits += 1
                return value
        self.misses += 1
        value = compute()
        if keep(value):   # as JSON text: the cache file is written with sorted keys, and key order is kept here
            self.new[key] = {"cell": key.split(":", 1)[0], "status": STATUS, "value": json.dumps(value),
                             "t": time.time()}
        return value

    def flush(self) -> int:
        LAST_STATS.clear()
        LAST_STATS.update(hits=self.hits, misses=self.misses)
        if not self.use_cache or not self.new:
            return 0
        from verify.smt.report_columns import write_entries
        stored = write_entries(self.new, prune=_prune)
        self.new = {}
        return stored


def _prune(data: Dict[str, dict]) -> None:
    """Keep the newest MAX_MEMO memo entries (proof entries are never dropped here)."""
    memo = [(entry.get("t", 0), key) for key, entry in data.items() if entry.get("status") == STATUS]
    if len(memo) > MAX_MEMO:
        for _, key in sorted(memo)[:len(memo) - MAX_MEMO]:
            del data[key]


def check_key(case, program, settings: Dict[str, Any]) -> str:
    """`case` may be the case itself or its `Memo.render` (the same key)."""
    from verify.content_hash import content_key
    from verify.crasp.interpreter import straight_line
    return "check:" + content_key(case, straight_line(program), settings, code=CHECK_MODULES)


def column_key(module: str, case) -> str:
    from verify.content_hash import content_key
    return "column:" + content_key(module, case, code=(module,))


def cached_check(memo: Memo, case, program, compute: Callable[[], Verdict], settings: Dict[str, Any]
                 ) -> Verdict:
    """The program's check against the case's reference, from the memo or computed now."""
    if not memo.use_cache:
        return compute()
    data = memo.get(check_key(memo.render(case), program, settings), lambda: compute().as_dict())
    return Verdict.from_dict(data)


def cached_columns(memo: Memo, provider: Callable[[Any], Dict[str, Any]], case) -> Dict[str, Any]:
    """A later stage's columns for a case, from the memo or computed now (an exception propagates)."""
    if not memo.use_cache:
        return dict(provider(case))
    return dict(memo.get(column_key(provider.__module__, memo.render(case)), lambda: dict(provider(case)),
                         keep=_no_error))


def _no_error(columns: Dict[str, Any]) -> bool:
    """A column that says it failed (a stage's own `error: ...` cell) is computed again next time."""
    return not any(isinstance(v, str) and v.startswith("error") for v in columns.values())


def memo_or_none(use_cache: Optional[bool]) -> Optional[Memo]:
    return Memo(use_cache=True) if use_cache else None
