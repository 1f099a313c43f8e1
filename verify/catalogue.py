"""Discovers the catalogue: every module of the `cases` package that defines CASES."""
from __future__ import annotations

import csv
import difflib
import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Tuple

from verify.case import Case
from verify.problems import UserError

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def _load() -> Tuple[Case, ...]:
    import cases
    found: List[Case] = []
    seen: Dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(cases.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"cases.{info.name}")
        for case in getattr(module, "CASES", ()):
            if case.name in seen:
                raise RuntimeError(f"case {case.name!r} is defined in both cases/{seen[case.name]}.py "
                                   f"and cases/{info.name}.py")
            seen[case.name] = info.name
            found.append(case)
    return tuple(found)


def all_cases() -> Tuple[Case, ...]:
    return _load()


def get_case(name: str) -> Case:
    by_name = {c.name: c for c in _load()}
    if name in by_name:
        return by_name[name]
    near = difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else "; `verify cases` lists them"
    raise UserError(f"unknown case {name!r}{hint}")


@lru_cache(maxsize=1)
def paper_results() -> Dict[Tuple[str, str], Dict[str, str]]:
    """(task, encoding) -> row of the paper's table (accuracies in %, program_found yes/no)."""
    with open(DATA / "paper_results.csv", newline="") as f:
        return {(row["task"], row["encoding"]): row for row in csv.DictReader(f)}
