"""`verify report`: the whole catalogue, predictions beside the paper's numbers."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json, fail


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        json: bool = typer.Option(False, "--json"),
        samples: int = typer.Option(500, help="random inputs per program check"),
        budget: int = typer.Option(1 << 15, help="exhaustive inputs per program check"),
        sample_max_len: Optional[int] = typer.Option(None, "--sample-max-len"),
        seed: int = typer.Option(0),
        no_extra: bool = typer.Option(False, "--no-extra", help="skip the columns added by later stages"),
        trained: Optional[str] = typer.Option(None, help="a results JSON from `bench/reproduce.py` to add"),
    ) -> None:
        """Every task: its program, fragment, checked verdicts with APE and NoPE, the paper's labels and accuracies."""
        from rich.progress import Progress

        from verify.catalogue import all_cases
        from verify.limits import (MAX_BUDGET, refuse_if_too_big, require_range, require_seed,
                                   worst_exhaustive_bytes)
        from verify.report import ReportSettings, build_rows, render
        # checked before the catalogue is run: a typo must not cost the whole report's time
        require_range("--budget", budget, 0, MAX_BUDGET, "exhaustive inputs are enumerated in memory")
        refuse_if_too_big("--budget", worst_exhaustive_bytes(budget), f"lower --budget (now {budget:,} inputs)",
                          what="enumerating every input within the budget")
        require_range("--samples", samples, 0)
        if sample_max_len is not None:
            require_range("--sample-max-len", sample_max_len, 1)
        require_seed("--seed", seed)
        if trained:
            from torch_bridge.results import read_trained_results
            read_trained_results(trained)
        settings = ReportSettings(budget=budget, samples=samples, sample_max_len=sample_max_len, seed=seed,
                                  extra_columns=not no_extra)
        out = console()
        with Progress(console=out, transient=True, disable=json) as bar:
            task = bar.add_task("report", total=len(all_cases()))
            rows = build_rows(settings, progress=lambda: bar.advance(task))
        if trained:
            from verify.trained import add_trained
            add_trained(rows, trained)
        if json:
            emit_json(rows)
        else:
            render(rows, out)
        if any(r["check"] and r["check"]["status"] == "refuted" for r in rows):
            fail(1)
