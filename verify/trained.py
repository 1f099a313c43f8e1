"""`verify report --trained RESULTS`: our own trained accuracies beside the paper's, and whether
they agree with the theory.

RESULTS is the JSON list written by `bench/reproduce.py` (schema in torch_bridge/results.py,
which needs no torch to read). A row agrees with the theory when its runs fitted the training bin
and the model generalizes (mean accuracy on the longest test bin ≥ the row's `threshold`, default
GENERALIZES_AT) exactly where the theory predicts it (✓); rows that did not fit are not counted.
A row is within WITHIN_POINTS of the paper when its mean on the longest bin differs from the paper's
by at most that many points (formal languages: the paper's bins are its own, SPEC §5). Every row is
read through `normalize`, so files of the older protocol (bench/results/figure1*.json, written before
rows named their protocol) read as that protocol's rows. bench/reproduce.py's table uses the same rules.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from torch_bridge.results import acc_keys, read_trained_results

GENERALIZES_AT = 90.0   # percent on the longest test bin (bench/reproduce.py --threshold)
MAX_RESULTS_BYTES = 64 << 20   # a trained-results file is read whole: checked before reading


def read_results(path: str) -> List[Dict[str, Any]]:
    """The rows of a trained-results file, checked (torch_bridge.results.read_trained_results) after
    verify.inputs has refused what must not be read whole: a FIFO or a device, a file above
    MAX_RESULTS_BYTES. JSON nested too deeply is a user error too."""
    from verify.inputs import check_readable
    from verify.problems import UserError
    check_readable(str(path), "trained-results file", MAX_RESULTS_BYTES)
    try:
        return read_trained_results(path)
    except RecursionError:
        raise UserError(f"{path}: JSON nested too deeply (arrays or objects more than about a thousand "
                        "levels deep); a trained-results file is a list of rows") from None


def generalizes(row: Dict[str, Any], threshold: Optional[float] = None) -> bool:
    keys = acc_keys(row)
    limit = GENERALIZES_AT if threshold is None else threshold
    return bool(keys) and row[keys[-1]] >= limit


def agrees_with_theory(theory: Optional[bool], row: Dict[str, Any], threshold: Optional[float] = None) -> Optional[bool]:
    """None when there is nothing to compare: no theory verdict, or no run fitted its training bin."""
    if theory is None or not row.get("train_fit"):
        return None
    return generalizes(row, row.get("threshold") if threshold is None else threshold) == theory


WITHIN_POINTS = 10.0      # "within ±10 points of the paper on the longest bin" (issue 22)
PAPER_KEYS = ("acc_0_50", "acc_51_100", "acc_101_150")   # paper_results.csv's columns, in bin order
# bench/reproduce.py --protocol: the paper's architectures and budget, or the earlier one architecture for all
REPRODUCTIONS = ("paper", "fixed")
SOURCES = {"fixed": "bench/reproduce.py --protocol fixed: one architecture for every task",
           "sweep": "verify sweep: the best configuration of its grid"}


def row_id(row: Dict[str, Any]) -> str:
    return f"{row['task']}/{row['encoding']}"


def normalize(row: Dict[str, Any]) -> Dict[str, Any]:
    """The row with the fields the comparison reads, whatever wrote it: `protocol` (how it was reproduced:
    paper or fixed, bench/reproduce.py's protocols, or sweep, `verify sweep`'s best configuration),
    `training_protocol` (a language's: next_symbol | membership; null for a sequence task), `architecture`,
    `steps` ({"max", "mean_run"}) and `seeds_accepted`. Rows written before these fields existed carried the
    training protocol under `protocol`: it moves to `training_protocol`, and the reproduction is inferred
    (bench/reproduce.py wrote `spread`, `verify sweep` does not)."""
    r = dict(row)
    if r.get("protocol") not in (*REPRODUCTIONS, "sweep"):
        r.setdefault("training_protocol", r.get("protocol"))
        r["protocol"] = "fixed" if "spread" in r else "sweep"
    r.setdefault("training_protocol", None)
    cfg = r["config"] if isinstance(r.get("config"), dict) else {}
    if not isinstance(r.get("architecture"), dict):
        arch = {k: cfg[k] for k in ("layers", "heads", "d", "lr") if k in cfg}
        r["architecture"] = {**arch, "dropout": 0.0, "source": SOURCES.get(r["protocol"], "")} if arch else None
    if not isinstance(r.get("steps"), dict):
        r["steps"] = {"max": cfg.get("steps"), "mean_run": None}
    if "seeds_accepted" not in r:
        r["seeds_accepted"] = r.get("seeds", 0) if r.get("train_fit") else 0
    return r


def compare(row: Dict[str, Any], paper: Optional[List[float]], theory: Optional[bool]) -> Dict[str, Any]:
    """The comparison of one normalized row: `paper` (the row's own `paper` when the results file carries it,
    else `paper`, the paper's accuracies in bin order) and `ours` per bin, `diff_longest` (ours − paper on the
    longest bin, points), `within_10_points`, `theory` and `agrees_theory`."""
    keys = acc_keys(row)
    theirs = row.get("paper") if isinstance(row.get("paper"), dict) else (dict(zip(PAPER_KEYS, paper)) if paper else None)
    spread = row.get("spread") or {}
    ours = {k: {"mean": row[k], "spread": spread.get(k)} for k in keys} or None
    diff = None
    if keys and theirs:
        diff = round(row[keys[-1]] - list(theirs.values())[-1], 2)
    return {"paper": theirs, "ours": ours, "diff_longest": diff,
            "within_10_points": None if diff is None else abs(diff) <= WITHIN_POINTS,
            "theory": theory, "agrees_theory": agrees_with_theory(theory, row)}


def arch_text(arch: Optional[Dict[str, Any]]) -> str:
    if not arch:
        return "—"
    text = f"{arch['layers']}L {arch['heads']}H d{arch['d']}" + (f" lr {arch['lr']:g}" if "lr" in arch else "")
    return text + (f" dropout {arch['dropout']:g}" if arch.get("dropout") else "")


def steps_text(steps: Optional[Dict[str, Any]]) -> str:
    steps = steps or {}
    top, mean = steps.get("max"), steps.get("mean_run")
    text = f"≤{top:,}" if isinstance(top, int) else "—"
    return text + (f", ran {mean:,.0f}" if isinstance(mean, (int, float)) else "")


def ours_text(row: Dict[str, Any], spread: bool = True) -> str:
    """Mean ± half the range over seeds, per bin (spread=False: the means alone, for the verdicts table's
    narrow columns); "(did not fit)" when no seed fitted; "not run: …" for a row listed without runs."""
    if "not_run" in row:
        return f"not run: {row['not_run']}"
    half = row.get("spread") or {}
    if spread:
        text = " / ".join(f"{row[k]:.1f}" + (f"±{half[k]:.1f}" if k in half else "") for k in acc_keys(row))
    else:
        text = "/".join(f"{row[k]:g}" for k in acc_keys(row))
    return text if row.get("train_fit", True) else text + " (did not fit)"


def add_trained(rows: List[Dict[str, Any]], path: str) -> None:
    """Adds `trained` (the task's result rows, normalized, each with its comparison: compare) and two short
    columns, ours APE / ours NoPE."""
    by_task: Dict[str, List[Dict[str, Any]]] = {}
    for r in read_results(path):
        by_task.setdefault(r["task"], []).append(normalize(r))
    for row in rows:
        found = []
        for hit in by_task.get(row["task"], []):
            pred = row["ape"] if hit["encoding"].startswith("APE") else row["nope"]
            theory = {"✓": True, "✗": False}.get(pred["verdict"])
            paper = row.get({"APE": "paper_ape", "NoPE": "paper_nope"}.get(hit["encoding"], "paper_reg")) or {}
            found.append({**hit, **compare(hit, paper.get("acc"), theory)})
        row["trained"] = found
        for enc in ("APE", "NoPE"):
            hit = next((r for r in found if r["encoding"] == enc), None)
            row["extra"][f"ours {enc}"] = "—" if hit is None else ours_text(hit, spread=False)


TRAINED_HEADERS = ["task", "enc", "protocol", "architecture", "steps", "theory", "paper % per bin",
                   "ours % per bin (mean ± half-range)", "Δ longest", "fitted", "agrees"]
TRAINED_WRAP = {"protocol", "architecture", "steps", "paper % per bin", "ours % per bin (mean ± half-range)"}


def trained_cells(rows: List[Dict[str, Any]]) -> List[List[str]]:
    """One line per trained (task, encoding), TRAINED_HEADERS' columns; fitted: seeds accepted (fitted the
    training bin) / runs."""
    cells = []
    for r in rows:
        for hit in r.get("trained", []):
            fitted = "—" if "not_run" in hit else f"{hit.get('seeds_accepted', 0)}/{hit.get('runs', '?')}"
            agree = {True: "yes", False: "NO", None: "—"}[hit.get("agrees_theory")]
            theory = {True: "✓", False: "✗", None: "?"}[hit.get("theory")]
            protocol = hit["protocol"] + (f" ({hit['training_protocol']})" if hit.get("training_protocol") else "")
            paper = " / ".join(f"{v:g}" for v in hit["paper"].values()) if hit.get("paper") else "—"
            diff = "—" if hit.get("diff_longest") is None else f"{hit['diff_longest']:+.1f}"
            cells.append([r["task"], hit["encoding"], protocol, arch_text(hit.get("architecture")),
                          steps_text(hit.get("steps")), theory, paper, ours_text(hit), diff, fitted, agree])
    return cells


def trained_classes(cells: List[List[str]]) -> List[List[str]]:
    """The HTML cell classes of trained_cells' lines."""
    return [["", "", "", "", "num", "mark", "num", "num", "num", "num", "no num" if c[-1] == "NO" else "num"]
            for c in cells]


def trained_counts(rows: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """`verify report --json`'s trained.summary: within_10_points and theory_agreement as [count, rows counted],
    and the rows behind them by name."""
    hits = [h for r in rows for h in r.get("trained", [])]
    if not hits:
        return None
    ran = [h for h in hits if "not_run" not in h]
    judged = [h for h in ran if h.get("agrees_theory") is not None]
    compared = [h for h in ran if h.get("within_10_points") is not None]
    return {"within_10_points": [sum(1 for h in compared if h["within_10_points"]), len(compared)],
            "theory_agreement": [sum(1 for h in judged if h["agrees_theory"]), len(judged)],
            "outside_10_points": [row_id(h) for h in compared if not h["within_10_points"]],
            "disagree_with_theory": [row_id(h) for h in judged if not h["agrees_theory"]],
            "not_fitted": [row_id(h) for h in ran if not h.get("train_fit")],
            "not_run": [f"{row_id(h)}: {h['not_run']}" for h in hits if "not_run" in h],
            "protocols": sorted({h["protocol"] for h in hits})}


def trained_summary(rows: List[Dict[str, Any]]) -> Optional[str]:
    counts = trained_counts(rows)
    if counts is None:
        return None
    hits = [h for r in rows for h in r.get("trained", []) if "not_run" not in h]
    thresholds = {h.get("threshold", GENERALIZES_AT) for h in hits} or {GENERALIZES_AT}
    limit = "/".join(f"{t:g}" for t in sorted(thresholds))
    (agree, judged), (within, compared) = counts["theory_agreement"], counts["within_10_points"]
    lines = [f"ours vs the theory (--trained): {agree}/{judged} fitted rows agree (generalizes: mean accuracy "
             f"≥ {limit}% on the longest bin); {len(counts['not_fitted'])} rows did not fit their training bin and "
             f"are not counted" + (f"; disagree: {', '.join(counts['disagree_with_theory'])}"
                                   if counts["disagree_with_theory"] else ""),
             f"ours vs the paper: {within}/{compared} rows within ±{WITHIN_POINTS:g} points of the paper's mean on the "
             f"longest bin (formal languages: the paper's own bins)" + (
                 f"; outside: {', '.join(counts['outside_10_points'])}" if counts["outside_10_points"] else ""),
             "protocol: " + ", ".join(p + (" (the older protocol: one architecture for every task)" if p == "fixed"
                                           else "") for p in counts["protocols"])]
    if counts["not_run"]:
        lines.append(f"not run: {'; '.join(counts['not_run'])}")
    return "\n".join(lines)
