"""Training as in the paper (SPEC §5): AdamW (weight decay 0.01), linear learning-rate decay,
batch 64, random position offsets during training (offset 0 at test), early stop once the
training bin is fitted (100% exact match on fresh samples), then exact-match accuracy per
test bin. Encodings: APE, NoPE, and APE + λ·(practical regularizer).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from torch_bridge.config import APE, BINARY_HEAD, LM_HEAD, NOPE, POSITION_ENCODINGS, REG, GPT2Config
from torch_bridge.data import (DEFAULT_BINS, PAD_LABEL, TRAIN_BIN, Batch, TaskData, bin_key, exact_match,
                               training_case)
from torch_bridge.model import GPT2
from verify.case import Case
from verify.problems import UserError


def encoding_name(pe: str, reg_lambda: float) -> str:
    """The paper's names (paper_results.csv): APE, NoPE, APE+reg1e-4."""
    if pe == NOPE:
        return "NoPE"
    if pe == REG:
        mantissa, exponent = f"{reg_lambda:e}".split("e")
        m = mantissa.rstrip("0").rstrip(".")
        return f"APE+reg{m}e{int(exponent)}"
    return "APE"


@dataclass(frozen=True)
class TrainConfig:
    layers: int = 2
    heads: int = 2
    d: int = 64
    lr: float = 1e-3
    steps: int = 30000             # the paper's budget for ≤ 4 layers (60k for 12)
    seed: int = 0
    pe: str = APE                  # ape | nope | reg
    reg_lambda: float = 1e-4       # used when pe == reg; the paper sweeps {1e-4, 1e-3}
    batch: int = 64
    weight_decay: float = 0.01
    train_bin: Tuple[int, int] = TRAIN_BIN
    test_bins: Tuple[Tuple[int, int], ...] = DEFAULT_BINS
    eval_every: int = 200          # steps between early-stop checks on the training bin
    train_eval_samples: int = 512  # fresh training-bin samples for the early-stop check
    eval_samples: int = 2000       # per test bin, as in the paper
    threads: Optional[int] = 1     # torch CPU threads; 1 is fastest for models this small (None: torch's default)

    def __post_init__(self):
        if self.pe not in POSITION_ENCODINGS:
            raise UserError(f"--pe must be one of {', '.join(POSITION_ENCODINGS)}, not {self.pe!r}")
        for name in ("layers", "heads", "d", "steps", "batch"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name} must be at least 1")
        if self.d % self.heads:
            raise UserError(f"--d {self.d} must be divisible by --heads {self.heads}")
        if self.lr <= 0:
            raise UserError("--lr must be positive")


@dataclass
class TrainResult:
    model: GPT2
    metrics: Dict[str, object] = field(default_factory=dict)


def _tensors(batch: Batch):
    return torch.from_numpy(batch.ids), torch.from_numpy(batch.targets)


def _loss(model: GPT2, ids, targets, offset) -> torch.Tensor:
    out = model(ids, offset)
    if model.config.head == BINARY_HEAD:
        mask = targets != PAD_LABEL
        return F.binary_cross_entropy_with_logits(out[mask], targets[mask].float())
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1), ignore_index=PAD_LABEL)


@torch.no_grad()
def predict(model: GPT2, ids: torch.Tensor, offset=0) -> np.ndarray:
    out = model(ids, offset)
    pred = (out > 0).long() if model.config.head == BINARY_HEAD else out.argmax(-1)
    return pred.numpy()


@torch.no_grad()
def accuracy(model: GPT2, data: TaskData, rng: np.random.Generator, samples: int, lo: int, hi: int,
             chunk: int = 250) -> float:
    """Exact-match accuracy in percent under teacher forcing, positions from 0 (offset 0)."""
    model.eval()
    right = 0
    for start in range(0, samples, chunk):
        batch = data.sample(rng, min(chunk, samples - start), lo, hi)
        ids, targets = _tensors(batch)
        right += int(exact_match(predict(model, ids), batch.targets).sum())
    return 100.0 * right / samples


def make_model(cfg: TrainConfig, data: TaskData, n_positions: int) -> GPT2:
    torch.manual_seed(cfg.seed)
    gcfg = GPT2Config(vocab_size=len(data.tokens), n_positions=n_positions, n_embd=cfg.d, n_layer=cfg.layers,
                      n_head=cfg.heads, position_encoding=cfg.pe,
                      regularizer_lambda=cfg.reg_lambda if cfg.pe == REG else 0.0,
                      head=BINARY_HEAD if data.is_language else LM_HEAD, tokens=data.tokens)
    return GPT2(gcfg)


def train(case: Case, cfg: TrainConfig, on_step: Optional[Callable[[int, int, float, Optional[float]], None]] = None,
          paper_size: bool = True) -> TrainResult:
    """Train one model on one case; `on_step(step, total, loss, train_acc or None)` reports progress.
    paper_size: train on the paper's task size where the catalogue keeps a smaller one (training_case)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    if paper_size:
        case = training_case(case)
    data = TaskData(case)
    longest = max(hi for _, hi in (cfg.train_bin, *cfg.test_bins))
    n_positions = data.max_total_length(longest, rng)
    model = make_model(cfg, data, n_positions)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / cfg.steps))
    lam = cfg.reg_lambda if cfg.pe == REG else 0.0
    lo, hi = cfg.train_bin
    check_rng = np.random.default_rng(cfg.seed + 10_000)
    history, train_acc, step = [], None, 0
    for step in range(1, cfg.steps + 1):
        model.train()
        batch = data.sample(rng, cfg.batch, lo, hi)
        ids, targets = _tensors(batch)
        # random offsets so every row of the position table is trained (SPEC §5)
        offset = (torch.from_numpy(rng.integers(0, n_positions - batch.ids.shape[1] + 1, size=cfg.batch))
                  if cfg.pe != NOPE else 0)
        loss = _loss(model, ids, targets, offset)
        if lam:
            loss = loss + lam * model.positional_penalty()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        loss = loss.detach()
        opt.step()
        sched.step()
        train_acc = None
        if step % cfg.eval_every == 0 or step == cfg.steps:
            train_acc = accuracy(model, data, check_rng, cfg.train_eval_samples, lo, hi)
            history.append({"step": step, "loss": float(loss), "train_acc": train_acc})
        if on_step:
            on_step(step, cfg.steps, float(loss), train_acc)
        if train_acc == 100.0:
            break
    test_rng = np.random.default_rng(cfg.seed + 20_000)
    acc = {bin_key(b): accuracy(model, data, test_rng, cfg.eval_samples, *b) for b in cfg.test_bins}
    final_train = history[-1]["train_acc"] if history else None
    metrics = {
        "task": case.name, "vocab_size": case.extra.get("vocab_size"), "encoding": encoding_name(cfg.pe, cfg.reg_lambda), "format": case.format,
        "config": {**asdict(cfg), "n_positions": n_positions},
        "steps_run": step, "stopped_early": final_train == 100.0 and step < cfg.steps,
        "train_fit": final_train == 100.0, "train_acc": final_train,
        "bins": [list(b) for b in cfg.test_bins], **acc,
        "positional_penalty": float(model.positional_penalty().detach()),
        "history": history, "wall_s": round(time.perf_counter() - t0, 2),
        "head": model.config.head,
    }
    model.eval()
    return TrainResult(model, metrics)
