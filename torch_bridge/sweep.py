"""The sweep runner over the paper's grid (SPEC §5): one training run per grid point, local
processes in parallel or Ray tasks (`backend="ray"`, torch_bridge.ray_backend). Every run writes its
Hugging Face folder; the runner returns the runs' metrics (history stripped) in completion order.

A run is identified by its full configuration (`RunSpec.key`: every field that changes what is
trained or measured; not where it runs or how many threads it uses), so `--resume` skips exactly
the runs a folder already holds, and a changed --steps or --eval-samples is a new run.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from verify.problems import UserError

PAPER_GRID = {"layers": (1, 2, 4), "heads": (1, 2, 4), "d": (16, 64, 256), "lr": (1e-3, 1e-4)}
SWEEP_FILES = ("runs.jsonl", "results.json", "models")   # what a sweep writes in its --out folder
EXECUTION_FIELDS = ("out", "device", "threads")          # where and how a run executes: not its identity


@dataclass(frozen=True)
class RunSpec:
    task: str
    pe: str
    layers: int
    heads: int
    d: int
    lr: float
    seed: int
    steps: int
    reg_lambda: float = 1e-4
    eval_samples: int = 2000
    out: Optional[str] = None      # where to save the model (None: not saved)
    eval_every: int = 200
    train_eval_samples: int = 512
    batch: int = 64
    device: str = "cpu"            # cpu | cuda | auto, resolved where the run executes
    threads: int = 1               # torch CPU threads of the run
    protocol: str = "membership"   # languages: membership | next_symbol (torch_bridge.data)
    stop_after: Optional[int] = None   # halted at this step, the schedule still that of `steps` (an lr probe)
    dropout: float = 0.0           # GPT-2's dropout while training (bench/reproduce.py's table: 0.1 on a few rows)
    inputs: str = "paper"          # next-symbol inputs: paper | walks (torch_bridge.data.INPUTS)
    patience: int = 1              # early stop after this many checks in a row at 100%

    @property
    def inputs_key(self) -> str:
        from torch_bridge.data import inputs_key
        from verify.catalogue import get_case
        return inputs_key(get_case(self.task), self.protocol, self.inputs)

    @property
    def name(self) -> str:
        pe = self.pe if self.pe != "reg" else f"reg{self.reg_lambda:g}"
        task = self.task if self.protocol == "membership" else f"{self.task}-next"
        inputs = self.inputs_key
        task += f"-{inputs.replace(' ', '-')}" if inputs else ""
        stop = f"-stop{self.stop_after}" if self.stop_after else ""
        drop = f"-drop{self.dropout:g}" if self.dropout else ""
        wait = f"-patience{self.patience}" if self.patience != 1 else ""
        return f"{task}-{pe}-L{self.layers}H{self.heads}d{self.d}-lr{self.lr:g}{drop}{wait}-s{self.seed}{stop}"

    def identity(self) -> Dict:
        # stop_after, dropout and patience only when set, the inputs only where they are not what runs were
        # keyed without (torch_bridge.data.inputs_key): the keys of earlier runs stay what they were
        out = {k: v for k, v in asdict(self).items()
               if k not in EXECUTION_FIELDS and k != "inputs" and not (k == "stop_after" and v is None)
               and not (k == "dropout" and not v) and not (k == "patience" and v == 1)}
        if self.inputs_key:
            out["inputs"] = self.inputs
        return out

    @property
    def key(self) -> str:
        """A digest of the full configuration (resume matches on it)."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:16]

    @property
    def folder(self) -> str:
        """The model folder's name: readable, and distinct for configurations that share a name."""
        return f"{self.name}-{self.key[:8]}"


def grid(tasks: Sequence[str], pes: Sequence[str], layers, heads, ds, lrs, seeds: Iterable[int], steps: int,
         reg_lambda: float = 1e-4, eval_samples: int = 2000, out: Optional[str] = None, **fields) -> List[RunSpec]:
    """Every grid point with d divisible by heads; `fields`: other RunSpec fields, the same for all runs."""
    specs = []
    for task, pe, l, h, d, lr, seed in itertools.product(tasks, pes, layers, heads, ds, lrs, seeds):
        if d % h:
            continue
        s = RunSpec(task, pe, l, h, d, lr, seed, steps, reg_lambda, eval_samples, **fields)
        specs.append(replace(s, out=str(Path(out) / "models" / s.folder) if out else None))
    return specs


def train_config(spec: RunSpec):
    from torch_bridge.train import TrainConfig
    return TrainConfig(layers=spec.layers, heads=spec.heads, d=spec.d, lr=spec.lr, steps=spec.steps,
                       seed=spec.seed, pe=spec.pe, reg_lambda=spec.reg_lambda, eval_samples=spec.eval_samples,
                       eval_every=spec.eval_every, train_eval_samples=spec.train_eval_samples, batch=spec.batch,
                       threads=spec.threads, device=spec.device, protocol=spec.protocol,
                       stop_after=spec.stop_after, dropout=spec.dropout, inputs=spec.inputs, patience=spec.patience)


def run_one(spec: RunSpec, collect: bool = False) -> Dict:
    """One run in a fresh process: train, save, return the metrics (no history). collect: save into a
    temporary folder and return its files as bytes under "_files" (a Ray worker on another node: the
    driver writes them into its own --out)."""
    from torch_bridge.train import train
    from verify.catalogue import get_case
    from verify.outputs import check_folder_target
    if spec.out and not collect:  # before training: a run whose folder is taken fails at once
        check_folder_target(spec.out, "--out")
    return _record(spec, train(get_case(spec.task), train_config(spec)), collect)


def _record(spec: RunSpec, result, collect: bool = False, **extra) -> Dict:
    """A finished run's log record (no history), its model saved into spec.out (or collected)."""
    from torch_bridge.checkpoint import save_pretrained
    from verify.outputs import staged_folder
    metrics = dict(result.metrics)
    metrics.update(run=spec.name, key=spec.key, spec=spec.identity(), **extra)
    if spec.out and collect:
        import shutil
        import tempfile
        tmp = Path(tempfile.mkdtemp(prefix="lengthgen-run-"))
        try:
            save_pretrained(result.model, tmp, {"metrics.json": metrics})
            metrics["_files"] = {str(f.relative_to(tmp)): f.read_bytes() for f in sorted(tmp.rglob("*")) if f.is_file()}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    elif spec.out:
        with staged_folder(spec.out, "--out") as tmp:  # whole or not at all, usual permissions
            save_pretrained(result.model, tmp, {"metrics.json": metrics})
        metrics["saved"] = spec.out
    metrics.pop("history", None)
    return metrics


def probe_spec(spec: RunSpec, probe: int) -> RunSpec:
    """The run `spec` halted at step `probe` (its own model folder beside the full run's)."""
    stopped = replace(spec, stop_after=probe)
    return replace(stopped, out=str(Path(spec.out).parent / stopped.folder) if spec.out else None)


def race_lrs(specs: Sequence[RunSpec], probe: int) -> List[Dict]:
    """Choose the lr on a probe, in one process: the runs in `specs` (one configuration at several lrs)
    train to step `probe` (a multiple of eval_every, so the accuracy compared is each run's own check
    there), then the one with the best training-bin accuracy (ties: fewer steps, then the larger lr)
    goes on to its last step: exactly the run run_one(spec) would do. The others stop and are logged as
    probe_spec(spec, probe) runs; a run that fitted before the probe stopped there anyway. Every record
    carries lr_probe: the step, each lr's accuracy there, the chosen lr. Test accuracies never enter."""
    from torch_bridge.train import Training
    from verify.catalogue import get_case
    from verify.outputs import check_folder_target
    case = get_case(specs[0].task)
    stopped = [probe_spec(s, probe) for s in specs]
    for target in [s.out for s in (*specs, *stopped)]:   # before training: a taken folder fails at once
        if target:
            check_folder_target(target, "--out")
    runs = [Training(case, train_config(s)) for s in specs]
    for r in runs:
        r.run_until(probe)
    best = max(range(len(specs)), key=lambda i: (runs[i].train_acc or 0.0, -runs[i].step, specs[i].lr))
    info = {"step": probe, "train_acc": {f"{s.lr:g}": r.train_acc for s, r in zip(specs, runs)},
            "steps": {f"{s.lr:g}": r.step for s, r in zip(specs, runs)}, "chosen": specs[best].lr}
    records = []
    for i, (s, halted, r) in enumerate(zip(specs, stopped, runs)):
        if i == best:
            r.run_until(s.steps)
        # a run that fitted before the probe is complete: logged as the full run
        records.append(_record(s if i == best or r.done else halted, r.result(), lr_probe=info))
    return records


def failed_record(spec: RunSpec, error: str, kind: str) -> Dict:
    """kind: user (bad input, full or read-only disk), lost (the worker or its node died), internal (a bug)."""
    return {"run": spec.name, "key": spec.key, "task": spec.task, "error": error, "error_kind": kind}


def _safe(spec: RunSpec, collect: bool = False) -> Dict:
    return _guarded(lambda: [run_one(spec, collect=True) if collect else run_one(spec)], [spec])[0]


def safe_race(specs: Sequence[RunSpec], probe: int) -> List[Dict]:
    """race_lrs in a worker process: a failure is recorded for each of its runs."""
    return _guarded(lambda: race_lrs(specs, probe), specs)


def _guarded(work: Callable[[], List[Dict]], specs: Sequence[RunSpec]) -> List[Dict]:
    def failed(error: str, kind: str) -> List[Dict]:
        return [failed_record(s, error, kind) for s in specs]
    try:
        return work()
    except UserError as ex:
        return failed(ex.render(), "user")
    except OSError as ex:  # a full or read-only disk is the machine's problem, not a bug
        from verify.outputs import ENVIRONMENT_ERRNOS
        return failed(f"{type(ex).__name__}: {ex}", "user" if ex.errno in ENVIRONMENT_ERRNOS else "internal")
    except Exception as ex:  # a crashed run is reported (a bug: the command exits 70), the sweep goes on
        return failed(f"{type(ex).__name__}: {ex}", "internal")


def deliver(spec: RunSpec, record: Dict) -> Dict:
    """On the driver: write the files a remote run returned into spec.out (staged: whole or not at all)."""
    files = record.pop("_files", None)
    if files is None or not spec.out:
        return record
    from verify.outputs import staged_folder
    try:
        with staged_folder(spec.out, "--out") as tmp:
            for rel, data in files.items():
                target = (tmp / rel).resolve()
                if tmp.resolve() not in target.parents:  # a worker names files inside its folder only
                    raise UserError(f"run {spec.name}: the worker returned a file outside its folder: {rel!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    except UserError as ex:
        return failed_record(spec, ex.render(), "user")
    return {**record, "saved": spec.out}


# ---- the --out folder of a sweep: new, resumed or overwritten ----------------------------------------

def finished_keys(out) -> Dict[str, Dict]:
    """key -> record of every successful run that out/runs.jsonl holds."""
    from torch_bridge.results import recorded_runs
    log = Path(out) / "runs.jsonl"
    if not log.exists():
        return {}
    return {r["key"]: r for r in recorded_runs(log.read_text(errors="replace").splitlines()) if "key" in r}


def check_sweep_folder(out, mode: str, also: Sequence[str] = ()) -> bool:
    """Before any work. mode: new (out missing or empty), resume (an earlier sweep's folder is continued),
    overwrite (an earlier sweep's files are replaced), inspect (--dry-run: only looked at). A folder
    holding anything a sweep does not write (SWEEP_FILES, plus `also`) is never touched. True when out
    holds an earlier sweep."""
    from verify.outputs import check_folder_target
    out = Path(out)
    check_folder_target(out, "--out", nonempty_ok=True)
    if not out.is_dir():
        return False
    entries = [p.name for p in out.iterdir() if not p.name.startswith(".")]   # .* : staged leftovers of a crash
    if not entries:
        return False
    foreign = sorted(set(entries) - set(SWEEP_FILES) - set(also))
    if foreign:
        raise UserError(f"--out {str(out)!r}: holds files a sweep does not write ({', '.join(foreign[:5])}); "
                        f"choose another --out")
    if mode == "new":
        done = len(finished_keys(out))
        raise UserError(f"--out {str(out)!r}: holds an earlier sweep ({done} finished runs); pass --resume to "
                        f"skip the finished runs and merge the results, or --overwrite to start again")
    return True


def clear_sweep_folder(out) -> None:
    """--overwrite, once every check has passed: remove what an earlier sweep wrote (nothing else)."""
    import shutil
    out = Path(out)
    try:
        for name in SWEEP_FILES:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    except OSError as err:
        raise UserError(f"--overwrite: cannot remove the earlier sweep in {str(out)!r} ({err.strerror or err})") from None


def plan(specs: Sequence[RunSpec], out, resume: bool) -> Tuple[List[RunSpec], List[RunSpec]]:
    """(runs to do, runs skipped because out/runs.jsonl records them as finished; only with resume)."""
    if not resume:
        return list(specs), []
    done = finished_keys(out)
    return [s for s in specs if s.key not in done], [s for s in specs if s.key in done]


def remove_leftovers(todo: Sequence[RunSpec]) -> None:
    """--resume: a model folder of a run the log does not record as finished is the leftover of an
    interrupted run (the folder is written before the log line): removed, so the run can be done again."""
    import shutil
    for s in todo:
        if s.out and Path(s.out).is_dir():
            shutil.rmtree(s.out, ignore_errors=True)


# ---- the cost of a sweep, before it runs -------------------------------------------------------------

def step_flops(layers: int, d: int, n: int, batch: int, vocab: int) -> float:
    """FLOPs of one training step (forward + backward ≈ 3 × forward) on batch × n tokens: per token and
    layer 2·12d² for the weights, 2·2·n·d for attention scores and values (the kernel computes the full
    n × n square), plus 2·vocab·d for the tied head."""
    per_token = layers * (24 * d * d + 4 * n * d) + 2 * vocab * d
    return 3.0 * batch * n * per_token


@dataclass(frozen=True)
class Estimate:
    runs: int
    cpu_s: float                   # an upper bound: every run to its last step (early stop ends many sooner)
    measured: Tuple[Tuple[str, float, float], ...]   # (run, seconds per step, GFLOP/s)
    per_run: Tuple[float, ...] = ()   # CPU seconds of each spec, in the order given


def _shape(spec: RunSpec):
    from torch_bridge.data import TaskData, training_case
    from verify.catalogue import get_case
    import numpy as np
    data = TaskData(training_case(get_case(spec.task)))
    return data.max_total_length(50, np.random.default_rng(0)), len(data.tokens)


def estimate(specs: Sequence[RunSpec], measure_steps: int = 3, across_tasks: bool = False) -> Estimate:
    """CPU seconds for `specs`, from measured seconds per step of the smallest and the largest model
    (by FLOPs, on the first task; across_tasks: of all the specs, for sets whose tasks have different
    architectures) and each run's FLOPs relative to them; evaluation adds its forward passes (a third of a
    step per sample batch, test bins up to 3× longer)."""
    from torch_bridge.train import measure_step_seconds
    from verify.catalogue import get_case
    if not specs:
        return Estimate(0, 0.0, ())
    shapes = {t: _shape(s) for t, s in {s.task: s for s in specs}.items()}
    flops = {s: step_flops(s.layers, s.d, shapes[s.task][0], s.batch, shapes[s.task][1]) for s in specs}
    first = list(specs) if across_tasks else [s for s in specs if s.task == specs[0].task]
    lo, hi = min(first, key=flops.get), max(first, key=flops.get)
    points = []
    for s in dict.fromkeys((lo, hi)):
        sec = measure_step_seconds(get_case(s.task), replace(train_config(s), device="cpu", threads=1),
                                   steps=measure_steps)
        points.append((s, sec))
    # seconds per step = overhead + FLOPs / rate, through the two measured points (one point: proportional)
    (f1, t1), (f2, t2) = (flops[points[0][0]], points[0][1]), (flops[points[-1][0]], points[-1][1])
    slope = (t2 - t1) / (f2 - f1) if f2 > f1 and t2 > t1 else max(t1, t2) / max(f1, f2)
    overhead = max(0.0, t1 - slope * f1)
    per_run = []
    for s in specs:
        step_s = overhead + slope * flops[s]
        evals = (s.steps // max(1, s.eval_every)) * s.train_eval_samples + 3 * 2 * s.eval_samples
        per_run.append(step_s * (s.steps + evals / (3 * s.batch)))
    return Estimate(len(specs), sum(per_run), tuple((s.name, sec, flops[s] / sec / 1e9) for s, sec in points),
                    tuple(per_run))


def write_results(out, launch: Callable[[Callable[[Dict], None]], object],
                  on_run: Optional[Callable[[Dict], None]] = None) -> Tuple[List[Dict], List[Dict], Optional[Path]]:
    """Run a sweep into the folder `out` (checked by the caller with verify.outputs.check_folder_target).
    `launch(on_done)` runs it; each finished run is appended to out/runs.jsonl at once (the log).
    Then out/results.json is written atomically from every successful run the log holds (this sweep's
    and earlier ones', latest per grid point), merged with the rows already there: a failed rerun
    never replaces results with fewer. Returns (this sweep's runs, the rows, results.json or None
    when there is nothing to write). A folder this call created is removed again when no run finished."""
    import json
    import shutil

    from torch_bridge.results import merge_rows, recorded_runs, summarize
    from verify.outputs import ensure_parent, write_text
    out = Path(out)
    created = not out.exists()
    ensure_parent(out / "runs.jsonl", "--out")
    runs: List[Dict] = []
    log_path = out / "runs.jsonl"
    try:
        torn = log_path.exists() and log_path.stat().st_size and not log_path.read_bytes().endswith(b"\n")
        with open(log_path, "a") as log:
            if torn:  # an earlier sweep died mid-line: start ours on a line of its own
                log.write("\n")

            def on_done(r: Dict) -> None:
                runs.append(r)
                log.write(json.dumps(r, default=str) + "\n")
                log.flush()
                if on_run:
                    on_run(r)
            launch(on_done)
    except OSError as err:
        raise UserError(f"--out {str(out)!r}: cannot write the run log ({err.strerror or err})") from None
    finally:
        if created and not runs:
            shutil.rmtree(out, ignore_errors=True)
    rows = summarize(recorded_runs(log_path.read_text().splitlines()))
    results = out / "results.json"
    existing: List[Dict] = []
    if results.exists():
        try:
            from torch_bridge.results import read_trained_results
            existing = read_trained_results(results)
        except UserError:
            existing = []  # not a results file (we never wrote it so): replaced by the log's summary
    merged = merge_rows(existing, rows)
    if not merged:
        return runs, merged, None
    write_text(results, json.dumps(merged, indent=2) + "\n", "--out")
    return runs, merged, results


def run_sweep(specs: Sequence[RunSpec], workers: Optional[int] = 1, backend: str = "local",
              on_done: Optional[Callable[[Dict], None]] = None, **ray_options) -> List[Dict]:
    """Run specs; on_done(record) as each finishes. workers: runs at once (local processes, or the most
    Ray tasks in flight; None on Ray: as many as the cluster's resources allow). ray_options: see
    torch_bridge.ray_backend.run_on_ray."""
    results: List[Dict] = []

    def done(r: Dict) -> None:
        results.append(r)
        if on_done:
            on_done(r)

    if backend == "ray":
        from torch_bridge.ray_backend import run_on_ray
        run_on_ray(specs, done, max_in_flight=workers, **ray_options)
        return results
    if backend != "local":
        raise UserError(f"--backend must be local or ray, not {backend!r}")
    if ray_options:
        raise UserError(f"{', '.join(sorted(ray_options))}: only with --backend ray")
    if (workers or 1) <= 1:
        for s in specs:
            done(_safe(s))
        return results
    from concurrent.futures import as_completed

    from verify.processes import process_pool
    with process_pool(workers) as pool:
        futures = {pool.submit(_safe, s): s for s in specs}
        for f in as_completed(futures):
            try:
                r = f.result()
            except Exception as ex:  # the worker process died (killed, out of memory): this run only
                if pool.stopped:     # Ctrl-C / SIGTERM stopped every worker: nothing to log, the sweep ends
                    break
                r = failed_record(futures[f], f"{type(ex).__name__}: {ex}", "lost")
            done(r)
    return results
