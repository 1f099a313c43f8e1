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
            assert "exhaustive" in r["ape"]["evidence"] and "sampled" in r["ape"]["evidence"]
        else:
            assert r["ape"]["verdict"] == "✗" and r["ape"]["kind"] in ("cited", "certified")


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


def test_regular_tasks_go_through_classify(rows):
    """Every task with an automaton (and parity, through its documented reduction) is classified; the
    decider and the pumping certificates replace citations; the paper's labels still agree."""
    by = {r["task"]: r for r in rows}
    from verify.spec import Automaton
    regular = [c.name for c in all_cases() if isinstance(c.spec, Automaton)] + ["parity"]
    assert all(by[t]["classify"] is not None for t in regular)
    assert all(r["classify"] is None for t, r in by.items() if t not in regular)
    for task in ("tomita5", "tomita6", "parity"):
        assert by[task]["ape"] == {**by[task]["ape"], "verdict": "✗", "kind": "certified", "short": "certified (pumping)"}
    for task in ("aa_star", "aaaa_star", "abab_star", "tomita3", "tomita4", "zot_02", "tomita5"):
        assert by[task]["nope"]["kind"] == "certified" and by[task]["nope"]["short"] == "certified (decider)", task
        assert "verify classify" in by[task]["nope"]["evidence"]
    # quasi-aperiodic without a program: classify leaves the citation alone
    assert by["tomita3"]["ape"]["kind"] == "cited" and by["zot_02"]["ape"]["kind"] == "cited"
    assert by["tomita3"]["classify"]["crasp_periodic_local"] is None
    # plain programs that are checked stay checked, with the decider's agreement added
    assert by["tomita7"]["nope"]["kind"] == "checked" and "certified (decider)" in by["tomita7"]["nope"]["evidence"]
    cited = sorted((t, k) for t in regular for k in ("ape", "nope") if by[t][k]["kind"] == "cited")
    certified = sum(1 for t in regular for k in ("ape", "nope") if by[t][k]["kind"] == "certified")
    assert certified == 12 and cited == [("tomita3", "ape"), ("zot_02", "ape")]


def test_a_disagreement_with_the_paper_is_shown(rows, monkeypatch):
    """If classify certified the opposite of the paper's label, the row says NO (never hidden)."""
    import copy

    import verify.report as report
    row = copy.deepcopy(next(r for r in rows if r["task"] == "tomita5"))
    case = next(c for c in all_cases() if c.name == "tomita5")
    flipped = copy.deepcopy(row)
    flipped["paper_ape"]["program_found"] = True            # pretend the paper had a program
    report._upgrade_with_classify(flipped, case)
    assert flipped["ape"]["kind"] == "certified" and flipped["agrees_ape"] is False


def test_parity_reduction_matches_the_task():
    """The report classifies parity through (0*10*1)*0*: that language is exactly the inputs answered e."""
    import numpy as np

    from verify.catalogue import get_case
    from verify.regular.regex import regex_dfa
    from verify.report import SEQUENCE_AS_LANGUAGE
    case = get_case("parity")
    pattern, _, _ = SEQUENCE_AS_LANGUAGE["parity"]
    dfa = regex_dfa(pattern, case.input_alphabet)
    rng = np.random.default_rng(0)
    for n in range(1, 12):
        for tokens in case.sampler(rng, 20, n):
            assert dfa.accepts(tokens) == (case.answer(tuple(tokens)) == ("e",)), tokens
