"""`verify equiv A B`: are two programs equivalent (every output, every length)? `verify equiv A
--empty`: does A accept no word? Proof by induction, or the shortest distinguishing word."""
from __future__ import annotations

from typing import List, Optional

import typer

from verify.commands._common import console, emit_json, load_target
from verify.smt.cli_support import WORK_HELP


def register(app: typer.Typer) -> None:
    @app.command("equiv")
    def equiv_cmd(
        first: str = typer.Argument(..., help="a catalogue case (its program) or a .crasp file"),
        second: Optional[str] = typer.Argument(None, help="the program to compare with (omit with --empty)"),
        empty: bool = typer.Option(False, "--empty", help="instead: does FIRST accept no word?"),
        output: Optional[List[str]] = typer.Option(None, "--output", help="compare only these outputs "
                                                   "(e.g. accept, 'next a'); default: all, which must match"),
        mode: str = typer.Option("last", "--mode", help="acceptance: last or end"),
        offset: int = typer.Option(0, "--offset"),
        timeout: float = typer.Option(60.0, "--timeout", help="wall-clock safety limit in seconds (then: unknown, "
                                      "saying so); each phase is budgeted by --work"),
        work: float = typer.Option(1.0, "--work", help=WORK_HELP),
        json_out: bool = typer.Option(False, "--json"),
    ):
        """Exit 0: equivalent (or empty) for all lengths; 1: a distinguishing (or accepted) word; 3: unknown."""
        from verify.api import equiv
        from verify.smt.cli_support import exit_code, render, status_line
        a = load_target(first)[1]
        b = load_target(second)[1] if second is not None else None
        with status_line("deciding", json_out) as say:
            v = equiv(a, b, empty=empty, outputs=output, mode=mode, offset=offset, timeout=timeout, work=work,
                      log=say)
        if json_out:
            emit_json(v.as_dict())
        else:
            render(v, console())
        raise SystemExit(exit_code(v))  # typer.Exit codes are lost by cli.main (see report)
