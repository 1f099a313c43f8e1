"""`verify check CASE|FILE`: a program against its task's reference; `--all` over the catalogue."""
from __future__ import annotations

from typing import Optional

import typer


from verify.commands._common import console, emit_json, fail, is_program_path, progress_bar


def _progress_check(case, program, out, quiet: bool, **kwargs):
    """check_case with a rich progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from verify.checking import DEFAULT_BUDGET, check_case, plan
    pl = plan(case, kwargs.get("max_len"), kwargs.get("samples"), kwargs.get("sample_max_len"),
              kwargs.get("budget") or DEFAULT_BUDGET)
    if quiet:
        return check_case(case, program, **kwargs)
    with progress_bar(TextColumn(f"checking {case.name}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), on=out) as bar:
        task = bar.add_task("check", total=pl.exhaustive_inputs + pl.samples)
        return check_case(case, program, progress=lambda k: bar.advance(task, k), **kwargs)


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        target: Optional[str] = typer.Argument(None, help="a catalogue case name, or a .crasp file with --case"),
        case_name: Optional[str] = typer.Option(None, "--case", help="the case whose reference a .crasp file is "
                                                                       "checked against"),
        all_cases: bool = typer.Option(False, "--all", help="check every catalogue program"),
        max_len: Optional[int] = typer.Option(None, "--max-len", help="exhaustive up to this length "
                                                                       "(default: the longest within --budget)"),
        samples: int = typer.Option(1000, help="sampled inputs after the exhaustive part: half from the task's "
                                    "sampler, half from adversarial families (runs, deep, near-miss, boundary)"),
        sample_max_len: Optional[int] = typer.Option(None, "--sample-max-len",
                                                     help="longest random input (default: twice the training length)"),
        budget: int = typer.Option(1 << 17, help="most inputs to enumerate exhaustively"),
        seed: int = typer.Option(0),
        offset: int = typer.Option(0, help="position offset for periodic predicates"),
        json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Check a program against the task's reference on every input up to a length, then on sampled inputs.
        Exit 0: holds on everything checked; 1: refuted (shortest counterexample, replayed); 3: unknown
        (nothing was checked)."""
        from rich.markup import escape

        from verify.catalogue import all_cases as catalogue, get_case
        from verify.commands._common import load_target
        from verify.problems import UserError
        from verify.trace import show_trace

        from verify.limits import MAX_OFFSET, require_range, require_seed
        require_seed("--seed", seed)
        require_range("--offset", offset, -MAX_OFFSET, MAX_OFFSET)
        require_range("--samples", samples, 0)
        require_range("--budget", budget, 0)
        if max_len is not None:
            require_range("--max-len", max_len, 0)
        if sample_max_len is not None:
            require_range("--sample-max-len", sample_max_len, 1)
        out = console()
        if all_cases:
            if target:
                raise UserError("give a case or --all, not both")
            jobs = [(c, c.build_program()) for c in catalogue() if c.program is not None]
        elif target is None:
            raise UserError("name a case (see `verify cases`), a .crasp file with --case, or --all")
        elif is_program_path(target):
            if case_name is None:
                raise UserError(f"{target}: say which task's reference to check against with --case NAME")
            _, program = load_target(target)
            jobs = [(get_case(case_name), program)]
        else:
            case, program = load_target(target)
            jobs = [(case, program)]
        results = []
        for case, program in jobs:
            verdict = _progress_check(case, program, out, quiet=json, max_len=max_len, samples=samples,
                                      sample_max_len=sample_max_len, budget=budget, seed=seed, offset=offset)
            results.append((case, program, verdict))
        refuted = [r for r in results if r[2].status == "refuted"]
        unknown = [r for r in results if r[2].status == "unknown"]
        if json:
            emit_json([{"case": c.name, **v.as_dict()} for c, _, v in results])
        else:
            for case, program, v in results:
                colour = {"holds": "green", "refuted": "red"}.get(v.status, "yellow")
                out.print(f"[{colour}]{v.status.upper()}[/] {case.name}: " + escape(f"{v.method}; {v.scope}")
                          + (escape(f" ({v.reason})") if v.reason else ""))
                if v.counterexample is not None:
                    cex = v.counterexample
                    out.print("  shortest counterexample found: " + escape(' '.join(cex.input) or '(empty)'))
                    out.print("  " + escape(cex.detail))
                    tokens = list(cex.input) if case.format == "language" else list(case.full_sequence(cex.input))
                    show_trace(program, tokens, out, offset)
            if len(results) > 1:
                held = len(results) - len(refuted) - len(unknown)
                out.print(f"{held} of {len(results)} programs hold"
                          + (f", {len(unknown)} unknown" if unknown else ""))
        if refuted:
            fail(1)
        if unknown:
            fail(3)
