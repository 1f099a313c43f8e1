"""`verify train CASE` and `verify sweep CASE…`: train the paper's GPT-2 on a catalogue case
(torch_bridge). torch is imported inside the commands only; without it they say how to get it
and exit 2."""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from verify.commands._common import console, emit_json, progress_bar
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
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--{what} takes comma-separated numbers, not {text!r}") from None
    if not values:
        raise UserError(f"--{what} takes comma-separated numbers; it is empty")
    return values


def _ints(text: str, what: str) -> List[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--{what} takes comma-separated integers, not {text!r}") from None
    if not values:
        raise UserError(f"--{what} takes comma-separated integers; it is empty")
    return values


# ranges of the training flags: past these a run takes days, not a different answer
MAX_STEPS = 10_000_000
MAX_EVAL_SAMPLES = 10_000_000
MAX_THREADS = 1024
MAX_SEEDS = 1000
MAX_WORKERS = 256
MAX_RUNS = 100_000
LONGEST_INPUT = 150        # the longest test bin (torch_bridge.data.DEFAULT_BINS)


def check_training_flags(layers: int, heads: int, d: int, lr: float, steps: int, seed: int, reg_lambda: float,
                         batch: int, eval_samples: int, threads: int = 1) -> None:
    """Every numeric training flag, before torch is imported or anything allocated."""
    from verify.limits import require_finite, require_range, require_seed
    for flag, value in (("--layers", layers), ("--heads", heads), ("--d", d), ("--batch", batch)):
        require_range(flag, value, 1)
    require_range("--steps", steps, 1, MAX_STEPS)
    require_range("--eval-samples", eval_samples, 1, MAX_EVAL_SAMPLES)
    require_range("--threads", threads, 1, MAX_THREADS)
    require_seed("--seed", seed)
    require_finite("--lr", lr, 0.0, strict_lo=True)
    require_finite("--lambda", reg_lambda, 0.0)
    if d % heads:
        raise UserError(f"--d {d} must be divisible by --heads {heads}")


def training_memory(vocab: int, n_positions: int, layers: int, heads: int, d: int, batch: int, pe: str):
    """(bytes for weights + gradients + AdamW's two moments, bytes for one step's activations), float32.
    Parameters: token and position tables plus 12d² + 13d per block (attention 4d², MLP 8d²);
    activations per block after Korthikanti et al. (2022), in float32: T·B·(68d + 10·H·T)."""
    positions = n_positions * d if pe != "nope" else 0
    params = vocab * d + positions + layers * (12 * d * d + 13 * d) + 3 * d + 1
    activations = layers * n_positions * batch * (68 * d + 10 * heads * n_positions) + 4 * batch * n_positions * vocab
    return 16 * params, activations


def refuse_oversized_training(case, layers: int, heads: int, d: int, batch: int, pe: str, copies: int = 1) -> None:
    """Estimate the memory of a run on `case` (copies: runs at once) and refuse it past the budget,
    naming the flag that drives the estimate."""
    from torch_bridge.data import TaskData, training_case
    from verify.limits import human_bytes, refuse_if_too_big
    import numpy as np
    data = TaskData(training_case(case))
    n_positions = data.max_total_length(LONGEST_INPUT, np.random.default_rng(0))
    state, acts = training_memory(len(data.tokens), n_positions, layers, heads, d, batch, pe)
    total = copies * (state + acts)
    if state >= acts:
        flag, hint = "--d", f"the weights and optimizer state alone take {human_bytes(copies * state)}; lower --d or --layers"
    else:
        flag, hint = "--batch", (f"one step's activations take {human_bytes(copies * acts)} "
                                 f"(sequences of {n_positions} positions); lower --batch, --heads or --layers")
    if copies > 1:
        hint += f", or --workers (now {copies} runs at once)"
    refuse_if_too_big(flag, total, hint, what=f"training {layers} layers × {heads} heads of width {d}")


DEVICES = ("cpu", "cuda", "auto")     # torch_bridge.train.DEVICES (not imported: no torch before the checks)
MAX_SWEEP_CPU_S = 3600                # past this estimate a sweep needs --yes


def check_device(device: str) -> None:
    if device not in DEVICES:
        raise UserError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")


PROTOCOL_HELP = ("languages: membership (a per-position membership bit) | next_symbol (the paper's formal-language "
                 "protocol: the set of legal next symbols and <eos>)")


def check_protocol(protocol: str, cases) -> None:
    """--protocol, before torch: next_symbol only for languages with a next-symbol reference."""
    from torch_bridge.data import PROTOCOLS, has_next_symbols
    if protocol not in PROTOCOLS:
        raise UserError(f"--protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    if protocol == "next_symbol":
        for c in cases:
            if not has_next_symbols(c):
                raise UserError(f"--protocol next_symbol: case {c.name!r} is "
                                + ("a sequence task (the protocol is for languages)" if c.format != "language"
                                   else "a language without a DFA or next-symbol reference")
                                + "; use --protocol membership")


def check_train_folder(target: Path, overwrite: bool) -> None:
    """--out of `train`: missing or empty; with --overwrite also an earlier run's folder (it holds a
    metrics.json), replaced only once the new run is saved. Anything else is never replaced."""
    from verify.outputs import check_folder_target
    check_folder_target(target, "--out", nonempty_ok=True)   # names, file-or-folder, a writable parent
    if overwrite and target.is_dir() and any(target.iterdir()):
        if not (target / "metrics.json").is_file():
            raise UserError(f"--out {str(target)!r}: --overwrite replaces a folder `verify train` wrote (it has "
                            f"a metrics.json); this one has none, so it is left alone; choose another --out")
        return
    if target.is_dir() and any(target.iterdir()):
        raise UserError(f"--out {str(target)!r}: exists and is not empty; choose another --out, or pass "
                        f"--overwrite to replace an earlier run's folder")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} CPU-hours" if seconds >= 3600 else f"{seconds / 60:,.1f} CPU-minutes"


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    return progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[info]}"), on=console())


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
        overwrite: bool = typer.Option(False, "--overwrite", help="replace --out when it holds an earlier run"),
        device: str = typer.Option("cpu", "--device", help="cpu | cuda | auto (cuda when torch sees one)"),
        protocol: str = typer.Option("membership", "--protocol", help=PROTOCOL_HELP),
        inputs: str = typer.Option("paper", "--inputs", help="next-symbol inputs: paper (the paper's generators: "
                                   "D-n nested blocks, members of (aa)*, (aaaa)*, Tomita 5; else live walks) | walks "
                                   "(live walks through the automaton for every language)"),
        patience: int = typer.Option(1, "--patience", help="early stop after this many training-bin checks in a row "
                                     "at 100% (1: the first)"),
        json_out: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
    ):
        """Train GPT-2 on a case (AdamW, linear decay, random position offsets, early stop) and save a
        Hugging Face folder plus metrics.json."""
        from verify.catalogue import get_case
        from verify.outputs import check_folder_target, staged_folder
        check_training_flags(layers, heads, d, lr, steps, seed, reg_lambda, batch, eval_samples, threads)
        check_device(device)
        from verify.limits import require_range
        require_range("--patience", patience, 1, MAX_STEPS)
        from torch_bridge.data import INPUTS
        if inputs not in INPUTS:
            raise UserError(f"--inputs must be one of {', '.join(INPUTS)}, not {inputs!r}")
        the_case = get_case(case)
        check_protocol(protocol, [the_case])
        need_torch()
        from torch_bridge.checkpoint import save_pretrained
        from torch_bridge.train import TrainConfig, encoding_name, resolve_device, train
        cfg = TrainConfig(layers=layers, heads=heads, d=d, lr=lr, steps=steps, seed=seed, pe=pe,
                          reg_lambda=reg_lambda, batch=batch, eval_samples=eval_samples, threads=threads,
                          device=device, protocol=protocol, inputs=inputs, patience=patience)
        refuse_oversized_training(the_case, layers, heads, d, batch, pe)
        stem = case if protocol == "membership" else f"{case}-next"      # as the sweep names runs
        stem += "-walks" if inputs == "walks" and protocol != "membership" else ""
        wait = f"-patience{patience}" if patience != 1 else ""
        name = f"{stem}-{encoding_name(pe, reg_lambda)}-L{layers}H{heads}d{d}-lr{lr:g}{wait}-s{seed}"
        target = out or Path("out") / "train" / name
        check_train_folder(target, overwrite)  # before training: a bad --out must not cost the run
        resolve_device(device)
        with _progress() as progress:
            task = progress.add_task(f"train {name}", total=steps, info="")

            def on_step(step, total, loss, acc):
                info = f"loss {loss:.4f}" + (f"  train-bin acc {acc:.1f}%" if acc is not None else "")
                progress.update(task, completed=step, info=info)

            result = train(the_case, cfg, on_step=on_step)
        m = result.metrics
        with staged_folder(target, "--out") as tmp:
            save_pretrained(result.model, tmp, {"metrics.json": m})
            if overwrite and target.is_dir() and any(target.iterdir()):  # the new run is whole: now replace
                import shutil
                shutil.rmtree(target)
        m = {**m, "saved": str(target)}
        if json_out:
            emit_json({k: v for k, v in m.items() if k != "history"})
            return
        c = console()
        proto = f" ({m['protocol'].replace('_', '-')} protocol)" if m.get("protocol") else ""
        c.print(f"[bold]{case}[/] {m['encoding']}{proto}: {m['steps_run']} steps, train-bin accuracy "
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
        workers: Optional[int] = typer.Option(None, "--workers",
                                              help="runs at once: local processes (default 2), or Ray tasks in "
                                                   "flight (default: as the cluster's resources allow)"),
        backend: str = typer.Option("local", "--backend", help="local | ray"),
        address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to join (default $RAY_ADDRESS; "
                                                                      "none: a local Ray instance)"),
        cpus_per_run: float = typer.Option(1.0, "--cpus-per-run", help="Ray: CPUs per run (also its torch threads)"),
        gpus_per_run: float = typer.Option(0.0, "--gpus-per-run", help="Ray: GPUs per run (fractions share one)"),
        retries: int = typer.Option(1, "--retries", help="Ray: retries of a run whose worker or node died"),
        device: str = typer.Option("cpu", "--device", help="cpu | cuda | auto, for every run"),
        protocol: str = typer.Option("membership", "--protocol", help=PROTOCOL_HELP),
        out: Path = typer.Option(Path("out/sweep"), "--out"),
        resume: bool = typer.Option(False, "--resume", help="continue the sweep in --out: skip its finished runs "
                                                            "(same full configuration), merge the results"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace the sweep in --out"),
        dry_run: bool = typer.Option(False, "--dry-run", help="print the grid, the run count and the estimated "
                                                              "CPU time (measured), and stop"),
        yes: bool = typer.Option(False, "--yes", help=f"run even when the estimate is over "
                                                      f"{MAX_SWEEP_CPU_S // 3600} CPU-hour"),
        json_out: bool = typer.Option(False, "--json"),
    ):
        """Run the paper's grid (layers × heads × d × lr × seeds × encodings) in parallel; writes
        runs.jsonl (every run) and results.json (the trained-results schema, for verify report --trained)."""
        from verify.catalogue import get_case
        from verify.limits import require_finite, require_range
        # every user error is found here, before a folder or a log exists
        the_cases = [get_case(c) for c in cases]
        pes = [p.strip() for p in pe.split(",") if p.strip()]
        if not pes:
            raise UserError("--pe takes ape, nope, reg (comma-separated); it is empty")
        for p in pes:
            if p not in ("ape", "nope", "reg"):
                raise UserError(f"--pe takes ape, nope, reg (comma-separated), not {p!r}")
        grid_values = {"layers": _ints(layers, "layers"), "heads": _ints(heads, "heads"), "d": _ints(d, "d"),
                       "lr": _floats(lr, "lr")}
        require_range("--seeds", seeds, 1, MAX_SEEDS)
        if workers is not None:
            require_range("--workers", workers, 1, MAX_WORKERS)
        if backend not in ("local", "ray"):
            raise UserError(f"--backend must be local or ray, not {backend!r}")
        check_device(device)
        check_protocol(protocol, the_cases)
        require_finite("--cpus-per-run", cpus_per_run, 0.0, 1024.0, strict_lo=True)
        require_finite("--gpus-per-run", gpus_per_run, 0.0, 64.0)
        require_range("--retries", retries, 0, 100)
        ray_flags = {"--address": address is not None, "--cpus-per-run": cpus_per_run != 1.0,
                     "--gpus-per-run": gpus_per_run != 0.0, "--retries": retries != 1}
        if backend == "local" and any(ray_flags.values()):
            raise UserError(f"{', '.join(f for f, given in ray_flags.items() if given)}: only with --backend ray")
        if backend == "ray" and device == "cuda" and not gpus_per_run:
            raise UserError("--device cuda on Ray needs --gpus-per-run (e.g. 1): a task without GPUs sees none")
        if resume and overwrite:
            raise UserError("--resume and --overwrite contradict each other; pass one")
        size = len(cases) * len(pes) * seeds
        for values in grid_values.values():
            size *= len(values)
        require_range("grid size (cases × --pe × --layers × --heads × --d × --lr × --seeds)", size, 1, MAX_RUNS)
        for v in grid_values["lr"]:
            require_finite("--lr", v, 0.0, strict_lo=True)
        for flag in ("layers", "heads", "d"):
            for v in grid_values[flag]:
                require_range(f"--{flag}", v, 1)
        check_training_flags(1, 1, 1, 1e-3, steps, 0, reg_lambda, 1, eval_samples)  # --steps, --lambda, ...
        need_torch()
        from torch_bridge.sweep import (check_sweep_folder, clear_sweep_folder, estimate, grid, plan,
                                        remove_leftovers, run_sweep, write_results)
        earlier = check_sweep_folder(out, "resume" if resume else "overwrite" if overwrite else
                                     "inspect" if dry_run else "new")
        if backend == "local":
            from torch_bridge.train import resolve_device
            resolve_device(device)  # --device cuda without one: refused here, not in every run
        specs = grid(cases, pes, grid_values["layers"], grid_values["heads"], grid_values["d"], grid_values["lr"],
                     range(seeds), steps, reg_lambda, eval_samples, str(out), device=device,
                     threads=max(1, int(cpus_per_run)), protocol=protocol)
        if not specs:
            raise UserError("the grid is empty (check that d is divisible by heads)")
        todo, skipped = plan(specs, out, resume and not overwrite)
        workers = workers if workers is not None else (2 if backend == "local" else None)
        at_once = min(workers, len(specs)) if backend == "local" else 1
        for c in the_cases:  # the largest model of the grid, `at_once` runs in parallel
            refuse_oversized_training(c, max(grid_values["layers"]), max(grid_values["heads"]),
                                      max(grid_values["d"]), 64, "ape", copies=at_once)
        where = f"{backend}, " + (f"{workers} at once" if workers else "as many at once as the cluster allows")
        est = estimate(todo) if (dry_run or not yes) and todo else None
        if est is not None and (dry_run or est.cpu_s > MAX_SWEEP_CPU_S):
            measured = "; ".join(f"{n}: {sec * 1000:.0f} ms/step ({g:.1f} GFLOP/s)" for n, sec, g in est.measured)
            summary = (f"{len(specs)} runs ({' × '.join(f'{len(v)} {k}' for k, v in [('cases', cases), ('pe', pes), *grid_values.items()])}"
                       f" × {seeds} seeds, d divisible by heads), {len(todo)} to do"
                       + (f", {len(skipped)} finished (skipped by --resume)" if skipped else "")
                       + f"; estimated {_hours(est.cpu_s)} at most (every run to its last of {steps:,} steps; "
                       f"early stop ends many sooner), from measured steps on one CPU thread: {measured}")
            if dry_run:
                if json_out:
                    emit_json({"runs": len(specs), "todo": len(todo), "skipped": len(skipped),
                               "estimate_cpu_s": round(est.cpu_s, 1), "backend": where,
                               "measured": [{"run": n, "s_per_step": sec, "gflops": g} for n, sec, g in est.measured],
                               "grid": [s.name for s in todo]})
                else:
                    c = console()
                    c.print(f"grid: cases {', '.join(cases)}; pe {', '.join(pes)}; "
                            + "; ".join(f"{k} {', '.join(f'{x:g}' for x in v)}" for k, v in grid_values.items())
                            + f"; seeds 0..{seeds - 1}; {steps:,} steps; {eval_samples} samples per test bin")
                    c.print(summary)
                    c.print(f"would run on {where}; nothing was written"
                            + (f" ({out} holds an earlier sweep: a real run needs --resume or --overwrite)"
                               if earlier and not (resume or overwrite) else ""))
                return
            raise UserError(f"this sweep is large: {summary}. Pass --yes to run it, or shrink the grid "
                            f"(--layers/--heads/--d/--lr/--seeds/--steps); --dry-run prints it")
        if dry_run:  # nothing to do
            console().print(f"{len(specs)} runs, all finished in {out} (nothing to do); nothing was written")
            return
        if overwrite:
            clear_sweep_folder(out)
        remove_leftovers(todo)
        ray_options = ({"address": address, "cpus_per_run": cpus_per_run, "gpus_per_run": gpus_per_run,
                        "retries": retries} if backend == "ray" else {})
        t0 = time.perf_counter()
        with _progress() as progress:
            task = progress.add_task(f"sweep ({where})", total=len(todo), info="")
            runs, rows, written = write_results(
                out, lambda on_done: run_sweep(todo, workers=workers, backend=backend, on_done=on_done,
                                               **ray_options),
                on_run=lambda r: progress.update(task, advance=1, info=r.get("run", "")))
        ok = [r for r in runs if "error" not in r]
        failed = [r for r in runs if "error" in r]
        crashed = [r for r in failed if r.get("error_kind") == "internal"]
        if json_out:
            emit_json({"results": rows, "failed": failed, "skipped": [s.name for s in skipped],
                       "wall_s": round(time.perf_counter() - t0, 1),
                       "results_file": str(written) if written else None})
        else:
            c = console()
            for r in rows:
                accs = "  ".join(f"{k[4:]}: {r[k]:.1f}" for k in r if k.startswith("acc_"))
                c.print(f"{r['task']:<24} {r['encoding']:<12} {accs}  (seeds {r['seeds']}/{r['runs']})")
            c.print(f"{len(ok)} runs, {len(failed)} failed"
                    + (f", {len(skipped)} finished earlier (skipped)" if skipped else "") + "; "
                    + (f"{written}" if written else "no results.json written (no run succeeded)"))
            for r in failed[:5]:
                c.print(f"[red]failed[/] {r['run']}: {r['error']}")
        if crashed:  # a crashed run is a bug, not a refutation
            import sys
            print(f"internal error (a bug in lengthgen-verify): {len(crashed)} run(s) crashed, e.g. "
                  f"{crashed[0]['run']}: {crashed[0]['error']}; see {out / 'runs.jsonl'}", file=sys.stderr)
            raise typer.Exit(70)
        if failed:
            raise typer.Exit(2)
