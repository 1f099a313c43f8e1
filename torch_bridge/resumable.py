"""A training run that survives an interruption (bench/reproduce.py's paper protocol: runs of up to 30,000
steps, over several sittings).

The whole state of a torch_bridge.train.Training — weights, AdamW's moments, the lr schedule, the numpy
generators of the batches and of the early-stop checks, the dropout generator, the step, the history and
the time spent so far — is saved to one file now and then (atomically: a crash leaves the previous file) and
at a deadline; started again on that file, the run goes on from its step and ends with exactly the model and
the numbers it would have had without the stop (tests/test_reproduce_paper.py checks it on a CPU). The file
names the run's key, so a file of another configuration is never resumed.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from torch_bridge.sweep import RunSpec, _guarded, _record, train_config
from torch_bridge.train import Training

STATE_VERSION = 1


def save_state(run: Training, path, key: str, resumed_at: Sequence[int] = ()) -> None:
    """Write run's state to `path` (a temporary file renamed over it); resumed_at: the steps it went on
    from in earlier sittings."""
    st = run.stepper
    state = {"version": STATE_VERSION, "key": key, "step": run.step, "history": run.history,
             "resumed_at": list(resumed_at),
             "train_s": run.train_s, "eval_s": run.eval_s,
             "model": st.model.state_dict(), "opt": st.opt.state_dict(), "sched": st.sched.state_dict(),
             "rng": st.rng.bit_generator.state, "check_rng": run.check_rng.bit_generator.state,
             "dropout": st.model.dropout.get_state() if st.model.dropout is not None else None}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_state(run: Training, path, key: str) -> Optional[List[int]]:
    """Restore run (freshly built from the same spec) from `path` and return the steps it has gone on from
    (this one last); None when there is no usable file for this key (missing, unreadable, another run's or
    another version's: the run starts from step 0)."""
    path = Path(path)
    if not path.is_file():
        return None
    st = run.stepper
    try:
        state = torch.load(path, map_location=st.device, weights_only=True)
    except Exception:  # a torn or foreign file: not this run's state
        return None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION or state.get("key") != key:
        return None
    st.model.load_state_dict(state["model"])
    st.opt.load_state_dict(state["opt"])
    st.sched.load_state_dict(state["sched"])
    st.rng.bit_generator.state = state["rng"]
    run.check_rng.bit_generator.state = state["check_rng"]
    if st.model.dropout is not None:
        st.model.dropout.set_state(state["dropout"], st.device)
    run.step, run.history = state["step"], state["history"]
    run.train_s, run.eval_s = state["train_s"], state["eval_s"]
    return [*state.get("resumed_at", []), run.step]


def run_resumable(spec: RunSpec, state_file: str, deadline: Optional[float] = None,
                  save_every_s: float = 600.0) -> Dict:
    """Train `spec` to its end (early stop included) and return its log record, as
    torch_bridge.sweep.run_one does (model saved into spec.out), starting from `state_file` when that holds
    this run's state (the record then says `resumed_at`: the steps it went on from). While training, the
    state is saved there every `save_every_s` seconds; once `deadline` (time.time()) has passed it is saved
    and the run stops: the record is then {"run", "key", "paused": step}. The caller removes the file
    once the finished record is logged."""
    from verify.catalogue import get_case
    from verify.outputs import check_folder_target
    if spec.out:
        check_folder_target(spec.out, "--out")
    run = Training(get_case(spec.task), train_config(spec))
    resumed = load_state(run, state_file, spec.key) or []
    target = spec.stop_after or spec.steps
    last_save = time.monotonic()
    while not run.done and run.step < target:
        run.run_until(min(target, run.step + spec.eval_every))   # a chunk: the same run as one call
        if run.done or run.step >= target:
            break
        if deadline is not None and time.time() >= deadline:
            save_state(run, state_file, spec.key, resumed)
            return {"run": spec.name, "key": spec.key, "paused": run.step}
        if time.monotonic() - last_save >= save_every_s:
            save_state(run, state_file, spec.key, resumed)
            last_save = time.monotonic()
    return _record(spec, run.result(), **({"resumed_at": resumed} if resumed else {}))


def safe_resumable(spec: RunSpec, state_file: str, deadline: Optional[float] = None,
                   save_every_s: float = 600.0) -> Dict:
    """run_resumable in a worker process: a failure is the run's failed record (torch_bridge.sweep)."""
    return _guarded(lambda: [run_resumable(spec, state_file, deadline, save_every_s)], [spec])[0]
