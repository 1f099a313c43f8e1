"""Training as in the paper (SPEC §5): AdamW (weight decay 0.01), linear learning-rate decay,
batch 64, random position offsets during training (offset 0 at test), early stop once the
training bin is fitted (100% exact match on fresh samples; with `patience` N, at N checks in a row),
then exact-match accuracy per test bin. Encodings: APE, NoPE, and APE + λ·(practical regularizer).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from torch_bridge.config import APE, BINARY_HEAD, LM_HEAD, NOPE, POSITION_ENCODINGS, REG, GPT2Config
from torch_bridge.data import (DEFAULT_BINS, MEMBERSHIP, PAD_LABEL, PAPER_INPUTS, TRAIN_BIN, Batch, TaskData, bin_key,
                               exact_match, training_case)
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


DEVICES = ("cpu", "cuda", "auto")


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
    length_groups: int = 4         # a step's batch is run as this many groups of similar length (same gradient)
    protocol: str = MEMBERSHIP     # languages: prefix membership, or next_symbol (torch_bridge.data)
    device: str = "cpu"            # cpu | cuda | auto (cuda when torch sees one)
    stop_after: Optional[int] = None   # halt at this step, the lr schedule still that of `steps` (an lr probe)
    dropout: float = 0.0           # GPT-2's embd/attn/resid dropout while training (the paper's default is 0)
    inputs: str = PAPER_INPUTS     # next-symbol inputs: the paper's (the case's members) or live walks
    patience: int = 1              # early stop after this many checks in a row at 100% (1: the first one)

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
        if not 0 <= self.dropout < 1:
            raise UserError(f"dropout must be in [0, 1), not {self.dropout!r}")
        if self.length_groups < 1:
            raise UserError("length_groups must be at least 1")
        if self.patience < 1:
            raise UserError(f"patience must be at least 1, not {self.patience}")
        if self.device not in DEVICES:
            raise UserError(f"--device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.stop_after is not None and not (1 <= self.stop_after <= self.steps
                                                and self.stop_after % self.eval_every == 0):
            # a multiple of eval_every: the accuracy a stopped run reports is its own check at that step
            raise UserError(f"stop_after must be a multiple of eval_every ({self.eval_every}) between 1 and "
                            f"--steps {self.steps}, not {self.stop_after}")



def resolve_device(name: str) -> torch.device:
    """--device: cpu, cuda (refused with a message when torch sees no CUDA device), auto (cuda if seen)."""
    if name not in DEVICES:
        raise UserError(f"--device must be one of {', '.join(DEVICES)}, not {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no CUDA device here (torch.cuda.is_available() is False"
                        f"; torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); "
                        "use --device cpu or --device auto")
    return torch.device(name)


@dataclass
class TrainResult:
    model: GPT2
    metrics: Dict[str, object] = field(default_factory=dict)


def _tensors(batch: Batch, device=None):
    ids, targets = torch.from_numpy(batch.ids), torch.from_numpy(batch.targets)
    return (ids, targets) if device is None else (ids.to(device), targets.to(device))


def _loss(model: GPT2, ids, targets, offset, reduction: str = "mean") -> torch.Tensor:
    out = model(ids, offset)
    if model.config.head == BINARY_HEAD or targets.dim() == 3:   # membership, or next-symbol sets (k-hot)
        mask = targets != PAD_LABEL
        return F.binary_cross_entropy_with_logits(out[mask], targets[mask].float(), reduction=reduction)
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1), ignore_index=PAD_LABEL,
                           reduction=reduction)


@torch.no_grad()
def predict(model: GPT2, ids: torch.Tensor, offset=0, sets: bool = False) -> np.ndarray:
    """Per position: the membership bit, the argmax token, or (sets) every token whose logit is > 0."""
    out = model(ids, offset)
    pred = (out > 0).long() if model.config.head == BINARY_HEAD or sets else out.argmax(-1)
    return pred.cpu().numpy()


@torch.no_grad()
def accuracy(model: GPT2, data: TaskData, rng: np.random.Generator, samples: int, lo: int, hi: int,
             chunk: int = 250) -> float:
    """Exact-match accuracy in percent under teacher forcing, positions from 0 (offset 0)."""
    model.eval()
    device = next(model.parameters()).device
    right = 0
    for start in range(0, samples, chunk):
        batch = data.sample(rng, min(chunk, samples - start), lo, hi)
        pred = predict(model, torch.from_numpy(batch.ids).to(device), sets=data.next_symbol)
        right += int(exact_match(pred, batch.targets).sum())
    return 100.0 * right / samples


def make_model(cfg: TrainConfig, data: TaskData, n_positions: int) -> GPT2:
    torch.manual_seed(cfg.seed)
    gcfg = GPT2Config(vocab_size=len(data.tokens), n_positions=n_positions, n_embd=cfg.d, n_layer=cfg.layers,
                      n_head=cfg.heads, position_encoding=cfg.pe,
                      regularizer_lambda=cfg.reg_lambda if cfg.pe == REG else 0.0,
                      head=BINARY_HEAD if data.binary_head else LM_HEAD, tokens=data.tokens,
                      protocol=data.protocol if data.is_language else None, dropout=cfg.dropout)
    return GPT2(gcfg)


class _Stepper:
    """One optimizer step of the paper's training (SPEC §5), shared by train() and measure_step_seconds()."""

    def __init__(self, cfg: TrainConfig, data: TaskData, n_positions: int, rng: np.random.Generator):
        self.cfg, self.data, self.n_positions, self.rng = cfg, data, n_positions, rng
        self.device = resolve_device(cfg.device)
        self.model = make_model(cfg, data, n_positions).to(self.device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: max(0.0, 1.0 - s / cfg.steps))
        self.lam = cfg.reg_lambda if cfg.pe == REG else 0.0

    def step(self) -> torch.Tensor:
        cfg, model, rng = self.cfg, self.model, self.rng
        model.train()
        batch = self.data.sample(rng, cfg.batch, *cfg.train_bin)
        ids, targets = _tensors(batch, self.device)
        # random offsets so every row of the position table is trained (SPEC §5)
        offset = (torch.from_numpy(rng.integers(0, self.n_positions - batch.ids.shape[1] + 1, size=cfg.batch))
                  .to(self.device) if cfg.pe != NOPE else 0)
        self.opt.zero_grad(set_to_none=True)
        # Lengths are uniform in the bin, so padding every row to the longest wastes about half of the
        # compute. Rows sorted by length run in groups, each padded to its own longest row; padding sits
        # after a row's tokens and attention is causal, so the scored positions see exactly what they
        # would in the full batch, and summed losses over the batch's count of scored positions give
        # the full batch's mean loss and gradient (up to float rounding).
        scored = int((batch.targets != PAD_LABEL).sum())
        # (on a GPU one padded batch is cheaper than more, smaller kernel launches)
        n_groups = 1 if self.device.type == "cuda" else min(cfg.length_groups, cfg.batch)
        groups = np.array_split(np.argsort(batch.lengths, kind="stable"), n_groups)
        loss = torch.zeros((), device=self.device)
        for rows in groups:
            width = int(batch.lengths[rows].max())
            index = torch.from_numpy(rows).to(self.device)
            part = _loss(model, ids[index, :width], targets[index, :width],
                         offset[index] if torch.is_tensor(offset) else offset, reduction="sum") / max(1, scored)
            part.backward()
            loss += part.detach()
        if self.lam:
            penalty = self.lam * model.positional_penalty()
            penalty.backward()
            loss += penalty.detach()
        self.opt.step()
        self.sched.step()
        return loss


def _setup(case: Case, cfg: TrainConfig, paper_size: bool):
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    if paper_size:
        case = training_case(case)
    data = TaskData(case, cfg.protocol, cfg.inputs)
    longest = max(hi for _, hi in (cfg.train_bin, *cfg.test_bins))
    return case, data, data.max_total_length(longest, rng), rng


def measure_step_seconds(case: Case, cfg: TrainConfig, steps: int = 4, warmup: int = 1,
                         paper_size: bool = True) -> float:
    """CPU seconds of this thread per training step (time.thread_time: other processes' load does not
    inflate it), measured over `steps` steps after `warmup`; on CUDA, wall seconds after a synchronize."""
    case, data, n_positions, rng = _setup(case, cfg, paper_size)
    stepper = _Stepper(cfg, data, n_positions, rng)
    cuda = stepper.device.type == "cuda"
    clock = time.perf_counter if cuda else time.thread_time
    for _ in range(warmup):
        stepper.step()
    if cuda:
        torch.cuda.synchronize()
    t0 = clock()
    for _ in range(steps):
        stepper.step()
    if cuda:
        torch.cuda.synchronize()
    return (clock() - t0) / steps


class Training:
    """One run of the paper's training that can pause at any step and go on: run_until(step), then
    result(). bench/reproduce.py trains one seed at each candidate lr to a probe step and continues only
    the best, which is then exactly the run train() does (no global random state is touched between
    steps: batches and offsets come from the run's own numpy generator, and dropout masks, where the config
    asks for dropout, from the model's own generator: torch_bridge.model.Dropout). torch_bridge.resumable
    saves this state to a file and restores it, so a run stopped by a deadline or a crash goes on exactly."""

    def __init__(self, case: Case, cfg: TrainConfig,
                 on_step: Optional[Callable[[int, int, float, Optional[float]], None]] = None,
                 paper_size: bool = True):
        t0 = time.perf_counter()
        self.cfg, self.on_step = cfg, on_step
        self.case, self.data, self.n_positions, rng = _setup(case, cfg, paper_size)
        self.stepper = _Stepper(cfg, self.data, self.n_positions, rng)
        self.check_rng = np.random.default_rng(cfg.seed + 10_000)
        self.history, self.step = [], 0
        self.train_s, self.eval_s = time.perf_counter() - t0, 0.0   # this run's own time, not a paused one's

    @property
    def done(self) -> bool:
        """At its last step, or fitted (early stop: the last `patience` checks all at 100%)."""
        last = self.history[-self.cfg.patience:]
        fitted = len(last) == self.cfg.patience and all(h["train_acc"] == 100.0 for h in last)
        return self.step >= self.cfg.steps or fitted

    @property
    def train_acc(self) -> Optional[float]:
        """The latest early-stop check's accuracy on the training bin (None before the first)."""
        return self.history[-1]["train_acc"] if self.history else None

    def run_until(self, stop: int) -> None:
        cfg, model = self.cfg, self.stepper.model
        lo, hi = cfg.train_bin
        t0 = time.perf_counter()
        while not self.done and self.step < stop:
            self.step += 1
            loss = self.stepper.step()
            acc = None
            if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                te = time.perf_counter()
                acc = accuracy(model, self.data, self.check_rng, cfg.train_eval_samples, lo, hi)
                self.eval_s += time.perf_counter() - te
                self.history.append({"step": self.step, "loss": float(loss), "train_acc": acc})
            if self.on_step:
                self.on_step(self.step, cfg.steps, float(loss), acc)
        self.train_s += time.perf_counter() - t0

    def result(self) -> TrainResult:
        """The test bins, measured now, and the model on the CPU (whatever --device trained it). A run whose
        weights are no longer finite (it diverged: too large an --lr) is a UserError, never a saved model."""
        cfg, data, model = self.cfg, self.data, self.stepper.model
        broken = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
        if broken:
            losses = [h["loss"] for h in self.history]
            raise UserError(f"training diverged: after {self.step} steps the weights hold NaN or ±Inf ({broken[0]}"
                            f"{f' and {len(broken) - 1} more' if len(broken) > 1 else ''}"
                            f"{f'; last loss {losses[-1]:g}' if losses else ''}); nothing is saved. Lower --lr "
                            f"(now {cfg.lr:g}; the default is 0.001)")
        t0 = time.perf_counter()
        test_rng = np.random.default_rng(cfg.seed + 20_000)
        acc = {bin_key(b): accuracy(model, data, test_rng, cfg.eval_samples, *b) for b in cfg.test_bins}
        final_train = self.train_acc
        model = model.cpu().eval()
        test_s = time.perf_counter() - t0
        metrics = {
            "task": self.case.name, "protocol": cfg.protocol if data.is_language else None,
            "vocab_size": self.case.extra.get("vocab_size"), "encoding": encoding_name(cfg.pe, cfg.reg_lambda),
            "format": self.case.format,
            "config": {**asdict(cfg), "n_positions": self.n_positions}, "device": str(self.stepper.device),
            "steps_run": self.step, "stopped_early": final_train == 100.0 and self.step < cfg.steps,
            "train_fit": final_train == 100.0, "train_acc": final_train,
            "bins": [list(b) for b in cfg.test_bins], **acc,
            "positional_penalty": float(model.positional_penalty().detach()),
            "history": self.history, "wall_s": round(self.train_s + test_s, 2),
            # where the time went: the early-stop checks inside the training loop, the final test bins after it
            "early_stop_eval_s": round(self.eval_s, 2), "test_eval_s": round(test_s, 2),
            "head": model.config.head,
        }
        return TrainResult(model, metrics)


def train(case: Case, cfg: TrainConfig, on_step: Optional[Callable[[int, int, float, Optional[float]], None]] = None,
          paper_size: bool = True) -> TrainResult:
    """Train one model on one case; `on_step(step, total, loss, train_acc or None)` reports progress.
    paper_size: train on the paper's task size where the catalogue keeps a smaller one (training_case).
    Stops at cfg.stop_after when set (the schedule stays that of cfg.steps). Returns the model on the
    CPU (whatever --device trained it)."""
    run = Training(case, cfg, on_step, paper_size)
    run.run_until(cfg.stop_after or cfg.steps)
    return run.result()
