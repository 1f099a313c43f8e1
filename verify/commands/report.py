"""`verify report`: the whole catalogue, predictions beside the paper's numbers."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json, fail, progress_bar


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        json: bool = typer.Option(False, "--json", help="print the report as JSON (snake_case keys; schema: "
                                  "docs/schemas/report.schema.json)"),
        wide: bool = typer.Option(False, "--wide", help="every column, with the paper's accuracies (about 160 "
                                  "columns); the default fits a 100-column terminal"),
        html: Optional[str] = typer.Option(None, "--html", help="also write one self-contained HTML page (tables "
                                           "and per-task accuracy figures, images embedded) to this file"),
        samples: int = typer.Option(500, help="random inputs per program check"),
        budget: int = typer.Option(1 << 15, help="exhaustive inputs per program check"),
        sample_max_len: Optional[int] = typer.Option(None, "--sample-max-len"),
        seed: int = typer.Option(0),
        no_extra: bool = typer.Option(False, "--no-extra", help="skip the columns added by later stages"),
        trained: Optional[str] = typer.Option(None, help="a results JSON from `bench/reproduce.py` to add"),
        prove: bool = typer.Option(True, "--prove/--no-prove", help="prove every ✓ for all lengths (the default: "
                                   "Z3 k-induction with fixed solver work per proof, in parallel over the cores, "
                                   "cached by content so a warm run proves only what changed); --no-prove leaves "
                                   "the ✓ verdicts checked up to a length. --prove is kept for scripts (a no-op)"),
        no_cache: bool = typer.Option(False, "--no-cache", help="neither read nor write the cache of proofs, checks "
                                      "and columns (~/.cache/lengthgen-verify/smt.json)"),
        no_certificates: bool = typer.Option(False, "--no-certificates", help="search every proof the cache does "
                                             "not hold from scratch instead of re-checking the shipped proof "
                                             "certificates (minutes: shows the prover still finds each proof)"),
    ) -> None:
        """Every task: its program, fragment, verdicts with APE and NoPE (proved for all lengths, certified, checked
        up to a length with why no proof closed, or undecided with why), the paper's labels and accuracies."""

        from verify.catalogue import all_cases
        from verify.limits import (MAX_BUDGET, refuse_if_too_big, require_range, require_seed,
                                   worst_exhaustive_bytes)
        from verify.report import ReportSettings, build_rows, render, validate
        # checked before the catalogue is run: a typo must not cost the whole report's time
        require_range("--budget", budget, 0, MAX_BUDGET, "exhaustive inputs are enumerated in memory")
        refuse_if_too_big("--budget", worst_exhaustive_bytes(budget), f"lower --budget (now {budget:,} inputs)",
                          what="enumerating every input within the budget")
        require_range("--samples", samples, 0)
        if sample_max_len is not None:
            require_range("--sample-max-len", sample_max_len, 1)
        require_seed("--seed", seed)
        if html is not None:
            from verify.outputs import check_file_target
            check_file_target(html, "--html", suffixes=(".html", ".htm"))
        if trained:
            from verify.trained import read_results
            read_results(trained)   # checked before the catalogue is run
        settings = ReportSettings(budget=budget, samples=samples, sample_max_len=sample_max_len, seed=seed,
                                  extra_columns=not no_extra, use_cache=not no_cache)
        validate(settings)   # what a check would refuse is refused before the proofs run
        out = console()
        if not no_extra:  # the z3 column: a function of the flags, never of an earlier run's cache
            from verify.smt.report_columns import prepare
            with progress_bar(on=out, quiet=json) as bar:
                task = bar.add_task("proofs", total=len(all_cases()) if prove else 0)
                prepare(all_cases(), prove=prove, use_cache=not no_cache, progress=lambda name: bar.advance(task),
                        certificates=not no_certificates)
        with progress_bar(on=out, quiet=json) as bar:
            task = bar.add_task("report", total=len(all_cases()))
            rows = build_rows(settings, progress=lambda: bar.advance(task))
        if trained:
            from verify.trained import add_trained
            add_trained(rows, trained)
        if html is not None:
            from verify.outputs import write_text
            from verify.report import render_html
            write_text(html, render_html(rows), "--html")
        if json:
            from verify.report import report_document
            emit_json(report_document(rows))
        else:
            if wide:
                out.width = max(out.width, 170)
            render(rows, out, wide=wide)
            if not no_extra and prove:
                from verify.smt.report_columns import LAST_PREPARE
                now = LAST_PREPARE.get('proved_now', 0)
                how = (f" ({LAST_PREPARE.get('certified', 0)} by re-checking a shipped certificate, "
                       f"{LAST_PREPARE.get('searched', 0)} searched from scratch)") if now else ""
                out.print(f"proofs: {now} run now{how}, {LAST_PREPARE.get('from_cache', 0)} from the cache"
                          + ("" if not no_cache else " (--no-cache)"))
            if html is not None:
                out.print(f"wrote {html}")
        if any(r["check"] and r["check"]["status"] == "refuted" for r in rows):
            fail(1)
