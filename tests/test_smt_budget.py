"""Proofs and reports that do not depend on load or cache (issue 12 §2): solver phases are
budgeted by Z3's deterministic work counter (rlimit) with wall-clock time only as a safety limit,
the verdict says which limit stopped it, and the report's z3 column is a function of its inputs."""
from __future__ import annotations

import json
import multiprocessing

import pytest

from verify.catalogue import get_case
from verify.cli import main
from verify.smt.induction import InductionSettings, prove
from verify.smt.miter import Miter
from verify.smt.refute import Budget, refute


def miter_of(name):
    case = get_case(name)
    return Miter(case.build_program(), case.spec)


def _refute_summary(name, work):
    v = refute(miter_of(name), 40, timeout_s=None, work=work)
    return v.status, v.evidence.get("checked_up_to"), v.evidence.get("stopped_by"), v.reason


def _fresh(fn, *args):
    """Z3's work counter is deterministic for the same sequence of solver calls in a fresh
    process (each command run, and each proof of `report --prove`, is one); a process that ran
    other proofs first may count a few percent differently."""
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(fn, args)


@pytest.mark.slow
def test_a_work_budget_stops_at_the_same_place_every_time():
    runs = [_fresh(_refute_summary, "boolean3", 3_000_000) for _ in range(2)]
    assert runs[0] == runs[1]
    status, reached, stopped_by, reason = runs[0]
    assert status == "unknown" and reached > 0 and stopped_by == "work" and "work budget" in reason


def test_the_wall_clock_limit_is_named_when_it_stops_the_run():
    v = refute(miter_of("boolean3"), 200, timeout_s=0.05, work=None)
    assert v.status == "unknown" and v.evidence["stopped_by"] == "time"
    assert "wall-clock safety limit" in v.reason and "gave up" in v.reason


def test_a_budget_with_no_work_left_does_not_call_the_solver():
    import z3
    b = Budget(work=10)
    b.used = 10
    assert b.check(z3.Solver()) == z3.unknown and b.stopped_by == "work"


def _spin():
    while True:
        pass


def _proof_summary(name):
    v = prove(miter_of(name), InductionSettings())
    return v.status, v.evidence.get("k"), v.evidence.get("work"), v.evidence.get("invariant")


@pytest.mark.slow
def test_a_proof_spends_the_same_work_alone_and_beside_a_busy_process():
    alone = _fresh(_proof_summary, "tomita4")
    hog = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    hog.start()
    try:
        busy = _fresh(_proof_summary, "tomita4")
    finally:
        hog.terminate()
    assert alone[0] == "holds" and alone == busy


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e9", "abc"])
@pytest.mark.parametrize("command", ["refute", "prove", "equiv", "mutate"])
def test_bad_work_values_exit_2(capsys, command, value):
    code = main([command, "tomita1", *(["tomita1"] if command == "equiv" else []), "--work", value])
    _, err = capsys.readouterr()
    assert code == 2 and "--work" in err and "Traceback" not in err


@pytest.mark.slow
def test_refute_defaults_reach_length_40_on_boolean3(capsys):
    code = main(["refute", "boolean3", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["status"] == "holds" and "1..40" in data["scope"]


# ------------------------------------------------------------------ the report's z3 column
def test_the_report_column_ignores_what_an_earlier_run_cached(tmp_path, monkeypatch):
    from verify.smt import report_columns as rc
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "smt.json"))
    monkeypatch.setattr(rc, "_prepared", {})
    case = get_case("tomita1")
    assert rc.columns(case, prove=False)[rc.COLUMN] == rc.NOT_RUN
    rc.record_case(case, prove(miter_of("tomita1")))  # what `verify prove` leaves behind
    assert rc.columns(case, prove=False)[rc.COLUMN] == rc.NOT_RUN
    assert rc.columns(get_case("parity"))[rc.COLUMN] == "no spec"


@pytest.mark.slow
def test_prove_fills_the_column_and_no_cache_leaves_no_file(tmp_path, monkeypatch):
    from verify.smt import report_columns as rc
    path = tmp_path / "smt.json"
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(path))
    monkeypatch.setattr(rc, "_prepared", {})
    cases = [get_case("tomita1"), get_case("parity")]
    fresh = rc.prepare(cases, prove=True, use_cache=False, workers=1)
    assert fresh["tomita1"].startswith("proved for all lengths") and fresh["parity"] == "no spec"
    assert not path.exists()
    first = rc.prepare(cases, prove=True, workers=1)
    assert path.exists() and first == fresh
    cached = json.loads(path.read_text())
    assert any(entry["cell"] == fresh["tomita1"] for entry in cached.values())
    assert rc.prepare(cases, prove=True, workers=1) == fresh      # a cache hit shows what a run shows
    assert rc.columns(cases[0])[rc.COLUMN] == fresh["tomita1"]
    assert rc.prepare(cases, prove=False)["tomita1"] == rc.NOT_RUN


@pytest.mark.slow
def test_proofs_in_worker_processes_equal_proofs_here(tmp_path, monkeypatch):
    from verify.smt import report_columns as rc
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "smt.json"))
    cases = [get_case(n) for n in ("tomita1", "tomita4", "dyck1")]
    pooled = rc.prepare(cases, prove=True, use_cache=False, workers=2)
    here = {c.name: rc.z3_cell(c, True, use_cache=False) for c in cases}
    assert pooled == here
