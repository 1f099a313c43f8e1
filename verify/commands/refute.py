"""`verify refute PROGRAM --spec CASE|FILE`: the shortest word on which a claimed program and a
specification disagree (bounded model checking with Z3), replayed before it is printed."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json, load_target
from verify.smt.cli_support import WORK_HELP

INVARIANTS_FROM = 8   # measured (bench/bench_smt.py, section 4): past this length the proved invariant pays


def register(app: typer.Typer) -> None:
    @app.command("refute")
    def refute_cmd(
        program: str = typer.Argument(..., help="a catalogue case (its program) or a .crasp file"),
        spec: Optional[str] = typer.Option(None, "--spec", help="a case name (its spec), a .json transition "
                                           "table or counter spec, a .re file, regex:PATTERN, or a .crasp program; "
                                           "default: the case's own spec"),
        max_len: int = typer.Option(40, "--max-len", help="check every word of length 1..L"),
        mode: str = typer.Option("last", "--mode", help="acceptance: last (read at the last position) or end "
                                 "(at an appended end marker)"),
        offset: int = typer.Option(0, "--offset", help="position offset for periodic predicates"),
        timeout: float = typer.Option(60.0, "--timeout", help="wall-clock safety limit in seconds (then: unknown, "
                                      "saying so); the search itself is budgeted by --work"),
        work: float = typer.Option(1.0, "--work", help=WORK_HELP),
        invariants: Optional[bool] = typer.Option(None, "--invariants/--no-invariants",
                                                  help="first infer and prove an invariant (Houdini) and assert it "
                                                  "at every position: sound, and much faster past length ~12; "
                                                  f"default: on when --max-len > {INVARIANTS_FROM}"),
        json_out: bool = typer.Option(False, "--json"),
    ):
        """Search lengths 1, 2, ... for a word where the program's accept and the spec disagree.
        Exit 0: none up to L; 1: refuted (counterexample printed); 3: unknown (a limit ran out; which one is said)."""
        import time

        from verify.smt.cli_support import (REFUTE_WORK, check_mode, check_options, exit_code, induction_settings,
                                            render, scaled, status_line)
        from verify.smt.refute import refute
        check_options(timeout=timeout, offset=offset, max_len=max_len, work=work)
        miter = build_miter(program, spec, check_mode(mode), offset)
        started = time.monotonic()
        with status_line("bounded model checking", json_out) as say:
            inv = ()
            if invariants or (invariants is None and max_len > INVARIANTS_FROM):
                from verify.smt.induction import infer_invariant
                say("inferring an invariant")
                inv = infer_invariant(miter, induction_settings(work, timeout_s=timeout))
            left = max(0.001, timeout - (time.monotonic() - started))
            v = refute(miter, max_len, timeout_s=left, on_length=lambda n: say(f"length {n} agrees"),
                       invariant=inv, work=scaled(work, REFUTE_WORK))
        if json_out:
            emit_json(v.as_dict())
        else:
            render(v, console())
        raise SystemExit(exit_code(v))  # typer.Exit codes are lost by cli.main (see report)


def build_miter(program: str, spec: Optional[str], mode: str, offset: int):
    """The program against --spec (or the case's own spec)."""
    from verify.problems import UserError
    from verify.smt.miter import Miter
    from verify.smt.specs import load_spec
    case, prog = load_target(program)
    if spec is None:
        if case is None or case.spec is None:
            raise UserError("give --spec CASE|FILE: " + ("a .crasp file has no specification of its own"
                                                         if case is None else
                                                         f"case {case.name!r} has no machine-readable spec"))
        obj, title = case.spec, f"case {case.name}"
    else:
        obj, title = load_spec(spec, prog.alphabet)
    return Miter(prog, obj, mode, offset, spec_title=title)
