"""One executable check per theorem or lemma. Every module here that defines CHECKS (a list of
zero-argument functions returning verify.verdict.TheoremReport) is run by `verify theorems`
and by tests/test_theorems.py."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, List, Tuple


def discover() -> List[Tuple[str, Callable]]:
    """(module name, check) for every check in the package, in module order."""
    import theorems
    found = []
    for info in sorted(pkgutil.iter_modules(theorems.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"theorems.{info.name}")
        for check in getattr(module, "CHECKS", ()):
            found.append((info.name, check))
    return found
