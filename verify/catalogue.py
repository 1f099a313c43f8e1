"""The catalogue: the package's own tasks (every module of the `cases` package that defines CASES)
plus the user's tasks, added without editing the package.

User tasks come from, in this order:
- the entry-point group `lengthgen_verify.cases` of installed distributions (each entry point names a
  module with CASES, a list of Case records, or a zero-argument function returning one);
- the environment variable LENGTHGEN_VERIFY_CASES: paths separated by os.pathsep (':' on Linux);
- `add_cases_from(path)` (what a `--cases PATH` option calls).
A path is a Python file defining CASES, or a folder whose *.py files (names not starting with `_`,
which are helpers the files may import) each define CASES. Every user case is validated when loaded
(a located error names the file and what is wrong), and a name used twice is an error naming both files.

The package catalogue is imported by its location beside `verify`, not by whatever `cases` comes first
on sys.path: a `cases/` folder in the working directory must not silently replace it.
"""
from __future__ import annotations

import csv
import difflib
import hashlib
import importlib
import importlib.util
import os
import pkgutil
import re
import sys
import traceback
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Dict, Iterable, Iterator, List, Tuple, Union

from verify.case import FORMATS, LANGUAGE, SEQUENCE, Case
from verify.problems import UserError

DATA = Path(__file__).parent / "data"
CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "cases"   # installed beside verify (pyproject)
CASES_ENV = "LENGTHGEN_VERIFY_CASES"
ENTRY_POINT_GROUP = "lengthgen_verify.cases"
USER_MODULE_PREFIX = "lengthgen_verify_user_cases"
# a case name is typed on the command line: no spaces, no path separators, no ':' (module:function)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_+\-]*$")

Sourced = Tuple[Case, str]          # a case and where it was defined (a file, or an entry point)


# ----------------------------------------------------------------- the package's catalogue
def _is_catalogue(module: ModuleType) -> bool:
    files = [getattr(module, "__file__", None)] + list(getattr(module, "__path__", []))
    return any(f and Path(f).resolve() in (CATALOGUE_DIR, CATALOGUE_DIR / "__init__.py") for f in files)


@contextmanager
def _catalogue_package() -> Iterator[ModuleType]:
    """The `cases` package that ships with verify. When another `cases` shadows it (a folder of that name
    in the working directory, or imported by the user's program), ours is loaded from its file for the
    duration and the other one put back afterwards: the catalogue's modules import `cases._common` at
    their top, so they only need the name while they load."""
    current = sys.modules.get("cases")
    if current is not None and _is_catalogue(current):
        yield current
        return
    if current is None:
        spec = importlib.util.find_spec("cases")          # finds, does not run, a top-level package
        if spec is not None and spec.origin and Path(spec.origin).resolve() == CATALOGUE_DIR / "__init__.py":
            yield importlib.import_module("cases")
            return
    saved = {k: v for k, v in sys.modules.items() if k == "cases" or k.startswith("cases.")}
    for k in saved:
        del sys.modules[k]
    init = CATALOGUE_DIR / "__init__.py"
    if not init.is_file():
        raise UserError(f"the task catalogue is missing: no {init}; the installation of lengthgen-verify is "
                        "incomplete — reinstall it (pip install --force-reinstall lengthgen-verify)")
    spec = importlib.util.spec_from_file_location("cases", init, submodule_search_locations=[str(CATALOGUE_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["cases"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        if saved:   # put the user's own `cases` back; ours stays loaded only where nothing else had the name
            for k in [k for k in sys.modules if k == "cases" or k.startswith("cases.")]:
                del sys.modules[k]
            sys.modules.update(saved)


@lru_cache(maxsize=1)
def _load() -> Tuple[Sourced, ...]:
    found: List[Sourced] = []
    seen: Dict[str, str] = {}
    with _catalogue_package() as package:
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"cases.{info.name}")
            for case in getattr(module, "CASES", ()):
                if case.name in seen:
                    raise RuntimeError(f"case {case.name!r} is defined in both cases/{seen[case.name]}.py "
                                       f"and cases/{info.name}.py")
                seen[case.name] = info.name
                found.append((case, f"cases/{info.name}.py"))
    if not found:
        raise UserError(f"the task catalogue in {CATALOGUE_DIR} has no cases (no module there defines CASES): the "
                        "installation of lengthgen-verify is incomplete — reinstall it")
    return tuple(found)


# ----------------------------------------------------------------- the user's cases
_loaded_files: Dict[Path, Tuple[Tuple[int, int], Tuple[Sourced, ...]]] = {}   # file -> (mtime, size), its cases
_added: List[Path] = []                               # paths given to add_cases_from, in order


def _case_files(path: Path, where: str) -> List[Path]:
    if not path.exists():
        raise UserError(f"{where}{path}: no such file or folder (give a Python file defining CASES, or a folder "
                        "of such files)")
    if path.is_dir():
        files = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
        if not files:
            raise UserError(f"{where}{path}: the folder has no case files (*.py files not starting with _, "
                            "each defining CASES)")
        return files
    if path.suffix != ".py":
        raise UserError(f"{where}{path}: a case file is a Python file (.py) defining CASES, a list of "
                        "verify.case.Case records")
    return [path]


def _exec_user_file(path: Path) -> ModuleType:
    """Run a case file as a module (its folder on sys.path while it runs, so it may import helpers beside it)."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"{USER_MODULE_PREFIX}.{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:   # pragma: no cover - a .py path always has a loader
        raise UserError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        sys.modules.pop(name, None)
        raise UserError(f"{path}:{err.lineno or 1}:{err.offset or 1}: syntax error in the case file: {err.msg}") \
            from None
    except UserError as err:
        sys.modules.pop(name, None)
        raise UserError(f"{path}: while loading the case file: {err.message}", err.problems, err.source_text) \
            from None
    except (Exception, SystemExit) as err:   # sys.exit() in a case file is a mistake in it, never a verdict
        sys.modules.pop(name, None)
        line = _line_in(err, path)
        what = (f"called sys.exit({err.code!r}) while it was loaded (a case file is executed to define CASES, "
                "like a conftest.py; it must not exit)" if isinstance(err, SystemExit)
                else f"raised {type(err).__name__}: {err}")
        raise UserError(f"{path}{f':{line}' if line else ''}: the case file {what}") from None
    finally:
        try:
            sys.path.remove(str(path.parent))
        except ValueError:   # pragma: no cover - the file removed it itself
            pass
    return module


def _line_in(err: BaseException, path: Path):
    """The deepest line of `path` in the error's traceback (where in the user's file it went wrong)."""
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename and Path(frame.filename).resolve() == path:
            line = frame.lineno
    return line


def validate_case(case: object, where: str) -> List[str]:
    """What is wrong with a user case (empty: nothing). `where` prefixes every message."""
    if not isinstance(case, Case):
        return [f"{where}: is a {type(case).__name__}, not a verify.case.Case record"]
    label = f"{where}: case {case.name!r}"
    problems = []
    if not isinstance(case.name, str) or not NAME_PATTERN.match(case.name):
        problems.append(f"{label}: the name must be letters, digits, _, - or + (it is typed on the command line)")
    if case.format not in FORMATS:
        problems.append(f"{label}: format must be {LANGUAGE!r} or {SEQUENCE!r}, not {case.format!r}")
    alphabet = case.alphabet
    if not isinstance(alphabet, tuple) or not alphabet or not all(isinstance(s, str) and s for s in alphabet):
        problems.append(f"{label}: alphabet must be a non-empty tuple of non-empty strings, not {alphabet!r}")
    elif len(set(alphabet)) != len(alphabet):
        problems.append(f"{label}: alphabet repeats a symbol: {alphabet!r}")
    if case.format == LANGUAGE and not callable(case.labels):
        problems.append(f"{label}: a language case needs labels (ids (batch, n) -> prefix membership (batch, n)); "
                        "an Automaton's .labels will do")
    if case.format == SEQUENCE:
        if not callable(case.answer):
            problems.append(f"{label}: a sequence case needs answer (input tokens -> answer tokens)")
        if not case.input_alphabet or not set(case.input_alphabet) <= set(alphabet or ()):
            problems.append(f"{label}: a sequence case needs input_alphabet, a non-empty part of its alphabet")
        if case.sampler is None:
            problems.append(f"{label}: a sequence case needs sampler ((rng, batch, n) -> a list of `batch` input "
                            "token tuples of length n): `verify check` samples inputs longer than it enumerates")
    for field_name in ("sampler", "valid_input"):
        value = getattr(case, field_name)
        if value is not None and not callable(value):
            problems.append(f"{label}: {field_name} must be a function, not {type(value).__name__}")
    if case.spec is not None:
        from verify.spec import Automaton, CounterSpec
        if not isinstance(case.spec, (Automaton, CounterSpec)):
            problems.append(f"{label}: spec must be a verify.spec.Automaton or CounterSpec, not "
                            f"{type(case.spec).__name__}")
    if case.program is None:
        if not case.no_program_reason:
            problems.append(f"{label}: give a program, or no_program_reason saying why none exists")
    elif not callable(case.program):
        problems.append(f"{label}: program must be a zero-argument function returning the Program "
                        f"(e.g. lambda: parse_program(...)), not {type(case.program).__name__}")
    else:
        problems += _program_problems(case, label)
    return problems


def _program_problems(case: Case, label: str) -> List[str]:
    from verify.crasp import ast as A
    from verify.crasp.checks import check_program
    try:
        program = case.build_program()
    except UserError as err:
        return [f"{label}: its program: {err.render()}"]
    except Exception as err:
        return [f"{label}: building its program raised {type(err).__name__}: {err}"]
    if not isinstance(program, A.Program):
        return [f"{label}: program() returned a {type(program).__name__}, not a verify.crasp.ast.Program"]
    problems = check_program(program)
    if problems:
        return [f"{label}: its program: " + "; ".join(p.render() for p in problems)]
    missing = [s for s in program.alphabet if s not in case.alphabet]
    if missing:
        return [f"{label}: its program's alphabet has {missing!r}, which the case's alphabet lacks"]
    return []


def _cases_of(module_or_value: object, where: str) -> List[object]:
    value = getattr(module_or_value, "CASES", None) if isinstance(module_or_value, ModuleType) else module_or_value
    if value is None:
        raise UserError(f"{where}: defines no CASES (a list of verify.case.Case records)")
    if isinstance(value, Case) or not isinstance(value, (list, tuple)):
        raise UserError(f"{where}: CASES must be a list of verify.case.Case records, not {type(value).__name__}")
    if not value:
        raise UserError(f"{where}: CASES is empty; a case file adds at least one case")
    return list(value)


def _validated(items: List[object], where: str) -> Tuple[Sourced, ...]:
    problems = []
    for i, case in enumerate(items):
        problems += validate_case(case, f"{where}: CASES[{i}]")
    if problems:
        raise UserError(f"{where}: {len(problems)} problem(s) in its cases:\n  " + "\n  ".join(problems))
    return tuple((case, where) for case in items)


def _load_file(path: Path) -> Tuple[Sourced, ...]:
    """A case file's validated cases; run again only when the file changed (an edit in a running session)."""
    stat = path.stat()
    signature = (stat.st_mtime_ns, stat.st_size)
    memo = _loaded_files.get(path)
    if memo is None or memo[0] != signature:
        memo = (signature, _validated(_cases_of(_exec_user_file(path), str(path)), str(path)))
        _loaded_files[path] = memo
    return memo[1]


def _cases_at(path: Path, where: str = "") -> Tuple[Sourced, ...]:
    out: List[Sourced] = []
    for f in _case_files(path, where):
        out += _load_file(f.resolve())
    return tuple(out)


def _entry_points():
    from importlib.metadata import entry_points
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


@lru_cache(maxsize=1)
def _entry_point_cases() -> Tuple[Sourced, ...]:
    out: List[Sourced] = []
    for ep in sorted(_entry_points(), key=lambda e: e.name):
        where = f"entry point {ep.name} = {ep.value} (group {ENTRY_POINT_GROUP})"
        try:
            value = ep.load()
            if callable(value) and not isinstance(value, ModuleType):
                value = value()
        except UserError as err:
            raise UserError(f"{where}: {err.message}", err.problems, err.source_text) from None
        except Exception as err:
            raise UserError(f"{where}: loading it raised {type(err).__name__}: {err}") from None
        out += _validated(_cases_of(value, where), where)
    return tuple(out)


def _env_paths() -> List[Path]:
    return [Path(p).expanduser() for p in os.environ.get(CASES_ENV, "").split(os.pathsep) if p.strip()]


def _check_names(sourced: Iterable[Sourced]) -> None:
    seen: Dict[str, str] = {}
    for case, where in sourced:
        if case.name in seen:
            raise UserError(f"case {case.name!r} is defined in both {seen[case.name]} and {where}: rename the "
                            "user's case (names are unique across the catalogue and every added case file)")
        seen[case.name] = where


def _sourced() -> Tuple[Sourced, ...]:
    out = list(_load()) + list(_entry_point_cases())
    paths: List[Tuple[Path, str]] = [(p, f"{CASES_ENV}: ") for p in _env_paths()] + [(p, "") for p in _added]
    done = set()
    for path, where in paths:
        key = path.resolve()
        if key not in done:
            done.add(key)
            out += _cases_at(path, where)
    _check_names(out)
    return tuple(out)


def add_cases_from(path: Union[str, os.PathLike], where: str = "") -> Tuple[Case, ...]:
    """Add the cases of a Python file (defining CASES) or of a folder of such files to the catalogue of
    this process; returns them. Idempotent (a path already added adds nothing twice); every case is
    validated first and nothing is added when any is wrong (UserError naming the file and the problem).
    `where` prefixes the message about a path that is missing or not a case file (e.g. "--cases ").

    >>> add_cases_from("no/such/file.py")
    Traceback (most recent call last):
    ...
    verify.problems.UserError: no/such/file.py: no such file or folder (give a Python file defining CASES, or a folder of such files)
    """
    p = Path(path).expanduser()
    added = _cases_at(p, where)
    if p.resolve() not in [q.resolve() for q in _added]:
        _added.append(p)
        try:
            _sourced()               # a name clash with anything already there: nothing is added
        except UserError:
            _added.remove(p)
            raise
    return tuple(case for case, _ in added)


def forget_cases_from(path: Union[str, os.PathLike]) -> None:
    """Undo one add_cases_from (no-op when that path was not added)."""
    target = Path(path).expanduser().resolve()
    _added[:] = [q for q in _added if q.resolve() != target]


def forget_added_cases() -> None:
    """Undo every add_cases_from of this process (the environment variable and entry points still apply)."""
    _added.clear()


def case_origin(name: str) -> str:
    """Where a case is defined: `cases/<module>.py` for the package's, else the user's file or entry point."""
    for case, where in _sourced():
        if case.name == name:
            return where
    get_case(name)  # raises the unknown-case error with suggestions
    return ""       # pragma: no cover


def all_cases() -> Tuple[Case, ...]:
    return tuple(case for case, _ in _sourced())


def get_case(name: str) -> Case:
    by_name = {c.name: c for c in all_cases()}
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
