"""`verify audit CHECKPOINT`: PERIODIC / LOCAL scores of a GPT-2 checkpoint's positional parts
(torch_bridge.audit). torch is imported inside the command only."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import typer

from verify.commands._common import console, emit_json


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit_cmd(
        checkpoint: Path = typer.Argument(..., help="a Hugging Face folder or a weights file (.safetensors/.bin/.pt)"),
        plot: Optional[Path] = typer.Option(None, "--plot", help="write PNG heatmaps into this folder"),
        heads: Optional[int] = typer.Option(None, "--heads", help="number of heads (when there is no config.json)"),
        residual: float = typer.Option(0.05, "--residual", help="a structure fits when its relative residual <= this"),
        window: int = typer.Option(256, "--window", help="positions used by the periodic and joint head fits"),
        exact: bool = typer.Option(False, "--exact", help="also run verify.limit.conditions' exact (tolerance) "
                                   "checks per head — for constructed weights; slower"),
        json_out: bool = typer.Option(False, "--json"),
    ):
        """Per layer and head: the position–position logits (P Wq)(P Wk)^T, PERIODIC / LOCAL scores,
        the practical regularizer, best period, and a verdict per head and overall."""
        from verify.commands.train import _progress, need_torch
        need_torch()
        from torch_bridge.audit import audit_gpt2, plot as make_plots
        from torch_bridge.checkpoint import load_checkpoint
        from torch_bridge.scores import Thresholds
        from verify.problems import UserError
        if not 0 < residual < 1:
            raise UserError("--residual must lie in (0, 1)")
        ck = load_checkpoint(checkpoint, n_head=heads)
        cfg = ck.config
        th = Thresholds(residual=residual, window=max(8, window))
        shape = {"layers": cfg.n_layer, "heads": cfg.n_head, "d": cfg.n_embd, "positions": cfg.n_positions,
                 "position_encoding": cfg.position_encoding, "file_format": ck.file_format}
        with _progress() as progress:
            task = progress.add_task("audit heads", total=cfg.n_layer * cfg.n_head, info="")
            report, logits = audit_gpt2(ck.position_table(), [ck.c_attn(l) for l in range(cfg.n_layer)], cfg.n_head,
                                        thresholds=th, source=str(checkpoint), shape=shape, notes=ck.notes,
                                        keep_logits=plot is not None, exact=exact,
                                        on_head=lambda k: progress.update(task, advance=k))
        written = []
        if plot is not None:
            written = _write_plots(report, logits, ck.position_table(), plot, make_plots)
        data = {**report.as_dict(), "plots": written}
        if json_out:
            emit_json(data)
            return
        _render(report, written)


def _write_plots(report, logits, table, folder: Path, make_plots):
    """Plots go to a temporary folder first and are moved in at the end: nothing half-written."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".audit-plots.", dir=folder.parent))
    try:
        files = make_plots(report, logits, table, tmp)
        folder.mkdir(parents=True, exist_ok=True)
        moved = []
        for f in files:
            dest = folder / Path(f).name
            os.replace(f, dest)
            moved.append(str(dest))
        return moved
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _render(report, written) -> None:
    from rich.table import Table
    c = console()
    c.print(f"[bold]{report.source}[/]  {report.shape}")
    for note in report.notes:
        c.print(f"note: {note}")
    if report.table is not None:
        t = report.table
        c.print(f"position table: best period Δ = {t.best_period}, residual {t.residual:.3g} "
                f"({'periodic' if t.periodic else 'not periodic'})")
    if report.heads:
        table = Table("layer", "head", "verdict", "τ", "Δ", "local res", "periodic res", "joint res", "RMS",
                      "reg. term", title="heads (layer 0 exact; deeper layers approximate)")
        for h in report.heads:
            s = h.scores
            table.add_row(str(h.layer) + ("~" if h.approximate else ""), str(h.head), s.kind,
                          "" if s.radius is None else str(s.radius), "" if s.period is None else str(s.period),
                          f"{s.local_residual:.3g}", f"{s.periodic_residual:.3g}",
                          "" if s.joint_residual is None else f"{s.joint_residual:.3g}", f"{s.rms:.3g}",
                          f"{s.penalty:.3g}")
        c.print(table)
    c.print(f"[bold]verdict: {report.kind}[/] — {report.summary}")
    for f in written:
        c.print(f"wrote {f}")
