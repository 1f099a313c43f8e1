"""`verify report --trained`: our runs against the theory, one rule shared with bench/reproduce.py."""
import json

import pytest

from verify.cli import main
from verify.trained import agrees_with_theory, generalizes, ours_text, trained_summary

BINS = [[0, 50], [51, 100], [101, 150]]


def _row(task, enc, accs, fit=True, threshold=90.0, **extra):
    keys = ("acc_0_50", "acc_51_100", "acc_101_150")
    return {"task": task, "encoding": enc, **dict(zip(keys, accs)), "bins": BINS, "seeds": 2 if fit else 0,
            "runs": 2, "train_fit": fit, "threshold": threshold, **extra}


def test_the_rule():
    assert generalizes(_row("t", "APE", (100, 99, 90.0)))
    assert not generalizes(_row("t", "APE", (100, 99, 89.9)))
    assert agrees_with_theory(True, _row("t", "APE", (100, 99, 95))) is True
    assert agrees_with_theory(False, _row("t", "APE", (100, 99, 95))) is False
    assert agrees_with_theory(False, _row("t", "APE", (100, 20, 3))) is True
    assert agrees_with_theory(True, _row("t", "APE", (100, 20, 3))) is False
    assert agrees_with_theory(True, _row("t", "APE", (100, 99, 95), fit=False)) is None   # not fitted: not counted
    assert agrees_with_theory(None, _row("t", "APE", (100, 99, 95))) is None
    assert agrees_with_theory(True, _row("t", "APE", (100, 99, 80), threshold=75)) is True
    assert ours_text(_row("t", "APE", (100, 99, 80), spread={"acc_0_50": 0, "acc_51_100": 0.5,
                                                             "acc_101_150": 2})) == "100.0±0.0 / 99.0±0.5 / 80.0±2.0"
    assert ours_text(_row("t", "APE", (10, 0, 0), fit=False)).endswith("(did not fit)")


@pytest.fixture()
def results(tmp_path):
    # bin_majority: ✓ both; parity: ✗ both (theory). One row of each kind the summary counts.
    rows = [_row("bin_majority", "APE", (100, 99.5, 99.7), protocol=None),      # agrees
            _row("bin_majority", "NoPE", (100, 60, 30), protocol=None),         # disagrees
            _row("parity", "APE", (70, 55, 50), fit=False, protocol=None),      # not fitted
            _row("parity", "NoPE", (100, 55, 50), protocol=None)]               # agrees (fails where ✗)
    p = tmp_path / "results.json"
    p.write_text(json.dumps(rows))
    return p


ARGS = ["report", "--no-extra", "--samples", "5", "--budget", "64"]


@pytest.mark.slow
def test_report_shows_our_runs_against_the_theory(results, capsys):
    assert main([*ARGS, "--trained", str(results)]) == 0
    out = capsys.readouterr().out
    assert "Our trained runs (--trained) against the theory" in out
    assert "2/3 fitted rows agree" in out and "1 rows did not fit" in out
    row = [ln for ln in out.splitlines() if "bin_majority" in ln and "60.0" in ln]
    assert len(row) == 1 and "NO" in row[0] and "✓" in row[0], row
    row = [ln for ln in out.splitlines() if "parity" in ln and "(did not fit)" in ln]
    assert len(row) == 1 and "0/2" in row[0] and "✗" in row[0], row


@pytest.mark.slow
def test_report_json_and_html_carry_the_same_verdicts(results, tmp_path, capsys):
    assert main([*ARGS, "--json", "--trained", str(results)]) == 0
    doc = {t["task"]: t for t in json.loads(capsys.readouterr().out)["tasks"]}
    got = {(h["task"], h["encoding"]): (h["theory"], h["agrees_theory"])
           for t in ("bin_majority", "parity") for h in doc[t]["trained"]}
    assert got == {("bin_majority", "APE"): (True, True), ("bin_majority", "NoPE"): (True, False),
                   ("parity", "APE"): (False, None), ("parity", "NoPE"): (False, True)}
    page = tmp_path / "r.html"
    assert main([*ARGS, "--html", str(page), "--trained", str(results)]) == 0
    html = page.read_text()
    assert "Our trained runs against the theory" in html and "2/3 fitted rows agree" in html


def test_summary_is_none_without_trained_rows():
    assert trained_summary([{"task": "x"}]) is None


def test_the_verdicts_column_is_compact():
    row = _row("t", "APE", (100, 99.5, 80), spread={"acc_0_50": 0, "acc_51_100": 0.5, "acc_101_150": 2})
    assert ours_text(row, spread=False) == "100/99.5/80"
    assert ours_text(_row("t", "APE", (10, 0, 0), fit=False), spread=False) == "10/0/0 (did not fit)"
