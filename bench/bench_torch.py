"""Benchmarks for torch_bridge (not CI): prints figures.

    .venv/bin/python bench/bench_torch.py [--skip-train] [--speed-only] [--steps 20]

1. `verify audit` on a freshly initialized GPT-2-small-shaped checkpoint (12 layers, 12 heads,
   1024 positions, d = 768; target: under 30 s on CPU), timed end to end in a subprocess.
2. The practical regularizer's cost (torch, forward + backward) for GPT-2-small shape.
3. Training speed on CPU (issue 14 §3), one torch thread: CPU time per step of the default model
   (2 layers, 2 heads, d = 64, batch 64, training inputs of length ≤ 50) with the batch run whole
   (length_groups 1) and in length groups (the default), its FLOPs, the achieved rate against this
   machine's one-thread sgemm rate, a torch-profiler breakdown, and the share of early-stop
   evaluation (512 samples every 200 steps) and of the final test bins. Thread CPU time is used
   because other processes load this machine (the load average is printed beside the figures).
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
    if "--speed-only" in sys.argv:
        return training_speed()
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
    training_speed()


def _arg(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def _step_flops_executed(lengths, groups: int, layers: int, d: int, vocab: int) -> float:
    """FLOPs of one step as executed: each length group padded to its longest row."""
    import numpy as np
    from torch_bridge.sweep import step_flops
    total = 0.0
    for rows in np.array_split(np.sort(lengths), groups):
        total += step_flops(layers, d, int(rows.max()), len(rows), vocab)
    return total


def training_speed(task: str = "bin_majority") -> None:
    import os
    import numpy as np
    import torch
    from torch_bridge.sweep import step_flops
    from torch_bridge.train import TrainConfig, _Stepper, _setup, accuracy
    from verify.catalogue import get_case
    torch.set_num_threads(1)
    steps = _arg("--steps", 20)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    t = time.thread_time()
    for _ in range(5):
        a @ b
    peak = 5 * 2 * 1024 ** 3 / (time.thread_time() - t) / 1e9
    print(f"training speed, {task}, 2 layers × 2 heads, d = 64, batch 64, inputs ≤ 50, 1 torch thread; "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"  one-thread sgemm 1024³: {peak:.1f} GFLOP/s (this machine's attainable rate for the FLOP ratio)")
    x, w = torch.randn(16 * 40, 64), torch.randn(64, 256)   # one length group's MLP input at d = 64
    t = time.thread_time()
    for _ in range(200):
        x @ w
    small = 200 * 2 * x.shape[0] * 64 * 256 / (time.thread_time() - t) / 1e9
    print(f"  one-thread sgemm at the model's shape (640 × 64 @ 64 × 256): {small:.1f} GFLOP/s")
    per_step = {}
    for groups in (1, 4):
        cfg = TrainConfig(layers=2, heads=2, d=64, length_groups=groups)
        _, data, n_positions, rng = _setup(get_case(task), cfg, True)
        st = _Stepper(cfg, data, n_positions, rng)
        st.step()
        probe = np.random.default_rng(123)
        lengths = np.concatenate([data.sample(probe, 64, 0, 50).lengths for _ in range(20)]).reshape(20, 64)
        executed = float(np.mean([_step_flops_executed(row, groups, 2, 64, len(data.tokens)) for row in lengths]))
        useful = float(np.mean([sum(step_flops(2, 64, int(n), 1, len(data.tokens)) for n in row) for row in lengths]))
        t = time.thread_time()
        for _ in range(steps):
            st.step()
        sec = (time.thread_time() - t) / steps
        per_step[groups] = sec
        print(f"  length_groups {groups}: {sec * 1000:.1f} ms CPU per step ({1 / sec:.1f} steps/s); "
              f"{executed / 1e9:.2f} GFLOP executed (padded), {useful / 1e9:.2f} GFLOP on real tokens; "
              f"{executed / sec / 1e9:.1f} GFLOP/s executed = {executed / sec / 1e9 / peak:.0%} of sgemm, "
              f"{useful / sec / 1e9:.1f} GFLOP/s useful = {useful / sec / 1e9 / peak:.0%}")
    print(f"  speed-up of length groups: {per_step[1] / per_step[4]:.2f}×")
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            st.step()
    total = sum(e.self_cpu_time_total for e in prof.key_averages())
    top = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:6]
    print("  profile (self CPU share): " + ", ".join(f"{e.key.replace('aten::', '')} {e.self_cpu_time_total / total:.0%}"
                                                    for e in top))
    t = time.thread_time()
    accuracy(st.model, data, np.random.default_rng(1), cfg.train_eval_samples, 0, 50)
    check = time.thread_time() - t
    t = time.thread_time()
    for lo_hi in cfg.test_bins:
        accuracy(st.model, data, np.random.default_rng(2), cfg.eval_samples, *lo_hi)
    test = time.thread_time() - t
    share = check / (check + cfg.eval_every * per_step[4])
    print(f"  early-stop check ({cfg.train_eval_samples} samples every {cfg.eval_every} steps): {check * 1000:.0f} ms "
          f"= {share:.1%} of training time; final test bins ({cfg.eval_samples} samples × 3): {test:.1f} s "
          f"= {test / per_step[4]:.0f} steps' worth (once per run)")

if __name__ == "__main__":
    main()
