"""`verify theorems`: run every check in theorems/."""
from __future__ import annotations

from typing import Optional

import typer


from verify.commands._common import console, emit_json, fail, progress_bar


def register(app: typer.Typer) -> None:
    @app.command()
    def theorems(
        only: Optional[str] = typer.Option(None, help="run only checks whose module or theorem contains this"),
        json: bool = typer.Option(False, "--json"),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="show every item's verdict"),
    ) -> None:
        """Run the theorem checks: each answers holds / refuted (with a counterexample) / unknown (with why)."""
        from rich.markup import escape

        from theorems import discover
        checks = [(m, c) for m, c in discover() if not only or only.lower() in m.lower()
                  or only.lower() in (c.__doc__ or "").lower()]
        if not checks:
            from verify.problems import UserError
            names = sorted({m for m, _ in discover()})
            raise UserError(f"--only {only!r} matches no theorem check; the modules are: {', '.join(names)}")
        out = console()
        reports = []
        with progress_bar(on=out, quiet=json) as bar:
            task = bar.add_task("theorem checks", total=len(checks))
            for module, check in checks:
                reports.append((module, check()))
                bar.advance(task)
        if json:
            emit_json([{"module": m, **r.as_dict()} for m, r in reports])
        else:
            colours = {"holds": "green", "refuted": "red", "unknown": "yellow"}
            for module, r in reports:
                out.print(f"[{colours[r.status]}]{r.status.upper():8}[/] " + escape(f"{r.theorem}: {r.title}") +
                          f"  [dim]({module}, {len(r.verdicts)} items)[/]")
                for v in r.verdicts:
                    if verbose or v.status != "holds":
                        out.print(f"    [{colours[v.status]}]{v.status}[/] " + escape(f"{v.claim} — {v.method}; {v.scope}"
                                  + (f" ({v.reason})" if v.reason else "")))
                        if v.counterexample is not None:
                            out.print("      counterexample: " + escape(f"{' '.join(map(str, v.counterexample.input))} — "
                                                                   f"{v.counterexample.detail}"))
        if any(r.status == "refuted" for _, r in reports):
            fail(1)
