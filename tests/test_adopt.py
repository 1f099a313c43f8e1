"""bench/reproduce.py --adopt (bench/adopt.py): a run that never reached 100% on its training bin is the same run
under any patience, so another folder's run stands for it; anything else is trained, not adopted."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.adopt import never_fitted  # noqa: E402


def _run(tmp_path, name, history, **fields):
    folder = tmp_path / "models" / name
    folder.mkdir(parents=True)
    if history is not None:
        (folder / "metrics.json").write_text(json.dumps({"history": history}))
    return {"run": name, "config": {"steps": 400}, "steps_run": 400, "train_fit": False, "stopped_early": False,
            "saved": f"elsewhere/models/{name}", **fields}


@pytest.mark.parametrize("history,fields,why", [
    ([{"step": 200, "train_acc": 90.0}, {"step": 400, "train_acc": 99.8}], {}, None),
    ([{"step": 200, "train_acc": 100.0}, {"step": 400, "train_acc": 99.8}], {}, "a check reached 100%"),
    ([{"step": 200, "train_acc": 90.0}], {}, "ends at step 200"),
    (None, {}, "no saved history"),
    ([], {}, "no saved history"),
    ([{"step": 400, "train_acc": 90.0}], {"train_fit": True}, "fitted"),
    ([{"step": 400, "train_acc": 90.0}], {"steps_run": 200}, "before its last step"),
    ([{"step": 400, "train_acc": 90.0}], {"error": "lost"}, "fitted"),
])
def test_only_a_run_that_never_reached_100_is_adopted(tmp_path, history, fields, why):
    reason = never_fitted(_run(tmp_path, "r", history, **fields), tmp_path)
    assert reason is None if why is None else why in reason


def _reproduce(cwd, *args):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "reproduce.py"), "--smoke", "--tasks", "d3",
                        "--encodings", "APE", "--seeds", "1", "--max-tries", "1", "--give-up", "1", *args],
                       capture_output=True, text=True, timeout=600, cwd=cwd)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def _last(folder):
    return [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines()][-1]


@pytest.mark.slow
def test_an_adopted_run_is_the_run_trained_under_the_other_patience(tmp_path):
    """20 steps of D3 (the smoke settings) never fit: trained with patience 3 and adopted for patience 1, the
    record's numbers are those of the run trained with patience 1, whose weights are byte for byte the same."""
    _reproduce(tmp_path, "--patience", "3", "--out", "a")
    assert "adopted from a: 1 runs" in _reproduce(tmp_path, "--out", "b", "--adopt", "a")
    _reproduce(tmp_path, "--out", "c")
    a, b, c = (_last(tmp_path / f) for f in "abc")
    assert b["run"] == c["run"] and b["key"] == c["key"] and b["adopted_from"].startswith(a["run"])
    numbers = [k for k in c if k.startswith("acc_")] + ["train_acc", "steps_run", "train_fit"]
    assert {k: b[k] for k in numbers} == {k: c[k] for k in numbers}
    weights = [next((tmp_path / f / "models").glob("*/model.safetensors")).read_bytes() for f in "ac"]
    assert weights[0] == weights[1]


def test_adopt_needs_a_folder_with_runs(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "reproduce.py"), "--dry-run", "--tasks", "d2",
                        "--out", str(tmp_path / "o"), "--adopt", str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 1 and "--adopt" in p.stderr and "no runs.jsonl" in p.stderr and "Traceback" not in p.stderr


def test_runs_past_one_that_cannot_be_adopted_are_adopted_too(tmp_path):
    """Seed 0 fitted in the other folder (trained again), seeds 1 and 2 never did (adopted), seed 3 of another
    architecture and seed 12 past --max-tries belong to no run of the row."""
    from dataclasses import replace

    from bench import paper_protocol as pp
    from bench.adopt import adopt
    from verify.catalogue import all_cases
    cases = {c.name: c for c in all_cases()}
    row = pp.table_rows(["aa_star"], cases, encodings=["ape"])[0]
    other = pp.Settings(tmp_path, patience=5, max_tries=20)
    records = []
    for seed, arch, fitted in [(0, row.arch, True), (1, row.arch, False), (2, row.arch, False),
                               (3, replace(row.arch, d=64), False), (12, row.arch, False)]:
        spec = other.spec(row, arch, seed)
        history = [{"step": spec.steps, "train_acc": 100.0 if fitted else 50.0}]
        record = _run(tmp_path, spec.folder, history, run=spec.name, key=spec.key, spec=spec.identity(),
                      config={"steps": spec.steps, "patience": 5}, steps_run=spec.steps, train_fit=fitted)
        records.append(record)
    st = pp.Settings(tmp_path / "here")
    done = {}
    adopted = adopt([row], done, tmp_path, records, lambda row_, r: pp._spec_for(row_, r, st))
    assert [r["spec"]["seed"] for r in adopted] == [1, 2]
    assert all(r["config"]["patience"] == 1 and "patience" not in r["spec"] and r["key"] in done for r in adopted)
    assert adopted[0]["key"] == st.spec(row, row.arch, 1).key
