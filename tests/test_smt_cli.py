"""The refute / prove / equiv / mutate commands: exit codes, JSON, clear errors."""
import json

import pytest

from verify.cli import main

DYCK = '''alphabet "(" ")"
let open  = #["("]
let close = #[")"]
let dips  = #[open < close]
accept = dips == 0 and open == close
'''
DYCK_WRONG = '''alphabet "(" ")"
accept = #["("] == #[")"]
'''
DYCK_OTHER = '''alphabet "(" ")"
let h = #["("] - #[")"]
accept = #[h < 0] == 0 and h == 0
'''


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, text in (("dyck", DYCK), ("wrong", DYCK_WRONG), ("other", DYCK_OTHER)):
        p = tmp_path / f"{name}.crasp"
        p.write_text(text)
        out[name] = str(p)
    (tmp_path / "dyck.json").write_text(json.dumps({
        "alphabet": ["(", ")"], "always": [{"coeffs": {"(": 1, ")": -1}, "op": ">=", "bound": 0}],
        "final": [{"coeffs": {"(": 1, ")": -1}, "op": "==", "bound": 0}]}))
    out["spec"] = str(tmp_path / "dyck.json")
    (tmp_path / "ab.json").write_text(json.dumps({
        "alphabet": ["a", "b"], "start": "s", "accepting": ["s"], "transitions": {"s": {"a": "s"}}}))
    out["ab"] = str(tmp_path / "ab.json")
    return out


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_refute_finds_and_prints_the_counterexample(files, capsys):
    code, out, _ = run(capsys, "refute", files["wrong"], "--spec", files["spec"], "--max-len", "10", "--json")
    data = json.loads(out)
    assert code == 1 and data["status"] == "refuted"
    assert data["counterexample"]["input"] == [")", "("]


def test_refute_against_a_case_spec_and_a_regex(files, capsys):
    code, out, _ = run(capsys, "refute", files["dyck"], "--spec", "dyck1", "--max-len", "8")
    assert code == 0 and "HOLDS" in out
    code, out, _ = run(capsys, "refute", files["dyck"], "--spec", "regex:(\"(\" \")\")*", "--json")
    assert code == 1 and json.loads(out)["counterexample"]["input"] == ["(", "(", ")", ")"]


@pytest.mark.slow
def test_prove_prints_the_invariant(files, capsys):
    code, out, _ = run(capsys, "prove", files["dyck"], "--spec", files["spec"])
    assert code == 0 and "every length" in out and "invariant" in out and "dips" in out


def test_prove_a_catalogue_case_against_its_own_spec(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "cache.json"))
    code, out, _ = run(capsys, "prove", "tomita1", "--json")
    assert code == 0 and json.loads(out)["status"] == "holds"
    from verify.catalogue import get_case
    from verify.smt.report_columns import NOT_RUN, _load, columns
    # `prove` records its result, but the report's column is a function of its inputs: not run unless asked
    assert any(e["cell"].startswith("proved for all lengths") for e in _load().values())
    assert columns(get_case("tomita1"), prove=False)["z3"] == NOT_RUN


@pytest.mark.slow
def test_equiv_and_empty(files, capsys):
    code, out, _ = run(capsys, "equiv", files["dyck"], files["other"], "--json")
    assert code == 0 and json.loads(out)["status"] == "holds"
    code, out, _ = run(capsys, "equiv", files["dyck"], files["wrong"], "--json")
    assert code == 1 and json.loads(out)["counterexample"]["input"] == [")", "("]
    code, out, _ = run(capsys, "equiv", files["dyck"], "--empty", "--json")
    assert code == 1 and json.loads(out)["counterexample"]["input"] == ["(", ")"]


def test_mutate_command(files, capsys):
    code, out, _ = run(capsys, "mutate", files["dyck"], "--json")
    data = json.loads(out)
    assert code == 0 and data["mutants"] > 5 and data["counts"].get("unknown", 0) == 0


def test_bad_input_exits_2_with_one_message(files, capsys):
    code, _, err = run(capsys, "refute", files["dyck"], "--spec", files["ab"])
    assert code == 2 and "alphabet" in err and "Traceback" not in err
    code, _, err = run(capsys, "refute", files["dyck"], "--spec", "no_such_case")
    assert code == 2 and "unknown case" in err
    code, _, err = run(capsys, "refute", files["dyck"])
    assert code == 2 and "--spec" in err
    code, _, err = run(capsys, "refute", files["dyck"], "--spec", files["spec"], "--mode", "middle")
    assert code == 2 and "--mode" in err
    code, _, err = run(capsys, "equiv", files["dyck"])
    assert code == 2 and "--empty" in err


@pytest.mark.slow
def test_spec_given_as_another_program(files, capsys):
    code, out, _ = run(capsys, "prove", files["dyck"], "--spec", files["other"], "--json")
    assert code == 0 and json.loads(out)["status"] == "holds"
    code, out, _ = run(capsys, "refute", files["wrong"], "--spec", files["dyck"], "--json")
    assert code == 1 and json.loads(out)["counterexample"]["input"] == [")", "("]
