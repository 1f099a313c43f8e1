"""Benchmarks for torch_bridge (not CI): prints figures.

    .venv/bin/python bench/bench_torch.py [--skip-train]

1. `verify audit` on a freshly initialized GPT-2-small-shaped checkpoint (12 layers, 12 heads,
   1024 positions, d = 768; target: under 30 s on CPU), timed end to end in a subprocess.
2. The practical regularizer's cost (torch, forward + backward) for GPT-2-small shape.
3. Training throughput: steps per second of a 2-layer, d = 64 model on binary majority (if the case exists).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch
    from torch_bridge.checkpoint import save_pretrained
    from torch_bridge.config import GPT2Config
    from torch_bridge.model import GPT2
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12)
    t = time.perf_counter()
    model = GPT2(cfg)
    print(f"GPT-2-small init: {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gpt2-small-fresh"
        save_pretrained(model, path)
        verify = str(Path(sys.executable).with_name("verify"))
        t = time.perf_counter()
        proc = subprocess.run([verify, "audit", str(path), "--json"], capture_output=True, text=True,
                              env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - t
        import json
        verdict = json.loads(proc.stdout)["verdict"] if proc.returncode == 0 else proc.stderr[-300:]
        print(f"verify audit GPT-2-small (12L × 12H, 1024 positions, d=768): {wall:.1f} s wall, exit "
              f"{proc.returncode}, verdict {verdict}  (target < 30 s)")
        t = time.perf_counter()
        proc = subprocess.run([verify, "audit", str(path), "--json", "--plot", str(Path(tmp) / "plots")],
                              capture_output=True, text=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        print(f"  with --plot: {time.perf_counter() - t:.1f} s, exit {proc.returncode}")
    t = time.perf_counter()
    p = model.positional_penalty()
    p.backward()
    print(f"practical regularizer GPT-2-small, forward + backward: {time.perf_counter() - t:.2f} s (value {p.item():.4g})")
    if "--skip-train" in sys.argv:
        return
    from verify.catalogue import all_cases
    names = {c.name: c for c in all_cases()}
    if "bin_majority" in names:
        from torch_bridge.train import TrainConfig, train
        t = time.perf_counter()
        train(names["bin_majority"], TrainConfig(layers=2, heads=2, d=64, steps=300, eval_every=10_000,
                                                      eval_samples=200))
        wall = time.perf_counter() - t
        print(f"training bin_majority 2L2H d=64, 300 steps (batch 64, 1 thread): {wall:.1f} s "
              f"= {300 / wall:.1f} steps/s")


if __name__ == "__main__":
    main()
