"""`verify report`: every verdict carries its evidence; checked, certified and cited stay apart."""
import json
from pathlib import Path

import pytest

from verify.catalogue import all_cases
from verify.cli import main
from verify.report import ReportSettings, build_rows, short_citation

from json_schema import SchemaError, load_schema, validate  # tests/json_schema.py

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema("report.schema.json")


@pytest.fixture(scope="module")
def rows():
    return build_rows(ReportSettings(budget=1 << 10, samples=30, sample_max_len=40, extra_columns=False))


def test_one_row_per_case_with_paper_numbers(rows):
    assert [r["task"] for r in rows] == [c.name for c in all_cases()]
    for r in rows:
        if r["paper_ape"]:
            assert len(r["paper_ape"]["acc"]) == 3


def test_programs_give_checked_verdicts_with_their_scope(rows):
    """Without the later stages (no proofs) a program's ✓ is checked up to a length and says why it is not
    proved, or certified by `verify classify` for a regular task; the check's scope is always in the evidence.
    A task without a program is ✗ (certified or cited) or undecided with its reason."""
    for r in rows:
        if r["program"] is not None:
            assert r["check"]["status"] == "holds", r["task"]
            assert r["ape"]["verdict"] == "✓" and r["ape"]["kind"] in ("checked", "certified"), r["task"]
            assert "exhaustive" in r["ape"]["evidence"] and "sampled" in r["ape"]["evidence"]
            if r["ape"]["kind"] == "checked":
                longest = r["check"]["evidence"]["sample_lengths"][1]
                assert r["ape"]["short"] == f"checked up to {longest}: not proved (--no-extra)"
                assert r["ape"]["reason"] == "proof not run (--no-extra)"
            else:
                assert r["classify"]["crasp_periodic_local"] is True and "verify classify" in r["ape"]["evidence"]
        else:
            assert (r["ape"]["verdict"], r["ape"]["kind"]) in (("✗", "cited"), ("✗", "certified"),
                                                               ("?", "undecided"))
            assert r["ape"]["kind"] != "undecided" or r["ape"]["reason"].startswith("Undecided")


def test_nope_is_checked_only_for_plain_programs(rows):
    for r in rows:
        if r["nope"]["verdict"] == "✓":
            assert r["program"] == "plain"
        if r["program"] not in (None, "plain"):
            assert r["nope"]["verdict"] in ("✗", "?") and r["nope"]["kind"] != "checked"


def test_predictions_agree_with_the_paper_labels(rows):
    """Every verdict agrees with the paper's label except the ones a case disputes (cases/copy.py: a plain
    program for unique copy, proved for every length, against the paper's NoPE ✗)."""
    from verify.catalogue import get_case
    for r in rows:
        disputed = get_case(r["task"]).extra.get("paper_label_disputed", ())
        for encoding in ("APE", "NoPE"):
            agrees = r[f"agrees_{encoding.lower()}"]
            assert agrees is not False or encoding in disputed, (r["task"], encoding)
            assert agrees is not True or encoding not in disputed, (r["task"], encoding)


def test_nothing_is_cited_and_every_undecided_verdict_says_why(rows_with_columns):
    """Issue 21: the verdicts that only cited the paper (tomita3 and zot_02 APE, bin_majority_interleave NoPE)
    are undecided with the reason (../shared/REGULAR.md §4: say undecided rather than cite); every other ✗ is
    certified. The count of each kind is in the summary."""
    from verify.report import counts, summary
    rows = rows_with_columns
    kinds = {(r["task"], k): r[k]["kind"] for r in rows for k in ("ape", "nope")}
    assert [key for key, kind in kinds.items() if kind == "cited"] == []
    undecided = sorted(key for key, kind in kinds.items() if kind == "undecided")
    assert undecided == [("bin_majority_interleave", "nope"), ("tomita3", "ape"), ("unique_bigram_copy", "nope"),
                         ("zot_02", "ape")]
    by = {r["task"]: r for r in rows}
    for task, key in undecided:
        assert by[task][key]["verdict"] == "?" and len(by[task][key]["reason"]) > 40
    assert "pumping" in by["tomita3"]["ape"]["reason"] and "Lemmas 35–36" in by["zot_02"]["ape"]["reason"]
    assert all(r[k]["kind"] == "certified" for r in rows for k in ("ape", "nope") if r[k]["verdict"] == "✗")
    total = counts(rows)["total"]
    assert sum(total.values()) == 2 * len(rows) and total["cited"] == 0 and total["undecided"] == 4
    assert f"{total['certified']} certified" in summary(rows) and "0 cited, 4 undecided" in summary(rows)


def test_a_proof_makes_a_checked_verdict_proved_and_otherwise_it_says_why(rows):
    """The z3 cell decides: proved for all lengths -> proved; a bounded result -> checked up to L with "proof
    did not close within the budget"; not run -> says which flag; a Z3 refutation -> a conflict, never ✓."""
    import copy

    import verify.report as report
    from verify.smt.report_columns import NOT_RUN
    base = next(r for r in rows if r["task"] == "dyck1")
    assert base["ape"]["kind"] == "checked"
    longest = base["check"]["evidence"]["sample_lengths"][1]

    def upgraded(z3):
        row = copy.deepcopy(base)
        if z3 is not None:
            row["extra"]["z3"] = z3
        report._upgrade_with_proof(row)
        return row
    row = upgraded("proved for all lengths (1-induction)")
    assert {row[k]["kind"] for k in ("ape", "nope")} == {"proved"} and row["ape"]["verdict"] == "✓"
    assert row["ape"]["short"] == "proved: all lengths (1-induction, Z3)" and "exhaustive" in row["ape"]["evidence"]
    row = upgraded("checked up to 16")
    assert row["ape"]["kind"] == "checked"
    assert row["ape"]["short"] == f"checked up to {longest}: proof did not close within the budget"
    assert row["ape"]["reason"] == "proof did not close within the budget (Z3: checked up to 16)"
    assert upgraded(NOT_RUN)["nope"]["reason"] == "proof not run (--no-prove)"
    assert upgraded(None)["nope"]["reason"] == "proof not run (--no-extra)"
    row = upgraded("refuted (length 2: ) ()")
    assert (row["ape"]["verdict"], row["ape"]["kind"]) == ("?", "conflict")


@pytest.mark.slow
def test_every_check_is_proved_or_says_why_it_is_not():
    """Issue 21, the whole report as a user runs it (proofs by default; the user's proof cache, so only a cold
    cache pays for the proofs): nothing cited; every ✓ is proved for all lengths, certified, or checked up to a
    length with "proof did not close within the budget" — and those are few."""
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", "--json"]) == 0
    doc = json.loads(buf.getvalue())
    validate(doc, SCHEMA)
    preds = [(t["task"], enc, t["prediction"][enc]) for t in doc["tasks"] for enc in ("ape", "nope")]
    assert doc["counts"]["total"]["cited"] == 0 and not [p for _, _, p in preds if p["kind"] == "cited"]
    assert {p["kind"] for _, _, p in preds if p["mark"] == "✓"} <= {"proved", "certified", "checked"}
    checked = [(task, enc) for task, enc, p in preds if p["kind"] == "checked"]
    assert len({task for task, _ in checked}) <= 4, checked     # issue 21: "expect ≤ 4 such"
    for task, enc, p in preds:
        if p["kind"] == "checked":
            assert p["short"].startswith("checked up to ") and "proof did not close within the budget" in p["reason"]
    assert doc["counts"]["total"]["proved"] >= 30
    assert f"{doc['counts']['total']['proved']} proved for all lengths" in doc["summary"]
    # the sequence tasks at the catalogue's sizes (sort over 100 tokens, count over 40, majority over 26
    # letters, ...) prove through their specs (tests/test_sequence_specs.py proves small vocabularies)
    sequence = {c.name for c in all_cases() if c.format == "sequence" and c.program is not None and c.spec is not None}
    assert {"sort", "count", "unique_reverse", "unique_bigram_copy", "unique_copy", "majority"} <= sequence
    assert {task: p["kind"] for task, enc, p in preds if task in sequence and enc == "ape"} == \
        {task: "proved" for task in sequence}


def test_short_citation():
    assert short_citation("follows Lemmas 35–36 and Theorem 12") == "Lemmas 35–36, Theorem 12"
    assert short_citation("the paper's label") == "the paper's label"


@pytest.fixture(scope="module")
def full_json():
    """`verify report --json` with every column (one run for the tests below)."""
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", "--json", "--samples", "20", "--budget", "1024", "--no-prove"]) == 0
    return json.loads(buf.getvalue())


@pytest.mark.slow
def test_copy_and_addition_are_certified_not_cited(full_json):
    data = {r["task"]: r for r in full_json["tasks"]}
    for task in ("repeat_copy", "addition"):
        assert data[task]["prediction"]["ape"]["kind"] == "certified", data[task]["prediction"]["ape"]
        assert data[task]["columns"]["comm_bits_at_64"] >= 63
    assert data["dyck1"]["columns"]["lt_compiled"] == "yes"
    assert data["tomita3"]["prediction"]["ape"]["kind"] == "undecided"
    assert full_json["counts"]["total"]["cited"] == 0


def test_trained_results_are_added(capsys):
    results = ROOT / "bench" / "results" / "figure1.json"
    assert main(["report", "--json", "--no-extra", "--samples", "10", "--budget", "256",
                 "--trained", str(results)]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate(doc, SCHEMA)
    data = {r["task"]: r for r in doc["tasks"]}
    assert data["bin_majority"]["columns"]["ours_ape"] != "—"
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
    # quasi-aperiodic without a program: classify decides nothing, and the verdict stays undecided (not cited)
    assert by["tomita3"]["ape"]["kind"] == "undecided" and by["zot_02"]["ape"]["kind"] == "undecided"
    assert by["tomita3"]["classify"]["crasp_periodic_local"] is None
    # a checked plain program whose language the decider puts in C-RASP: certified for every length, the
    # check kept in the evidence (with proofs, it is proved, and the decider's agreement is added)
    assert by["tomita7"]["nope"]["kind"] == "certified" and "certified (decider)" in by["tomita7"]["nope"]["short"]
    assert "exhaustive" in by["tomita7"]["nope"]["evidence"]
    # the rest is certified, but APE where classify does not decide: a periodic or local program's check (here
    # without proofs) or, without a program, undecided
    rest = sorted((t, k, by[t][k]["kind"]) for t in regular for k in ("ape", "nope") if by[t][k]["kind"] != "certified")
    assert rest == [("aa_star", "ape", "checked"), ("aaaa_star", "ape", "checked"), ("abab_star", "ape", "checked"),
                    ("tomita3", "ape", "undecided"), ("tomita4", "ape", "checked"), ("zot_02", "ape", "undecided")]
    assert all(by[t]["classify"]["crasp_periodic_local"] is None for t, _, _ in rest)


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


# ------------------------------------------------ --json: stable keys and the documented schema
NAME_MAPS = {"families", "classes"}  # maps whose keys are names (sample families, monoid classes), not fields


def _field_keys(value, parent=None):
    """Every key used as a field name (the keys of NAME_MAPS are data and are skipped)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if parent not in NAME_MAPS:
                yield k
            yield from _field_keys(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _field_keys(v, parent)


@pytest.mark.slow
def test_json_keys_are_snake_case_and_marks_are_only_values(full_json):
    import re
    keys = set(_field_keys(full_json))
    assert keys and all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in keys), sorted(keys)
    by = {t["task"]: t for t in full_json["tasks"]}
    assert by["dyck1"]["prediction"]["ape"]["verdict"] == "yes" and by["dyck1"]["prediction"]["ape"]["mark"] == "✓"
    assert by["tomita5"]["prediction"]["ape"]["verdict"] == "no"
    assert by["tomita5"]["classify"]["classes"]  # a name map, kept as is


@pytest.mark.slow
def test_the_validator_rejects_what_the_schema_forbids(full_json):
    import copy
    bad = copy.deepcopy(full_json)
    bad["tasks"][0]["columns"]["LT agreed ≤"] = 64           # a display label as a key
    with pytest.raises(SchemaError, match="does not match"):
        validate(bad, SCHEMA)
    bad = copy.deepcopy(full_json)
    bad["tasks"][0]["prediction"]["ape"]["verdict"] = "✓"      # the mark where the word belongs
    with pytest.raises(SchemaError, match="not in"):
        validate(bad, SCHEMA)
    bad = copy.deepcopy(full_json)
    del bad["tasks"][3]["agrees"]
    with pytest.raises(SchemaError, match="missing 'agrees'"):
        validate(bad, SCHEMA)
    with pytest.raises(SchemaError, match="not implemented"):
        validate({}, {"oneOf": []})


def test_snake_case_of_new_columns():
    from verify.report import snake_case
    assert snake_case("LT agreed ≤") == "lt_agreed_up_to"
    assert snake_case("comm bits@64") == "comm_bits_at_64"
    assert snake_case("verify.limit.report_columns.error") == "verify_limit_report_columns_error"
    assert snake_case("Δ") == "column_"


# ------------------------------------------------ the terminal table fits 100 columns
def _render_text(rows, width, wide=False):
    from rich.console import Console

    from verify.report import render
    import io
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    render(rows, console, wide=wide)
    return console.export_text()


def _broken_numbers(text):
    """Cells whose text continues on the next line of the same row in the middle of a number:
    one line ends with a digit, '.', '/' or 'e+' in a column and the next line goes on with a digit."""
    import re
    lines = [l for l in text.splitlines() if l.startswith("│")]
    broken = []
    for a, b in zip(lines, lines[1:]):
        ca, cb = a.split("│")[1:-1], b.split("│")[1:-1]
        if len(ca) != len(cb) or cb[0].strip():  # a new row starts with its task name
            continue
        for x, y in zip(ca, cb):
            if x.strip() and re.search(r"[\d./+]$", x.rstrip()) and re.match(r"[\d.]", y.strip() or " "):
                broken.append((x.strip(), y.strip()))
    return broken


@pytest.fixture(scope="module")
def rows_with_columns():
    return build_rows(ReportSettings(budget=1 << 10, samples=20))


@pytest.mark.slow
def test_default_table_fits_100_columns_without_breaking_numbers(rows_with_columns):
    text = _render_text(rows_with_columns, 100)
    assert max(len(l) for l in text.splitlines()) <= 100
    assert "paper" in text and "LT ≤" in text and "99.74" not in text  # accuracies only with --wide
    assert _broken_numbers(text) == []
    # the detector itself finds a number cut in two (so the assertion above can fail)
    assert _broken_numbers("│ t │ 99.│\n│   │ 86 │") == [("99.", "86")]
    assert _broken_numbers("│ t │ 99 │\n│ u │ 86 │") == []


@pytest.mark.slow
def test_wide_table_has_every_column_unbroken(rows_with_columns):
    text = _render_text(rows_with_columns, 170, wide=True)
    assert "99.74/26.78/0" in text and "float64 ≤" in text and "LT compiled" in text
    assert _broken_numbers(text) == []
    narrow = _render_text(rows_with_columns, 100, wide=True)  # --wide on a narrow console still never cuts numbers
    assert _broken_numbers(narrow) == []


def test_a_refuted_program_gets_no_later_stage_cells(monkeypatch):
    """Issue 20: a task whose program was refuted showed its compiled Limit Transformer and its protocol's
    bits, certifying the wrong program. They are withdrawn; a correct task keeps them."""
    import dataclasses

    import verify.report as report
    from verify.catalogue import get_case
    from verify.crasp.parser import parse_program
    wrong = dataclasses.replace(get_case("tomita4"),   # the catalogue's tomita4 with a wrong program
                                program=lambda: parse_program('alphabet "0" "1"\naccept = #["0"] == 0', "w"))
    monkeypatch.setattr(report, "all_cases", lambda: [wrong, get_case("tomita4")])
    bad, good = report.build_rows(ReportSettings(budget=256, samples=20))
    assert bad["check"]["status"] == "refuted" and good["check"]["status"] == "holds"
    assert bad["extra"]["LT compiled"] == report.WITHDRAWN
    assert all(bad["extra"][k] is None for k in ("LT agreed ≤", "Δ", "τ", "float64 ≤", "comm bits@64"))
    assert bad["extra"]["comm growth"] == report.WITHDRAWN
    assert good["extra"]["LT compiled"] == "yes" and good["extra"]["comm bits@64"] is not None
    doc = report.report_document([bad])
    assert doc["tasks"][0]["columns"]["lt_compiled"] == report.WITHDRAWN
    validate(doc, SCHEMA)
