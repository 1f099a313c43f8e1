"""bench/reproduce.py --protocol paper (the default; issue 22): Figure 1 with the paper's own architectures
and training budget, compared with the paper's numbers bin by bin. Also the pieces both protocols share
(protocols_for, records, cpu_projection).

Architectures (PAPER_TABLE; tests/test_reproduce_paper.py reads it against the issue's list):
- algorithmic tasks: the paper's repository (run_multiple_seeds.py), per task and encoding;
- formal languages: the models the same group published, one per language (APE and NoPE alike);
- the languages with none listed (the counter languages): the paper's search, layers {1,2,4} × heads {1,2,4}
  × d {16,64,256} × lr {1e-3,1e-4} in that order (seed 0), stopping at the first configuration with 100% on
  [0,50] and [51,100]; the row records what it chose (or, when none reached it, the best and that none did).
lr 1e-3 where none is named; dropout 0 unless named.

Training (SPEC §5): AdamW (weight decay 0.01), linear decay, batch 64, up to 30,000 steps (60,000 for
12-layer models), early stop as soon as the training bin (inputs ≤ 50) is at 100% (checked every 200 steps
on 512 fresh inputs), random position offsets, test inputs at offset 0, 2,000 inputs per test bin. A run is
accepted when it fits the training bin; a row takes seeds 0, 1, 2, … until --seeds (5) are accepted, or it
has made --max-tries runs (2 × --seeds), or its first --give-up (2) runs all failed to fit (then its means
are over all its runs, marked "did not fit"). Which runs count is a function of the finished runs alone, in
seed order (`walk`), so a row's result does not depend on the workers, the order runs finished in, or
interruptions.

12-layer d = 768 rows run only with --device cuda (or auto where torch sees a GPU); elsewhere they are
listed as "not run: needs a GPU", never replaced by a smaller model.

Sittings: every run saves its whole training state (torch_bridge.resumable) every --save-minutes and when
the sitting's --hours have passed, and no run starts after that. `--resume` goes on: finished runs are
skipped (OUT/runs.jsonl), runs in progress go on from their saved state (OUT/checkpoints/) and end exactly
as they would have without the stop.
"""
from __future__ import annotations

import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
ENCODINGS = {"ape": "APE", "nope": "NoPE"}
OLDER_RUNS = (ROOT / "bench" / "results" / "figure1_runs.jsonl",
              ROOT / "bench" / "results" / "figure1_v1_all_tasks_runs.jsonl")


# ---- shared by both protocols ---------------------------------------------------------------------------

def protocols_for(case, choice: str) -> List[str]:
    """The training protocols a task is run under: a sequence task has none of its own (membership, unused);
    a language: paper = next-symbol prediction where the case has a next-symbol reference, else membership."""
    from torch_bridge.data import has_next_symbols
    from verify.case import LANGUAGE
    if case.format != LANGUAGE:
        return ["membership"]                      # a sequence task: the field is unused
    nxt = has_next_symbols(case)
    if choice == "both":
        return ["membership", "next_symbol"] if nxt else ["membership"]
    if choice == "next_symbol":
        return ["next_symbol"] if nxt else ["membership"]
    if choice == "membership":
        return ["membership"]
    return ["next_symbol" if nxt else "membership"]   # paper


def records(out: Path) -> List[Dict]:
    """The successful runs OUT/runs.jsonl logs (latest per key)."""
    from torch_bridge.results import recorded_runs
    log = out / "runs.jsonl"
    runs = recorded_runs(log.read_text().splitlines()) if log.exists() else []
    return [r for r in runs if "spec" in r]


def cpu_projection(records_: Sequence[Dict], workers: int) -> str:
    """What these runs cost on this machine's CPU, from the steps each took (early stop included),
    with seconds per step measured here now (torch_bridge.sweep.estimate), whatever device ran them."""
    from torch_bridge.sweep import RunSpec, estimate
    specs = [replace(RunSpec(**r["spec"]), steps=max(1, int(r["steps_run"]))) for r in records_ if r.get("steps_run")]
    if not specs:
        return "projected CPU time on this machine: no finished runs"
    est = estimate(specs, measure_steps=3, across_tasks=len({s.task for s in specs}) > 1)
    w = max(1, min(workers, os.cpu_count() or 1))
    return (f"projected CPU time on this machine for these {len(specs)} runs, from the steps each took: "
            f"{est.cpu_s / 3600:.2f} CPU-hours ≈ {est.cpu_s / 3600 / w:.2f} h on {w} workers (measured "
            + "; ".join(f"{n}: {sec * 1000:.0f} ms/step" for n, sec, _ in est.measured) + ")")


# ---- the paper's architectures --------------------------------------------------------------------------

@dataclass(frozen=True)
class Arch:
    layers: int
    heads: int
    d: int
    lr: float = 1e-3
    dropout: float = 0.0

    @property
    def needs_gpu(self) -> bool:
        """The 12-layer d = 768 models: never trained on a CPU here (and never replaced by a smaller one)."""
        return self.layers >= 12

    def text(self) -> str:
        return (f"{self.layers}L {self.heads}H d{self.d} lr {self.lr:g}"
                + (f" dropout {self.dropout:g}" if self.dropout else ""))

    def as_dict(self, source: str) -> Dict:
        return {"layers": self.layers, "heads": self.heads, "d": self.d, "lr": self.lr, "dropout": self.dropout,
                "source": source}


REPOSITORY = "the paper's repository (run_multiple_seeds.py)"
PUBLISHED = "the same group's published model"
SEARCH = "the paper's search"

# algorithmic tasks, (APE, NoPE): the paper's repository, run_multiple_seeds.py
ALGORITHMIC = {
    "bin_majority": (Arch(1, 1, 16, 1e-3), Arch(1, 1, 16)),
    "majority": (Arch(1, 2, 256, 1e-3), Arch(1, 1, 64)),
    "bin_majority_interleave": (Arch(2, 4, 256, 1e-4), Arch(12, 12, 768, 1e-4)),
    "unique_copy": (Arch(2, 1, 64, 1e-3), Arch(4, 4, 256)),
    "repeat_copy": (Arch(4, 4, 256, 1e-3), Arch(4, 4, 256, 1e-3)),
    "sort": (Arch(1, 2, 256, 1e-4), Arch(1, 1, 256)),
    "parity": (Arch(4, 2, 256, 1e-4), Arch(12, 12, 768, 3e-5)),
    "addition": (Arch(12, 12, 768, 1e-4), Arch(12, 12, 768, 1e-4)),
}
# formal languages, APE and NoPE alike: the architectures of the same group's published models
LANGUAGES = {
    "d2": Arch(1, 1, 16), "d3": Arch(1, 1, 16, 1e-4), "d4": Arch(1, 2, 256, 1e-4), "d12": Arch(4, 2, 256),
    "aa_star": Arch(1, 2, 16, dropout=0.1), "aaaa_star": Arch(2, 1, 64, 1e-4, dropout=0.1),
    "abab_star": Arch(1, 1, 64), "aa_bb_cc_dd_ee": Arch(1, 1, 16), "ab_d_bc": Arch(1, 1, 16, dropout=0.1),
    "zot_02": Arch(1, 1, 64, 1e-4), "tomita1": Arch(1, 1, 16), "tomita2": Arch(1, 1, 16),
    "tomita3": Arch(4, 4, 64), "tomita4": Arch(2, 2, 16, dropout=0.1), "tomita5": Arch(2, 1, 64),
    "tomita6": Arch(2, 2, 256, 1e-4), "tomita7": Arch(2, 1, 16, dropout=0.1),
}
# the languages with none listed: the paper's search, in this order (layers, then heads, then d, then lr)
SEARCHED = ("dyck1", "shuffle2", "anbn", "anbncn", "anbncndn", "boolean3", "boolean5")
SEARCH_GRID = tuple(Arch(l, h, d, lr) for l, h, d, lr in
                    itertools.product((1, 2, 4), (1, 2, 4), (16, 64, 256), (1e-3, 1e-4)))
SEARCH_BINS = ("acc_0_50", "acc_51_100")     # the search stops at the first configuration with 100% on both
MAX_STEPS, MAX_STEPS_DEEP = 30_000, 60_000   # the paper's budget; 12-layer models get twice as many

# The CPU default set: rows whose expected time (`expected_runs`) together fits in 3 h on 2 cores: small models
# that fit their training bin in the older protocol (steps from bench/results/figure1*_runs.jsonl); the rest:
# --tasks all (several sittings; --resume).
DEFAULT_TASKS = ("bin_majority", "d2", "d3", "aa_bb_cc_dd_ee", "ab_d_bc", "tomita1", "tomita2", "tomita7",
                 "tomita4", "aa_star", "abab_star")
ALL_TASKS = (*ALGORITHMIC, *LANGUAGES, *SEARCHED)


def paper_arch(task: str, pe: str) -> Tuple[Optional[Arch], str]:
    """(architecture, where it comes from); (None, SEARCH) for a language the search picks for."""
    if task in ALGORITHMIC:
        return ALGORITHMIC[task][0 if pe == "ape" else 1], REPOSITORY
    if task in LANGUAGES:
        return LANGUAGES[task], PUBLISHED
    if task in SEARCHED:
        return None, SEARCH
    raise KeyError(task)


@dataclass(frozen=True)
class Row:
    task: str
    pe: str
    protocol: str                  # the training protocol (languages: next_symbol | membership)
    arch: Optional[Arch]           # None: chosen by the search
    source: str

    @property
    def encoding(self) -> str:
        return ENCODINGS[self.pe]

    @property
    def needs_gpu(self) -> bool:
        return self.arch is not None and self.arch.needs_gpu


def table_rows(tasks: Sequence[str], cases, language_protocol: str = "paper",
               encodings: Sequence[str] = tuple(ENCODINGS)) -> List[Row]:
    rows = []
    for task in tasks:
        for protocol in protocols_for(cases[task], language_protocol):
            for pe in (pe for pe in ENCODINGS if pe in encodings):
                arch, source = paper_arch(task, pe)
                rows.append(Row(task, pe, protocol, arch, source))
    return rows


@dataclass(frozen=True)
class Settings:
    out: Path
    max_steps: int = MAX_STEPS
    eval_samples: int = 2000
    eval_every: int = 200
    train_eval_samples: int = 512
    seeds: int = 5
    max_tries: int = 10
    give_up: int = 2
    device: str = "cpu"
    inputs: str = "paper"          # next-symbol inputs: the paper's (D-n: nested blocks) or live walks
    patience: int = 1              # early stop after this many checks in a row at 100%

    def steps_for(self, arch: Arch) -> int:
        return self.max_steps * (MAX_STEPS_DEEP // MAX_STEPS) if arch.needs_gpu else self.max_steps

    def spec(self, row: Row, arch: Arch, seed: int):
        from torch_bridge.sweep import RunSpec
        s = RunSpec(row.task, row.pe, arch.layers, arch.heads, arch.d, arch.lr, seed, self.steps_for(arch),
                    eval_samples=self.eval_samples, eval_every=self.eval_every,
                    train_eval_samples=self.train_eval_samples, protocol=row.protocol, device=self.device,
                    dropout=arch.dropout, inputs=self.inputs, patience=self.patience)
        return replace(s, out=str(self.out / "models" / s.folder))


# ---- which runs a row needs, and which count ------------------------------------------------------------

@dataclass
class Walk:
    next: Optional[object] = None  # the next run the row needs (None: complete, or waiting on runs in flight)
    speculative: bool = False      # `next` may turn out unneeded (an earlier run of the row is still in flight)
    complete: bool = False
    arch: Optional[Arch] = None    # the architecture whose seeds count (None: the search has not chosen yet)
    counted: List[Dict] = field(default_factory=list)   # its finished runs, in seed order, up to the rule's stop
    search: Optional[Dict] = None  # search rows: {"tried", "chosen", "met"}


def _meets(r: Dict) -> bool:
    return all(r.get(k) == 100.0 for k in SEARCH_BINS)


def walk(row: Row, done: Dict[str, Dict], st: Settings, busy: FrozenSet[str] = frozenset()) -> Walk:
    """A row's runs in their fixed order, over the finished runs `done` (key -> record); `busy`: keys of runs
    in flight (or failed in this sitting), whose outcome is not known. With nothing busy the result is the
    protocol's, whatever order runs finished in."""
    arch, search, waiting = row.arch, None, False
    if arch is None:
        tried = []
        for k, cand in enumerate(SEARCH_GRID):
            s = st.spec(row, cand, 0)
            r = done.get(s.key)
            if r is None:
                if s.key in busy:
                    waiting = True
                    continue
                return Walk(next=s, speculative=waiting, search={"tried": len(tried), "chosen": None, "met": False})
            tried.append((k, cand, r))
            if _meets(r):
                if waiting:    # an earlier configuration may still meet it: wait for it
                    return Walk(search={"tried": len(tried), "chosen": None, "met": False})
                break
        else:
            if waiting:
                return Walk(search={"tried": len(tried), "chosen": None, "met": False})
        # the first that reached 100% on both bins; else the best of them (the earliest on ties)
        k, arch, chosen = tried[-1] if _meets(tried[-1][2]) else max(
            tried, key=lambda t: (bool(t[2].get("train_fit")), sum(t[2].get(b, 0.0) for b in SEARCH_BINS), -t[0]))
        search = {"tried": len(tried), "chosen": arch.text(), "met": _meets(chosen), "position": k + 1}
    counted: List[Dict] = []
    fitted = failed = inflight = 0
    for seed in itertools.count():
        if (fitted + inflight >= st.seeds or len(counted) + inflight >= st.max_tries
                or (fitted == 0 and failed + inflight >= st.give_up)):
            return Walk(complete=inflight == 0, arch=arch, counted=counted, search=search)
        s = st.spec(row, arch, seed)
        r = done.get(s.key)
        if r is None:
            if s.key in busy:
                inflight += 1
                continue
            return Walk(next=s, speculative=inflight > 0, arch=arch, counted=counted, search=search)
        counted.append(r)
        fitted += bool(r.get("train_fit"))
        failed += not r.get("train_fit")
    raise AssertionError("unreachable")


def row_result(row: Row, w: Walk, st: Settings, paper: Optional[Dict[str, float]], threshold: float,
               gpu: bool = False) -> Optional[Dict]:
    """The row of results.json (torch_bridge/results.py's schema) from its walk; None before any run counts
    (a row that needs a GPU, where there is none: listed as not run)."""
    from torch_bridge.results import acc_keys
    arch = w.arch or row.arch
    base = {"task": row.task, "encoding": row.encoding, "protocol": "paper",
            "training_protocol": row.protocol if _is_language(row.task) else None}
    if row.needs_gpu and not w.counted and not gpu:
        return {**base, "architecture": row.arch.as_dict(row.source), "steps": {"max": st.steps_for(row.arch),
                                                                               "mean_run": None},
                "not_run": "needs a GPU", **({"paper": paper} if paper else {})}
    if not w.counted:
        return None
    fitted = [r for r in w.counted if r.get("train_fit")]
    use = fitted or w.counted
    keys = acc_keys(use[0])
    mean = {k: sum(r[k] for r in use) / len(use) for k in keys}
    half = {k: (max(r[k] for r in use) - min(r[k] for r in use)) / 2 for k in keys}
    source = row.source
    if w.search:
        source = (f"{SEARCH}: configuration {w.search['position']} of {len(SEARCH_GRID)}, the first with 100% on "
                  f"[0,50] and [51,100]" if w.search["met"] else
                  f"{SEARCH}: none of the {w.search['tried']} configurations tried reached 100% on [0,50] and "
                  f"[51,100]; the best of them")
    out = {**base, **{k: round(v, 2) for k, v in mean.items()}, "spread": {k: round(v, 2) for k, v in half.items()},
           "threshold": threshold, "bins": use[0].get("bins"), "seeds": len(use), "seeds_accepted": len(fitted),
           "runs": len(w.counted), "train_fit": bool(fitted), "complete": w.complete,
           "architecture": arch.as_dict(source),
           "steps": {"max": st.steps_for(arch), "mean_run": round(sum(r["steps_run"] for r in use) / len(use), 1)},
           "config": {"layers": arch.layers, "heads": arch.heads, "d": arch.d, "lr": arch.lr,
                      "steps": st.steps_for(arch)},
           "wall_s": round(sum(r.get("wall_s", 0) for r in w.counted), 1)}
    if w.search:
        out["search"] = w.search
    if paper:
        out["paper"] = paper
    return out


def _is_language(task: str) -> bool:
    from verify.catalogue import get_case
    from verify.case import LANGUAGE
    return get_case(task).format == LANGUAGE


# ---- what a set of rows is expected to cost -------------------------------------------------------------

@dataclass(frozen=True)
class Prior:
    steps_lr: Optional[float]      # mean of steps × lr over the runs that fitted (None: none did)
    reached: bool                  # some fitted run had 100% on [0,50] and [51,100]
    runs: int


def older_priors(paths: Sequence[Path] = OLDER_RUNS) -> Dict[tuple, Prior]:
    """(task, pe, protocol) and (task, pe) -> how the older protocol's runs of that row went: the basis of the
    expected time before this protocol has runs of its own."""
    from torch_bridge.results import recorded_runs
    groups: Dict[tuple, List[Dict]] = {}
    for path in paths:
        if not path.exists():
            continue
        for r in recorded_runs(path.read_text().splitlines()):
            s = r.get("spec")
            if not s or s.get("stop_after"):
                continue
            for key in ((s["task"], s["pe"], s.get("protocol", "membership")), (s["task"], s["pe"])):
                groups.setdefault(key, []).append(r)
    out = {}
    for key, rs in groups.items():
        fit = [r for r in rs if r.get("train_fit")]
        out[key] = Prior(sum(r["steps_run"] * r["spec"]["lr"] for r in fit) / len(fit) if fit else None,
                         any(_meets(r) for r in fit), len(rs))
    return out


def expected_runs(row: Row, done: Dict[str, Dict], st: Settings, priors: Dict[tuple, Prior]):
    """The runs a row still needs, each with the steps it is expected to take, and where that comes from: the
    row's own finished runs (their mean steps; it fits when one did), else the older protocol's runs of the same
    task and encoding (fitting after as many steps × lr as they took; a row none of whose runs fitted: --give-up
    runs to the last step), else every run to the last step. A search row is expected to stop at its first
    configuration when the older runs reached 100% on [0,50] and [51,100], else to try every configuration."""
    w = walk(row, done, st)
    prior = priors.get((row.task, row.pe, row.protocol)) or priors.get((row.task, row.pe))

    def steps(arch: Arch, own: Sequence[Dict]) -> Tuple[int, bool]:
        top = st.steps_for(arch)
        if own:
            fit = [r for r in own if r.get("train_fit")]
            return (max(1, round(sum(r["steps_run"] for r in fit) / len(fit))), True) if fit else (top, False)
        if prior is None or prior.steps_lr is None:
            return top, prior is None
        n = -(-prior.steps_lr / arch.lr // st.eval_every) * st.eval_every
        return int(min(top, max(st.eval_every, n))), True

    todo, basis = [], "own runs" if w.counted else ("older protocol" if prior else "none: every run to its last step")
    if w.arch is None:                             # the search has not chosen
        start = w.search["tried"] if w.search else 0
        grid = SEARCH_GRID[start:start + 1] if prior and prior.reached else SEARCH_GRID[start:]
        todo += [replace(st.spec(row, a, 0), steps=steps(a, [])[0]) for a in grid]
        arch, seed0 = grid[-1], 1
        fitted, failed, n = 0, 0, 1
    else:
        arch, seed0 = w.arch, len(w.counted)
        fitted = sum(1 for r in w.counted if r.get("train_fit"))
        failed, n = len(w.counted) - fitted, len(w.counted)
    if not w.complete:
        k, fits = steps(arch, w.counted)
        seed = seed0
        while fitted < st.seeds and n < st.max_tries and not (fitted == 0 and failed >= st.give_up):
            todo.append(replace(st.spec(row, arch, seed), steps=k))
            fitted, failed, n, seed = fitted + fits, failed + (not fits), n + 1, seed + 1
    return todo, basis


def upper_bound_runs(row: Row, st: Settings) -> List:
    """Every run to its last step: --seeds runs per row (each fitting only at its last step), and for a search
    row every configuration first."""
    if row.arch is None:
        return [st.spec(row, a, 0) for a in SEARCH_GRID] + [st.spec(row, SEARCH_GRID[-1], k) for k in range(1, st.seeds)]
    return [st.spec(row, row.arch, k) for k in range(st.seeds)]


def print_estimate(rows: Sequence[Row], done: Dict[str, Dict], st: Settings, workers: int
                   ) -> Tuple[float, Dict[Row, float]]:
    """Prints the upper bound and the expected CPU time of `rows` (those this machine runs), in all and per row,
    cheapest row first; returns the expected wall hours on `workers` workers and each row's expected CPU
    seconds."""
    from torch_bridge.sweep import estimate
    priors = older_priors()
    plans = [(row, *expected_runs(row, done, st, priors)) for row in rows]
    todo = [s for _, runs, _ in plans for s in runs]
    upper = [s for row in rows for s in upper_bound_runs(row, st) if s.key not in done]
    if not todo and not upper:
        print("estimate: nothing left to run in this set", flush=True)
        return 0.0, {}
    used = max(1, min(workers, os.cpu_count() or 1))
    est = estimate(todo + upper, measure_steps=3, across_tasks=True)
    expected_s, upper_s = sum(est.per_run[:len(todo)]), sum(est.per_run[len(todo):])
    print(f"upper bound: {upper_s / 3600:.1f} CPU-hours ≈ {upper_s / 3600 / used:.1f} h on {used} workers "
          f"(every run to its last step, --seeds runs per row, every search configuration)", flush=True)
    print(f"expected: {expected_s / 3600:.2f} CPU-hours ≈ {expected_s / 3600 / used:.2f} h on {used} workers "
          f"(per row below; measured " + "; ".join(f"{n}: {sec * 1000:.0f} ms/step" for n, sec, _ in est.measured)
          + ")", flush=True)
    costs, k = {}, 0
    for row, runs, _ in plans:
        costs[row], k = sum(est.per_run[k:k + len(runs)]), k + len(runs)
    for row, runs, basis in sorted(plans, key=lambda p: costs[p[0]]):
        arch = row.arch.text() if row.arch else f"search ({len(SEARCH_GRID)} configurations)"
        print(f"  {row.task}/{row.encoding} [{arch}]: {len(runs)} runs to do, {sum(s.steps for s in runs):,} "
              f"steps, {costs[row] / 60:.0f} CPU-min (expected steps from: {basis})", flush=True)
    return expected_s / 3600 / used, costs


# ---- one sitting ----------------------------------------------------------------------------------------

def state_file(out: Path, spec) -> Path:
    return out / "checkpoints" / f"{spec.folder}.pt"


def pick(rows: Sequence[Row], done: Dict[str, Dict], st: Settings, busy: FrozenSet[str]):
    """The next run to start: the first row (in `rows`' order) that needs one with none of its runs in flight;
    else the first that needs one while its earlier runs are still in flight (it may turn out unneeded)."""
    walks = [walk(row, done, st, busy) for row in rows]
    for speculative in (False, True):
        for w in walks:
            if w.next is not None and w.speculative == speculative and w.next.key not in busy:
                return w.next
    return None


def run_sitting(out: Path, rows: Sequence[Row], st: Settings, workers: int, hours: float, save_minutes: float) -> None:
    """Runs the rows' runs, at most `workers` at once, cheapest rows first (the caller's order), until every
    row is complete or `hours` have passed (0: no limit); each finished run is appended to OUT/runs.jsonl at
    once (torch_bridge.sweep.write_results). Runs still going at the deadline save their state and stop; no
    run starts after it, but for the first `workers` of the sitting (so every sitting makes progress)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    from torch_bridge.resumable import safe_resumable
    from torch_bridge.sweep import failed_record, remove_leftovers, write_results
    from verify.processes import process_pool
    deadline = time.time() + hours * 3600 if hours else None
    done = {r["key"]: r for r in records(out)}
    paused, n = [], [0]

    def show(r):
        n[0] += 1
        accs = " ".join(f"{r[k]:.1f}" for k in r if k.startswith("acc_")) if "error" not in r else r["error"][:200]
        print(f"  [{n[0]}] {r['run']}: {accs} (steps {r.get('steps_run')}, fit {r.get('train_fit')}, "
              f"{r.get('wall_s')} s, {r.get('device')}"
              + (f", resumed at {r['resumed_at']}" if r.get("resumed_at") else "") + ")", flush=True)

    def launch(on_done):
        blocked = set()            # failed in this sitting: not tried again until the next one
        started = [0]
        with process_pool(max(1, workers)) as pool:
            pending = {}

            def fill():
                while len(pending) < max(1, workers) and (deadline is None or time.time() < deadline
                                                          or started[0] < max(1, workers)):
                    spec = pick(rows, done, st, frozenset({s.key for s in pending.values()} | blocked))
                    if spec is None:
                        return
                    remove_leftovers([spec])
                    started[0] += 1
                    pending[pool.submit(safe_resumable, spec, str(state_file(out, spec)), deadline,
                                        save_minutes * 60)] = spec
            fill()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    spec = pending.pop(f)
                    try:
                        r = f.result()
                    except Exception as ex:  # the worker process died: this run only
                        if pool.stopped:     # Ctrl-C / SIGTERM: the saved states stay for --resume
                            return
                        r = failed_record(spec, f"{type(ex).__name__}: {ex}", "lost")
                    if "paused" in r:
                        paused.append(r)
                        print(f"  paused at step {r['paused']} (the sitting's --hours are over): {r['run']}", flush=True)
                        continue
                    on_done(r)
                    if "error" in r:
                        blocked.add(spec.key)
                    else:
                        done[spec.key] = r
                        state_file(out, spec).unlink(missing_ok=True)
                fill()
    out.mkdir(parents=True, exist_ok=True)     # kept even when no run finished: it holds the saved states
    write_results(out, launch, on_run=show)
    if paused or (deadline is not None and time.time() >= deadline):
        print(f"the sitting's {hours:g} h are over: {len(paused)} runs saved their state; --resume goes on",
              flush=True)


# ---- the table ------------------------------------------------------------------------------------------

def paper_accuracies(task: str, encoding: str) -> Optional[Dict[str, float]]:
    from verify.catalogue import get_case, paper_results
    p = paper_results().get((get_case(task).paper_key, encoding))
    return {k: float(v) for k, v in p.items() if k.startswith("acc_")} if p else None


def write_table(out: Path, rows: Sequence[Row], st: Settings, threshold: float, workers: int,
                command: str, not_selected: Sequence[str] = (), gpu: bool = False) -> None:
    """OUT/table.md and OUT/results.json from OUT/runs.jsonl: per row the paper's three bin means beside ours
    (mean ± half the range over the accepted seeds), the difference on the longest bin, whether it fitted, the
    architecture and steps, and agreement with the theory; the rules are verify/trained.py's."""
    from verify.catalogue import get_case
    from verify.outputs import write_text
    from verify.trained import compare, normalize, trained_cells, trained_summary
    recs = records(out)
    done = {r["key"]: r for r in recs}
    results, hits, waiting = [], [], []
    for row in rows:
        w = walk(row, done, st)
        res = row_result(row, w, st, paper_accuracies(row.task, row.encoding), threshold, gpu)
        if res is None:
            waiting.append(f"{row.task}/{row.encoding}")
            continue
        results.append(res)
        case = get_case(row.task)
        theory = bool(case.expected_ape if row.pe == "ape" else case.expected_nope)
        hits.append({**normalize(res), **compare(res, None, theory)})
    doc = [{"task": h["task"] + ("" if h.get("complete", True) else " (incomplete)"), "trained": [h]} for h in hits]
    lines = [f"Protocol: paper (bench/paper_protocol.py): per task and encoding the paper's architecture; ≤{st.max_steps:,} "
             f"steps ({st.max_steps * 2:,} for 12-layer models), early stop at 100% on inputs ≤ 50"
             f"{_patience_text(st)}, next-symbol inputs: {_inputs_text(st)}, {st.seeds} "
             f"accepted seeds per row (at most {st.max_tries} runs; a row stops after {st.give_up} runs none of which "
             f"fitted), {st.eval_samples:,} test inputs per bin; generalizes = mean on the longest bin ≥ {threshold:g}%.",
             f"Command: {command}", "",
             "| task | enc | protocol | architecture | steps | theory | paper (per bin) | ours (mean ± half-range) "
             "| Δ longest | fitted | agrees |", "|" + "---|" * 11]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in cells) + " |" for cells in trained_cells(doc)]
    summary = trained_summary(doc) if hits else "no finished runs yet"
    if waiting:
        summary += f"\nnot run yet in {out}: {', '.join(waiting)}"
    if not_selected:
        summary += f"\nrows of the protocol outside this set (--tasks all): {', '.join(not_selected)}"
    devices = {}
    for r in recs:
        devices[r.get("device", "?")] = devices.get(r.get("device", "?"), 0) + 1
    if devices:
        summary += "\nruns executed on: " + ", ".join(f"{d} ({k})" for d, k in sorted(devices.items()))
    summary += "\n" + cpu_projection(recs, workers)
    table = "\n".join(lines) + "\n\n" + summary + "\n"
    write_text(out / "table.md", table, "--out")
    write_text(out / "results.json", json.dumps(sorted(results, key=lambda r: (r["task"], r["encoding"])), indent=2)
               + "\n", "--out")
    print(table)
    print(f"results in {out / 'results.json'}, table in {out / 'table.md'}")


# ---- the command ----------------------------------------------------------------------------------------

def main(args, tasks: Sequence[str], missing: Sequence[str], cases) -> None:
    """bench/reproduce.py --protocol paper."""
    from torch_bridge.sweep import check_sweep_folder
    from verify.problems import UserError
    out = Path(args.out)
    st = Settings(out, max_steps=args.steps or MAX_STEPS, eval_samples=args.eval or 2000,
                  eval_every=10 if args.smoke else 200, train_eval_samples=32 if args.smoke else 512,
                  seeds=args.seeds or 5, max_tries=args.max_tries or 2 * (args.seeds or 5), give_up=args.give_up,
                  device=args.device, inputs=args.inputs, patience=args.patience)
    if st.patience < 1:
        raise UserError(f"--patience must be at least 1, not {st.patience}")
    if st.seeds < 1 or st.max_tries < st.seeds or st.give_up < 1:
        raise UserError(f"--seeds ({st.seeds}) and --give-up ({st.give_up}) must be at least 1 and --max-tries "
                        f"({st.max_tries}) at least --seeds")
    rows = table_rows(tasks, cases, args.language_protocol, _encodings(args.encodings))
    gpu = _has_gpu(args.device)
    runnable = [r for r in rows if gpu or not r.needs_gpu]
    skipped = [f"{r.task}/{r.encoding} ({r.arch.text()})" for r in rows if r not in runnable]
    not_selected = [f"{t}" for t in ALL_TASKS if t not in tasks]
    command = "bench/reproduce.py " + " ".join(sys.argv[1:])
    if args.table_only:
        return write_table(out, rows, st, args.threshold, args.workers, command, not_selected, gpu)
    check_sweep_folder(out, "resume" if args.resume else "inspect" if args.dry_run else "new",
                       also=("table.md", "checkpoints"))
    print(f"protocol paper: per task and encoding the paper's architecture (bench/paper_protocol.py: algorithmic "
          f"tasks from {REPOSITORY}, formal languages from {PUBLISHED}s, the counter languages by {SEARCH} over "
          f"{len(SEARCH_GRID)} configurations); AdamW wd 0.01, linear decay, batch 64, ≤{st.max_steps:,} steps "
          f"({st.max_steps * 2:,} for 12 layers), early stop at 100% on inputs ≤ 50 (every {st.eval_every} steps, "
          f"{st.train_eval_samples} inputs{_patience_text(st)}), next-symbol inputs: {_inputs_text(st)}, random "
          f"position offsets, test at offset 0, {st.eval_samples:,} inputs per bin; {st.seeds} accepted seeds per row "
          f"(≤ {st.max_tries} runs; a row stops after {st.give_up} runs with none fitted); {args.workers} worker "
          f"processes on {args.device}"
          + (f"; sittings of ≤ {args.hours:g} h (--resume goes on)" if args.hours else "")
          + (f"; not in the catalogue (skipped): {', '.join(missing)}" if missing else ""), flush=True)
    print(f"rows: {len(rows)} ({len(tasks)} tasks × encodings)"
          + (f"; not run: needs a GPU (--device cuda): {', '.join(skipped)}" if skipped else ""), flush=True)
    done = {r["key"]: r for r in records(out)} if args.resume else {}
    if args.adopt:
        _adopt(out, runnable, done, st, Path(args.adopt), args.dry_run)
    if gpu:        # the estimate is CPU time: on a GPU the rows go in the order of their steps × model size
        wall_h, costs = None, {row: _row_cost(row, done, st) for row in runnable}
        print("estimate: not made for a GPU (the estimate is CPU time)", flush=True)
    else:
        wall_h, costs = print_estimate(runnable, done, st, args.workers)
    runnable.sort(key=lambda row: (costs.get(row, 0.0), ALL_TASKS.index(row.task), row.pe))   # cheapest first
    if args.dry_run:
        return
    if wall_h is not None and args.hours and wall_h > args.hours:
        print(f"expected {wall_h:.1f} h is over this sitting's --hours {args.hours:g}: it stops then, and --resume "
              f"goes on (runs in progress keep their state)", flush=True)
    t0 = time.perf_counter()
    run_sitting(out, runnable, st, args.workers, args.hours, args.save_minutes)
    print(f"wall time {time.perf_counter() - t0:.0f} s", flush=True)
    write_table(out, rows, st, args.threshold, args.workers, command, not_selected, gpu)


def _adopt(out: Path, rows: Sequence[Row], done: Dict[str, Dict], st: Settings, other: Path, dry_run: bool) -> None:
    """--adopt OTHER: log OTHER's runs that are the needed ones (bench/adopt.py) into OUT/runs.jsonl."""
    from bench.adopt import adopt
    from torch_bridge.sweep import write_results
    from verify.problems import UserError
    if not (other / "runs.jsonl").is_file():
        raise UserError(f"--adopt {str(other)!r}: no runs.jsonl there (give a folder bench/reproduce.py wrote)")
    adopted = adopt(rows, done, other, records(other), lambda row, r: _spec_for(row, r, st))
    print(f"adopted from {other}: {len(adopted)} runs that never reached 100% on the training bin"
          + "".join(f"\n  {r['run']} <- {r['adopted_from'].split(' in ')[0]}" for r in adopted), flush=True)
    if adopted and not dry_run:
        write_results(out, lambda on_done: [on_done(r) for r in adopted])


def _spec_for(row: Row, record: Dict, st: Settings):
    """The run of `row` with the configuration and seed of `record` (another folder's run), or None when the row
    never runs that configuration or seed (its architecture, or for a searched row the search grid; seeds below
    --max-tries)."""
    s = record.get("spec", {})
    try:
        arch = Arch(s["layers"], s["heads"], s["d"], s["lr"], s.get("dropout", 0.0))
        seed = int(s["seed"])
    except (KeyError, TypeError, ValueError):
        return None
    if ((s.get("task"), s.get("pe"), s.get("protocol")) != (row.task, row.pe, row.protocol) or seed >= st.max_tries
            or (arch != row.arch if row.arch is not None else arch not in SEARCH_GRID)):
        return None
    return st.spec(row, arch, seed)


def _encodings(text: str) -> List[str]:
    """--encodings as ENCODINGS' keys, in their order."""
    from verify.problems import UserError
    by_name = {name.lower(): pe for pe, name in ENCODINGS.items()}
    asked = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [t for t in asked if t not in by_name]
    if unknown or not asked:
        raise UserError(f"--encodings takes a comma-separated list of {', '.join(ENCODINGS.values())}, not "
                        f"{text!r}")
    return [pe for pe in ENCODINGS if pe in {by_name[t] for t in asked}]


def _patience_text(st: Settings) -> str:
    return f" at {st.patience} checks in a row" if st.patience != 1 else ""


def _inputs_text(st: Settings) -> str:
    return ("the paper's (its generators' members where it has them: D-n nested blocks, (aa)*, (aaaa)*, Tomita 5; "
            "else live walks)" if st.inputs == "paper" else "live walks through the automaton for every language")


def _row_cost(row: Row, done, st: Settings) -> float:
    """A rough order of the rows, cheapest first: the steps the row is expected to need times its model's size."""
    from torch_bridge.sweep import step_flops
    runs, _ = expected_runs(row, done, st, older_priors())
    return sum(s.steps * step_flops(s.layers, s.d, 100, s.batch, 10) for s in runs)


def _has_gpu(device: str) -> bool:
    if device == "cpu":
        return False
    if device == "cuda":
        return True
    import torch
    return torch.cuda.is_available()
