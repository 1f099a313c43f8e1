"""`verify report --trained RESULTS`: our own trained accuracies beside the paper's, and whether
they agree with the theory.

RESULTS is the JSON list written by `bench/reproduce.py` (schema in torch_bridge/results.py,
which needs no torch to read). A row agrees with the theory when its runs fitted the training bin
and the model generalizes (mean accuracy on the longest test bin ≥ the row's `threshold`, default
GENERALIZES_AT) exactly where the theory predicts it (✓); rows that did not fit are not counted.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from torch_bridge.results import acc_keys, read_trained_results

GENERALIZES_AT = 90.0   # percent on the longest test bin (bench/reproduce.py --threshold)


def generalizes(row: Dict[str, Any], threshold: Optional[float] = None) -> bool:
    keys = acc_keys(row)
    limit = GENERALIZES_AT if threshold is None else threshold
    return bool(keys) and row[keys[-1]] >= limit


def agrees_with_theory(theory: Optional[bool], row: Dict[str, Any], threshold: Optional[float] = None) -> Optional[bool]:
    """None when there is nothing to compare: no theory verdict, or no run fitted its training bin."""
    if theory is None or not row.get("train_fit"):
        return None
    return generalizes(row, row.get("threshold") if threshold is None else threshold) == theory


def ours_text(row: Dict[str, Any], spread: bool = True) -> str:
    """Mean ± half the range over seeds, per bin (spread=False: the means alone, for the verdicts table's
    narrow columns); "(did not fit)" when no seed fitted."""
    half = row.get("spread") or {}
    if spread:
        text = " / ".join(f"{row[k]:.1f}" + (f"±{half[k]:.1f}" if k in half else "") for k in acc_keys(row))
    else:
        text = "/".join(f"{row[k]:g}" for k in acc_keys(row))
    return text if row.get("train_fit", True) else text + " (did not fit)"


def add_trained(rows: List[Dict[str, Any]], path: str) -> None:
    """Adds `trained` (the task's result rows, each with `theory` and `agrees_theory`) and two short
    columns, ours APE / ours NoPE."""
    by_task: Dict[str, List[Dict[str, Any]]] = {}
    for r in read_trained_results(path):
        by_task.setdefault(r["task"], []).append(r)
    for row in rows:
        found = []
        for hit in by_task.get(row["task"], []):
            pred = row["ape"] if hit["encoding"].startswith("APE") else row["nope"]
            theory = {"✓": True, "✗": False}.get(pred["verdict"])
            found.append({**hit, "theory": theory, "agrees_theory": agrees_with_theory(theory, hit)})
        row["trained"] = found
        for enc in ("APE", "NoPE"):
            hit = next((r for r in found if r["encoding"] == enc), None)
            row["extra"][f"ours {enc}"] = "—" if hit is None else ours_text(hit, spread=False)


def trained_cells(rows: List[Dict[str, Any]]) -> List[List[str]]:
    """One line per trained (task, encoding): task, encoding, protocol, theory, ours, fitted, agrees."""
    cells = []
    for r in rows:
        for hit in r.get("trained", []):
            fitted = f"{hit.get('seeds', '?')}/{hit.get('runs', '?')}" if hit.get("train_fit") else \
                f"0/{hit.get('runs', '?')}"
            agree = {True: "yes", False: "NO", None: "—"}[hit.get("agrees_theory")]
            theory = {True: "✓", False: "✗", None: "?"}[hit.get("theory")]
            cells.append([r["task"], hit["encoding"], hit.get("protocol") or "—", theory, ours_text(hit), fitted,
                          agree])
    return cells


TRAINED_HEADERS = ["task", "enc", "protocol", "theory", "ours % per bin (mean ± half-range)", "fitted", "agrees"]


def trained_summary(rows: List[Dict[str, Any]]) -> Optional[str]:
    hits = [h for r in rows for h in r.get("trained", [])]
    if not hits:
        return None
    judged = [h for h in hits if h.get("agrees_theory") is not None]
    agree = sum(1 for h in judged if h["agrees_theory"])
    unfit = sum(1 for h in hits if not h.get("train_fit"))
    thresholds = {h.get("threshold", GENERALIZES_AT) for h in hits}
    limit = "/".join(f"{t:g}" for t in sorted(thresholds))
    return (f"ours vs the theory (--trained): {agree}/{len(judged)} fitted rows agree (generalizes: mean accuracy "
            f"≥ {limit}% on the longest bin); {unfit} rows did not fit their training bin and are not counted")
