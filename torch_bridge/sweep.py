"""The sweep runner over the paper's grid (SPEC §5): one training run per grid point, local
processes in parallel or Ray tasks (`backend="ray"`, when Ray is installed). Every run writes its
Hugging Face folder; the runner returns the runs' metrics (history stripped) in completion order.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from verify.problems import UserError

PAPER_GRID = {"layers": (1, 2, 4), "heads": (1, 2, 4), "d": (16, 64, 256), "lr": (1e-3, 1e-4)}


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

    @property
    def name(self) -> str:
        pe = self.pe if self.pe != "reg" else f"reg{self.reg_lambda:g}"
        return f"{self.task}-{pe}-L{self.layers}H{self.heads}d{self.d}-lr{self.lr:g}-s{self.seed}"


def grid(tasks: Sequence[str], pes: Sequence[str], layers, heads, ds, lrs, seeds: Iterable[int], steps: int,
         reg_lambda: float = 1e-4, eval_samples: int = 2000, out: Optional[str] = None) -> List[RunSpec]:
    specs = []
    for task, pe, l, h, d, lr, seed in itertools.product(tasks, pes, layers, heads, ds, lrs, seeds):
        if d % h:
            continue
        s = RunSpec(task, pe, l, h, d, lr, seed, steps, reg_lambda, eval_samples)
        specs.append(RunSpec(**{**asdict(s), "out": str(Path(out) / s.name) if out else None}))
    return specs


def run_one(spec: RunSpec) -> Dict:
    """One run in a fresh process: train, save, return the metrics (no history)."""
    from torch_bridge.checkpoint import save_pretrained
    from torch_bridge.train import TrainConfig, train
    from verify.catalogue import get_case
    case = get_case(spec.task)
    cfg = TrainConfig(layers=spec.layers, heads=spec.heads, d=spec.d, lr=spec.lr, steps=spec.steps,
                      seed=spec.seed, pe=spec.pe, reg_lambda=spec.reg_lambda, eval_samples=spec.eval_samples,
                      eval_every=spec.eval_every, train_eval_samples=spec.train_eval_samples, threads=1)
    result = train(case, cfg)
    metrics = dict(result.metrics)
    if spec.out:
        save_pretrained(result.model, spec.out, {"metrics.json": metrics})
        metrics["saved"] = spec.out
    metrics.pop("history", None)
    metrics["run"] = spec.name
    return metrics


def _safe(spec: RunSpec) -> Dict:
    try:
        return run_one(spec)
    except UserError as ex:
        return {"run": spec.name, "task": spec.task, "error": ex.render()}
    except Exception as ex:  # a crashed run is reported, the sweep goes on
        return {"run": spec.name, "task": spec.task, "error": f"{type(ex).__name__}: {ex}"}


def run_sweep(specs: Sequence[RunSpec], workers: int = 1, backend: str = "local",
              on_done: Optional[Callable[[Dict], None]] = None) -> List[Dict]:
    results = []
    if backend == "ray":
        try:
            import ray
        except ImportError:
            raise UserError("--backend ray needs Ray: pip install ray (or use --backend local)") from None
        if not ray.is_initialized():
            ray.init(ignore_reinit_error=True)
        remote = ray.remote(num_cpus=1)(_safe)
        pending = [remote.remote(s) for s in specs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            r = ray.get(done[0])
            results.append(r)
            if on_done:
                on_done(r)
        return results
    if backend != "local":
        raise UserError(f"--backend must be local or ray, not {backend!r}")
    if workers <= 1:
        for s in specs:
            r = _safe(s)
            results.append(r)
            if on_done:
                on_done(r)
        return results
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_safe, s) for s in specs]
        for f in as_completed(futures):
            r = f.result()
            results.append(r)
            if on_done:
                on_done(r)
    return results
