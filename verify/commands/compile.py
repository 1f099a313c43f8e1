"""`verify compile CASE|FILE`: compile to a Limit Transformer (Theorem 9), certify (a) the Limit Transformer
at every length, (b) its float64 evaluation up to a horizon, (c) the finite realization T_N up to N;
report shape and regularizers; optionally write T_N."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json, fail, load_target, progress_bar


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
        out: Optional[str] = typer.Option(None, "--out", help="write T_N's weights (.npz, or .safetensors), or a "
                                          "path without a suffix: a Hugging Face folder (transformers loads it "
                                          "with trust_remote_code=True)"),
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
        task_case: Optional[str] = typer.Option(None, "--case", help="the task to check a .crasp file's program "
                                                "against (a case names its own)"),
        prove: bool = typer.Option(False, "--prove", help="prove the program against the case's spec now (Z3, the "
                                   "settings of `verify prove`); without it a cached proof is used, else the check"),
        json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Compile a C-RASP[periodic,local] program (Theorem 9), certify it, and realize it at context N; with a
        case, also say whether the program is proved, checked or refuted for the task (exit 1 when refuted)."""

        from verify.api import compile_pipeline

        case, program = load_target(target)
        c = console()
        with progress_bar(on=c, quiet=json) as bar:
            task = bar.add_task("compiling", total=5 if case is not None or task_case is not None else 4)
            result = compile_pipeline(
                program, N=N, comparison=comparison, slope=slope,
                logit_scale=logit_scale, hardness=hardness, check_length=check_length, out=out, dense=dense,
                check_memory=None, long_seconds=long_seconds, flag=_flag, name=case.name if case else target,
                on_stage=lambda description: bar.update(task, advance=1, description=description),
                case=task_case if task_case is not None else case, prove=prove)
        data = result.as_dict()
        if json:
            emit_json(data)
        else:
            _render(c, result.target, result.model, result.finite, N, result.certificate, data,
                    result.regularizer, comparison, out)
        if result.status == "refuted" or (result.task is not None and result.task.status == "refuted"):
            fail(1)
        if result.status != "holds":
            fail(3)


def _flag(parameter: str) -> str:
    """The command's flag for an option of verify.api.compile_pipeline (its errors name the flag)."""
    return "--N" if parameter == "N" else "--" + parameter.replace("_", "-")


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
    task = data.get("task")
    if task is not None:
        colour = {"proved": "green", "checked": "green", "refuted": "red"}.get(task["status"], "yellow")
        c.print(f"[{colour}]task {escape(task['case'])}[/]: the program is {escape(task['summary'])} — the claims "
                "above are about the program" + (", which is wrong for this task" if task["status"] == "refuted"
                                                 else ""))
