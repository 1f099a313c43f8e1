"""numpy/torch-free: the trained-results JSON that `verify report --trained RESULTS` reads.

Schema (a JSON list; one row per (task, encoding)):

    [{"task": "bin_majority",            # catalogue / paper_results.csv name
      "encoding": "APE",                 # APE | NoPE | APE+reg1e-4 (paper_results.csv names)
      "acc_0_50": 100.0,                 # exact-match accuracy in percent per test bin, keyed like
      "acc_51_100": 99.2,                #   paper_results.csv's columns (acc_<lo>_<hi>)
      "acc_101_150": 97.5,
      "bins": [[0, 50], [51, 100], [101, 150]],   # the bins, input lengths
      "seeds": 2,                        # runs averaged (those that fitted the training bin)
      "runs": 3,                         # runs tried
      "train_fit": true,                 # some run reached 100% on the training bin
      "config": {"layers": 2, "heads": 2, "d": 64, "lr": 0.001, "steps": 3000},
      "wall_s": 41.3,
      # optional, written by bench/reproduce.py:
      "spread": {"acc_0_50": 0.0, ...},  # half the range over the seeds averaged, per bin
      "threshold": 90.0,                 # "generalizes" = mean accuracy on the longest bin >= this
      "protocol": "paper",               # how it was reproduced: paper | fixed (bench/reproduce.py --protocol)
      "training_protocol": "next_symbol",  # languages: next_symbol | membership (null for sequence tasks)
      "architecture": {"layers": 1, "heads": 1, "d": 16, "lr": 0.001, "dropout": 0.0,
                       "source": "..."},   # where the paper's protocol took it from (a table, or its search)
      "steps": {"max": 30000, "mean_run": 1400.0},   # the budget, and the steps the averaged runs took
      "seeds_accepted": 5,               # runs that fitted the training bin (= seeds when train_fit)
      "paper": {"acc_0_50": 100.0, ...}},  # the paper's accuracies (paper_results.csv), per bin
     {"task": "addition", "encoding": "APE", "protocol": "paper", "architecture": {...},
      "not_run": "needs a GPU"},         # a row listed without runs (no acc_ fields): why
     ...]

Files written before `protocol` named the reproduction (bench/results/figure1*.json) carry a language's
training protocol there; verify/trained.py's normalize reads them as the older `fixed` protocol's rows.

Accuracies are means over the runs that fitted the training bin (all runs if none did, with
train_fit false), for the configuration with the best mean accuracy over the test bins; every
configuration's numbers stay in the sweep's runs.jsonl.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterable, List

from verify.problems import UserError

REQUIRED = ("task", "encoding")


def acc_keys(row: Dict) -> List[str]:
    return [k for k in row if k.startswith("acc_")]


def summarize(runs: Iterable[Dict]) -> List[Dict]:
    """Per (task, encoding): the best configuration's mean over fitted seeds."""
    groups: Dict[tuple, Dict[str, list]] = {}
    for r in runs:
        cfg = r["config"]
        key = (r["task"], r["encoding"])
        ckey = json.dumps({k: cfg[k] for k in ("layers", "heads", "d", "lr", "steps")}, sort_keys=True)
        groups.setdefault(key, {}).setdefault(ckey, []).append(r)
    rows = []
    for (task, encoding), configs in groups.items():
        best = None
        for ckey, rs in configs.items():
            fitted = [r for r in rs if r.get("train_fit")]
            use = fitted or rs
            keys = acc_keys(use[0])
            means = {k: sum(r[k] for r in use) / len(use) for k in keys}
            score = (bool(fitted), sum(means.values()) / max(1, len(means)))
            row = {"task": task, "encoding": encoding, **{k: round(v, 2) for k, v in means.items()},
                   "bins": use[0].get("bins"), "seeds": len(use), "runs": len(rs), "train_fit": bool(fitted),
                   "config": json.loads(ckey), "wall_s": round(sum(r.get("wall_s", 0) for r in rs), 1)}
            if best is None or score > best[0]:
                best = (score, row)
        rows.append(best[1])
    return sorted(rows, key=lambda r: (r["task"], r["encoding"]))


def recorded_runs(lines: Iterable[str]) -> List[Dict]:
    """The successful runs of a sweep's runs.jsonl, the latest record per configuration (a rerun of a grid
    point replaces its earlier record; a failed rerun does not erase an earlier success). Lines that
    are not run records (a torn last line after a crash, an older format) are skipped."""
    latest: Dict[str, Dict] = {}
    for line in lines:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if (not isinstance(r, dict) or "error" in r or not isinstance(r.get("config"), dict)
                or any(f not in r for f in REQUIRED) or not acc_keys(r)):
            continue
        latest[str(r.get("key") or r.get("run", len(latest)))] = r   # key: the run's full configuration
    return list(latest.values())


def merge_rows(existing: Iterable[Dict], new: Iterable[Dict]) -> List[Dict]:
    """results.json after a sweep: the new rows, plus every earlier row whose (task, encoding) the new
    ones do not cover, so a rerun never leaves fewer results than there were."""
    rows = {(r["task"], r["encoding"]): r for r in existing}
    rows.update({(r["task"], r["encoding"]): r for r in new})
    return sorted(rows.values(), key=lambda r: (r["task"], r["encoding"]))


def read_trained_results(path) -> List[Dict]:
    """Read and check a trained-results file; UserError naming what is wrong."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise UserError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as ex:
        raise UserError(f"{p}: not a readable trained-results JSON ({ex})") from None
    if not isinstance(data, list):
        raise UserError(f"{p}: a trained-results file is a JSON list of rows (task, encoding, acc_<lo>_<hi>, …)")
    for k, row in enumerate(data):
        not_run = isinstance(row, dict) and isinstance(row.get("not_run"), str)
        if not isinstance(row, dict) or any(f not in row for f in REQUIRED) or not (acc_keys(row) or not_run):
            raise UserError(f"{p}: row {k} needs task, encoding and at least one acc_<lo>_<hi> field "
                            f"(or not_run: why it has none)")
        spread, paper = row.get("spread", {}), row.get("paper") or {}
        numbers = [(f, row[f]) for f in acc_keys(row)] + [("threshold", row.get("threshold", 0.0))]
        for name, value in (("spread", spread), ("paper", paper)):
            if not isinstance(value, dict):
                raise UserError(f"{p}: row {k}: {name} must be an object of acc_<lo>_<hi> numbers")
            numbers += [(f"{name}.{f}", v) for f, v in value.items()]
        for name, value in numbers:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == float("inf"):
                raise UserError(f"{p}: row {k}: {name} must be a finite number, not {value!r}")
        if not isinstance(row.get("train_fit", True), bool):
            raise UserError(f"{p}: row {k}: train_fit must be true or false, not {row['train_fit']!r}")
    return data
