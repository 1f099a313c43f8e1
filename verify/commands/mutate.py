"""`verify mutate PROGRAM`: mutants of a program (flip a comparison, shift a constant, swap a
symbol, drop a conjunct, change a guard distance or a residue), each refuted with a replayed word
or proved equivalent; any left undecided is listed and makes the command fail."""
from __future__ import annotations

from collections import Counter

import typer

from verify.commands._common import console, emit_json, load_target, progress_bar
from verify.smt.cli_support import WORK_HELP


def register(app: typer.Typer) -> None:
    @app.command("mutate")
    def mutate_cmd(
        program: str = typer.Argument(..., help="a catalogue case (its program) or a .crasp file"),
        mode: str = typer.Option("last", "--mode", help="acceptance: last or end"),
        timeout: float = typer.Option(30.0, "--timeout", help="wall-clock safety limit per mutant in seconds; "
                                      "each mutant's proof is budgeted by --work"),
        work: float = typer.Option(0.25, "--work", help=WORK_HELP + " (default: a quarter of `prove`'s, per mutant)"),
        json_out: bool = typer.Option(False, "--json"),
    ):
        """Exit 0: every mutant refuted or proved equivalent; 3: some undecided."""
        from verify.smt.cli_support import EXIT_UNKNOWN, check_mode, check_options
        from verify.smt.cli_support import induction_settings
        from verify.smt.mutate import judge, mutants
        check_mode(mode)
        check_options(timeout=timeout, work=work)
        _, prog = load_target(program)
        todo = mutants(prog)
        settings = induction_settings(work, timeout_s=timeout, minimize_s=0)
        results = []
        with progress_bar(quiet=json_out) as bar:
            task = bar.add_task("mutants", total=len(todo))
            for m in todo:
                results.append((m, judge(prog, m, mode, settings)))
                bar.advance(task)
        counts = Counter(v.status for _, v in results)
        if json_out:
            emit_json({"program": program, "mutants": len(results), "counts": dict(counts),
                       "results": [{"kind": m.kind, "op": m.op_index, "mutation": m.description,
                                    **v.as_dict()} for m, v in results]})
        else:
            from rich.table import Table
            t = Table(title=f"{len(results)} mutants of {program}")
            for col in ("mutation", "verdict", "evidence"):
                t.add_column(col)
            for m, v in results:
                if v.status == "refuted":
                    ev = "differs on " + " ".join(v.counterexample.input)
                elif v.status == "holds":
                    ev = "equivalent for every length (induction)"
                else:
                    ev = v.reason
                t.add_row(f"{m.kind}: {m.description}", v.status, ev)
            c = console()
            c.print(t)
            c.print(f"killed (refuted): {counts.get('refuted', 0)}, proved equivalent: {counts.get('holds', 0)}, "
                    f"undecided: {counts.get('unknown', 0)}")
        raise SystemExit(EXIT_UNKNOWN if counts.get("unknown") else 0)
