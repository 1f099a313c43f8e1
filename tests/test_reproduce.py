"""bench/reproduce.py at smoke size: the lr is chosen per group on the training bin from the seed-0 runs,
the later seeds use it, --resume does no finished run again, and the table and results.json use the
same agreement rule as `verify report --trained`."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def _run(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "bench" / "reproduce.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_smoke_pipeline_resume_and_table(tmp_path):
    out = tmp_path / "r"
    p = _run("--smoke", "--tasks", "bin_majority,tomita1", "--seeds", "2", "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    runs = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 4 * 2 + 4                       # 4 groups: 2 lrs at seed 0, then seed 1
    for task, pe in {(r["spec"]["task"], r["spec"]["pe"]) for r in runs}:
        group = [r for r in runs if (r["spec"]["task"], r["spec"]["pe"]) == (task, pe)]
        seed0 = [r for r in group if r["spec"]["seed"] == 0]
        best = max(seed0, key=lambda r: (r["train_acc"] or 0.0, -r["steps_run"], r["spec"]["lr"]))
        later = [r for r in group if r["spec"]["seed"] == 1]
        assert len(seed0) == 2 and len(later) == 1 and later[0]["spec"]["lr"] == best["spec"]["lr"]
        # seed 1 started only after both seed-0 runs of its group were logged
        order = [r["key"] for r in runs]
        assert order.index(later[0]["key"]) > max(order.index(r["key"]) for r in seed0)
    rows = json.loads((out / "results.json").read_text())
    assert {(r["task"], r["encoding"]) for r in rows} == {("bin_majority", "APE"), ("bin_majority", "NoPE"),
                                                          ("tomita1", "APE"), ("tomita1", "NoPE")}
    assert all("spread" in r and r["threshold"] == 90.0 for r in rows)
    assert {r["protocol"] for r in rows if r["task"] == "tomita1"} == {"next_symbol"}
    table = (out / "table.md").read_text()
    assert "projected CPU time on this machine" in table and "runs executed on: cpu (12)" in table
    again = _run("--smoke", "--tasks", "bin_majority,tomita1", "--seeds", "2", "--out", str(out), "--resume",
                 cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len((out / "runs.jsonl").read_text().splitlines()) == 12     # nothing trained again
    fresh = _run("--smoke", "--tasks", "bin_majority", "--out", str(out), cwd=tmp_path)
    assert fresh.returncode != 0 and "--resume" in fresh.stderr and "Traceback" not in fresh.stderr
