"""`verify train CASE` and `verify sweep CASE…`: train the paper's GPT-2 on a catalogue case
(torch_bridge). torch is imported inside the commands only; without it they say how to get it
and exit 2."""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from verify.commands._common import console, emit_json
from verify.problems import UserError

from torch_bridge import INSTALL_HINT  # torch_bridge/__init__ itself needs no torch


def need_torch():
    """Import torch_bridge (torch inside); UserError with the install hint when torch is missing."""
    try:
        import torch  # noqa: F401
        import safetensors  # noqa: F401
    except ImportError:
        raise UserError(INSTALL_HINT, exit_code=2) from None
    import torch_bridge
    return torch_bridge


def _floats(text: str, what: str) -> List[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--{what} takes comma-separated numbers, not {text!r}") from None


def _ints(text: str, what: str) -> List[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--{what} takes comma-separated integers, not {text!r}") from None


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[info]}"), console=console(), transient=True)


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        case: str = typer.Argument(..., help="a catalogue case (verify cases lists them)"),
        layers: int = typer.Option(2, "--layers"), heads: int = typer.Option(2, "--heads"),
        d: int = typer.Option(64, "--d", help="model width"),
        lr: float = typer.Option(1e-3, "--lr"), steps: int = typer.Option(30000, "--steps"),
        seed: int = typer.Option(0, "--seed"),
        pe: str = typer.Option("ape", "--pe", help="ape | nope | reg (APE + practical regularizer)"),
        reg_lambda: float = typer.Option(1e-4, "--lambda", help="regularizer strength for --pe reg"),
        batch: int = typer.Option(64, "--batch"),
        eval_samples: int = typer.Option(2000, "--eval-samples", help="samples per test bin"),
        threads: int = typer.Option(1, "--threads", help="torch CPU threads"),
        out: Optional[Path] = typer.Option(None, "--out", help="output folder (default out/train/<run>)"),
        json_out: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
    ):
        """Train GPT-2 on a case (AdamW, linear decay, random position offsets, early stop) and save a
        Hugging Face folder plus metrics.json."""
        need_torch()
        from torch_bridge.checkpoint import save_pretrained
        from torch_bridge.train import TrainConfig, encoding_name, train
        from verify.catalogue import get_case
        the_case = get_case(case)
        cfg = TrainConfig(layers=layers, heads=heads, d=d, lr=lr, steps=steps, seed=seed, pe=pe,
                          reg_lambda=reg_lambda, batch=batch, eval_samples=eval_samples, threads=threads)
        name = f"{case}-{encoding_name(pe, reg_lambda)}-L{layers}H{heads}d{d}-lr{lr:g}-s{seed}"
        target = out or Path("out") / "train" / name
        if target.exists() and any(target.iterdir()):
            raise UserError(f"{target}: exists and is not empty; choose another --out")
        with _progress() as progress:
            task = progress.add_task(f"train {name}", total=steps, info="")

            def on_step(step, total, loss, acc):
                info = f"loss {loss:.4f}" + (f"  train-bin acc {acc:.1f}%" if acc is not None else "")
                progress.update(task, completed=step, info=info)

            result = train(the_case, cfg, on_step=on_step)
        m = result.metrics
        save_pretrained(result.model, target, {"metrics.json": m})
        m = {**m, "saved": str(target)}
        if json_out:
            emit_json({k: v for k, v in m.items() if k != "history"})
            return
        c = console()
        c.print(f"[bold]{case}[/] {m['encoding']}: {m['steps_run']} steps, train-bin accuracy "
                f"{m['train_acc']}%{' (early stop)' if m['stopped_early'] else ''}, {m['wall_s']} s")
        for b in m["bins"]:
            c.print(f"  inputs {b[0]:>3}–{b[1]:<3}  exact match {m[f'acc_{b[0]}_{b[1]}']:.2f}%")
        c.print(f"saved {target}/ (config.json, model.safetensors, metrics.json)")

    @app.command("sweep")
    def sweep_cmd(
        cases: List[str] = typer.Argument(..., help="catalogue cases"),
        layers: str = typer.Option("1,2,4", "--layers"), heads: str = typer.Option("1,2,4", "--heads"),
        d: str = typer.Option("16,64,256", "--d"), lr: str = typer.Option("1e-3,1e-4", "--lr"),
        seeds: int = typer.Option(5, "--seeds"), steps: int = typer.Option(30000, "--steps"),
        pe: str = typer.Option("ape,nope,reg", "--pe"),
        reg_lambda: float = typer.Option(1e-4, "--lambda"),
        eval_samples: int = typer.Option(2000, "--eval-samples"),
        workers: int = typer.Option(2, "--workers", help="local processes"),
        backend: str = typer.Option("local", "--backend", help="local | ray"),
        out: Path = typer.Option(Path("out/sweep"), "--out"),
        json_out: bool = typer.Option(False, "--json"),
    ):
        """Run the paper's grid (layers × heads × d × lr × seeds × encodings) in parallel; writes
        runs.jsonl (every run) and results.json (the trained-results schema, for verify report --trained)."""
        need_torch()
        import json
        from torch_bridge.results import summarize
        from torch_bridge.sweep import grid, run_sweep
        from verify.catalogue import get_case
        for c in cases:
            get_case(c)
        pes = [p.strip() for p in pe.split(",") if p.strip()]
        for p in pes:
            if p not in ("ape", "nope", "reg"):
                raise UserError(f"--pe takes ape, nope, reg (comma-separated), not {p!r}")
        specs = grid(cases, pes, _ints(layers, "layers"), _ints(heads, "heads"), _ints(d, "d"), _floats(lr, "lr"),
                     range(seeds), steps, reg_lambda, eval_samples, str(out / "models"))
        if not specs:
            raise UserError("the grid is empty (check that d is divisible by heads)")
        out.mkdir(parents=True, exist_ok=True)
        runs = []
        t0 = time.perf_counter()
        with open(out / "runs.jsonl", "a") as log, _progress() as progress:
            task = progress.add_task(f"sweep ({backend}, {workers} workers)", total=len(specs), info="")

            def on_done(r):
                runs.append(r)
                log.write(json.dumps(r, default=str) + "\n")
                log.flush()
                progress.update(task, advance=1, info=r.get("run", ""))

            run_sweep(specs, workers=workers, backend=backend, on_done=on_done)
        ok = [r for r in runs if "error" not in r]
        rows = summarize(ok)
        (out / "results.json").write_text(json.dumps(rows, indent=2))
        failed = [r for r in runs if "error" in r]
        if json_out:
            emit_json({"results": rows, "failed": failed, "wall_s": round(time.perf_counter() - t0, 1)})
        else:
            c = console()
            for r in rows:
                accs = "  ".join(f"{k[4:]}: {r[k]:.1f}" for k in r if k.startswith("acc_"))
                c.print(f"{r['task']:<24} {r['encoding']:<12} {accs}  (seeds {r['seeds']}/{r['runs']})")
            c.print(f"{len(ok)} runs, {len(failed)} failed; {out / 'results.json'}")
            for r in failed[:5]:
                c.print(f"[red]failed[/] {r['run']}: {r['error']}")
        if failed:
            raise typer.Exit(1)
