"""Sweeps on Ray (issue 14 §2): a local Ray instance (num_cpus=2) runs a 2-run sweep to completion with
the model folders written by the driver; then a worker is killed mid-run, and that run is recorded as
failed (error_kind "lost") while the other one finishes and the merged results keep every success (slow).
The driver's retries and the `attempts` it writes to runs.jsonl are checked on a stand-in for Ray (fast)."""
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")
pytestmark = pytest.mark.torch

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


class _StandInRay:
    """What run_on_ray uses of Ray: remote(...).options(...).remote(spec), wait, get. The first `lose[name]`
    attempts of a run are lost as a killed worker's are (an exception that is not a RayTaskError)."""

    def __init__(self, lose):
        self.lose, self.started, self.options = lose, {}, None

    def cluster_resources(self):
        return {"CPU": 4}

    def remote(self, function):
        ray = self

        class Remote:
            def options(self, **options):
                ray.options = options
                return self

            def remote(self, spec):
                ray.started[spec.name] = ray.started.get(spec.name, 0) + 1
                return spec, ray.started[spec.name]
        return Remote()

    def wait(self, refs, num_returns):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        spec, attempt = ref
        if attempt <= self.lose.get(spec.name, 0):
            raise ConnectionError(f"The worker died unexpectedly (attempt {attempt})\nmore detail")
        return {"run": spec.name, "key": spec.key, "task": spec.task}


def test_runs_jsonl_records_the_attempts_of_a_run_ray_retried(tmp_path, monkeypatch):
    from torch_bridge import ray_backend
    from torch_bridge.sweep import grid, write_results
    steady, once, twice = grid(["bin_majority"], ["ape"], [1], [1], [8], [1e-3], [0, 1, 2], 3, out=str(tmp_path / "s"))
    stand_in = _StandInRay({once.name: 1, twice.name: 2})
    monkeypatch.setattr(ray_backend, "connect", lambda address, num_cpus: stand_in)
    runs, _, _ = write_results(tmp_path / "s", lambda on_done: ray_backend.run_on_ray(
        [steady, once, twice], on_done, max_in_flight=2, retries=1))
    assert stand_in.options["max_retries"] == 0      # the driver retries, so it knows
    logged = {r["run"]: r for r in map(json.loads, (tmp_path / "s" / "runs.jsonl").read_text().splitlines())}
    assert logged == {r["run"]: r for r in runs}
    assert logged[steady.name]["attempts"] == 1 and "lost_attempts" not in logged[steady.name]
    assert logged[once.name]["attempts"] == 2 and "error" not in logged[once.name]
    assert logged[once.name]["lost_attempts"] == ["ConnectionError: The worker died unexpectedly (attempt 1)"]
    assert logged[twice.name]["attempts"] == 2 and logged[twice.name]["error_kind"] == "lost"
    assert "(attempt 2)" in logged[twice.name]["error"] and len(logged[twice.name]["lost_attempts"]) == 1
    assert stand_in.started == {steady.name: 1, once.name: 2, twice.name: 2}


@pytest.mark.slow
def test_ray_sweep_returns_models_to_the_driver_and_survives_a_killed_worker(local_ray, tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3", "--seeds", "2",
                 "--steps", "3", "--eval-samples", "10", "--pe", "ape", "--backend", "ray", "--workers", "2",
                 "--out", str(out), "--json", "--yes"])
    text, err = capsys.readouterr()
    assert code == 0, err
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(records) == 2 and not any("error" in r for r in records)
    assert [r["attempts"] for r in records] == [1, 1]
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
    assert by_run[long.name]["attempts"] == 1      # retries=0: not started again
    assert not Path(long.out).exists()                       # nothing half-written for the lost run
    rows = {r["encoding"]: r for r in json.loads((out / "results.json").read_text())}
    assert rows["APE"]["runs"] == 2 and rows["NoPE"]["runs"] == 1   # merged: the earlier sweep's row stays
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[-1])["run"] == long.name and json.loads(lines[-1])["error_kind"] == "lost"


@pytest.mark.slow
def test_ray_workers_run_below_the_driver(local_ray):
    """The README's cluster section: Ray starts its workers at niceness 15 (RAY_worker_niceness), so on a
    shared node a sweep's runs yield to normal-priority work."""
    if os.environ.get("RAY_worker_niceness"):
        pytest.skip("RAY_worker_niceness is set here")
    worker = local_ray.get(local_ray.remote(lambda: os.nice(0)).remote())
    assert worker == min(19, os.nice(0) + 15)
