"""Whole-process `verify audit` (issue 12 §1): a safetensors checkpoint is read and audited with numpy, so the
process never imports torch (whose import alone is ~1.5 s CPU and ~240 MB); a torch pickle of the same weights
still loads torch. Each figure sits beside a reference measured in the same run:

  1. `verify audit FOLDER` (config.json + model.safetensors)  beside `python -c "import numpy"`
  2. `verify audit W.pt` (the same weights, a torch pickle)   beside `python -c "import torch"` (when installed)

The checkpoint has the shape `verify train bin_majority --layers 1 --heads 1 --d 16` saves (156 positions,
vocabulary 5), with seeded random weights; --positions N audits a longer table. Best of 3 runs after a
warm-up, wall and CPU (user + sys), peak RSS of the child (/usr/bin/time), via bench/bench_process.py.

    .venv/bin/python bench/bench_audit.py [--positions 156] [--repeats 3]

Before this change (torch imported for every audit) the safetensors audit took 1.56–1.78 s wall and 268 MB
on the 2-core development machine; see the figures this prints for after.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_process  # noqa: E402  (measure, row: the whole-process harness shared with `verify run`)


def checkpoint(folder: Path, positions: int) -> Path:
    from safetensors.numpy import save_file
    from torch_bridge.checkpoint import expected_shapes
    from torch_bridge.config import GPT2Config
    cfg = GPT2Config(vocab_size=5, n_positions=positions, n_embd=16, n_layer=1, n_head=1)
    rng = np.random.default_rng(0)
    state = {k: rng.normal(scale=0.3, size=s).astype(np.float32) for k, s in expected_shapes(cfg).items()}
    out = folder / "model"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(cfg.to_json()))
    save_file(state, str(out / "model.safetensors"))
    return out


def main(positions: int = 156, repeats: int = 3) -> dict:
    py, verify = sys.executable, str(bench_process.VERIFY)
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        folder = Path(tmp)
        bench_process.ENV.pop("PYTHONDONTWRITEBYTECODE", None)   # as an installed package runs: bytecode cached
        bench_process.ENV["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        bench_process.ENV["PYTHONPATH"] = str(ROOT)
        model = checkpoint(folder, positions)
        print(f"verify audit, 1 layer × 1 head, d = 16, {positions} positions")
        numpy_ = bench_process.measure([py, "-c", "import numpy"], repeats)
        ours = bench_process.measure([verify, "audit", str(model)], repeats)
        bench_process.row("verify audit (safetensors, numpy)", ours, numpy_, "import numpy")
        out.update(numpy=numpy_, audit_safetensors=ours)
        try:
            import torch
        except ImportError:
            print("   (torch not installed: the pickle row is skipped)")
            return out
        from safetensors.numpy import load_file
        torch.save({k: torch.from_numpy(v) for k, v in load_file(str(model / "model.safetensors")).items()},
                   folder / "w.pt")
        torch_ = bench_process.measure([py, "-c", "import torch"], repeats)
        pickle = bench_process.measure([verify, "audit", str(folder / "w.pt"), "--heads", "1"], repeats)
        bench_process.row("verify audit (pickle, torch)", pickle, torch_, "import torch")
        print(f"   safetensors vs pickle: {pickle[0] / ours[0]:.1f}x less wall, "
              f"{pickle[2] / ours[2]:.1f}x less peak memory")
        out.update(torch=torch_, audit_pickle=pickle)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=156)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    main(a.positions, a.repeats)
