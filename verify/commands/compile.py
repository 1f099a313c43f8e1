"""`verify compile CASE|FILE`: compile to a Limit Transformer (Theorem 9), certify (a) the Limit Transformer
at every length, (b) its float64 evaluation up to a horizon, (c) the finite realization T_N up to N;
report shape and regularizers; optionally write T_N."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json, fail, load_target

MAX_CHECK_LENGTH = 16


def _show_input(symbols, limit: int = 24) -> str:
    if len(symbols) <= limit:
        return " ".join(symbols)
    half = limit // 2
    return " ".join(symbols[:half]) + f" … ({len(symbols)} symbols) … " + " ".join(symbols[-half:])


def register(app: typer.Typer) -> None:
    @app.command("compile")
    def compile_command(
        target: str = typer.Argument(..., help="a catalogue case name or a .crasp file"),
        N: int = typer.Option(512, "--N", help="context size of the finite realization T_N"),
        out: Optional[str] = typer.Option(None, "--out", help="write T_N's weights (.npz, or .safetensors)"),
        dense: bool = typer.Option(False, "--dense", help="with --out: write T_N densely (one-hot absolute "
                                                           "position columns) instead of by bands"),
        comparison: str = typer.Option("layernorm", help="layernorm (exact sign) or relu (fixed-slope step)"),
        slope: float = typer.Option(1024.0, help="slope of the relu comparison"),
        logit_scale: str = typer.Option("log_i", help="log_i (default: exact at every length), none or "
                                                      "inv_sqrt_dhead (fixed logits: a finite horizon)"),
        hardness: Optional[int] = typer.Option(None, help="λ: φ value at a guarded head's distance (default: the "
                                                          "smallest proved for every length; 120 with fixed logits)"),
        check_length: int = typer.Option(8, help="check agreement on every word up to this length"),
        long_seconds: float = typer.Option(2.0, "--long-seconds", help="time budget (s) for the streamed float64 "
                                           "runs near the float64 horizon and the other offsets of 16·N "
                                           "(N and 16·N always run)"),
        json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Compile a C-RASP[periodic,local] program (Theorem 9), certify it, and realize it at context N."""
        import math

        from rich.progress import Progress

        from verify.limit.agreement import forward_bytes
        from verify.limit.certify import certify
        from verify.limit.compiler import compile_program
        from verify.limit.io import FORMATS, save_finite
        from verify.limit.realize import realize, realize_bytes
        from verify.limit.regularizers import DEFAULT_THEORETICAL, practical
        from verify.problems import UserError

        if N < 1:
            raise UserError(f"--N must be a positive integer, not {N}")
        if logit_scale not in ("none", "inv_sqrt_dhead", "log_i"):
            raise UserError(f"--logit-scale must be none, inv_sqrt_dhead or log_i, not {logit_scale!r}")
        if comparison not in ("layernorm", "relu"):
            raise UserError(f"--comparison must be layernorm or relu, not {comparison!r}")
        if not math.isfinite(slope) or slope < 2 or slope > 2 ** 40:
            raise UserError(f"--slope must be a finite number between 2 and 2^40, not {slope}")
        if not 0 <= check_length <= MAX_CHECK_LENGTH:
            raise UserError(f"--check-length must be between 0 and {MAX_CHECK_LENGTH} (every word of each length is "
                            f"run), not {check_length}")
        if not math.isfinite(long_seconds) or not 0 <= long_seconds <= 3600:
            raise UserError(f"--long-seconds must be a number of seconds between 0 and 3600, not {long_seconds}")
        if hardness is not None and not 2 <= hardness <= 1024:
            raise UserError(f"--hardness must be between 2 and 1024, not {hardness}")
        if dense and not out:
            raise UserError("--dense only changes what --out writes; give --out too")
        if out:
            try:
                from verify.outputs import check_file_target
            except ImportError:
                check_file_target = None
            if check_file_target is not None:
                check_file_target(out, "--out", FORMATS)
            elif not out.lower().endswith(FORMATS):
                raise UserError(f"--out must end in {' or '.join(FORMATS)} (got {out!r})")
        case, program = load_target(target)
        name = case.name if case else target
        options = dict(comparison=comparison, slope=slope, logit_scale=logit_scale)
        if hardness is not None:
            options.update(hardness=hardness, bos_bias=1 if logit_scale == "log_i" else hardness // 2)
        model = compile_program(program, **options)
        # sizes before allocating: T_N (banded, or dense for --dense) and one forward pass at N
        try:
            from verify.limits import memory_budget, refuse_if_too_big
        except ImportError:
            memory_budget = refuse_if_too_big = None
        need = realize_bytes(model, N, dense=dense) + forward_bytes(model, 1, N)
        if refuse_if_too_big is not None:
            refuse_if_too_big("--N", need, suggestion="use a smaller --N" + (" or drop --dense" if dense else ""),
                              what=f"T_{N} of {name} and one forward pass of length {N}")
            budget = memory_budget()
        else:
            budget = 4 << 30
        c = console()
        with Progress(console=c, transient=True, disable=json) as bar:
            task = bar.add_task("realizing T_N", total=3)
            finite = realize(model, N)
            bar.update(task, advance=1, description="certifying (a) Limit Transformer, (b) float64, (c) T_N")
            cert = certify(model, N, name, finite=finite, check_length=check_length,
                           memory=min(budget // 4, 1 << 30), long_seconds=long_seconds)
            bar.update(task, advance=1, description="regularizers")
            reg = DEFAULT_THEORETICAL(finite)
            data = {"target": name, **model.describe(), "output_keys": list(model.output_keys),
                    "comparison": comparison, "hardness": model.layout.hardness, "bos_bias": model.layout.bos_bias,
                    **cert.as_dict(),
                    "float64_limit": cert.float64_horizon,
                    "finite": {"N": N, "width": finite.width, "dense_width": finite.dense_width,
                               "parameters": finite.parameter_count(),
                               "dense_parameters": finite.dense_parameter_count(),
                               "representation": "banded" if finite.banded else "no φ to realize",
                               "agreement": cert.finite.as_dict()},
                    "regularizers": {"N": N, "practical": practical(finite), "theoretical": reg.total,
                                     "theoretical_parts": reg.parts, "theoretical_name": DEFAULT_THEORETICAL.name}}
            if out and cert.status != "refuted":
                data["out"] = save_finite(finite, out, dense=dense)
            elif out:
                data["out"] = None
            bar.update(task, advance=1)
        if json:
            emit_json(data)
        else:
            _render(c, name, model, finite, N, cert, data, reg, comparison, out)
        if cert.status != "holds":
            fail({"refuted": 1, "unknown": 3}[cert.status])


def _render(c, name, model, finite, N, cert, data, reg, comparison, out) -> None:
    from rich.markup import escape

    from verify.limit.regularizers import DEFAULT_THEORETICAL
    colours = {"holds": "green", "refuted": "red", "unknown": "yellow"}
    c.print(f"[bold]{escape(name)}[/]: {model.depth} layers, heads per layer {list(model.heads_per_layer)}, "
            f"width {model.width}, Δ = {model.positions.shape[0]}, τ = {model.radius} "
            f"(PERIODIC and LOCAL by construction), comparison = {comparison}, logit scale {model.logit_scale} "
            f"(softmax base {'e' if model.logit_scale == 'log_i' else f'{model.softmax_base:g}'}), "
            f"λ = {model.layout.hardness}, μ = {model.layout.bos_bias}")
    labels = (("(a) Limit Transformer, infinite context, exact arithmetic", cert.limit),
              ("(b) its float64 evaluation", cert.float64),
              (f"(c) finite realization T_{N} (lengths <= {N} only)", cert.finite))
    for label, v in labels:
        status = v.status.upper()
        if v.status == "holds":
            reach = min([x for x in (cert.exact_horizon, cert.float64_horizon) if x is not None], default=None)
            upto = (cert.exact_horizon if v is cert.limit else cert.float64_horizon if v is cert.float64
                    else (reach if reach is not None and reach < N else None))
            if upto is not None:
                status = f"HOLDS up to {upto:,}"
        c.print(f"[{colours[v.status]}]{escape(status)}[/] {escape(label)}: {escape(v.claim)}")
        c.print(escape(f"    how: {v.method}"))
        c.print(escape(f"    checked: {v.scope}") + (escape(f" ({v.reason})") if v.reason else ""))
        ev = v.evidence
        if ev.get("checked_long_lengths"):
            c.print(f"    long lengths run: {', '.join(f'{n:,}' for n in ev['checked_long_lengths'])}")
        if "min_margin" in ev and ev["min_margin"] != float("inf"):
            c.print(f"    smallest margin {ev['min_margin']:.3g} (at length {ev['smallest_margin_at_length']}), "
                    f"largest float error {ev['max_error']:.3g}")
        if v.counterexample is not None:
            ce = v.counterexample
            shown = _show_input(list(map(str, ce.input))) if isinstance(ce.input, tuple) else str(ce.input)
            c.print("    counterexample: " + escape(f"{shown} at position {ce.position} "
                                                   f"(want {ce.expected}, got {ce.got}; {ce.detail})"))
    for note in cert.notes:
        c.print(escape(f"note: {note}"))
    f = data["finite"]
    c.print(f"T_{N}: {f['representation']} ({f['parameters']:,} stored numbers; dense form: width {f['dense_width']}, "
            f"{f['dense_parameters']:,} parameters); practical regularizer {data['regularizers']['practical']:.6g}, "
            f"theoretical ({DEFAULT_THEORETICAL.name}) {reg.total:.6g}")
    if out and data.get("out"):
        c.print(f"wrote {escape(data['out'])}")
