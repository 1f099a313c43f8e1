"""bench/reproduce.py --protocol fixed (the older protocol) at smoke size: the lr is chosen per group on the training bin by the seed-0 race
(both lrs to the probe step, the better continued), the later seeds use it, --resume does no finished run again, and the table and results.json use the
same agreement rule as `verify report --trained`."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def _run(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "bench" / "reproduce.py"), "--protocol", "fixed", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("reproduce", ROOT / "bench" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
        info = seed0[0]["lr_probe"]
        assert len(seed0) == 2 and all(r["lr_probe"] == info for r in seed0) and info["step"] == 10
        acc, steps = info["train_acc"], info["steps"]
        chosen = max((1e-3, 3e-4), key=lambda lr: (acc[f"{lr:g}"] or 0.0, -steps[f"{lr:g}"], lr))
        winner = next(r for r in seed0 if r["spec"]["lr"] == chosen)
        loser = next(r for r in seed0 if r is not winner)
        assert info["chosen"] == chosen and "stop_after" not in winner["spec"]
        # the other lr stopped at the probe, unless it had fitted before it (then its run was complete)
        assert loser["steps_run"] <= 10 and (loser["spec"].get("stop_after") == 10) != bool(loser["stopped_early"])
        later = [r for r in group if r["spec"]["seed"] == 1]
        assert len(later) == 1 and later[0]["spec"]["lr"] == chosen
        # seed 1 started only after both seed-0 runs of its group were logged
        order = [r["key"] for r in runs]
        assert order.index(later[0]["key"]) > max(order.index(r["key"]) for r in seed0)
    rows = json.loads((out / "results.json").read_text())
    assert {(r["task"], r["encoding"]) for r in rows} == {("bin_majority", "APE"), ("bin_majority", "NoPE"),
                                                          ("tomita1", "APE"), ("tomita1", "NoPE")}
    assert all("spread" in r and r["threshold"] == 90.0 for r in rows)
    assert {r["training_protocol"] for r in rows if r["task"] == "tomita1"} == {"next_symbol"}
    assert {r["protocol"] for r in rows} == {"fixed"}
    table = (out / "table.md").read_text()
    assert "projected CPU time on this machine" in table and "runs executed on: cpu (12)" in table
    assert "lr chosen on the training bin at step 10" in table
    bad = _run("--smoke", "--tasks", "bin_majority", "--out", str(tmp_path / "p"), "--probe-steps", "15", cwd=tmp_path)
    assert bad.returncode == 1 and "--probe-steps must be a multiple of 10" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "p").exists()
    # the expected time of a rerun: the same runs (keys) with the steps this one took, and none missing
    rep = _module()
    from dataclasses import replace

    from torch_bridge.sweep import RunSpec
    from torch_bridge.results import recorded_runs

    def spec(task, protocol, pe, lr, seed):
        s = RunSpec(task, pe, 2, 2, 64, lr, seed, 20, eval_samples=20, eval_every=10, train_eval_samples=32,
                    protocol=protocol)
        return replace(s, out=str(out / "models" / s.folder))
    groups = [("bin_majority", "membership", "ape"), ("bin_majority", "membership", "nope"),
              ("tomita1", "next_symbol", "ape"), ("tomita1", "next_symbol", "nope")]
    races = [[spec(*g, lr, 0) for lr in rep.LRS] for g in groups]
    reference = recorded_runs((out / "runs.jsonl").read_text().splitlines())
    known = rep.expected_runs(races, [], {}, spec, 10, 2, reference)
    assert sorted(s.steps for s in known) == sorted(r["steps_run"] for r in runs)
    assert rep.expected_runs(races, [], {}, spec, 10, 2, reference[:-1]) is None   # one run unknown
    again = _run("--smoke", "--tasks", "bin_majority,tomita1", "--seeds", "2", "--out", str(out), "--resume",
                 cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len((out / "runs.jsonl").read_text().splitlines()) == 12     # nothing trained again
    fresh = _run("--smoke", "--tasks", "bin_majority", "--out", str(out), cwd=tmp_path)
    assert fresh.returncode != 0 and "--resume" in fresh.stderr and "Traceback" not in fresh.stderr


def test_a_failed_race_releases_no_seeds():
    """A race whose worker failed logs records without a spec: no lr is chosen from them (so its group's
    later seeds are not queued), and nothing crashes on them."""
    from torch_bridge.sweep import RunSpec, failed_record
    rep = _module()
    race = [RunSpec("tomita1", "ape", 1, 1, 8, lr, 0, 5) for lr in rep.LRS]
    assert rep.choose_lrs([failed_record(s, "OSError: disk full", "user") for s in race]) == {}
