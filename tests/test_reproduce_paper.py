"""bench/reproduce.py --protocol paper (issue 22): the architecture table is the issue's, the rows use it, a row's
runs are chosen by a rule over finished runs only, a run stopped and resumed ends exactly as one never stopped,
12-layer rows are listed as not run on a CPU, and `verify report --trained` takes its comparison columns from the
results file."""
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import paper_protocol as pp  # noqa: E402

# issue 22, "What to build", verbatim
ISSUE_ALGORITHMIC = """bin_majority APE 1L 1H d16 lr 1e-3, NoPE 1L 1H d16; majority APE 1L 2H d256 lr 1e-3, NoPE 1L 1H d64;
bin_majority_interleave APE 2L 4H d256 lr 1e-4, NoPE 12L 12H d768 lr 1e-4; unique_copy APE 2L 1H d64
lr 1e-3, NoPE 4L 4H d256; repeat_copy 4L 4H d256 lr 1e-3 (both); sort APE 1L 2H d256 lr 1e-4, NoPE 1L
1H d256; parity APE 4L 2H d256 lr 1e-4, NoPE 12L 12H d768 lr 3e-5; addition 12L 12H d768 lr 1e-4 (both)."""
ISSUE_LANGUAGES = """D2 1L 1H d16; D3 1L 1H d16 lr 1e-4; D4 1L 2H d256 lr 1e-4; D12 4L 2H d256; (aa)* 1L 2H d16 (dropout
0.1); (aaaa)* 2L 1H d64 lr 1e-4 (dropout 0.1); (abab)* 1L 1H d64; aa*bb*cc*dd*ee* 1L 1H d16;
{a,b}*d{b,c}* 1L 1H d16 (dropout 0.1); {0,1,2}*02* 1L 1H d64 lr 1e-4; Tomita 1, 2 1L 1H d16; Tomita 3
4L 4H d64; Tomita 4 2L 2H d16 (dropout 0.1); Tomita 5 2L 1H d64; Tomita 6 2L 2H d256 lr 1e-4; Tomita 7
2L 1H d16 (dropout 0.1); lr 1e-3 where none is named."""
NAMES = {"D2": "d2", "D3": "d3", "D4": "d4", "D12": "d12", "(aa)*": "aa_star", "(aaaa)*": "aaaa_star",
         "(abab)*": "abab_star", "aa*bb*cc*dd*ee*": "aa_bb_cc_dd_ee", "{a,b}*d{b,c}*": "ab_d_bc",
         "{0,1,2}*02*": "zot_02", **{f"Tomita {k}": f"tomita{k}" for k in range(1, 8)}}
ARCH = re.compile(r"(\d+)L (\d+)H d(\d+)(?: lr ([0-9.e-]+))?(?: \(dropout ([0-9.]+)\))?")


def _arch(text):
    m = ARCH.search(text)
    layers, heads, d, lr, dropout = m.groups()
    return pp.Arch(int(layers), int(heads), int(d), float(lr or 1e-3), float(dropout or 0.0)), m.start()


def _issue_table():
    table = {}
    for part in " ".join(ISSUE_ALGORITHMIC.split()).rstrip(".").split(";"):
        part = part.strip()
        name = part.split()[0]
        if part.endswith("(both)"):
            arch, _ = _arch(part)
            table[(name, "ape")] = table[(name, "nope")] = arch
        else:
            ape, nope = part.split(", NoPE ")
            table[(name, "ape")], table[(name, "nope")] = _arch(ape)[0], _arch(nope)[0]
    for part in " ".join(ISSUE_LANGUAGES.split()).rstrip(".").split(";"):
        part = part.strip()
        if part.startswith("lr 1e-3 where"):
            continue
        arch, at = _arch(part)
        names = part[:at].strip()
        if names.startswith("Tomita") and "," in names:          # "Tomita 1, 2"
            names = [f"Tomita {k.strip()}" for k in names[len("Tomita"):].split(",")]
        else:
            names = [names]
        for name in names:
            for pe in ("ape", "nope"):
                table[(NAMES[name], pe)] = arch
    return table


def test_the_architecture_table_is_the_issues():
    issue = _issue_table()
    ours = {(t, pe): pp.paper_arch(t, pe)[0] for t in (*pp.ALGORITHMIC, *pp.LANGUAGES) for pe in ("ape", "nope")}
    assert ours == issue
    assert len(issue) == 2 * (8 + 17)
    # every other language of the paper's table is searched, in the paper's order: layers, heads, d, lr
    from verify.catalogue import all_cases, paper_results
    paper_tasks = {t for t, _ in paper_results()}
    by_key = {c.paper_key: c.name for c in all_cases()}
    assert set(pp.SEARCHED) == {by_key[t] for t in paper_tasks} - set(pp.ALGORITHMIC) - set(pp.LANGUAGES)
    grid = [(a.layers, a.heads, a.d, a.lr) for a in pp.SEARCH_GRID]
    assert len(grid) == 54 and grid[:3] == [(1, 1, 16, 1e-3), (1, 1, 16, 1e-4), (1, 1, 64, 1e-3)]
    assert grid[-1] == (4, 4, 256, 1e-4) and grid == sorted(grid, key=lambda g: (g[0], g[1], g[2], -g[3]))


def test_the_runs_use_the_table(tmp_path):
    from torch_bridge.sweep import train_config
    from verify.catalogue import get_case
    st = pp.Settings(tmp_path)
    cases = {t: get_case(t) for t in pp.ALL_TASKS}
    rows = pp.table_rows(pp.ALL_TASKS, cases)
    assert len(rows) == 2 * len(pp.ALL_TASKS)
    for row in rows:
        arch = row.arch or pp.SEARCH_GRID[0]
        s = st.spec(row, arch, 3)
        cfg = train_config(s)
        assert (s.layers, s.heads, s.d, s.lr, s.dropout, s.seed) == (arch.layers, arch.heads, arch.d, arch.lr,
                                                                      arch.dropout, 3)
        assert cfg.dropout == arch.dropout and cfg.batch == 64 and cfg.weight_decay == 0.01
        assert s.steps == (60_000 if arch.layers == 12 else 30_000) and s.eval_samples == 2000
        assert row.protocol == ("next_symbol" if cases[row.task].format == "language" else "membership")
    # a row without dropout keeps the key it would have had before dropout existed
    plain = next(r for r in rows if r.task == "tomita1")
    assert "dropout" not in st.spec(plain, plain.arch, 0).identity()
    dropped = next(r for r in rows if r.task == "tomita7")
    assert st.spec(dropped, dropped.arch, 0).identity()["dropout"] == 0.1
    assert set(pp.DEFAULT_TASKS) <= set(pp.ALL_TASKS)
    assert not [r for r in rows if r.task in pp.DEFAULT_TASKS and (r.needs_gpu or r.arch is None)]


# ---- which runs count: a rule over finished runs ----------------------------------------------------------

def _done(st, row, fits, arch=None, **accs):
    """Finished records for seeds 0.. of row at arch, fitting as `fits` says."""
    out = {}
    for seed, fit in enumerate(fits):
        s = st.spec(row, arch or row.arch, seed)
        out[s.key] = {"key": s.key, "train_fit": fit, "steps_run": 100, "acc_0_50": 100.0 if fit else 50.0,
                      "acc_51_100": accs.get("mid", 90.0), "acc_101_150": 80.0}
    return out


def test_a_row_takes_seeds_until_enough_fitted(tmp_path):
    st = pp.Settings(tmp_path, seeds=3, max_tries=5, give_up=2)
    row = pp.Row("tomita1", "ape", "next_symbol", pp.Arch(1, 1, 16), pp.PUBLISHED)
    w = pp.walk(row, _done(st, row, [True, False, True]), st)
    assert not w.complete and w.next.seed == 3 and len(w.counted) == 3
    w = pp.walk(row, _done(st, row, [True, False, True, True, True]), st)   # seed 4 is not needed: ignored
    assert w.complete and [r["train_fit"] for r in w.counted] == [True, False, True, True]
    w = pp.walk(row, _done(st, row, [False, False, True]), st)              # gave up after two misses
    assert w.complete and len(w.counted) == 2
    w = pp.walk(row, _done(st, row, [True, False, False, False, False]), st)   # max tries
    assert w.complete and len(w.counted) == 5
    # a run in flight: the next seed is speculative, and the result once all are done is the same rule's
    done = _done(st, row, [True])
    busy = frozenset({st.spec(row, row.arch, 1).key})
    w = pp.walk(row, done, st, busy)
    assert w.next.seed == 2 and w.speculative and not w.complete
    w = pp.walk(row, done, st, frozenset({st.spec(row, row.arch, k).key for k in (1, 2)}))
    assert w.next is None and not w.complete                                 # 1 fitted + 2 in flight = 3 seeds


def test_the_search_stops_at_the_first_configuration_with_100_on_both_bins(tmp_path):
    st = pp.Settings(tmp_path, seeds=2, max_tries=4, give_up=2)
    row = pp.Row("dyck1", "ape", "next_symbol", None, pp.SEARCH)
    first, second, third = pp.SEARCH_GRID[:3]
    done = {**_done(st, row, [True], first, mid=99.0), **_done(st, row, [True], second, mid=100.0)}
    w = pp.walk(row, done, st)
    assert w.arch == second and w.search["met"] and w.search["position"] == 2 and w.next.seed == 1
    # a later configuration that meets it does not count while an earlier one is still running
    busy = frozenset({st.spec(row, first, 0).key})
    w = pp.walk(row, {k: v for k, v in done.items() if v["acc_51_100"] == 100.0}, st, busy)
    assert w.arch is None and w.next is None
    # none reaches it: the best configuration, and the row says so
    done = {}
    for k, arch in enumerate(pp.SEARCH_GRID):
        done.update(_done(st, row, [True], arch, mid=90.0 + (k == 5)))
    w = pp.walk(row, done, st)
    assert w.arch == pp.SEARCH_GRID[5] and not w.search["met"] and w.search["tried"] == 54
    res = pp.row_result(row, w, st, None, 90.0)
    assert "none of the 54" in res["architecture"]["source"] and res["search"]["chosen"] == pp.SEARCH_GRID[5].text()


def test_twelve_layer_rows_are_listed_not_run_on_a_cpu(tmp_path):
    """Never trained on a CPU, never replaced by a smaller model: listed with their own architecture."""
    run = lambda *a: subprocess.run([sys.executable, str(ROOT / "bench" / "reproduce.py"), *a], capture_output=True,
                                    text=True, timeout=300, cwd=tmp_path)
    p = run("--dry-run", "--tasks", "addition", "--out", str(tmp_path / "d"))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "not run: needs a GPU (--device cuda): addition/APE (12L 12H d768 lr 0.0001), addition/NoPE" in p.stdout
    assert "nothing left to run" in p.stdout and not (tmp_path / "d").exists()
    p = run("--table-only", "--tasks", "parity,addition,bin_majority_interleave", "--out", str(tmp_path / "t"))
    assert p.returncode == 0, p.stderr[-2000:]
    rows = json.loads((tmp_path / "t" / "results.json").read_text())
    not_run = {(r["task"], r["encoding"]): r for r in rows if "not_run" in r}
    assert set(not_run) == {("parity", "NoPE"), ("addition", "APE"), ("addition", "NoPE"),
                            ("bin_majority_interleave", "NoPE")}
    assert all(r["not_run"] == "needs a GPU" and r["architecture"]["layers"] == 12 and r["architecture"]["d"] == 768
               for r in not_run.values())
    assert len(rows) == 4          # the CPU rows have no runs yet: listed as such in the table, not as results
    table = (tmp_path / "t" / "table.md").read_text()
    assert table.count("not run: needs a GPU") == 4 and "not run yet in" in table and "parity/APE" in table


def test_encodings_selects_the_rows(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "reproduce.py"), "--dry-run", "--tasks", "d2,aa_star",
                        "--encodings", "ape", "--out", str(tmp_path / "o")], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "rows: 2 " in p.stdout and "d2/APE" in p.stdout and "aa_star/APE" in p.stdout and "/NoPE" not in p.stdout


# exit 2: argparse refuses the value; 1: the script's own check (bench/reproduce.py exits 1 on every UserError)
@pytest.mark.parametrize("flags,needle,code", [(["--patience", "0"], "--patience must be at least 1", 1),
                                               (["--patience", "x"], "--patience", 2),
                                               (["--inputs", "random"], "--inputs", 2),
                                               (["--encodings", "ALiBi"], "--encodings takes", 1),
                                               (["--encodings", ","], "--encodings takes", 1)])
def test_bad_inputs_and_patience_are_refused_before_anything_runs(tmp_path, flags, needle, code):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "reproduce.py"), "--dry-run", "--tasks", "d2",
                        "--out", str(tmp_path / "o"), *flags], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == code, p.stderr[-2000:]
    assert needle in p.stderr and "Traceback" not in p.stderr and not (tmp_path / "o").exists()


# ---- a resumed run is the run never stopped --------------------------------------------------------------

@pytest.mark.parametrize("dropout", [0.1, pytest.param(0.0, marks=pytest.mark.slow)])
def test_a_run_stopped_and_resumed_ends_as_one_never_stopped(tmp_path, dropout):
    pytest.importorskip("torch")
    from torch_bridge.resumable import run_resumable
    from torch_bridge.sweep import RunSpec, run_one
    spec = RunSpec("bin_majority", "ape", 1, 2, 8, 1e-3, 0, 30, eval_samples=10, eval_every=10, train_eval_samples=8,
                   dropout=dropout)
    solo = run_one(spec)
    state = tmp_path / "state.pt"
    assert run_resumable(spec, str(state), deadline=0)["paused"] == 10       # stopped after its first chunk
    assert run_resumable(spec, str(state), deadline=0)["paused"] == 20       # went on from its saved state
    done = run_resumable(spec, str(state))
    assert done["resumed_at"] == [10, 20]
    same = ["key", "steps_run", "train_acc", "positional_penalty", "acc_0_50", "acc_51_100", "acc_101_150"]
    assert {k: done[k] for k in same} == {k: solo[k] for k in same}
    # another configuration's state is never resumed: it starts from step 0 (and stops at the deadline)
    assert run_resumable(replace(spec, seed=1), str(state), deadline=0)["paused"] == 10


@pytest.mark.slow
def test_a_sitting_cut_short_and_resumed_gives_the_uninterrupted_results(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, str(ROOT / "bench" / "reproduce.py"), "--smoke", "--tasks",
                                     "bin_majority", *a], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    whole = run("--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    cut = run("--hours", "1e-9", "--out", str(tmp_path / "cut"))      # its first runs start, then stop at step 10
    assert cut.returncode == 0, cut.stderr[-2000:]
    assert cut.stdout.count("paused at step 10") == 2 and len(list((tmp_path / "cut" / "checkpoints").iterdir())) == 2
    again = run("--resume", "--out", str(tmp_path / "cut"))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed at [10]" in again.stdout and not list((tmp_path / "cut" / "checkpoints").iterdir())
    strip = lambda p: [{k: v for k, v in r.items() if k != "wall_s"} for r in json.loads(p.read_text())]
    assert strip(tmp_path / "cut" / "results.json") == strip(tmp_path / "whole" / "results.json")
    assert json.loads((tmp_path / "whole" / "results.json").read_text())[0]["protocol"] == "paper"


# ---- verify report --trained: the comparison columns come from the results file --------------------------

def _rows():
    bins = [[0, 50], [51, 100], [101, 150]]
    arch = {"layers": 1, "heads": 1, "d": 16, "lr": 0.001, "dropout": 0.1, "source": "test"}
    return [
        {"task": "tomita1", "encoding": "APE", "protocol": "paper", "training_protocol": "next_symbol",
         "acc_0_50": 100.0, "acc_51_100": 97.5, "acc_101_150": 93.25, "bins": bins, "threshold": 90.0,
         "spread": {"acc_0_50": 0.0, "acc_51_100": 1.5, "acc_101_150": 2.25}, "seeds": 3, "seeds_accepted": 3,
         "runs": 4, "train_fit": True, "architecture": arch, "steps": {"max": 30000, "mean_run": 1234.0},
         # not the paper's numbers: the report shows what the file says
         "paper": {"acc_0_50": 100.0, "acc_51_100": 88.0, "acc_101_150": 77.0}},
        {"task": "tomita1", "encoding": "NoPE", "protocol": "paper", "training_protocol": "next_symbol",
         "acc_0_50": 60.0, "acc_51_100": 10.0, "acc_101_150": 0.0, "bins": bins, "threshold": 90.0,
         "spread": {"acc_0_50": 5.0, "acc_51_100": 0.0, "acc_101_150": 0.0}, "seeds": 2, "seeds_accepted": 0,
         "runs": 2, "train_fit": False, "architecture": arch, "steps": {"max": 30000, "mean_run": 30000.0}},
        {"task": "addition", "encoding": "APE", "protocol": "paper",
         "architecture": {**arch, "layers": 12, "heads": 12, "d": 768}, "steps": {"max": 60000, "mean_run": None},
         "not_run": "needs a GPU"},
    ]


def test_the_comparison_rules():
    from verify.trained import compare, normalize, trained_counts
    apes = [normalize(r) for r in _rows()]
    c = compare(apes[0], [1.0, 2.0, 3.0], True)
    assert c["paper"] == _rows()[0]["paper"] and c["diff_longest"] == 16.25 and c["within_10_points"] is False
    assert c["ours"]["acc_51_100"] == {"mean": 97.5, "spread": 1.5} and c["agrees_theory"] is True
    c2 = compare(apes[1], [100.0, 100.0, 100.0], True)           # no paper in the row: the catalogue's numbers
    assert c2["paper"]["acc_101_150"] == 100.0 and c2["diff_longest"] == -100.0 and c2["agrees_theory"] is None
    counts = trained_counts([{"trained": [{**apes[0], **c}, {**apes[1], **c2}, {**apes[2], **compare(apes[2], None, False)}]}])
    assert counts["within_10_points"] == [0, 2] and counts["theory_agreement"] == [1, 1]
    assert counts["not_run"] == ["addition/APE: needs a GPU"] and counts["not_fitted"] == ["tomita1/NoPE"]
    # a row of the older files: its training protocol moves, the protocol is the older one
    old = normalize({"task": "d2", "encoding": "APE", "acc_0_50": 1.0, "spread": {}, "protocol": "next_symbol",
                     "train_fit": True, "seeds": 2, "config": {"layers": 2, "heads": 2, "d": 64, "lr": 3e-4,
                                                               "steps": 5000}})
    assert (old["protocol"], old["training_protocol"], old["seeds_accepted"]) == ("fixed", "next_symbol", 2)
    assert old["architecture"]["d"] == 64 and old["steps"] == {"max": 5000, "mean_run": None}


ARGS = ["report", "--no-extra", "--samples", "5", "--budget", "64"]


@pytest.mark.slow
def test_report_takes_its_comparison_columns_from_the_results_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")      # one line per row: the cells below are read whole
    from json_schema import load_schema, validate  # tests/json_schema.py
    from verify.cli import main
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_rows()))
    assert main([*ARGS, "--json", "--trained", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate(doc, load_schema("report.schema.json"))
    summary, rows = doc["trained"]["summary"], {(r["task"], r["encoding"]): r for r in doc["trained"]["rows"]}
    assert summary["within_10_points"] == [0, 2] and summary["theory_agreement"] == [1, 1]
    for src in _rows():
        got = rows[(src["task"], src["encoding"])]
        for key in ("protocol", "architecture", "steps"):
            assert got[key] == src[key], key
        assert got["seeds_accepted"] == src.get("seeds_accepted", 0)
        if "not_run" in src:
            assert got["ours"] is None and got["not_run"] == "needs a GPU"
            continue
        assert got["ours"] == {k: {"mean": src[k], "spread": src["spread"][k]} for k in src["spread"]}
    assert rows[("tomita1", "APE")]["paper"] == _rows()[0]["paper"]           # the file's, not the catalogue's
    assert rows[("tomita1", "APE")]["diff_longest"] == 16.25
    assert rows[("tomita1", "NoPE")]["paper"] == {"acc_0_50": 100.0, "acc_51_100": 100.0, "acc_101_150": 100.0}
    assert main([*ARGS, "--trained", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0/2 rows within ±10 points" in out and "1/1 fitted rows agree" in out
    assert "+16.2" in out and "3/4" in out and "not run: addition/APE: needs a GPU" in out
    assert "≤30,000, ran" in out and "1,234" in out          # the steps cell wraps inside its column
    # the committed results of the older protocol read as that protocol's rows, with the counts the issue quotes
    assert main([*ARGS, "--json", "--trained", str(ROOT / "bench" / "results" / "figure1.json")]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate(doc, load_schema("report.schema.json"))
    # rows whose verdict is undecided (tomita3 APE, zot_02 APE, interleave NoPE) have no theory label to agree with
    assert doc["trained"]["summary"]["theory_agreement"] == [10, 16]
    assert {r["protocol"] for r in doc["trained"]["rows"]} == {"fixed"}
