"""`verify conditions ENCODING`: PERIODIC of p_i and LOCAL of the position term, as SPEC §2 defines them
(verify.symbolic.decide), decided exactly. Flag text is read by the whitelist grammar of verify.symbolic.expr."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json


def register(app: typer.Typer) -> None:
    @app.command()
    def conditions(
        encoding: str = typer.Argument(..., help="sinusoidal, onehot, rotary or alibi"),
        d: int = typer.Option(4, help="sinusoidal: dimension (even)"),
        base: str = typer.Option("10000", help="sinusoidal: base of the frequencies base^(-2k/d)"),
        frequencies: Optional[str] = typer.Option(None, help="sinusoidal: comma-separated ω, e.g. 2*pi/5,2*pi/7 "
                                                  "(numbers, pi, sqrt, + - * / ^, parentheses)"),
        period: int = typer.Option(3, help="onehot: Δ"),
        thetas: str = typer.Option("2*pi/3", help="rotary: comma-separated angles θ"),
        slope: str = typer.Option("1", help="alibi: slope m of φ = −m·(i − j)"),
        window: Optional[int] = typer.Option(None, help="alibi: φ = 0 beyond this offset"),
        matrix: Optional[str] = typer.Option(None, help="bilinear form A as rows 'a,b;c,d' (default identity)"),
        json: bool = typer.Option(False, "--json"),
    ) -> None:
        """(i) PERIODIC of p_i (least period or a proof that none exists); (ii) the position–position product
        as a periodic part plus a remainder, and whether the remainder is LOCAL (radius τ); (iii) what the
        paper's theory covers, with the analogous properties for rotary."""
        from verify.problems import UserError
        from verify.symbolic.decide import UNKNOWN, decide
        from verify.symbolic.expr import parse_list, parse_matrix, parse_number
        from verify.symbolic.families import FAMILIES, linear_bias, onehot_mod, rotary, sinusoidal

        if encoding not in FAMILIES:
            import difflib
            near = difflib.get_close_matches(encoding, list(FAMILIES), n=1)
            raise UserError(f"unknown encoding {encoding!r}" + (f"; did you mean {near[0]}?" if near else "")
                            + f" (known: {', '.join(FAMILIES)})")
        if matrix is not None and encoding in ("rotary", "alibi"):
            raise UserError(f"{encoding} takes no --matrix (it adds no position vectors, so there is no p_iᵀAp_j)")
        rows = None if matrix is None else parse_matrix(matrix, "--matrix")
        if encoding == "sinusoidal":
            freqs = None if frequencies is None else parse_list(frequencies, "--frequencies")
            family = sinusoidal(d, parse_number(base, "--base"), freqs, rows)
        elif encoding == "onehot":
            family = onehot_mod(period, rows)
        elif encoding == "rotary":
            family = rotary(parse_list(thetas, "--thetas"))
        else:
            family = linear_bias(parse_number(slope, "--slope"), window)
        result = decide(family)
        unknown = any(x.status == UNKNOWN for x in (result.periodic, result.decomposition, result.local)
                      + result.analogues)
        if json:
            emit_json(result.as_dict())
            raise typer.Exit(3 if unknown else 0)
        _render(result)
        raise typer.Exit(3 if unknown else 0)


def _render(result) -> None:
    from rich.markup import escape
    c = console()
    colours = {"holds": "green", "fails": "red", "unknown": "yellow", "n/a": "dim"}
    symbols = {"PERIODIC": "Δ", "ROTATION PERIODIC": "Δ", "LOCAL": "τ", "ROTATION LOCAL": "τ"}

    def line(tag: str, dec) -> None:
        value = "" if dec.value is None or dec.property == "decomposition" else \
            f" ({symbols.get(dec.property, '')} = {dec.value})"
        c.print(f"  {tag:5} [{colours[dec.status]}]{dec.status.upper():7}[/] {escape(dec.property)}{escape(value)}: "
                f"{escape(dec.reason)}")
        if dec.witness:
            c.print("                witness: " + escape(", ".join(f"{k} = {v}" for k, v in dec.witness.items())))

    c.print(f"[bold]{escape(result.family)}[/] " + escape(", ".join(f"{k} = {v}" for k, v in result.params.items())))
    c.print("  " + escape(result.product))
    line("(i)", result.periodic)
    dec = result.decomposition
    c.print(f"  (ii)  [{colours[dec.status]}]{dec.status.upper():7}[/] f = periodic part + remainder"
            + (f" ({escape(str(dec.value))})" if dec.value else "") + f": {escape(dec.reason)}")
    line("", result.translation_invariant)
    line("", result.local)
    c.print(f"  (iii) {escape(result.coverage)}")
    for a in result.analogues:
        line("", a)
    c.print(f"  decided in {result.seconds:.2f} s (exact arithmetic)")
