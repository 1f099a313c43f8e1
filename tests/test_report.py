"""`verify report`: every verdict carries its evidence; checked, certified and cited stay apart."""
import json
from pathlib import Path

import pytest

from verify.catalogue import all_cases
from verify.cli import main
from verify.report import ReportSettings, build_rows, short_citation

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rows():
    return build_rows(ReportSettings(budget=1 << 10, samples=30, sample_max_len=40, extra_columns=False))


def test_one_row_per_case_with_paper_numbers(rows):
    assert [r["task"] for r in rows] == [c.name for c in all_cases()]
    for r in rows:
        if r["paper_ape"]:
            assert len(r["paper_ape"]["acc"]) == 3


def test_programs_give_checked_verdicts_with_their_scope(rows):
    for r in rows:
        if r["program"] is not None:
            assert r["check"]["status"] == "holds", r["task"]
            assert r["ape"]["verdict"] == "✓" and r["ape"]["kind"] == "checked"
            assert "exhaustive" in r["ape"]["evidence"] and "random" in r["ape"]["evidence"]
        else:
            assert r["ape"]["verdict"] == "✗" and r["ape"]["kind"] == "cited"


def test_nope_is_checked_only_for_plain_programs(rows):
    for r in rows:
        if r["nope"]["verdict"] == "✓":
            assert r["program"] == "plain"
        if r["program"] not in (None, "plain"):
            assert r["nope"]["verdict"] in ("✗", "?") and r["nope"]["kind"] != "checked"


def test_predictions_agree_with_the_paper_labels(rows):
    assert all(r["agrees_ape"] is not False and r["agrees_nope"] is not False for r in rows)


def test_short_citation():
    assert short_citation("follows Lemmas 35–36 and Theorem 12") == "Lemmas 35–36, Theorem 12"
    assert short_citation("the paper's label") == "the paper's label"


def test_copy_and_addition_are_certified_not_cited(capsys):
    assert main(["report", "--json", "--samples", "20", "--budget", "1024"]) == 0
    data = {r["task"]: r for r in json.loads(capsys.readouterr().out)}
    for task in ("repeat_copy", "addition"):
        assert data[task]["ape"]["kind"] == "certified", data[task]["ape"]
        assert data[task]["extra"]["comm bits@64"] >= 63
    assert data["dyck1"]["extra"]["LT compiled"] == "yes"
    assert data["tomita3"]["ape"]["kind"] == "cited"


def test_trained_results_are_added(capsys):
    results = ROOT / "bench" / "results" / "reproduce_cpu_small.json"
    assert main(["report", "--json", "--no-extra", "--samples", "10", "--budget", "256",
                 "--trained", str(results)]) == 0
    data = {r["task"]: r for r in json.loads(capsys.readouterr().out)}
    assert data["bin_majority"]["extra"]["ours APE"] != "—"
    assert data["bin_majority"]["trained"]


def test_trained_file_errors_are_user_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["report", "--no-extra", "--samples", "5", "--budget", "64", "--trained", str(bad)]) == 2
    assert "JSON list" in capsys.readouterr().err
