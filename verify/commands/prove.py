"""`verify prove PROGRAM --spec ...`: a proof for every length (k-induction strengthened by
trace-inferred invariants, Z3), the invariant printed with it; otherwise unknown with what was
tried and the length checked, or a replayed counterexample."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json
from verify.smt.cli_support import WORK_HELP


def register(app: typer.Typer) -> None:
    @app.command("prove")
    def prove_cmd(
        program: str = typer.Argument(..., help="a catalogue case (its program) or a .crasp file"),
        spec: Optional[str] = typer.Option(None, "--spec", help="as for `verify refute`; default: the case's spec"),
        max_k: int = typer.Option(3, "--max-k", help="largest k for k-induction"),
        bound: int = typer.Option(16, "--bound", help="bounded check from the start (base case) up to this length"),
        mode: str = typer.Option("last", "--mode", help="acceptance: last or end"),
        offset: int = typer.Option(0, "--offset", help="position offset for periodic predicates"),
        timeout: float = typer.Option(60.0, "--timeout", help="wall-clock safety limit in seconds (then: unknown, "
                                      "saying so); each phase is budgeted by --work"),
        work: float = typer.Option(1.0, "--work", help=WORK_HELP),
        seed: int = typer.Option(0, "--seed", help="seed of the sampled traces"),
        json_out: bool = typer.Option(False, "--json"),
    ):
        """Exit 0: proved for all lengths; 1: refuted; 3: unknown (the bounded length reached is stated)."""
        from verify.commands.refute import build_miter
        from verify.smt.cli_support import check_mode, check_options, exit_code, render, status_line
        from verify.smt.cli_support import induction_settings
        from verify.smt.induction import prove
        check_options(timeout=timeout, offset=offset, max_k=max_k, bound=bound, seed=seed, work=work)
        miter = build_miter(program, spec, check_mode(mode), offset)
        settings = induction_settings(work, max_k=max_k, bound=bound, timeout_s=timeout, seed=seed)
        with status_line("proving", json_out) as say:
            v = prove(miter, settings, log=say)
        if spec is None and offset == 0:  # a case against its own spec: feed the report column
            from verify.commands._common import load_target
            from verify.smt.report_columns import record_case
            case, _ = load_target(program)
            if case is not None:
                record_case(case, v, mode)
        if json_out:
            emit_json(v.as_dict())
        else:
            render(v, console())
        raise SystemExit(exit_code(v))  # typer.Exit codes are lost by cli.main (see report)
