"""Three-valued verdicts: holds / refuted (with a counterexample that re-runs) / unknown (with why).

Every verdict says what was checked: `method` (exhaustive, sampled, Z3 induction, lemma, ...)
and `scope` (up to which length, which alphabet, which N)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

HOLDS, REFUTED, UNKNOWN = "holds", "refuted", "unknown"
VERDICTS = (HOLDS, REFUTED, UNKNOWN)
# of every `--json` document (verify/commands/_common.py json_document; docs/schemas/): it changes when a key is
# renamed or removed
SCHEMA_VERSION = 1


class JsonFields:
    """For a result with as_dict() (its command's --json): every top-level JSON key is also an attribute, so
    the Python API's field names are the JSON's (`r.float64_limit == r.as_dict()["float64_limit"]`). A key
    that is not a field of its own is read from as_dict() when asked for."""

    def __getattr__(self, name: str):
        if not name.startswith("_"):
            data = type(self).as_dict(self)
            if name in data:
                return data[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


@dataclass(frozen=True)
class Counterexample:
    """A concrete input on which a claim fails; `replay()`-able by whoever produced it."""

    input: tuple                 # tokens
    position: Optional[int]      # 1-based position where it fails (None: the whole input)
    expected: Any
    got: Any
    detail: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return {"input": list(self.input), "position": self.position,
                "expected": _plain(self.expected), "got": _plain(self.got), "detail": self.detail}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Counterexample":
        """The inverse of as_dict (values as JSON gave them: lists for tuples)."""
        return cls(tuple(data["input"]), data.get("position"), data.get("expected"), data.get("got"),
                   data.get("detail", ""))


@dataclass(frozen=True)
class Verdict:
    status: str                  # HOLDS / REFUTED / UNKNOWN
    claim: str                   # what was claimed, in words
    method: str                  # how it was checked
    scope: str                   # what exactly was covered ("all inputs of length <= 16 over {0,1}")
    counterexample: Optional[Counterexample] = None
    reason: str = ""             # for UNKNOWN: why; otherwise optional detail
    evidence: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        assert self.status in VERDICTS, self.status
        assert self.status != REFUTED or self.counterexample is not None, "refuted needs a counterexample"
        assert self.status != UNKNOWN or self.reason, "unknown needs a reason"

    @property
    def ok(self) -> bool:
        return self.status == HOLDS

    def summary(self) -> str:
        text = f"{self.status.upper()}: {self.claim} — {self.method}; {self.scope}"
        if self.reason:
            text += f" ({self.reason})"
        return text

    def as_dict(self) -> Dict[str, Any]:
        return {"status": self.status, "claim": self.claim, "method": self.method, "scope": self.scope,
                "counterexample": self.counterexample.as_dict() if self.counterexample else None,
                "reason": self.reason, "evidence": {k: _plain(v) for k, v in self.evidence.items()}}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Verdict":
        """The inverse of as_dict: `Verdict.from_dict(v.as_dict()).as_dict() == v.as_dict()` (a cached
        verdict, verify/report_memo.py)."""
        ce = data.get("counterexample")
        return cls(data["status"], data["claim"], data["method"], data["scope"],
                   Counterexample.from_dict(ce) if ce else None, data.get("reason", ""),
                   dict(data.get("evidence") or {}))


@dataclass(frozen=True)
class TheoremReport:
    """The result of one check in theorems/: a name from the paper and one verdict per item."""

    theorem: str                 # e.g. "Theorem 9"
    title: str
    verdicts: List[Verdict]

    @property
    def status(self) -> str:
        statuses = {v.status for v in self.verdicts}
        if REFUTED in statuses:
            return REFUTED
        if UNKNOWN in statuses or not statuses:
            return UNKNOWN
        return HOLDS

    def as_dict(self) -> Dict[str, Any]:
        return {"theorem": self.theorem, "title": self.title, "status": self.status,
                "verdicts": [v.as_dict() for v in self.verdicts]}


def _plain(x: Any) -> Any:
    """JSON-friendly copies of numpy scalars, tuples and sets."""
    try:
        import numpy as np
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(x, (tuple, list, set, frozenset)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    return x
