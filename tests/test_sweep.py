"""Sweeps that can be repeated (issue 14 §1): outputs checked before any work, --resume keyed by the
full configuration, --overwrite, --dry-run with a measured estimate, --yes past an hour, a failed run
recorded with its error while the others finish, --device. Every test writes under tmp_path only."""
import json

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from verify.cli import main  # noqa: E402

TINY = ["--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3", "--steps", "3", "--eval-samples", "10",
        "--workers", "1"]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def log(folder):
    return [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines()]


def sweep(folder, capsys, *extra, seeds="2", pe="ape"):
    return run(["sweep", "bin_majority", *TINY, "--seeds", seeds, "--pe", pe, "--out", str(folder), "--json",
                *extra], capsys)


def test_a_second_sweep_into_the_same_folder_needs_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "s"
    code, text, _ = sweep(out, capsys)
    assert code == 0 and len(log(out)) == 2
    before = (out / "results.json").read_text()
    code, _, err = sweep(out, capsys)
    assert code == 2 and "--resume" in err and "--overwrite" in err
    assert len(log(out)) == 2 and (out / "results.json").read_text() == before   # refused before any work


@pytest.mark.slow
def test_resume_runs_only_what_is_missing_and_merges(tmp_path, capsys):
    out = tmp_path / "s"
    assert sweep(out, capsys)[0] == 0
    first = {r["key"] for r in log(out)}
    code, text, _ = sweep(out, capsys, "--resume", seeds="3")          # one new seed
    data = json.loads(text)
    assert code == 0 and len(data["skipped"]) == 2
    records = log(out)
    assert len(records) == 3 and {r["key"] for r in records[:2]} == first   # the two finished runs not redone
    rows = json.loads((out / "results.json").read_text())
    assert rows[0]["runs"] == 3                                         # merged over all three seeds
    assert len(list((out / "models").iterdir())) == 3
    # the full configuration is the key: other --steps are other runs, in their own folders
    code, text, _ = run(["sweep", "bin_majority", *TINY[:-6], "--steps", "4", "--eval-samples", "10", "--workers",
                         "1", "--seeds", "3", "--pe", "ape", "--out", str(out), "--json", "--resume"], capsys)
    assert code == 0 and not json.loads(text)["skipped"] and len(log(out)) == 6
    assert len(list((out / "models").iterdir())) == 6
    code, text, _ = sweep(out, capsys, "--resume", seeds="3")          # all finished: nothing to train
    assert code == 0 and len(json.loads(text)["skipped"]) == 3 and len(log(out)) == 6


def test_resume_redoes_a_run_whose_folder_was_left_by_an_interrupted_sweep(tmp_path, capsys):
    out = tmp_path / "s"
    assert sweep(out, capsys, seeds="1")[0] == 0
    lines = (out / "runs.jsonl").read_text().splitlines()
    (out / "runs.jsonl").write_text("")                               # the log line never made it
    code, text, _ = sweep(out, capsys, "--resume", seeds="1")
    assert code == 0 and len(log(out)) == 1 and log(out)[0]["key"] == json.loads(lines[0])["key"]


def test_overwrite_replaces_only_a_sweeps_files(tmp_path, capsys):
    out = tmp_path / "s"
    assert sweep(out, capsys, seeds="2")[0] == 0
    code, _, _ = sweep(out, capsys, "--overwrite", seeds="1")
    assert code == 0 and len(log(out)) == 1 and len(list((out / "models").iterdir())) == 1
    (out / "notes.txt").write_text("mine")
    for flag in ("--overwrite", "--resume"):
        code, _, err = sweep(out, capsys, flag, seeds="1")
        assert code == 2 and "notes.txt" in err
    assert (out / "notes.txt").read_text() == "mine" and len(log(out)) == 1
    code, _, err = sweep(tmp_path / "t", capsys, "--overwrite", "--resume")
    assert code == 2 and "contradict" in err and not (tmp_path / "t").exists()


def test_a_failed_run_is_recorded_with_its_error_and_the_others_finish(tmp_path, capsys):
    from torch_bridge.sweep import grid
    out = tmp_path / "s"
    specs = grid(["bin_majority"], ["ape"], [1], [1], [8], [1e-3], range(2), 3, eval_samples=10, out=str(out))
    blocked = tmp_path / "s" / "models" / specs[1].folder
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the run's folder goes")
    code, text, _ = sweep(out, capsys, "--resume")
    data = json.loads(text)
    assert code == 2 and [f["run"] for f in data["failed"]] == [specs[1].name]
    assert data["failed"][0]["error_kind"] == "user" and "is a file" in data["failed"][0]["error"]
    records = log(out)
    assert sorted("error" in r for r in records) == [False, True]
    rows = json.loads((out / "results.json").read_text())
    assert rows[0]["runs"] == 1                                         # the run that finished
    assert blocked.read_text().startswith("a file")


def test_dry_run_prints_grid_count_and_a_measured_estimate_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "s"
    code, text, _ = run(["sweep", "bin_majority", "parity", "--layers", "1,2", "--heads", "1,2", "--d", "8,16",
                         "--lr", "1e-3", "--seeds", "2", "--steps", "100", "--pe", "ape,nope", "--out", str(out),
                         "--dry-run", "--json"], capsys)
    data = json.loads(text)
    assert code == 0 and data["runs"] == 2 * 2 * 2 * 2 * 2 * 2 == len(data["grid"]) and not out.exists()
    smallest, largest = data["measured"]
    assert "L1H1d8" in smallest["run"] and "L2" in largest["run"] and "d16" in largest["run"]
    assert 0 < smallest["s_per_step"] and data["estimate_cpu_s"] > 100 * 64 * smallest["s_per_step"]
    code, text, _ = run(["sweep", "dyck1", "--layers", "1", "--heads", "1", "--d", "8", "--seeds", "1",
                         "--steps", "100", "--out", str(out), "--dry-run"], capsys)
    assert code == 0 and "runs" in text and "CPU-" in text and "measured" in text and not out.exists()


@pytest.mark.slow
def test_a_sweep_estimated_over_an_hour_needs_yes(tmp_path, capsys, monkeypatch):
    import torch_bridge.train
    monkeypatch.setattr(torch_bridge.train, "measure_step_seconds", lambda *a, **k: 100.0)  # a slow machine
    out = tmp_path / "s"

    def args(steps, *extra):
        return ["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3", "--seeds", "3",
                "--steps", str(steps), "--eval-samples", "10", "--pe", "ape", "--workers", "1", "--out", str(out),
                *extra]
    code, _, err = run(args(40), capsys)                  # 3 runs × 40 steps × 100 s = 3.3 h
    assert code == 2 and "--yes" in err and "CPU-hours" in err and not out.exists()
    code, _, err = run(args(40, "--yes"), capsys)
    assert code == 0 and len(log(out)) == 3
    code, _, err = run(args(10, "--resume"), capsys)      # 3 × 10 × 100 s < 1 h: runs without --yes
    assert code == 0 and len(log(out)) == 6


@pytest.mark.slow
def test_the_papers_full_grid_is_refused_without_yes(tmp_path, capsys):
    """`verify sweep dyck1` with no flags: 810 runs of 30,000 steps."""
    code, _, err = run(["sweep", "dyck1", "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and "810 runs" in err and "--yes" in err and not (tmp_path / "s").exists()


def test_bad_sweep_and_device_flags_are_user_errors(tmp_path, capsys):
    out = tmp_path / "s"
    for extra, needle in ((["--device", "tpu"], "--device"), (["--cpus-per-run", "2"], "only with --backend ray"),
                          (["--address", "x:1"], "only with --backend ray"), (["--retries", "-1"], "--retries"),
                          (["--workers", "0"], "--workers"),
                          (["--backend", "ray", "--device", "cuda"], "--gpus-per-run"),
                          (["--backend", "ray", "--cpus-per-run", "0"], "--cpus-per-run")):
        code, _, err = sweep(out, capsys, *extra)
        assert code == 2 and needle in err and err.count("\n") <= 3, (extra, err)
        assert not out.exists()
    if not torch.cuda.is_available():
        code, _, err = sweep(out, capsys, "--device", "cuda")
        assert code == 2 and "no CUDA device" in err and not out.exists()
        code, _, err = run(["train", "bin_majority", "--steps", "1", "--device", "cuda", "--out", str(out)], capsys)
        assert code == 2 and "no CUDA device" in err and not out.exists()


def test_train_device_auto_and_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--steps", "2",
            "--eval-samples", "10", "--out", str(out), "--json", "--device", "auto"]
    code, text, _ = run(args, capsys)
    assert code == 0 and json.loads(text)["device"] in ("cpu", "cuda:0", "cuda")
    first = (out / "model.safetensors").read_bytes()
    code, _, err = run(args, capsys)
    assert code == 2 and "--overwrite" in err
    code, _, _ = run([*args[:9], "3", *args[10:], "--overwrite"], capsys)    # --steps 3
    assert code == 0 and json.loads((out / "metrics.json").read_text())["steps_run"] == 3
    assert (out / "model.safetensors").read_bytes() != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # nothing staged left over
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    code, _, err = run([*args[:-4], str(mine), "--overwrite"], capsys)
    assert code == 2 and "metrics.json" in err and (mine / "notes.txt").read_text() == "mine"


# ---- the lr probe of bench/reproduce.py (torch_bridge.sweep.race_lrs) ----------------------------------

def _race_specs(tmp_path, steps=60):
    from torch_bridge.sweep import RunSpec
    return [RunSpec("tomita3", "ape", 1, 1, 8, lr, 0, steps, eval_samples=30, eval_every=20, train_eval_samples=32,
                    protocol="next_symbol", out=str(tmp_path / f"m{lr:g}")) for lr in (1e-2, 1e-4)]


@pytest.mark.slow
def test_the_race_winner_is_the_run_trained_without_the_probe(tmp_path):
    from dataclasses import replace

    from torch_bridge.sweep import race_lrs, run_one
    specs = _race_specs(tmp_path)
    records = race_lrs(specs, probe=20)
    assert len(records) == 2 and all(r["lr_probe"]["step"] == 20 for r in records)
    info = records[0]["lr_probe"]
    accs = info["train_acc"]
    # the choice is the better training-bin accuracy at the probe (ties: the larger lr), nothing else
    assert info["chosen"] == max(specs, key=lambda s: (accs[f"{s.lr:g}"], s.lr)).lr
    winner = next(r for r in records if r["spec"]["lr"] == info["chosen"])
    loser = next(r for r in records if r is not winner)
    assert "stop_after" not in winner["spec"] and loser["spec"]["stop_after"] == 20 and loser["steps_run"] == 20
    assert loser["run"].endswith("-stop20") and loser["key"] != winner["key"]
    assert loser["train_acc"] == accs[f"{loser['spec']['lr']:g}"]
    # pausing at the probe changes nothing: the same run from scratch gives the same numbers and key
    spec = next(s for s in specs if s.lr == info["chosen"])
    solo = run_one(replace(spec, out=None))
    same = ["key", "steps_run", "train_acc", "positional_penalty", "acc_0_50", "acc_51_100", "acc_101_150"]
    assert {k: solo[k] for k in same} == {k: winner[k] for k in same}
    assert (tmp_path / f"m{info['chosen']:g}").is_dir()


def test_a_race_whose_folder_is_taken_fails_for_each_run_and_trains_nothing(tmp_path):
    from torch_bridge.sweep import safe_race
    specs = _race_specs(tmp_path)
    (tmp_path / "m0.01").mkdir()
    (tmp_path / "m0.01" / "x").write_text("taken")
    records = safe_race(specs, 20)
    assert [r["error_kind"] for r in records] == ["user", "user"] and all("--out" in r["error"] for r in records)


def test_run_keys_without_a_probe_are_what_they_were():
    """stop_after joined RunSpec; a run that goes to its last step keeps the key it had before, so
    --resume still finds runs logged earlier (this one: session 3's Figure 1 reproduction)."""
    from dataclasses import replace

    from torch_bridge.sweep import RunSpec
    spec = RunSpec("bin_majority", "nope", 2, 2, 64, 0.0003, 0, 5000, eval_samples=1000, protocol="membership")
    assert spec.key == "42d17665683a06d2"
    assert replace(spec, stop_after=1000).key != spec.key


def test_run_keys_of_walks_and_of_the_first_check_are_what_they_were():
    """inputs and patience joined RunSpec: D-2 on live walks with the early stop at the first 100% check is
    the run logged before (its key in out/reproduce-paper's first sittings); the nested-block inputs, a
    walk where the case has members ((aa)*), and a patience above 1 are other runs."""
    from dataclasses import replace

    from torch_bridge.sweep import RunSpec
    walks = RunSpec("d2", "nope", 1, 1, 16, 0.001, 0, 30000, protocol="next_symbol", inputs="walks")
    assert walks.key == "fddbdf96debc80f4" and walks.name == "d2-next-nope-L1H1d16-lr0.001-s0"
    paper = replace(walks, inputs="paper")
    assert paper.key != walks.key and paper.identity()["inputs"] == "paper" and "nested-blocks" in paper.name
    assert replace(walks, patience=3).key != walks.key and "patience3" in replace(walks, patience=3).name
    aa = RunSpec("aa_star", "nope", 1, 2, 16, 0.001, 0, 30000, protocol="next_symbol")
    assert "inputs" not in aa.identity() and replace(aa, inputs="walks").identity()["inputs"] == "walks"
