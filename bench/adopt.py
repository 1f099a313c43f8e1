"""`bench/reproduce.py --adopt OTHER` (paper protocol): take over the runs of another folder that are, step by
step, the runs this one needs, instead of training them again.

A finished run of OTHER is adopted for a needed run when the two differ in `--patience` only and the run never
reached 100% on the training bin at any check. The seed alone fixes the initialization, the training inputs and
the inputs of every check and of the test (torch_bridge/train.py); patience only decides how many checks in a
row at 100% stop a run, and such a run had none: under any patience it trains to its last step the same way
and is tested on the same inputs. What shows it is the run's own history (OTHER/models/FOLDER/metrics.json,
every check's training-bin accuracy); a run without one is not adopted. The adopted record keeps its numbers,
takes the needed run's name, key and patience, and says where it came from (`adopted_from`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence


def _without_patience(identity: Dict) -> str:
    return json.dumps({k: v for k, v in identity.items() if k != "patience"}, sort_keys=True)


def never_fitted(record: Dict, other: Path) -> Optional[str]:
    """Why `record` (a run of OTHER) cannot stand for a run with another patience, or None when it can: it ran
    to its last step and its saved history has no check at 100% on the training bin."""
    steps = record.get("config", {}).get("steps")
    if "error" in record or record.get("train_fit") or record.get("stopped_early") or record.get("steps_run") != steps:
        return "it fitted its training bin or stopped before its last step"
    saved = record.get("saved")
    metrics = other / "models" / Path(saved).name / "metrics.json" if saved else None
    try:
        history = json.loads(metrics.read_text()).get("history") if metrics else None
    except (OSError, ValueError):
        history = None
    if not isinstance(history, list) or not history:
        return f"no saved history ({metrics or 'no model folder'})"
    if history[-1].get("step") != steps:
        return f"its history ends at step {history[-1].get('step')}, not {steps}"
    if any(h.get("train_acc") == 100.0 for h in history):
        return "a check reached 100% on the training bin (a smaller patience would have stopped there)"
    return None


def adopt(rows: Sequence, done: Dict[str, Dict], other: Path, other_records: Sequence[Dict],
          spec_for: Callable[[object, Dict], Optional[object]]) -> List[Dict]:
    """The records adopted from OTHER (its logged runs `other_records`) for runs the `rows` may need, added to
    `done`. `spec_for(row, record)`: the run this protocol makes of the record's configuration and seed for
    that row (None: not one of the row's). Every such run is adopted, not only the next one a row needs: one
    the row turns out not to need is never counted (a row counts its runs in seed order up to its stop), and
    one it needs has the numbers training would give."""
    adopted = []
    for row in rows:
        for r in other_records:
            spec = spec_for(row, r)
            if (spec is None or spec.key in done or _without_patience(spec.identity()) != _without_patience(r["spec"])
                    or r["spec"].get("patience", 1) == spec.patience or never_fitted(r, other)):
                continue
            record = dict(r, run=spec.name, key=spec.key, spec=spec.identity(),
                          config=dict(r["config"], patience=spec.patience),
                          adopted_from=f"{r['run']} in {other / 'runs.jsonl'}: no check reached 100% on the "
                                       f"training bin, so the patience does not change the run")
            done[spec.key] = record
            adopted.append(record)
    return adopted
