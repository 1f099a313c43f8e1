"""Reproduction benchmark (not CI): the paper's Figure 1, APE and NoPE, with the table theory / paper / ours
and agreement counted over fitted runs only. Two protocols (--protocol):

- `paper` (the default; issue 22): per task and encoding the architecture the paper's code chose, the
  paper's budget (≤ 30,000 steps, 60,000 for 12 layers; 5 accepted seeds per row; 2,000 test inputs per bin),
  compared with the paper's numbers bin by bin. Described, and implemented, in bench/paper_protocol.py.

    .venv/bin/python bench/reproduce.py [--tasks a,b|all] [--seeds 5] [--max-tries 10] [--give-up 2]
                                        [--hours 3] [--save-minutes 10] [--workers 2] [--out out/reproduce-paper]
                                        [--device cpu|cuda|auto] [--resume] [--dry-run] [--smoke] [--table-only]

- `fixed` (the older protocol; its results are bench/results/figure1*.{json,md,jsonl}): one architecture for
  every task, at CPU scale, described below.

    .venv/bin/python bench/reproduce.py --protocol fixed [--steps 5000] [--seeds 2] [--workers 2] [--tasks a,b|all]
                                        [--language-protocol paper|membership|next_symbol|both] [--out out/reproduce]
                                        [--max-hours 2] [--yes] [--resume] [--dry-run] [--smoke] [--table-only]
                                        [--device cpu|cuda|auto] [--probe-steps 1000]

Protocol `fixed` (printed at the start, identical for every task; nothing is tuned per task):
- model 2 layers, 2 heads, d = 64; AdamW (weight decay 0.01), linear decay, batch 64, random position
  offsets; at most --steps steps with early stop at 100% exact match on the training bin (input
  lengths ≤ 50, checked every 200 steps on 512 fresh samples); test bins [0,50], [51,100], [101,150]
  with --eval samples each (the paper's formal-language bins differ, SPEC §5).
- learning rate chosen from {1e-3, 3e-4} on the training bin only, on a probe: seed 0 is trained at
  both lrs (each with the full --steps schedule) to step --probe-steps (default 1000); the lr with the
  higher training-bin accuracy there (ties: fewer steps to fit, then the larger lr) goes on to its last
  step, the other stops (logged as a `-stop1000` run). The chosen lr is used for seeds 1 … --seeds-1.
  The continued run is exactly the run trained without the probe. Test accuracies never enter the choice.
- formal languages (both protocols, --language-protocol): `paper` (default) uses next-symbol prediction (the
  paper's formal-language suite, SPEC §5): legal next symbols from the DFA, or from the case's next-symbol
  reference (the counter languages, Case.next_symbols), prefix membership for a language with neither;
  `both` runs both. Each row of the table names its protocol.
- "ours" is the mean ± half the range over the seeds that fitted the training bin (all seeds in
  parentheses when none did). A row agrees with the theory when it fitted and generalizes (mean
  accuracy on the longest bin ≥ --threshold, default 90%) where the theory says ✓, or does not where
  it says ✗. Agreement is counted over fitted rows only; rows that did not fit are counted apart.

The estimate printed first is an upper bound (every run to its last step); where
bench/results/figure1_runs.jsonl holds the same runs (same keys, on a CPU), the time they took is printed
too ("expected"), and --max-hours is checked against that.

--device only changes where the runs execute (each run records its device); the protocol, and so the
run keys --resume matches on, are the same on a CPU and a GPU. The table ends with the CPU time the runs
would take on this machine, projected from the steps each run actually took (early stop included).

Writes OUT/runs.jsonl (every run; --resume skips finished ones), OUT/results.json (the trained-results
schema, one row per task and encoding, for `verify report --trained`), OUT/table.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.paper_protocol import ENCODINGS, cpu_projection, protocols_for, records  # noqa: E402

ALGORITHMIC = ["bin_majority", "majority", "bin_majority_interleave", "unique_copy", "repeat_copy", "sort",
               "parity", "addition"]
FORMAL = ["tomita1", "tomita3", "tomita4", "aa_star", "d2", "zot_02", "dyck1"]
LRS = (1e-3, 3e-4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", default="paper", choices=("paper", "fixed"),
                    help="paper: the paper's architecture per task and encoding and its budget (bench/paper_protocol.py); "
                         "fixed: the older protocol, one architecture for every task (bench/results/figure1*)")
    ap.add_argument("--steps", type=int, default=None, help="most steps per run (paper: 30000, twice that for "
                    "12 layers; fixed: 5000)")
    ap.add_argument("--seeds", type=int, default=None, help="paper: accepted seeds per row (5); fixed: seeds (2)")
    ap.add_argument("--max-tries", type=int, default=None, help="paper: most runs per row (2 × --seeds)")
    ap.add_argument("--give-up", type=int, default=2, help="paper: a row stops after this many runs with none fitted")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--eval", type=int, default=None, help="samples per test bin (paper: 2000; fixed: 1000)")
    ap.add_argument("--tasks", default="", help="comma-separated, or 'all' (paper: every task of its table; fixed: "
                    "every algorithmic and formal case); default: the protocol's default set")
    ap.add_argument("--language-protocol", default="paper", choices=("paper", "membership", "next_symbol", "both"),
                    help="what formal languages are trained on (paper: next-symbol sets where there is a reference)")
    ap.add_argument("--inputs", default="paper", choices=("paper", "walks"),
                    help="next-symbol inputs: the paper's (D-n: its nested-block generator; (aa)*, (aaaa)*, Tomita 5: "
                         "members) or live walks through the automaton for every language")
    ap.add_argument("--encodings", default="APE,NoPE",
                    help="paper: which encodings' rows to run, comma-separated (APE, NoPE)")
    ap.add_argument("--patience", type=int, default=1,
                    help="paper: early stop after this many training-bin checks in a row at 100%% (1: the first)")
    ap.add_argument("--adopt", default=None, metavar="OTHER",
                    help="paper: take over OTHER's finished runs that differ from needed ones in --patience only "
                         "and never reached 100%% on the training bin (the same run under any patience; "
                         "bench/adopt.py)")
    ap.add_argument("--threshold", type=float, default=90.0)
    ap.add_argument("--out", default=None, help="paper: out/reproduce-paper; fixed: out/reproduce")
    ap.add_argument("--max-hours", type=float, default=2.0, help="fixed: refuse (without --yes) past this estimate")
    ap.add_argument("--hours", type=float, default=None, help="paper: this sitting's limit (default 3; 0: none): no "
                    "run starts after it, runs in progress save their state; --resume goes on")
    ap.add_argument("--save-minutes", type=float, default=10.0, help="paper: a run saves its state this often")
    ap.add_argument("--yes", action="store_true")
    ap.add_argument("--resume", action="store_true", help="keep OUT's finished runs (paper: and go on with the "
                    "saved states of runs in progress)")
    ap.add_argument("--dry-run", action="store_true", help="print the protocol and the estimate, run nothing")
    ap.add_argument("--smoke", action="store_true", help="a few steps on a few tasks: shows the pipeline works")
    ap.add_argument("--table-only", action="store_true", help="rebuild the table from OUT/runs.jsonl")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"),
                    help="where runs execute (not part of a run's identity)")
    ap.add_argument("--probe-steps", type=int, default=None,
                    help="fixed: the lr is chosen on the training-bin accuracy at this step (default 1000; a "
                         "multiple of 200, the early-stop check interval)")
    args = ap.parse_args()
    from verify.catalogue import all_cases
    cases = {c.name: c for c in all_cases()}
    if args.protocol == "paper":
        from bench import paper_protocol
        if args.smoke:
            args.steps, args.eval, args.seeds = 20, 20, args.seeds or 2
            args.tasks = args.tasks or "bin_majority,tomita1"
            args.hours = 0 if args.hours is None else args.hours
        args.hours = 3.0 if args.hours is None else args.hours
        args.out = args.out or "out/reproduce-paper"
        wanted = (list(paper_protocol.ALL_TASKS) if args.tasks == "all" else
                  args.tasks.split(",") if args.tasks else list(paper_protocol.DEFAULT_TASKS))
        tasks = [t for t in dict.fromkeys(wanted) if t in cases and t in paper_protocol.ALL_TASKS]
        return paper_protocol.main(args, tasks, [t for t in wanted if t not in tasks], cases)
    args.steps, args.seeds = args.steps or 5000, args.seeds or 2
    args.eval, args.out = args.eval or 1000, args.out or "out/reproduce"
    if args.smoke:
        args.steps, args.eval, args.tasks = 20, 20, args.tasks or "bin_majority,tomita1,dyck1"
    if args.probe_steps is None:
        args.probe_steps = 10 if args.smoke else 1000
    from torch_bridge.sweep import RunSpec, check_sweep_folder, estimate, plan, probe_spec, remove_leftovers
    from verify.problems import UserError
    if args.tasks == "all":
        wanted = ALGORITHMIC + [c.name for c in all_cases() if c.family in ("formal", "counter")]
    else:
        wanted = args.tasks.split(",") if args.tasks else ALGORITHMIC + FORMAL
    tasks = [t for t in dict.fromkeys(wanted) if t in cases]
    missing = [t for t in wanted if t not in cases]
    out = Path(args.out)
    if args.table_only:
        return write_table(out, args)
    check_sweep_folder(out, "resume" if args.resume else "inspect" if args.dry_run else "new", also=("table.md",))
    eval_every, train_eval = (10, 32) if args.smoke else (200, 512)

    def spec(task, protocol, pe, lr, seed):
        s = RunSpec(task, pe, 2, 2, 64, lr, seed, args.steps, eval_samples=args.eval, eval_every=eval_every,
                    train_eval_samples=train_eval, protocol=protocol, device=args.device)
        return replace(s, out=str(out / "models" / s.folder))

    groups = [(t, p, pe) for t in tasks for p in protocols_for(cases[t], args.language_protocol) for pe in ENCODINGS]
    probe = args.probe_steps
    if not (0 < probe <= args.steps and probe % eval_every == 0):
        raise UserError(f"--probe-steps must be a multiple of {eval_every} between {eval_every} and --steps "
                        f"{args.steps}, not {probe}")
    later = len(groups) * (args.seeds - 1)
    print(f"protocol: 2 layers, 2 heads, d=64, batch 64, AdamW wd 0.01, linear decay, ≤{args.steps} steps, "
          f"early stop at 100% on inputs ≤ 50 (every {eval_every} steps, {train_eval} samples); lr from "
          f"{{{', '.join(f'{x:g}' for x in LRS)}}} chosen on the training-bin accuracy at step {probe} (seed 0 "
          f"at both, the better one continued); seeds 0..{args.seeds - 1}; {args.eval} test samples per bin; "
          f"formal languages: {args.language_protocol}; APE and NoPE; {args.workers} worker processes on {args.device}"
          + (f"; not in the catalogue (skipped): {', '.join(missing)}" if missing else ""), flush=True)
    chosen = choose_lrs(records(out)) if args.resume else {}
    races = [[spec(*g, lr, 0) for lr in LRS] for g in groups if g not in chosen]
    # the cost of a race: one run to its end, the other to the probe; later seeds at the lr chosen so
    # far (1e-3 before any)
    proxy, _ = plan([spec(*g, chosen.get(g, LRS[0]), k) for g in groups for k in range(1, args.seeds)], out,
                    args.resume)
    est = estimate([r[0] for r in races] + [replace(s, steps=probe) for r in races for s in r[1:]] + proxy,
                   measure_steps=3)
    used = max(1, min(args.workers, os.cpu_count() or 1))           # workers that run at once here
    wall_h = est.cpu_s / 3600 / used
    print(f"estimate: {len(races)} lr races (seed 0 at {len(LRS)} lrs) and {len(proxy)} later-seed runs to do, "
          f"of {len(groups)} and {later} ({len(groups)} task × protocol × encoding groups); at most "
          f"{est.cpu_s / 3600:.1f} CPU-hours ≈ {wall_h:.1f} h on {args.workers} workers (every run to its last "
          f"step; early stop ends many sooner); measured "
          + "; ".join(f"{n}: {s * 1000:.0f} ms/step" for n, s, _ in est.measured), flush=True)
    # the same runs, with the steps they took in the committed reproduction (on a CPU, a run's key fixes
    # its training exactly, early stop included): the time to expect rather than the worst case
    known = expected_runs(races, proxy, chosen, spec, probe, args.seeds, committed_runs(args.device))
    if known is not None:
        exp = estimate(known, measure_steps=3) if known else None
        wall_h = (exp.cpu_s if exp else 0.0) / 3600 / used
        print(f"expected: {wall_h:.2f} h on {args.workers} workers, from the steps these {len(known)} runs took in "
              f"{COMMITTED.relative_to(ROOT)} (same keys, trained on a CPU)", flush=True)
    if args.dry_run:
        return
    if wall_h > args.max_hours and not args.yes:
        sys.exit(f"the estimate is over --max-hours {args.max_hours:g}: pass --yes to run it anyway, or "
                 f"lower --steps/--seeds/--tasks")
    remove_leftovers([x for r in races for s in r for x in (s, probe_spec(s, probe))])
    t0 = time.perf_counter()

    def seeds_after(group, lr):
        """The later seeds of a group whose lr race is done, at its chosen lr (not yet finished)."""
        todo, _ = plan([spec(*group, lr, k) for k in range(1, args.seeds)], out, True)
        remove_leftovers(todo)
        return todo

    run_pipelined(out, races, groups, args.workers, seeds_after, probe, chosen)
    print(f"wall time {time.perf_counter() - t0:.0f} s", flush=True)
    write_table(out, args)


def run_pipelined(out: Path, races, groups, workers: int, seeds_after, probe: int, chosen) -> None:
    """Every group's lr race (seed 0 at each lr, torch_bridge.sweep.race_lrs, one job); as soon as a
    group's race is logged its later seeds, at the chosen lr, go to the front of the queue, so the
    workers never wait for the slowest group and a sweep stopped early leaves whole groups rather than
    many half-done ones. At most `workers` jobs are in flight. Every finished run is appended to
    OUT/runs.jsonl at once (write_results). `chosen`: the lrs of the races OUT already held (--resume)."""
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from torch_bridge.sweep import _safe, failed_record, safe_race, write_results
    first, later = deque(races), deque()
    total, n = [sum(map(len, races))], [0]

    def show(r):
        n[0] += 1
        accs = " ".join(f"{r[k]:.1f}" for k in r if k.startswith("acc_")) if "error" not in r else r["error"][:200]
        print(f"  [{n[0]}/{total[0]}] {r['run']}: {accs} (steps {r.get('steps_run')}, fit {r.get('train_fit')}, "
              f"{r.get('wall_s')} s, {r.get('device')})", flush=True)

    def release(g, lr):
        if lr is not None:              # None: the group's race failed, nothing to choose from
            todo = seeds_after(g, lr)
            later.extend(todo)
            total[0] += len(todo)

    def launch(on_done):
        with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=mp.get_context("spawn")) as pool:
            pending = {}

            def fill():
                while len(pending) < max(1, workers) and (later or first):
                    if later:
                        s = later.popleft()
                        pending[pool.submit(_safe, s)] = [s]
                    else:
                        race = first.popleft()
                        pending[pool.submit(safe_race, race, probe)] = race
            raced = {_group_of(r[0]) for r in races}
            for g in groups:
                if g not in raced:      # --resume: the race is already logged
                    release(g, chosen.get(g))
            fill()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    job = pending.pop(f)
                    try:
                        records = f.result()
                    except Exception as ex:  # the worker process died: this job only
                        records = [failed_record(s, f"{type(ex).__name__}: {ex}", "lost") for s in job]
                    for r in records if isinstance(records, list) else [records]:
                        on_done(r)
                    if len(job) > 1:     # a race: its group's later seeds can go, at the lr it chose
                        release(_group_of(job[0]), choose_lrs(records).get(_group_of(job[0])))
                fill()
    if first or groups:
        write_results(out, launch, on_run=show)


COMMITTED = ROOT / "bench" / "results" / "figure1_runs.jsonl"


def committed_runs(device: str):
    """The committed reproduction's CPU runs (their steps predict a CPU run's; a GPU's float rounding can
    move an early stop), or none when the runs will not execute on a CPU."""
    from torch_bridge.results import recorded_runs
    if device != "cpu" or not COMMITTED.exists():
        return []
    return [r for r in recorded_runs(COMMITTED.read_text().splitlines()) if "spec" in r and r.get("device") == "cpu"]


def expected_runs(races, later, chosen, spec, probe: int, seeds: int, reference):
    """The runs to do, each with the steps the same run (same key) took in `reference`: a race's
    continued run at the lr the reference chose and its stopped one, and the later seeds (at the lr chosen
    here, or else the reference's). None when `reference` lacks one of them."""
    from torch_bridge.sweep import probe_spec
    by_key = {r["key"]: r for r in reference}
    picked = choose_lrs(reference)
    todo = []
    for race in races:
        g = _group_of(race[0])
        if g not in picked:
            return None
        for s in race:      # the stopped run is logged under its full key when it fitted before the probe
            todo.append(s if s.lr == picked[g] else
                        probe_spec(s, probe) if probe_spec(s, probe).key in by_key else s)
        todo += [spec(*g, picked[g], k) for k in range(1, seeds)]
    todo += [s for s in later if _group_of(s) in chosen]      # --resume: groups raced already
    if any(s.key not in by_key for s in todo):
        return None
    return [replace(s, steps=max(1, int(by_key[s.key]["steps_run"])), stop_after=None) for s in todo]


def _group_of(spec):
    return (spec.task, spec.protocol, spec.pe)


def _group(r):
    s = r["spec"]
    return (s["task"], s.get("protocol", "membership"), s["pe"])


def choose_lrs(records):
    """(task, protocol, pe) -> the lr its seed-0 race chose (on the training bin at the probe step), from
    the races among `records` whose continued run is logged (failed runs, which have no spec, skipped)."""
    return {_group(r): r["lr_probe"]["chosen"] for r in records
            if "spec" in r and r["spec"]["seed"] == 0 and isinstance(r.get("lr_probe"), dict)
            and r["spec"]["lr"] == r["lr_probe"]["chosen"] and not r["spec"].get("stop_after")}


def write_table(out: Path, args) -> None:
    from verify.catalogue import all_cases, paper_results
    from torch_bridge.results import acc_keys
    from verify.trained import agrees_with_theory
    cases = {c.name: c for c in all_cases()}
    paper = paper_results()
    recs = records(out)
    chosen = choose_lrs(recs)
    runs = [r for r in recs if chosen.get(_group(r)) == r["spec"]["lr"] and not r["spec"].get("stop_after")]

    def theory_of(task, pe):
        return bool(cases[task].expected_ape if pe == "ape" else cases[task].expected_nope)
    by = {}
    for r in runs:
        by.setdefault(_group(r), []).append(r)
    lines = [f"Protocol: fixed, see bench/reproduce.py (≤{args.steps} steps, seeds 0..{args.seeds - 1}, lr chosen on the "
             f"training bin at step {args.probe_steps}; generalizes = mean accuracy on the longest bin ≥ {args.threshold:g}%).", "",
             "| task | protocol | encoding | theory | paper (per bin) | ours (mean ± half-range, fitted seeds) "
             "| fitted | lr | agrees |", "|---|---|---|---|---|---|---|---|---|"]
    rows, agree, fitted_rows, unfitted_runs = {}, 0, 0, 0
    for (task, protocol, pe), rs in sorted(by.items()):
        c, enc = cases[task], ENCODINGS[pe]
        theory = theory_of(task, pe)
        keys = acc_keys(rs[0])
        fit = [r for r in rs if r.get("train_fit")]
        unfitted_runs += len(rs) - len(fit)
        use = fit or rs
        mean = {k: sum(r[k] for r in use) / len(use) for k in keys}
        half = {k: (max(r[k] for r in use) - min(r[k] for r in use)) / 2 for k in keys}
        ours = " / ".join(f"{mean[k]:.1f} ± {half[k]:.1f}" for k in keys)
        row = {"task": task, "encoding": enc, **{k: round(v, 2) for k, v in mean.items()},
               "spread": {k: round(v, 2) for k, v in half.items()}, "threshold": args.threshold,
               "bins": rs[0].get("bins"), "seeds": len(use), "runs": len(rs), "train_fit": bool(fit),
               "protocol": "fixed", "training_protocol": protocol if c.format == "language" else None,
               "config": {"layers": 2, "heads": 2, "d": 64, "lr": rs[0]["spec"]["lr"], "steps": args.steps},
               "wall_s": round(sum(r.get("wall_s", 0) for r in rs), 1)}
        ok = agrees_with_theory(theory, row)   # one rule with `verify report --trained` (verify/trained.py)
        verdict = "—" if ok is None else ("yes" if ok else "no")
        fitted_rows += ok is not None
        agree += bool(ok)
        p = paper.get((c.paper_key, enc))
        ptxt = " / ".join(v for k, v in p.items() if k.startswith("acc_")) if p else "—"
        lines.append(f"| {task} | {protocol if c.format == 'language' else '—'} | {enc} | {'✓' if theory else '✗'} | "
                     f"{ptxt} | {ours if fit else f'({ours})'} | {len(fit)}/{len(rs)} | {rs[0]['spec']['lr']:g} | "
                     f"{verdict} |")
        # one row per (task, encoding) for verify report --trained: the paper's protocol where both ran
        if (task, enc) not in rows or protocol == "next_symbol":
            rows[(task, enc)] = row
    summary = (f"agreement with the theory: {agree}/{fitted_rows} fitted rows"
               + (f" ({agree / fitted_rows:.0%})" if fitted_rows else "")
               + f"; {len(by) - fitted_rows} rows where no seed fitted; {unfitted_runs} runs (of {len(runs)} at "
               f"the chosen lr) did not fit the training bin")
    per_run = [agrees_with_theory(theory_of(r["spec"]["task"], r["spec"]["pe"]), {**r, "threshold": args.threshold})
               for r in runs]
    judged = [ok for ok in per_run if ok is not None]
    summary += (f"\nper run: {sum(judged)}/{len(judged)} fitted runs agree with the theory"
                + (f" ({sum(judged) / len(judged):.0%})" if judged else ""))
    short = sorted(f"{t}/{ENCODINGS[pe]}" for (t, _, pe), rs in by.items() if len(rs) < args.seeds)
    if short:
        summary += f"\nrows with fewer than {args.seeds} seeds (the run was stopped first): {len(short)} ({', '.join(short)})"
    devices = Counter(r.get("device", "?") for r in recs)
    summary += "\nruns executed on: " + ", ".join(f"{d} ({n})" for d, n in sorted(devices.items()))
    summary += "\n" + cpu_projection(recs, args.workers)
    table = "\n".join(lines) + "\n\n" + summary + "\n"
    out.mkdir(parents=True, exist_ok=True)
    from verify.outputs import write_text
    write_text(out / "table.md", table, "--out")
    write_text(out / "results.json", json.dumps(sorted(rows.values(), key=lambda r: (r["task"], r["encoding"])),
                                                indent=2) + "\n", "--out")
    print(table)
    print(f"results in {out / 'results.json'}, table in {out / 'table.md'}")


if __name__ == "__main__":
    from verify.problems import UserError
    try:
        main()
    except UserError as err:
        sys.exit(f"error: {err.render()}")
    except KeyboardInterrupt:
        # finished runs are in OUT/runs.jsonl; a run in progress keeps its last saved state (--save-minutes)
        print("interrupted: --resume goes on from the finished runs and the last saved states", file=sys.stderr)
        sys.exit(130)
