"""Helpers shared by the subcommands: loading a case or a program file, JSON output."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Tuple

import typer

if TYPE_CHECKING:  # imported lazily: `verify --help` loads every command module, and these load numpy
    from verify.case import Case
    from verify.crasp import ast as A


def is_program_path(arg: str) -> bool:
    return arg.endswith(".crasp") or os.sep in arg or Path(arg).is_file()


def load_target(arg: str) -> Tuple[Optional[Case], A.Program]:
    """A catalogue case name, or a path to a .crasp file -> (case or None, program)."""
    if is_program_path(arg):
        from verify.crasp.parser import load_program
        return None, load_program(arg)
    from verify.catalogue import get_case
    case = get_case(arg)
    program = case.build_program()
    if program is None:
        from verify.problems import UserError
        raise UserError(f"case {case.name!r} has no C-RASP program: {case.no_program_reason}", exit_code=2)
    return case, program


def json_document(data: Any, command: str) -> dict:
    """The --json document of `command` for its answer `data`: one JSON object whose first keys are
    `schema_version` (verify.verdict.SCHEMA_VERSION; it changes when a key is renamed or removed) and `command`
    (the command's name); an answer that is a list (cases, check, theorems, classify of a .txt file) goes under
    `results`. Each command's document is described by docs/schemas/COMMAND.schema.json (JSON Schema 2020-12;
    tests/test_json_schemas.py checks every command's output against it)."""
    from verify.verdict import SCHEMA_VERSION
    body = data if isinstance(data, dict) else {"results": data}
    return {"schema_version": SCHEMA_VERSION, "command": command,
            **{k: v for k, v in body.items() if k not in ("schema_version", "command")}}


def _command_name() -> str:
    """The running command's name (click's context), e.g. "comm-complexity"."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:   # a typer that uses click itself
        from click import get_current_context
    ctx = get_current_context(silent=True)
    if ctx is None or not ctx.info_name:
        raise RuntimeError("emit_json outside a command: pass command=")
    return ctx.info_name


def emit_json(data: Any, command: Optional[str] = None) -> None:
    """Write the --json document of the running command (json_document) to stdout."""
    import json
    from verify.verdict import _plain
    json.dump(_plain(json_document(data, command or _command_name())), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def progress_bar(*columns, on=None, quiet: bool = False):
    """A transient rich progress bar on the console `on` (default: stdout's), drawn only on a terminal: piped
    or redirected output gets no bar, and so no empty line where a bar was (quiet: no bar at all)."""
    from rich.console import Console
    from rich.progress import Progress
    target = on if on is not None else Console()
    return Progress(*columns, console=target, transient=True, disable=quiet or not target.is_terminal)


def console():
    """A rich console; wide when writing to a file or pipe so tables do not fold."""
    import sys

    from rich.console import Console
    return Console() if sys.stdout.isatty() else Console(width=160)


def fail(code: int = 1) -> None:
    raise typer.Exit(code)
