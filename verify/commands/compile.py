"""`verify compile CASE|FILE`: compile to a Limit Transformer, realize T_N, report shape, margins, regularizers."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json, fail, load_target


def register(app: typer.Typer) -> None:
    @app.command("compile")
    def compile_command(
        target: str = typer.Argument(..., help="a catalogue case name or a .crasp file"),
        N: int = typer.Option(512, "--N", help="context size of the finite realization T_N"),
        out: Optional[str] = typer.Option(None, "--out", help="write T_N's weights (.npz, or .safetensors)"),
        comparison: str = typer.Option("layernorm", help="layernorm (exact sign) or relu (fixed-slope step)"),
        slope: float = typer.Option(1024.0, help="slope of the relu comparison"),
        logit_scale: str = typer.Option("none", help="none, inv_sqrt_dhead or log_i"),
        hardness: int = typer.Option(120, help="λ: φ value at a guarded head's distance"),
        check_length: int = typer.Option(8, help="check agreement on every word up to this length"),
        json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Compile a C-RASP[periodic,local] program (Theorem 9), check it, and realize it at context N."""
        from rich.progress import Progress

        from verify.limit.agreement import AgreementScope, check_agreement, float64_limit
        from verify.limit.compiler import compile_program
        from verify.limit.io import save_finite
        from verify.limit.realize import realize
        from verify.limit.regularizers import DEFAULT_THEORETICAL, practical
        from verify.problems import UserError

        if N < 1:
            raise UserError(f"--N must be a positive integer, not {N}")
        if logit_scale not in ("none", "inv_sqrt_dhead", "log_i"):
            raise UserError(f"--logit-scale must be none, inv_sqrt_dhead or log_i, not {logit_scale!r}")
        case, program = load_target(target)
        name = case.name if case else target
        c = console()
        with Progress(console=c, transient=True, disable=json) as bar:
            task = bar.add_task("compiling", total=5)
            model = compile_program(program, comparison=comparison, slope=slope, logit_scale=logit_scale,
                                    hardness=hardness, bos_bias=hardness // 2)
            bar.update(task, advance=1, description="realizing T_N")
            finite = realize(model, N)
            bar.update(task, advance=1, description="checking the Limit Transformer")
            short = min(check_length, N)
            scope = AgreementScope(exhaustive_up_to=short, per_length=1024, long_lengths=(N,), long_samples=2)
            limit_verdict = check_agreement(model, scope, name=name)
            bar.update(task, advance=1, description="checking T_N")
            finite_verdict = check_agreement(finite, AgreementScope(exhaustive_up_to=min(short, 6), per_length=256,
                                                                    long_lengths=(N,), long_samples=1),
                                             name=f"{name} (T_{N})")
            bar.update(task, advance=1, description="regularizers")
            reg = DEFAULT_THEORETICAL(finite)
            data = {"target": name, **model.describe(), "output_keys": list(model.output_keys),
                    "comparison": comparison,
                    "float64_limit": float64_limit(model),
                    "limit_transformer": limit_verdict.as_dict(), "finite": {
                        "N": N, "width": finite.width, "parameters": finite.parameter_count(),
                        "agreement": finite_verdict.as_dict()},
                    "regularizers": {"N": N, "practical": practical(finite), "theoretical": reg.total,
                                     "theoretical_parts": reg.parts, "theoretical_name": DEFAULT_THEORETICAL.name}}
            if out:
                data["out"] = save_finite(finite, out) if limit_verdict.status != "refuted" else None
            bar.update(task, advance=1)
        if json:
            emit_json(data)
        else:
            from rich.markup import escape
            colours = {"holds": "green", "refuted": "red", "unknown": "yellow"}
            c.print(f"[bold]{escape(name)}[/]: {model.depth} layers, heads per layer {list(model.heads_per_layer)}, "
                    f"width {model.width}, Δ = {model.positions.shape[0]}, τ = {model.radius} "
                    f"(PERIODIC and LOCAL by construction), comparison = {comparison}")
            lim = data["float64_limit"]
            c.print(f"float64 separates every comparison up to length {lim if lim is not None else '∞ (no comparisons)'}"
                    f" (a-priori bound)")
            for label, v in (("Limit Transformer", limit_verdict), (f"T_{N}", finite_verdict)):
                c.print(f"[{colours[v.status]}]{v.status.upper()}[/] {label}: " + escape(
                    f"{v.method}; {v.scope}" + (f" ({v.reason})" if v.reason else "")))
                ev = v.evidence
                if "min_margin" in ev:
                    c.print(f"    smallest margin {ev['min_margin']:.3g} (at length {ev['smallest_margin_at_length']}), "
                            f"largest float error {ev['max_error']:.3g}")
                if v.counterexample is not None:
                    ce = v.counterexample
                    c.print("    counterexample: " + escape(f"{' '.join(ce.input)} at position {ce.position} "
                                                           f"(want {ce.expected}, got {ce.got}; {ce.detail})"))
            c.print(f"T_{N}: width {finite.width}, {finite.parameter_count()} parameters; practical regularizer "
                    f"{data['regularizers']['practical']:.6g}, theoretical ({DEFAULT_THEORETICAL.name}) {reg.total:.6g}")
            if out and data.get("out"):
                c.print(f"wrote {escape(data['out'])}")
        if limit_verdict.status == "refuted" or finite_verdict.status == "refuted":
            fail(1)
