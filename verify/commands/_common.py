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


def emit_json(data: Any) -> None:
    """Write JSON to stdout (what --json prints)."""
    import json
    from verify.verdict import _plain
    json.dump(_plain(data), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def console():
    """A rich console; wide when writing to a file or pipe so tables do not fold."""
    import sys

    from rich.console import Console
    return Console() if sys.stdout.isatty() else Console(width=160)


def fail(code: int = 1) -> None:
    raise typer.Exit(code)
