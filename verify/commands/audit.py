"""`verify audit CHECKPOINT`: PERIODIC / LOCAL scores of a GPT-2 checkpoint's positional parts
(torch_bridge.audit). torch is imported only to read a torch pickle (torch_bridge.checkpoint.needs_torch):
a safetensors checkpoint or a compiled T_N is audited with numpy alone.

CHECKPOINT: a Hugging Face folder (ours or one saved by transformers: model.safetensors, or
pytorch_model.bin read with weights_only), a weights file, a TransformerLens state dict, a hub-cache
snapshot (models--ORG--NAME/…, or a cached ORG/NAME; nothing is downloaded), or `verify compile --out`'s
T_N (.npz / .safetensors with verify.limit.io's keys; a banded T_N is audited in its dense form)."""
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
        checkpoint: Path = typer.Argument(..., help="a Hugging Face folder, a weights file (.safetensors/.bin/.pt), a "
                                          "TransformerLens state dict, a hub-cache snapshot, or compile --out's T_N"),
        plot: Optional[Path] = typer.Option(None, "--plot", help="write PNG heatmaps into this folder"),
        heads: Optional[int] = typer.Option(None, "--heads", help="number of heads (when there is no config.json)"),
        residual: float = typer.Option(0.05, "--residual", help="a structure fits when its relative residual <= this"),
        window: int = typer.Option(256, "--window", help="positions used by the periodic and joint head fits"),
        max_positions: Optional[int] = typer.Option(None, "--max-positions",
                                                    help="audit only the first K positions of the table "
                                                         "(default: all; the N × N matrices must fit in memory)"),
        share_threshold: float = typer.Option(0.1, "--share-threshold",
                                              help="a head has no positional dependence when its positional "
                                                   "terms' RMS is at most this fraction of its token–token RMS"),
        exact: bool = typer.Option(False, "--exact", help="also run verify.limit.conditions' exact (tolerance) "
                                   "checks per head — for constructed weights; slower"),
        task: Optional[str] = typer.Option(None, "--task", help="a catalogue case: run the checkpoint on it and "
                                           "predict from the training range whether it length-generalizes"),
        vocab: Optional[str] = typer.Option(None, "--vocab", help="the checkpoint's tokens in id order "
                                            "('0,1,<bos>,<sep>,<eos>,<pad>') or a file of them (default: tokenizer "
                                            "file, config.json tokens, or the convention)"),
        measure: bool = typer.Option(False, "--measure", help="with --task: also measure accuracy per length bin "
                                     "(longer inputs; kept apart from the prediction)"),
        bins: Optional[str] = typer.Option(None, "--bins", help="length bins for --measure and the prediction's "
                                           "target (the longest), e.g. 0-50,51-100,101-150 (the default)"),
        samples: int = typer.Option(2000, "--samples", help="inputs per bin for --measure"),
        train_max: int = typer.Option(50, "--train-max", help="the training range's longest input: the prediction "
                                      "runs no longer input"),
        seed: int = typer.Option(0, "--seed", help="seed of the inputs drawn for the prediction and --measure"),
        json_out: bool = typer.Option(False, "--json", help="print one JSON document (the API's field names)"),
    ):
        """Per layer and head: the position–position logits (P Wq)(P Wk)^T, PERIODIC / LOCAL scores,
        the practical regularizer, best period, and a verdict per head and overall. With --task: the checkpoint
        run on its task, a prediction of length generalization from the training range, --measure per bin,
        and the task's theory verdict, side by side. Exit 0 predicted to generalize (without --task: the
        conditions hold), 1 predicted not to (the conditions fail), 3 no prediction (nothing to judge)."""
        from verify.commands.train import _progress, need_torch
        from torch_bridge.audit import audit_checkpoint, check_options   # numpy only, as is the checkpoint reader
        from torch_bridge.checkpoint import needs_torch
        if plot is not None:  # the destination is checked before the checkpoint is read (verify.outputs)
            from verify.outputs import check_folder_target
            check_folder_target(plot, "--plot", nonempty_ok=True)
        check_options(residual, window, max_positions, share_threshold, heads)
        parsed_bins = None
        if task is None:
            for flag, given in (("--vocab", vocab is not None), ("--measure", measure), ("--bins", bins is not None)):
                if given:
                    from verify.problems import UserError
                    raise UserError(f"{flag} needs --task (the catalogue case the checkpoint was trained on)")
        else:
            from torch_bridge.measure import parse_bins
            from torch_bridge.task_audit import check_task_options
            from verify.catalogue import get_case
            check_task_options(train_max, samples)
            parsed_bins = parse_bins(bins) if bins is not None else None
            get_case(task)   # an unknown case is named before the checkpoint is read
        if needs_torch(checkpoint) or task is not None:   # a pickle, or running the model; else numpy alone
            need_torch()
        with _progress() as progress:
            report, logits, table = audit_checkpoint(checkpoint, heads=heads, residual=residual, window=window,
                                                     max_positions=max_positions, share_threshold=share_threshold,
                                                     exact=exact, keep_logits=plot is not None, progress=progress,
                                                     task=task, vocab=vocab, measure=measure, bins=parsed_bins,
                                                     samples=samples, train_max=train_max, seed=seed)
        written = []
        if plot is not None:
            import torch_bridge.audit as audit_module   # looked up at call time (tests replace it)
            written = _write_plots(report, logits, table, plot, audit_module.plot)
        data = {**report.as_dict(), "plots": written}
        if json_out:
            emit_json(data)
        else:
            _render(report, written)
        if report.exit_code:
            raise typer.Exit(report.exit_code)


def _write_plots(report, logits, table, folder: Path, make_plots):
    """Plots are drawn in a temporary folder and moved in at the end (verify.outputs): a failure leaves
    nothing — no half-written image, no folder created for them."""
    from verify.outputs import ENVIRONMENT_ERRNOS, staged_folder
    from verify.problems import UserError
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        with staged_folder(folder, "--plot") as tmp:
            names = [Path(f).name for f in make_plots(report, logits, table, tmp)]
        return [str(folder / name) for name in names]
    tmp = Path(tempfile.mkdtemp(prefix=".audit-plots.", suffix=".tmp", dir=folder))
    try:
        try:
            files = make_plots(report, logits, table, tmp)
            moved = []
            for f in files:
                dest = folder / Path(f).name
                os.replace(f, dest)
                moved.append(str(dest))
            return moved
        except OSError as err:
            if err.errno in ENVIRONMENT_ERRNOS:
                raise UserError(f"--plot {str(folder)!r}: cannot write ({err.strerror or err}); "
                                f"nothing was written") from None
            raise
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
        c.print(f"PERIODIC (the table as a whole): best period Δ = {t.best_period}, residual {t.residual:.3g} "
                f"({'periodic' if t.periodic else 'not periodic'})")
        if report.split is not None:
            sp = report.split
            c.print(f"periodic part: {len(sp.periodic_columns)} coordinates repeating with Δ = {sp.period}; "
                    f"remainder: {len(sp.remainder_columns)} coordinates")
    if report.heads:
        split = report.split is not None
        table = Table("layer", "head", "verdict", "τ", "Δ", "local res", "periodic res", "joint res", "RMS",
                      "reg. term", "pos. share", *(["remainder (τ)"] if split else []),
                      title="heads (layer 0 exact; deeper layers approximate)")
        for h in report.heads:
            s = h.scores
            rest = []
            if split:
                r = h.remainder
                tau = "" if r is None or r.radius is None or r.kind != "local" else f" ({r.radius})"
                rest = ["" if r is None else r.kind + tau]
            table.add_row(str(h.layer) + ("~" if h.approximate else ""), str(h.head), s.kind,
                          str(s.radius) if s.kind in ("local", "periodic+local") else "",
                          str(s.period) if s.kind in ("periodic", "periodic+local") else "",
                          f"{s.local_residual:.3g}", f"{s.periodic_residual:.3g}",
                          "" if s.joint_residual is None else f"{s.joint_residual:.3g}", f"{s.rms:.3g}",
                          f"{s.penalty:.3g}", "" if h.share is None else f"{h.share.share:.3g}", *rest)
        c.print(table)
    for f in written:
        c.print(f"wrote {f}")
    if report.reader_shares:
        worst = max(report.reader_shares, key=report.reader_shares.get)
        c.print(f"other readers of the table (value maps, MLP inputs): largest positional share "
                f"{report.reader_shares[worst]:.3g} ({worst})")
    for line in report.head_lines():
        c.print(line, soft_wrap=True)
    c.print(f"[bold]verdict: {report.verdict}[/] — {report.summary}")
    c.print(f"[bold]conditions:[/] {report.conditions}")
    if report.task_audit is not None:
        _render_task(c, report)


def _render_task(c, report) -> None:
    """The task section: adapter, prediction with its evidence, measurement, theory, then the one line."""
    from rich.markup import escape   # fragment names such as C-RASP[periodic,local] are not markup
    t, p, m = report.task, report.prediction, report.measured
    c.print(f"\n[bold]task {escape(t['task'])}[/]: {t['head'].replace('_', ' ')} head; vocabulary from "
            f"{escape(t['vocabulary_source'])}" + ("; answers end without <eos>" if not t["answer_eos"] else ""))
    for note in t["notes"]:
        c.print(f"note: {escape(note)}")
    said = {True: "generalizes", False: "does not generalize", None: "no prediction"}[p.generalizes]
    score = "" if p.score is None else f" (score {p.score:.2f}: estimated accuracy on the longest bin)"
    c.print(f"[bold]prediction[/] from the weights and inputs of length ≤ {p.train_max}: {said} on "
            f"{p.target[0]}–{p.target[1]}{score}")
    c.print(f"  because: {escape(p.reason)}", soft_wrap=True)
    for e in p.evidence:
        mark = {True: "+", False: "−", None: "·"}[e.supports]
        c.print(f"  {mark} {e.name}: {escape(e.finding)}", soft_wrap=True)
    for h in p.heads:
        c.print(f"  · {escape(h.finding)}", soft_wrap=True)
    if m is not None:
        c.print("[bold]measured[/] (longer inputs, positions from 0; not used by the prediction):")
        for b in m.bins:
            c.print(f"  inputs {b.lo:>3}–{b.hi:<3}  {100 * b.accuracy:6.2f}% ± {100 * b.stderr:.2f}  "
                    f"({b.correct}/{b.samples})")
        for note in m.notes:
            c.print(f"  note: {escape(note)}")
    c.print(f"[bold]theory:[/] {escape(report.theory.line())}", soft_wrap=True)
    c.print(f"[bold]{escape(report.side_by_side)}[/]", soft_wrap=True)
