"""Content keys: a hash of what a result depends on, so a cached result is reused exactly when nothing it
rests on has changed (the report's proofs, checks and columns; verify/smt/report_columns.py).

`content_key(*parts, code=("verify.checking",))` hashes
- the parts, rendered run-independently (`canon`): sets sorted, dataclasses field by field, numpy arrays by
  their bytes, and every function by its module, qualified name, default arguments and closure values
  (never by its address, which changes from run to run);
- the source of every project module those functions live in, of the modules named in `code`, and of every
  project module they import, directly or inside a function (read from the source, so a lazy import counts:
  `module_closure`). Editing a case's file therefore changes the keys of the results that read it, and
  only those; editing the checker or the prover changes the keys of everything it computed.

Project modules are the files of the packages in PROJECT_PACKAGES beside this one; anything else (numpy,
z3, the standard library) is named, not hashed, with z3's version added where the caller asks for it.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("verify", "cases", "theorems")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_FROM_PAREN = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]*\(([^)]*)\)", re.M)
_FROM_LINE = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+([\w., \t]+)", re.M)
_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+([\w., \t]+)", re.M)


def is_project_module(name: Optional[str]) -> bool:
    return bool(name) and name.split(".")[0] in PROJECT_PACKAGES


@functools.lru_cache(maxsize=None)
def module_file(name: str) -> Optional[Path]:
    """The source file of a project module (a package's __init__.py), or None."""
    if not is_project_module(name):
        return None
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=None)
def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=None)
def _imports(name: str) -> FrozenSet[str]:
    """The project modules a module's source imports, anywhere in it (top level or inside a function);
    `from a.b import c` counts a.b and, where c is a module of its own, a.b.c."""
    path = module_file(name)
    if path is None:
        return frozenset()
    found: Set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    text = path.read_text(encoding="utf-8", errors="replace")
    for m in _IMPORT_LINE.finditer(text):
        found.update(n.split(" as ")[0].strip() for n in m.group(1).split(","))
    for m in [*_FROM_PAREN.finditer(text), *_FROM_LINE.finditer(text)]:
        source = m.group(1)
        if source.startswith("."):   # relative: from . import x / from .y import z
            dots = len(source) - len(source.lstrip("."))
            base = package.split(".")
            base = base[:len(base) - dots + 1] if dots > 1 else base
            source = ".".join(base + ([source.lstrip(".")] if source.lstrip(".") else []))
        found.add(source)
        for n in m.group(2).replace("\\", " ").split(","):
            n = re.sub(r"#.*", "", n).split(" as ")[0].strip()
            if n and n != "*":
                found.add(f"{source}.{n}")
    return frozenset(n for n in found if module_file(n) is not None)


@functools.lru_cache(maxsize=None)
def module_closure(name: str) -> FrozenSet[str]:
    """A project module and every project module it imports, transitively (each package's __init__ too)."""
    seen: Set[str] = set()
    todo = [name]
    while todo:
        m = todo.pop()
        if m in seen or module_file(m) is None:
            continue
        seen.add(m)
        parts = m.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))   # the packages it lives in
        todo.extend(_imports(m))
    return frozenset(seen)


def code_digest(modules: Iterable[str]) -> str:
    """One hash of the sources of these modules and everything they import."""
    files: Set[str] = set()
    for name in modules:
        files.update(module_closure(name))
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}={_file_digest(module_file(name))};".encode())
    return h.hexdigest()


# -------------------------------------------------------------------- run-independent renderings
def canon(x, modules: Optional[Set[str]] = None, _stack: Optional[Set[int]] = None):
    """A JSON-able rendering of x that is the same in every run; the project modules whose code it names
    are added to `modules` (to be hashed by `content_key`)."""
    if type(x) in _PLAIN:
        return repr(x)
    modules = modules if modules is not None else set()
    stack = _stack if _stack is not None else set()
    if x is None or isinstance(x, (bool, int, float, str)):
        return repr(x)
    if id(x) in stack:
        return ["cycle", type(x).__qualname__]
    stack.add(id(x))
    try:
        return _canon(x, modules, stack)
    finally:
        stack.discard(id(x))


def _named(obj, modules: Set[str]) -> List[str]:
    module = getattr(obj, "__module__", None) or ""
    if is_project_module(module):
        modules.add(module)
    return [module, getattr(obj, "__qualname__", getattr(obj, "__name__", type(obj).__name__))]


_PLAIN = frozenset({str, int, bool, float, type(None)})


def _canon(x, modules: Set[str], stack: Set[int]):
    def c(v):
        return repr(v) if type(v) in _PLAIN else canon(v, modules, stack)
    if isinstance(x, bytes):
        return ["bytes", hashlib.sha256(x).hexdigest()]
    if isinstance(x, type):
        return ["class", *_named(x, modules)]
    if dataclasses.is_dataclass(x):
        return [type(x).__name__] + [c(getattr(x, f.name)) for f in dataclasses.fields(x)]
    if isinstance(x, (set, frozenset)):
        return sorted((c(v) for v in x), key=repr)
    if isinstance(x, (list, tuple)):
        return [c(v) for v in x]
    if isinstance(x, dict):
        return sorted(([c(k), c(v)] for k, v in x.items()), key=repr)
    if type(x).__module__ == "numpy":
        try:
            import numpy as np
            a = np.asarray(x)
            if a.dtype != object:
                return ["array", str(a.dtype), list(a.shape), hashlib.sha256(a.tobytes()).hexdigest()]
        except Exception:   # pragma: no cover - not an array after all
            pass
    if isinstance(x, functools.partial):
        return ["partial", c(x.func), c(x.args), c(x.keywords)]
    if hasattr(x, "__self__") and hasattr(x, "__func__"):          # a bound method
        return ["method", c(x.__self__), c(x.__func__)]
    wrapped = getattr(x, "__wrapped__", None)
    if wrapped is not None and callable(x):                       # lru_cache, functools.wraps
        return ["wrapped", c(wrapped)]
    code = getattr(x, "__code__", None)
    if code is not None:                                          # a Python function or lambda
        cells = [cell.cell_contents for cell in (x.__closure__ or ()) if _has_contents(cell)]
        return ["function", *_named(x, modules), c(x.__defaults__), c(x.__kwdefaults__), c(cells)]
    if callable(x) and not hasattr(x, "__dict__"):               # a builtin
        return ["builtin", *_named(x, modules)]
    if hasattr(x, "__dict__") and is_project_module(type(x).__module__):
        return ["object", *_named(type(x), modules), c(vars(x))]
    return _ADDRESS.sub("", repr(x))


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Rendered:
    """A part rendered once (`rendered(x)`) and reused in several keys: its JSON text and the modules it names."""
    text: str
    modules: FrozenSet[str]


def rendered(x) -> Rendered:
    modules: Set[str] = set()
    return Rendered(json.dumps(canon(x, modules)), frozenset(modules))


def source_digest(modules: Iterable[str]) -> str:
    """One hash of the sources of exactly these modules (not what they import)."""
    h = hashlib.sha256()
    for name in sorted(set(modules)):
        path = module_file(name)
        h.update(f"{name}={_file_digest(path) if path is not None else 'missing'};".encode())
    return h.hexdigest()


def content_key(*parts, code: Tuple[str, ...] = (), sources: Tuple[str, ...] = (), extra: str = "") -> str:
    """A hex digest of the parts (`canon`, or a `Rendered` part as it was rendered), of the code they name
    plus the modules in `code` (each with everything it imports), and of the modules in `sources` alone."""
    modules: Set[str] = set(code)
    texts = []
    for p in parts:
        if isinstance(p, Rendered):
            modules.update(p.modules)
            texts.append(["rendered", p.text])
        else:
            texts.append(canon(p, modules))
    rendering = json.dumps(texts)
    h = hashlib.sha256(rendering.encode())
    h.update(code_digest(sorted(modules)).encode())
    if sources:
        h.update(source_digest(sources).encode())
    h.update(extra.encode())
    return h.hexdigest()[:32]


def closure_sizes(names: Iterable[str]) -> Dict[str, int]:
    """How many project modules each name's closure holds (for the tests and for tuning)."""
    return {n: len(module_closure(n)) for n in names}


__all__ = ["content_key", "canon", "code_digest", "source_digest", "module_closure", "closure_sizes",
           "is_project_module", "rendered", "Rendered"]
