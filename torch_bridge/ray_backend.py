"""Sweeps on Ray (`verify sweep --backend ray`): each run is a Ray task; its model folder travels back
to the driver as bytes and is written into the driver's --out, so nothing stays on a worker's local
disk of a multi-node cluster. Needs `pip install 'lengthgen-verify[ray]'` on the driver and on every
node (the workers import torch_bridge).

Failures stay per run: a run whose worker process or node dies is submitted again, at most `retries`
times (by the driver, not by Ray's own max_retries, so the driver knows), then recorded as failed
(error_kind "lost"); the other runs go on. Every record in runs.jsonl says how many times its run was
started (`attempts`), and a run that was retried lists why its earlier attempts were lost (`lost_attempts`).

Ray runs its worker processes at niceness 15 (its `worker_niceness`; `RAY_worker_niceness=0` in the
environment of `ray start` changes it), below the driver and anything else started normally.
"""
from __future__ import annotations

import os
from typing import Callable, Dict, List, Optional, Sequence

from torch_bridge.sweep import RunSpec, _safe, deliver, failed_record
from verify.problems import UserError

RAY_HINT = "--backend ray needs Ray: pip install 'lengthgen-verify[ray]' (or use --backend local)"


def _remote_run(spec: RunSpec) -> Dict:
    return _safe(spec, collect=True)


def connect(address: Optional[str] = None, num_cpus: Optional[int] = None):
    """Join the cluster at `address` (else $RAY_ADDRESS), or start a local instance; Ray's own
    initialization when the caller already did it (tests, notebooks)."""
    try:
        import ray
    except ImportError:
        raise UserError(RAY_HINT) from None
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as ex:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise UserError(f"--backend ray: could not join {where} ({ex}); check --address / RAY_ADDRESS "
                        f"(e.g. `ray start --head` prints it)") from None
    return ray


def check_resources(ray, cpus_per_run: float, gpus_per_run: float) -> None:
    """A run that no node can ever host would wait forever: refuse it before anything is submitted."""
    total = ray.cluster_resources()
    for flag, need, key in (("--cpus-per-run", cpus_per_run, "CPU"), ("--gpus-per-run", gpus_per_run, "GPU")):
        if need > total.get(key, 0):
            raise UserError(f"{flag} {need:g}: the Ray cluster has {total.get(key, 0):g} {key}s in all; "
                            f"lower {flag} or add nodes")


def run_on_ray(specs: Sequence[RunSpec], on_done: Callable[[Dict], None], max_in_flight: Optional[int] = None,
               address: Optional[str] = None, cpus_per_run: float = 1, gpus_per_run: float = 0,
               retries: int = 1, num_cpus: Optional[int] = None) -> None:
    """Submit every run (at most max_in_flight at once; None: as the cluster's resources allow) and
    call on_done(record) on the driver as each one finishes, its model folder already written."""
    ray = connect(address, num_cpus)
    check_resources(ray, cpus_per_run, gpus_per_run)
    from ray.exceptions import RayTaskError
    remote = ray.remote(_remote_run).options(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=0,
                                             retry_exceptions=False)
    queue = list(specs)
    in_flight: Dict[object, RunSpec] = {}
    lost: Dict[str, List[str]] = {}   # run name -> why each of its earlier attempts was lost
    limit = max_in_flight or len(queue)
    while queue or in_flight:
        while queue and len(in_flight) < limit:
            spec = queue.pop(0)
            in_flight[remote.remote(spec)] = spec
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        spec = in_flight.pop(ready[0])
        try:
            record = deliver(spec, ray.get(ready[0]))
        except RayTaskError as ex:  # the task itself raised past _safe: a bug
            record = failed_record(spec, f"{type(ex).__name__}: {str(ex)[:500]}", "internal")
        except Exception as ex:  # ray.exceptions.WorkerCrashedError, NodeDiedError, OutOfMemoryError, ...
            why = f"{type(ex).__name__}: {(str(ex).splitlines() or [''])[0][:500]}"
            earlier = lost.setdefault(spec.name, [])
            if len(earlier) < retries:   # start it again, first in line
                earlier.append(why)
                queue.insert(0, spec)
                continue
            record = failed_record(spec, why, "lost")
        earlier = lost.pop(spec.name, [])
        record = {**record, "attempts": len(earlier) + 1, **({"lost_attempts": earlier} if earlier else {})}
        on_done(record)
