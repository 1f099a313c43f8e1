"""How well `verify audit --task` predicts length generalization (issue 19), on a checkpoint set nobody tuned
the predictor on beforehand: the set bench/checkpoint_set.py trains (several architectures per task, runs that
fit the training range and fail longer, one run's intermediate checkpoints) plus the eight shared checkpoints
trained by the paper's group (tests/data/shared_checkpoints).

For every checkpoint: the prediction (weights and inputs of length ≤ 50 only; its CPU seconds) and the
measurement (`--measure`: 2,000 inputs per bin, positions from 0). A checkpoint generalizes when it keeps
≥ 90% on the longest bin (101–150). Printed: the confusion matrix of prediction against measurement, both
error rates, the seconds per checkpoint, the series (score against longest-bin accuracy over training steps)
and the two-architectures-of-one-task pairs. Results: bench/results/checkpoints.json and .md.

    .venv/bin/python bench/checkpoint_set.py --out out/checkpoints      # first: train the set (~1-2 h, 2 cores)
    .venv/bin/python bench/bench_checkpoints.py --set out/checkpoints    # then: predict and measure every one
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / "tests" / "data" / "shared_checkpoints"
RESULTS = ROOT / "bench" / "results"
THRESHOLD = 0.9
FROM_METRICS = False


def checkpoints(set_dir: Path):
    """(name, folder, task, origin) for the shared checkpoints and every folder of the set."""
    out = []
    for p in sorted(SHARED.iterdir()):
        if p.is_dir():
            out.append((p.name, p, p.name.split("__")[0], "shared (paper's group)"))
    if set_dir.is_dir():
        for p in sorted(set_dir.iterdir()):
            m = p / "metrics.json"
            if m.is_file():
                metrics = json.loads(m.read_text())
                out.append((p.name, p, metrics["task"], "series" if "snapshot" in metrics else "ours"))
    return out


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("model.safetensors", "config.json"):
        if (folder / name).is_file():
            h.update((folder / name).read_bytes())
    return h.hexdigest()[:16]


def evaluate(folder: Path, task: str, measured_cache: dict) -> dict:
    import torch
    from torch_bridge.checkpoint import load_checkpoint
    from torch_bridge.measure import measure
    from torch_bridge.predict import predict, theory_of
    from torch_bridge.task_adapter import adapt
    from verify.catalogue import get_case
    ck = load_checkpoint(folder)
    adapter = adapt(ck, get_case(task), folder=folder)
    model = ck.model()
    theory = theory_of(adapter.case, ck.nope)
    t0 = time.process_time()
    p = predict(model, adapter, theory)
    cpu = time.process_time() - t0
    key = digest(folder)
    metrics = folder / "metrics.json"
    if key in measured_cache:
        bins = measured_cache[key]
    elif FROM_METRICS and metrics.is_file():   # the training's own test bins (same sampler, 2,000 per bin)
        m = json.loads(metrics.read_text())
        bins = [m[f"acc_{lo}_{hi}"] / 100 for lo, hi in m["bins"]]
    else:
        m = measure(model, adapter)
        bins = [b.accuracy for b in m.bins]
    return {"key": key, "prediction": p.generalizes, "score": p.score, "reason": p.reason, "predict_cpu_s": cpu,
            "evidence": {e.name: e.supports for e in p.evidence},
            "evidence_data": {e.name: e.data for e in p.evidence},
            "heads": [h.as_dict() for h in p.heads],
            "measured": bins, "generalizes": bins[-1] >= THRESHOLD if bins else None,
            "layers": ck.config.n_layer, "heads_per_layer": ck.config.n_head, "d": ck.config.n_embd,
            "encoding": "NoPE" if ck.nope else "APE", "parameters": int(sum(v.size for v in ck.state.values())),
            "theory": theory.expressible}


def table(rows) -> str:
    lines = ["| checkpoint | origin | task | arch | measured 0–50 / 51–100 / 101–150 | predicted | score | right |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = " / ".join(f"{100 * x:.1f}" for x in r["measured"])
        pred = {True: "generalizes", False: "fails", None: "no prediction"}[r["prediction"]]
        right = "—" if r["prediction"] is None else ("yes" if r["prediction"] == r["generalizes"] else "**NO**")
        score = "" if r["score"] is None else f"{r['score']:.2f}"
        lines.append(f"| {r['name']} | {r['origin']} | {r['task']} | {r['encoding']} {r['layers']}L{r['heads_per_layer']}H"
                     f"d{r['d']} | {b} | {pred} | {score} | {right} |")
    return "\n".join(lines)


def summary(rows) -> dict:
    decided = [r for r in rows if r["prediction"] is not None]
    tp = sum(r["prediction"] and r["generalizes"] for r in decided)
    fp = sum(r["prediction"] and not r["generalizes"] for r in decided)
    fn = sum((not r["prediction"]) and r["generalizes"] for r in decided)
    tn = sum((not r["prediction"]) and not r["generalizes"] for r in decided)
    fitted = [r for r in rows if r["measured"] and r["measured"][0] >= 0.99]
    fit_fail = [r for r in fitted if not r["generalizes"]]
    series = sorted((r for r in rows if r["origin"] == "series"), key=lambda r: int(r["name"].rsplit("step", 1)[1]))
    out = {"checkpoints": len(rows), "decided": len(decided), "no_prediction": len(rows) - len(decided),
           "confusion": {"predicted_generalizes": {"generalizes": tp, "fails": fp},
                         "predicted_fails": {"generalizes": fn, "fails": tn}},
           "agreement": (tp + tn) / len(decided) if decided else None,
           "false_generalizes_rate": fp / (fp + tn) if fp + tn else None,    # of the failing ones, called fine
           "false_fails_rate": fn / (fn + tp) if fn + tp else None,          # of the generalizing ones, called failing
           "fitted": len(fitted), "fitted_but_fail": len(fit_fail),
           "agreement_on_fitted_but_fail": (sum(r["prediction"] is False for r in fit_fail) / len(fit_fail)
                                            if fit_fail else None),
           "predict_cpu_s": {"mean": sum(r["predict_cpu_s"] for r in rows) / len(rows),
                             "max": max(r["predict_cpu_s"] for r in rows)},
           "series": [{"step": int(r["name"].rsplit("step", 1)[1]), "score": r["score"],
                       "longest_bin": r["measured"][-1]} for r in series]}
    # per origin: the bar is on our own set (ours + series); the shared ones are the paper group's
    out["by_origin"] = {}
    for label, keep in (("own", lambda r: r["origin"] != "shared (paper's group)"),
                        ("shared", lambda r: r["origin"] == "shared (paper's group)")):
        part = [r for r in decided if keep(r)]
        right = sum(r["prediction"] == r["generalizes"] for r in part)
        fitted_part = [r for r in rows if keep(r) and r["measured"] and r["measured"][0] >= 0.99]
        out["by_origin"][label] = {"checkpoints": sum(map(keep, rows)), "decided": len(part), "right": right,
                                   "agreement": right / len(part) if part else None,
                                   "fitted_but_fail": sum(not r["generalizes"] for r in fitted_part)}
    out["architecture_pairs"] = architecture_pairs(rows)
    if len(series) >= 3:
        out["series_spearman"] = spearman([r["score"] or 0.0 for r in series], [r["measured"][-1] for r in series])
    return out


def architecture_pairs(rows) -> list:
    """Per task, two architectures (or encodings) where one generalizes and the other does not (measured):
    whether the prediction tells them apart (right on both)."""
    out = []
    by_task = {}
    for r in rows:
        if r["origin"] != "series":
            by_task.setdefault(r["task"], []).append(r)
    for task, rs in sorted(by_task.items()):
        good = [r for r in rs if r["generalizes"]]
        bad = [r for r in rs if r["generalizes"] is False and r["measured"][0] >= 0.99]   # fitted, then failed
        arch = lambda r: f"{r['encoding']} {r['layers']}L{r['heads_per_layer']}H d{r['d']}"
        pairs = [(g, b) for g in good for b in bad if arch(g) != arch(b)]
        if pairs:
            g, b = pairs[0]
            out.append({"task": task, "generalizes": g["name"], "fails": b["name"],
                        "told_apart": g["prediction"] is True and b["prediction"] is False,
                        "pairs": len(pairs), "pairs_told_apart": sum(x["prediction"] is True and y["prediction"] is False
                                                                     for x, y in pairs)})
    return out


def spearman(x, y) -> float:
    """Rank correlation (average ranks for ties)."""
    import numpy as np

    def ranks(v):
        v = np.asarray(v, float)
        order = v.argsort(kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for u in np.unique(v):
            r[v == u] = r[v == u].mean()
        return r
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="out/checkpoints", help="the folder bench/checkpoint_set.py wrote")
    ap.add_argument("--remeasure", action="store_true", help="measure again instead of reusing the committed results")
    ap.add_argument("--out", default=str(RESULTS / "checkpoints"))
    ap.add_argument("--measured-from-metrics", action="store_true",
                    help="for our own checkpoints, take the test bins their training measured (metrics.json: the same "
                         "sampler and exact match, 2,000 inputs per bin) instead of measuring again")
    a = ap.parse_args(argv)
    global FROM_METRICS
    FROM_METRICS = a.measured_from_metrics
    import torch
    torch.set_num_threads(1)
    previous = Path(a.out + ".json")
    cache = {}
    if previous.is_file() and not a.remeasure:
        cache = {r["key"]: r["measured"] for r in json.loads(previous.read_text())["rows"]}
    rows = []
    for name, folder, task, origin in checkpoints(Path(a.set)):
        r = evaluate(folder, task, cache)
        r.update(name=name, task=task, origin=origin)
        rows.append(r)
        mark = "—" if r["prediction"] is None else ("ok" if r["prediction"] == r["generalizes"] else "WRONG")
        print(f"{mark:5s} {name[:52]:52s} measured {' / '.join(f'{100 * x:5.1f}' for x in r['measured'])}  "
              f"predicted {r['prediction']!s:5s} score {r['score'] if r['score'] is None else round(r['score'], 2)}  "
              f"{r['predict_cpu_s']:.1f} s", flush=True)
    s = summary(rows)
    print(json.dumps(s, indent=2))
    Path(a.out + ".json").write_text(json.dumps({"summary": s, "rows": rows}, indent=1, default=str))
    Path(a.out + ".md").write_text(f"# verify audit --task: prediction against measurement\n\n```\n"
                                   f"{json.dumps(s, indent=2)}\n```\n\n{table(rows)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
