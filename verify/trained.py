"""`verify report --trained RESULTS`: our own trained accuracies beside the paper's.

RESULTS is the JSON list written by `bench/reproduce.py` (schema in torch_bridge/results.py,
which needs no torch to read)."""
from __future__ import annotations

from typing import Any, Dict, List

from torch_bridge.results import acc_keys, read_trained_results


def add_trained(rows: List[Dict[str, Any]], path: str) -> None:
    """Adds `trained` (all rows for the task) and two short columns, ours APE / ours NoPE."""
    by_task: Dict[str, List[Dict[str, Any]]] = {}
    for r in read_trained_results(path):
        by_task.setdefault(r["task"], []).append(r)
    for row in rows:
        found = by_task.get(row["task"], [])
        row["trained"] = found
        for enc in ("APE", "NoPE"):
            hit = next((r for r in found if r["encoding"] == enc), None)
            text = "—"
            if hit is not None:
                text = "/".join(f"{hit[k]:g}" for k in acc_keys(hit))
                if not hit.get("train_fit", True):
                    text += " (did not fit)"
            row["extra"][f"ours {enc}"] = text
