"""Measuring a checkpoint on its task (`verify audit --measure`): accuracy per length bin with the task's own
sampler and reference, test positions from 0, as the paper measures (SPEC §5). This module runs inputs of
every length asked for; torch_bridge.predict never imports it, so a prediction cannot peek at what it
predicts.

Each bin [lo, hi] draws its lengths uniformly among the task's valid lengths in it (torch_bridge.data), then
an input of each; the sampling error is the binomial standard error sqrt(p(1 − p)/n). A bin whose longest
sequence would need positions past the checkpoint's table is refused (an explicit --bins) or left out with a
note (the default bins)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from torch_bridge.data import DEFAULT_BINS
from torch_bridge.evaluate import encode, forward_margins
from torch_bridge.task_adapter import TaskAdapter
from verify.problems import UserError

DEFAULT_SAMPLES = 2000
MAX_SAMPLES = 1_000_000


@dataclass(frozen=True)
class BinAccuracy:
    lo: int
    hi: int
    samples: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.samples

    @property
    def stderr(self) -> float:
        p = self.accuracy
        return float(np.sqrt(p * (1 - p) / self.samples))

    def as_dict(self) -> dict:
        return {"bin": [self.lo, self.hi], "samples": self.samples, "correct": self.correct,
                "accuracy": self.accuracy, "stderr": self.stderr}


@dataclass(frozen=True)
class Measurement:
    bins: Tuple[BinAccuracy, ...]
    seed: int
    seconds: float
    notes: Tuple[str, ...] = ()

    @property
    def longest(self) -> Optional[BinAccuracy]:
        return self.bins[-1] if self.bins else None

    def as_dict(self) -> dict:
        return {"bins": [b.as_dict() for b in self.bins], "seed": self.seed, "seconds": round(self.seconds, 2),
                "method": "exact match per input (every answer position, or every position's next-symbol set), "
                          "teacher forced, positions from 0, the task's own sampler",
                "notes": list(self.notes)}


def parse_bins(text: str) -> Tuple[Tuple[int, int], ...]:
    """--bins "0-50,51-100,101-150" -> ((0, 50), (51, 100), (101, 150))."""
    out = []
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        if not sep or not lo.strip().isdigit() or not hi.strip().isdigit():
            raise UserError(f"--bins: {part!r} is not a range LO-HI of input lengths (e.g. --bins 0-50,51-100)")
        a, b = int(lo), int(hi)
        if a > b or b > 1_000_000:
            raise UserError(f"--bins: {part!r} needs LO ≤ HI ≤ 1000000")
        out.append((a, b))
    if not out:
        raise UserError("--bins: no bins given")
    return tuple(out)


def fitting_bins(adapter: TaskAdapter, bins: Sequence[Tuple[int, int]], explicit: bool):
    """The bins whose inputs fit the position table, and notes on those left out (explicit bins: refused)."""
    if adapter.n_positions is None:
        return tuple(bins), ()
    kept, notes = [], []
    for lo, hi in bins:
        need = adapter.positions_needed(hi)
        if need <= adapter.n_positions:
            kept.append((lo, hi))
            continue
        if explicit:
            raise UserError(f"--bins {lo}-{hi}: the longest input needs {need} positions, but the checkpoint's table "
                            f"has {adapter.n_positions} rows; test positions start at 0 and never go past it")
        notes.append(f"bin {lo}-{hi} left out: its longest input needs {need} positions, the table has "
                     f"{adapter.n_positions}")
    return tuple(kept), tuple(notes)


def measure(model, adapter: TaskAdapter, bins: Sequence[Tuple[int, int]] = DEFAULT_BINS,
            samples: int = DEFAULT_SAMPLES, seed: int = 0, explicit_bins: bool = False, progress=None) -> Measurement:
    """Accuracy per bin, `samples` inputs each, drawn with `seed`."""
    if not 1 <= samples <= MAX_SAMPLES:
        raise UserError(f"--samples must be in 1..{MAX_SAMPLES}, not {samples}")
    t0 = time.perf_counter()
    kept, notes = fitting_bins(adapter, bins, explicit_bins)
    data = adapter.task_data()
    rng = np.random.default_rng(seed)
    out = []
    task = progress.add_task("measure", total=len(kept) * samples, info="") if progress is not None else None
    for lo, hi in kept:
        correct = 0
        for start in range(0, samples, 500):
            size = min(500, samples - start)
            margins = forward_margins(model, adapter, encode(adapter, data.sample(rng, size, lo, hi)))
            correct += int((margins > 0).sum())
            if progress is not None:
                progress.update(task, advance=size, info=f"bin {lo}-{hi}")
        out.append(BinAccuracy(lo, hi, samples, correct))
    return Measurement(tuple(out), seed, time.perf_counter() - t0, notes)
