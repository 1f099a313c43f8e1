"""`verify conditions ENCODING`: sympy decisions of PERIODIC, translation invariance and LOCAL."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json


def _list(text: Optional[str]):
    return None if text is None else [x.strip() for x in text.split(",") if x.strip()]


def register(app: typer.Typer) -> None:
    @app.command()
    def conditions(
        encoding: str = typer.Argument(..., help="sinusoidal, onehot, rotary or alibi"),
        d: int = typer.Option(4, help="sinusoidal: dimension (even)"),
        base: str = typer.Option("10000", help="sinusoidal: base of the frequencies base^(-2k/d)"),
        frequencies: Optional[str] = typer.Option(None, help="sinusoidal: comma-separated ω (sympy, e.g. 2*pi/3)"),
        period: int = typer.Option(3, help="onehot: Δ"),
        thetas: str = typer.Option("2*pi/3", help="rotary: comma-separated angles θ"),
        slope: str = typer.Option("1", help="alibi: slope m of φ = −m·(i − j)"),
        window: Optional[int] = typer.Option(None, help="alibi: φ = 0 beyond this offset"),
        matrix: Optional[str] = typer.Option(None, help="bilinear form A as rows 'a,b;c,d' (default identity)"),
        json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Decide PERIODIC (exact period or proof of none), translation invariance of p_iᵀAp_j, and locality."""
        from verify.problems import UserError
        from verify.symbolic.decide import decide
        from verify.symbolic.families import FAMILIES, linear_bias, onehot_mod, rotary, sinusoidal

        rows = None if matrix is None else [r.split(",") for r in matrix.split(";")]
        if encoding == "sinusoidal":
            family = sinusoidal(d, base, _list(frequencies), rows)
        elif encoding == "onehot":
            family = onehot_mod(period, rows)
        elif encoding == "rotary":
            if rows is not None:
                raise UserError("rotary takes no --matrix (its product is fixed by the rotations)")
            family = rotary(_list(thetas))
        elif encoding == "alibi":
            if rows is not None:
                raise UserError("alibi takes no --matrix (it has no position vectors)")
            family = linear_bias(slope, window)
        else:
            import difflib
            near = difflib.get_close_matches(encoding, list(FAMILIES), n=1)
            raise UserError(f"unknown encoding {encoding!r}" + (f"; did you mean {near[0]}?" if near else "")
                            + f" (known: {', '.join(FAMILIES)})")
        result = decide(family)
        if json:
            emit_json(result.as_dict())
            return
        from rich.markup import escape
        c = console()
        colours = {"holds": "green", "fails": "red", "unknown": "yellow"}
        c.print(f"[bold]{escape(result.family)}[/] " + escape(", ".join(f"{k} = {v}" for k, v in result.params.items())))
        c.print("  f(i, j) = " + escape(result.product))
        for dec in (result.periodic, result.translation_invariant, result.local):
            value = "" if dec.value is None else f" ({'Δ' if dec.property == 'PERIODIC' else 'τ' if dec.property == 'LOCAL' else ''} = {dec.value})"
            c.print(f"  [{colours[dec.status]}]{dec.status.upper():7}[/] {escape(dec.property)}{escape(value)}: {escape(dec.reason)}")
            if dec.witness:
                c.print("          witness: " + escape(", ".join(f"{k} = {v}" for k, v in dec.witness.items())))
