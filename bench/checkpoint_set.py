"""Build the checkpoint set that bench/bench_checkpoints.py scores `verify audit --predict` on (not CI).

The set is what issue 19 asks for: several architectures per task, some that fit the training range (inputs
≤ 50) and generalize, some that fit it and fail on longer inputs, and the intermediate checkpoints of one
run. Every run uses the paper's training (torch_bridge.train: AdamW, linear decay, batch 64, random
position offsets, early stop at 100% on the training bin) with a short budget; a series run switches early
stop off and saves a snapshot at each listed step. Each model folder holds what `verify train` writes
(config.json with the task's tokens, model.safetensors, metrics.json with the training's own test bins).

    .venv/bin/python bench/checkpoint_set.py --out out/checkpoints            # the whole set (~1 h on 2 cores)
    .venv/bin/python bench/checkpoint_set.py --out out/checkpoints --list     # what would run

The weights are not committed; the set's description (SPECS below) and the measured accuracies are
(bench/results/checkpoints.json, written by bench/bench_checkpoints.py).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass(frozen=True)
class SetRun:
    task: str
    pe: str                      # ape | nope
    layers: int
    heads: int
    d: int
    lr: float = 1e-3
    seed: int = 0
    steps: int = 5000
    protocol: str = "membership"   # languages: next_symbol (the paper's formal-language protocol)
    snapshots: Tuple[int, ...] = ()  # a series: early stop off, a checkpoint at each of these steps

    @property
    def name(self) -> str:
        task = self.task if self.protocol == "membership" else f"{self.task}-next"
        return f"{task}-{self.pe}-L{self.layers}H{self.heads}d{self.d}-lr{self.lr:g}-s{self.seed}"


NS = "next_symbol"
LONG = ("unique_copy", "sort", "repeat_copy")      # answers as long as the input: the costliest per step
SERIES = (200, 400, 600, 800, 1000, 1400, 2000, 3000, 4000)
SPECS = (
    # tasks the theory calls expressible, in small architectures (the paper's or the shared checkpoints')
    SetRun("bin_majority", "ape", 1, 1, 16), SetRun("bin_majority", "ape", 1, 1, 16, seed=1),
    SetRun("bin_majority", "nope", 1, 1, 16), SetRun("bin_majority", "ape", 2, 2, 64),
    SetRun("majority", "nope", 1, 1, 64), SetRun("majority", "ape", 1, 2, 64),
    SetRun("majority", "ape", 2, 2, 64),
    SetRun("sort", "nope", 1, 1, 64), SetRun("sort", "ape", 1, 2, 64),
    SetRun("unique_copy", "ape", 2, 1, 64),
    SetRun("bin_majority_interleave", "ape", 2, 2, 16), SetRun("bin_majority_interleave", "ape", 2, 2, 16, seed=1),
    SetRun("bin_majority_interleave", "ape", 2, 2, 64), SetRun("bin_majority_interleave", "ape", 2, 2, 64, seed=1),
    SetRun("tomita1", "ape", 1, 1, 16, protocol=NS), SetRun("tomita1", "nope", 1, 1, 16, protocol=NS),
    SetRun("tomita2", "ape", 1, 1, 16, protocol=NS), SetRun("tomita7", "ape", 2, 1, 16, protocol=NS),
    SetRun("tomita4", "ape", 2, 2, 16, protocol=NS), SetRun("tomita4", "ape", 2, 2, 64, protocol=NS),
    SetRun("tomita4", "ape", 2, 2, 64, seed=1, protocol=NS), SetRun("tomita4", "nope", 2, 2, 64, protocol=NS),
    SetRun("aa_star", "ape", 1, 2, 16, protocol=NS), SetRun("aa_star", "ape", 1, 2, 16, seed=1, protocol=NS),
    SetRun("aa_star", "nope", 1, 2, 16, protocol=NS),
    SetRun("aaaa_star", "ape", 2, 1, 64, lr=1e-4, protocol=NS), SetRun("abab_star", "ape", 1, 1, 64, protocol=NS),
    SetRun("d2", "ape", 1, 1, 16, protocol=NS), SetRun("d2", "nope", 1, 1, 16, protocol=NS),
    SetRun("d2", "ape", 2, 2, 64, protocol=NS), SetRun("d2", "ape", 2, 2, 64, seed=1, protocol=NS),
    SetRun("d3", "ape", 1, 1, 16, lr=1e-4, protocol=NS),
    SetRun("dyck1", "ape", 2, 2, 64, protocol=NS), SetRun("dyck1", "nope", 2, 2, 64, protocol=NS),
    SetRun("dyck1", "ape", 1, 1, 16, protocol=NS),
    SetRun("aa_bb_cc_dd_ee", "ape", 1, 1, 16, protocol=NS), SetRun("ab_d_bc", "ape", 1, 1, 16, protocol=NS),
    # tasks the theory calls not expressible (some fit the training range, none should generalize)
    SetRun("zot_02", "ape", 2, 2, 64, lr=3e-4, protocol=NS), SetRun("zot_02", "nope", 2, 2, 64, lr=3e-4, protocol=NS),
    SetRun("zot_02", "ape", 1, 1, 64, lr=1e-4, protocol=NS),
    SetRun("tomita3", "ape", 2, 2, 16, protocol=NS),
    SetRun("tomita6", "ape", 2, 2, 64, protocol=NS),
    SetRun("parity", "ape", 2, 2, 64), SetRun("repeat_copy", "ape", 2, 2, 64),
    # one run's intermediate checkpoints (early stop off)
    SetRun("unique_copy", "ape", 2, 1, 64, seed=1, snapshots=SERIES),
)


def _save(model, metrics: dict, folder: Path) -> None:
    from torch_bridge.checkpoint import save_pretrained
    from verify.outputs import staged_folder
    with staged_folder(folder, "--out") as tmp:
        save_pretrained(model, tmp, {"metrics.json": metrics})


def run(spec: SetRun, out: str) -> list:
    """Train one run of the set (its snapshots too); returns the folders written."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from torch_bridge.train import TrainConfig, Training
    from verify.catalogue import get_case
    cfg = TrainConfig(layers=spec.layers, heads=spec.heads, d=spec.d, lr=spec.lr, steps=spec.steps, seed=spec.seed,
                      pe=spec.pe, protocol=spec.protocol, eval_samples=2000,
                      inputs="walks")   # the set was made before D-n's nested-block inputs: it stays as made
    training = Training(get_case(spec.task), cfg)
    written = []
    if spec.snapshots:
        type(training).done = property(lambda t: t.step >= t.cfg.steps)   # early stop off (this process only)
        for step in spec.snapshots:
            training.run_until(step)
            folder = Path(out) / f"{spec.name}-step{step}"
            if folder.is_dir():   # an interrupted series: the same seed retrains the same weights up to here
                written.append(str(folder))
                continue
            result = training.result()
            _save(result.model, {**result.metrics, "run": spec.name, "snapshot": step}, folder)
            written.append(str(folder))
        return written
    training.run_until(cfg.steps)
    result = training.result()
    folder = Path(out) / spec.name
    _save(result.model, {**result.metrics, "run": spec.name}, folder)
    return [str(folder)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/checkpoints")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated substrings of run names")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    specs = [s for s in SPECS if not a.only or any(x in s.name for x in a.only.split(","))]
    todo = [s for s in specs if not any((Path(a.out) / f).is_dir() for f in
                                        ([s.name] if not s.snapshots else [f"{s.name}-step{k}" for k in s.snapshots[-1:]]))]
    for s in specs:
        print(("todo " if s in todo else "done ") + s.name + (f" (snapshots {list(s.snapshots)})" if s.snapshots else ""))
    if a.list:
        return 0
    Path(a.out).mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    # the series first: it is the longest run
    todo.sort(key=lambda s: (not s.snapshots, s.layers * s.d * (3 if s.task in LONG else 1)))
    with ProcessPoolExecutor(a.workers) as pool:
        futures = {pool.submit(run, s, a.out): s for s in todo}
        for f in as_completed(futures):
            s = futures[f]
            try:
                folders = f.result()
                m = json.loads((Path(folders[-1]) / "metrics.json").read_text())
                print(f"[{time.time() - t0:7.0f} s] {s.name}: steps {m['steps_run']}, train {m['train_acc']}, "
                      f"bins {m['acc_0_50']:.1f} / {m['acc_51_100']:.1f} / {m['acc_101_150']:.1f}", flush=True)
            except Exception as ex:   # one failed run does not stop the set
                print(f"[{time.time() - t0:7.0f} s] {s.name}: FAILED {type(ex).__name__}: {ex}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
