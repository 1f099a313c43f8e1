"""`verify cases`: the catalogue."""
from __future__ import annotations

import typer

from verify.commands._common import console, emit_json


def register(app: typer.Typer) -> None:
    @app.command()
    def cases(json: bool = typer.Option(False, "--json")) -> None:
        """List the task catalogue: name, family, format, fragment of its program, expected verdicts."""
        from rich.table import Table

        from verify.catalogue import all_cases
        from verify.crasp.fragment import fragment
        rows = []
        for c in all_cases():
            program = c.build_program()
            rows.append({"name": c.name, "family": c.family, "format": c.format,
                         "fragment": fragment(program) if program else None,
                         "program": program is not None,
                         "no_program_reason": c.no_program_reason or None,
                         "expected_ape": c.expected_ape, "expected_nope": c.expected_nope,
                         "description": c.description})
        if json:
            emit_json(rows)
            return
        t = Table(title=f"catalogue ({len(rows)} cases)")
        for col in ("name", "family", "format", "fragment", "APE", "NoPE", "description"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["name"], r["family"], r["format"], r["fragment"] or "[dim]no program[/]",
                      "✓" if r["expected_ape"] else "✗", "✓" if r["expected_nope"] else "✗", r["description"])
        console().print(t)
