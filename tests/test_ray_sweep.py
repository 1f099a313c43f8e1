"""Sweeps on Ray (issue 14 §2): a local Ray instance (num_cpus=2) runs a 2-run sweep to completion with
the model folders written by the driver; then a worker is killed mid-run, and that run is recorded as
failed (error_kind "lost") while the other one finishes and the merged results keep every success."""
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

from verify.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _descendants(pid: int):
    """Processes below `pid` (our Ray instance's workers), read from /proc."""
    parent = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parent[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, pp in parent.items() if pp in frontier and c not in out}
        out |= frontier
    return out


def _running_task(name: str):
    """The pid of the worker process of ours that executes the task `name` (Ray titles it ray::name)."""
    for pid in _descendants(os.getpid()):
        try:
            if f"ray::{name}" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                return pid
        except OSError:
            continue
    return None


def test_ray_sweep_returns_models_to_the_driver_and_survives_a_killed_worker(local_ray, tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3", "--seeds", "2",
                 "--steps", "3", "--eval-samples", "10", "--pe", "ape", "--backend", "ray", "--workers", "2",
                 "--out", str(out), "--json", "--yes"])
    text, err = capsys.readouterr()
    assert code == 0, err
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(records) == 2 and not any("error" in r for r in records)
    for r in records:  # written by the driver from the bytes the worker returned
        folder = Path(r["saved"])
        assert folder.parent == out / "models" and (folder / "model.safetensors").stat().st_size > 0
        assert json.loads((folder / "metrics.json").read_text())["key"] == r["key"]
    assert json.loads((out / "results.json").read_text())[0]["runs"] == 2
    code = main(["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--seeds", "1", "--steps", "3",
                 "--backend", "ray", "--gpus-per-run", "1", "--device", "cuda", "--out", str(tmp_path / "g"), "--yes"])
    assert code == 2 and "GPUs in all" in capsys.readouterr().err and not (tmp_path / "g").exists()

    # a short run and a long one; once the short one is back, the long one's worker is killed
    from torch_bridge.sweep import grid, run_sweep, write_results
    short, = grid(["bin_majority"], ["nope"], [1], [1], [8], [1e-3], [0], 3, eval_samples=10, out=str(out))
    long, = grid(["bin_majority"], ["nope"], [1], [1], [8], [1e-3], [1], 1_000_000, eval_samples=10, out=str(out))
    first_done = threading.Event()
    result = {}

    def launch(on_done):
        run_sweep([short, long], workers=2, backend="ray", retries=0,
                  on_done=lambda r: (on_done(r), first_done.set()))

    thread = threading.Thread(target=lambda: result.update(zip(("runs", "rows", "written"),
                                                               write_results(out, launch))))
    thread.start()
    assert first_done.wait(60)
    deadline, pid = time.time() + 30, None
    while pid is None and time.time() < deadline:
        pid = _running_task("_remote_run")
        time.sleep(0.2)
    assert pid is not None, "the long run's worker was not found"
    os.kill(pid, signal.SIGKILL)
    thread.join(60)
    assert not thread.is_alive()
    by_run = {r["run"]: r for r in result["runs"]}
    assert "error" not in by_run[short.name]
    assert by_run[long.name]["error_kind"] == "lost" and by_run[long.name]["error"]
    assert not Path(long.out).exists()                       # nothing half-written for the lost run
    rows = {r["encoding"]: r for r in json.loads((out / "results.json").read_text())}
    assert rows["APE"]["runs"] == 2 and rows["NoPE"]["runs"] == 1   # merged: the earlier sweep's row stays
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[-1])["run"] == long.name and json.loads(lines[-1])["error_kind"] == "lost"
