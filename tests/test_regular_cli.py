"""`verify classify`: the JSON keys the issue lists, exit codes, the three input kinds, bad input."""
import json

import pytest

from verify.cli import main
from verify.regular.classify import KEYS

CLASS_KEYS = {"R", "R_omega", "aperiodic", "quasi_aperiodic"}


def run(capsys, *args):
    code = main(["classify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_keys_and_values(capsys):
    code, out, _ = run(capsys, "(ab|aabb)*", "--json", "--acceptance", "end", "--budget", "0")
    data = json.loads(out)
    assert tuple(data) == ("schema_version", "command", *KEYS) and set(data["classes"]) == CLASS_KEYS
    assert data["regex"] == "(ab|aabb)*" and data["alphabet"] == ["a", "b"] and data["acceptance"] == "end"
    assert data["states"] == 5 and data["classes"]["aperiodic"] and not data["classes"]["R_omega"]
    assert data["crasp"] is False and data["crasp_periodic_local"] is None
    assert data["certificate"]["crasp"]["rests_on"] == "decider"
    assert "undecided" in data["certificate"]["crasp_periodic_local"]["explanation"]
    assert code == 3                                   # APE undecided


def test_acceptance_matters_for_sigma_star_b(capsys):
    code, out, _ = run(capsys, "(a|b)*b", "--json", "--budget", "0")
    last = json.loads(out)
    assert last["crasp"] is True and last["crasp_periodic_local"] is True and code == 0
    code, out, _ = run(capsys, "(a|b)*b", "--alphabet", "a,b,c", "--acceptance", "end", "--json", "--budget", "0")
    end = json.loads(out)
    assert end["crasp"] is False and end["alphabet"] == ["a", "b", "c"]


def test_pumping_certificate_in_json(capsys):
    code, out, _ = run(capsys, "tomita5", "--json", "--budget", "0")
    data = json.loads(out)
    assert code == 0 and data["crasp"] is False and data["crasp_periodic_local"] is False
    ape = data["certificate"]["crasp_periodic_local"]
    assert ape["rests_on"] == "pumping"
    cert = ape["witness"]["certificates"][1]
    assert cert["delta"] == 2 and cert["u_length"] % 2 == 0 and len(set(cert["pattern"][1:])) == 2


def test_text_output_names_what_each_verdict_rests_on(capsys):
    code, out, _ = run(capsys, "tomita3", "--budget", "0")
    assert code == 3
    assert "NoPE (C-RASP): no — " in out and "decider" in out and "pumping (Δ = 1, re-checked)" in out
    assert "APE (C-RASP[periodic,local]): undecided" in out and "quasi-aperiodic" in out


def test_dfa_file_and_regex_file(tmp_path, capsys):
    dfa = tmp_path / "parity.dfa"
    dfa.write_text(json.dumps({"alphabet": ["a", "b"], "start": "e", "accepting": ["e"],
                               "transitions": {"e": {"a": "o", "b": "e"}, "o": {"a": "e", "b": "o"}}}))
    code, out, _ = run(capsys, str(dfa), "--json", "--budget", "0")
    data = json.loads(out)
    assert code == 0 and data["regex"] is None and data["states"] == 2 and data["crasp_periodic_local"] is False
    txt = tmp_path / "langs.txt"
    txt.write_text("# a comment\n(ab)*\n\n(a|b)*bb(a|b)*\n")
    code, out, _ = run(capsys, str(txt), "--json", "--budget", "0")
    rows = json.loads(out)["results"]
    assert [r["regex"] for r in rows] == ["(ab)*", "(a|b)*bb(a|b)*"] and rows[0]["crasp"] is True
    assert code == 3                                   # Σ*bbΣ*: APE undecided without a program
    code, out, _ = run(capsys, str(txt), "--budget", "0")
    assert "(ab)*" in out and code == 3


DFA_OK = {"alphabet": ["a"], "start": "p", "accepting": ["p"], "transitions": {"p": {"a": "q"}, "q": {"a": "p"}}}


@pytest.mark.parametrize("args,needle", [
    (["(ab"], "regex:1:1: unbalanced parenthesis"),
    (["a|*"], "regex:1:3"),
    (["a" * 10_001], "the limit is 10000"),
    (["ab", "--alphabet", "a,,b"], "empty symbol"),
    (["ab", "--alphabet", ","], "--alphabet is empty"),
    (["ab", "--alphabet", "a,a,b"], "repeats a symbol"),
    (["ab", "--alphabet", " "], "--alphabet is empty"),
    (["ab", "--alphabet", "a"], "not in the alphabet"),
    (["ε"], "alphabet is empty"),
    (["ab", "--acceptance", "middle"], "--acceptance must be last or end"),
    (["ab", "--budget", "-1"], "--budget"),
    (["mypkg.tasks:reverse"], "comm-complexity"),
    (["bin_majority"], "comm-complexity"),
    (["tomita3", "--alphabet", "0,1"], "--alphabet applies to regular expressions"),
    (["missing.dfa"], "no such file"),
])
def test_bad_input_is_one_message_exit_2(capsys, args, needle):
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert needle in err and "Traceback" not in err and out == ""


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["transitions"]["q"].pop("a"), "state 'q' has no transition on 'a'"),
    (lambda d: d["transitions"]["q"].update(a="r"), "to 'r', which is not a state"),
    (lambda d: d.update(start="s"), "start state 's' is not a state"),
    (lambda d: d.update(accepting=["z"]), "accepting state 'z' is not a state"),
    (lambda d: d.update(alphabet=[]), "the alphabet is empty"),
    (lambda d: d["transitions"]["p"].update(b="p"), "'b', which is not in the alphabet"),
    (lambda d: d.pop("start"), "'start' is missing"),
])
def test_bad_dfa_files_are_located(tmp_path, capsys, mutate, needle):
    data = json.loads(json.dumps(DFA_OK))
    mutate(data)
    path = tmp_path / "bad.dfa"
    path.write_text(json.dumps(data, indent=2))
    code, out, err = run(capsys, str(path))
    assert code == 2 and needle in err and err.startswith(f"{path}:") and "Traceback" not in err
    line = int(err.split(":")[1])
    assert line >= 1


def test_bad_json_and_bad_regex_line_are_located(tmp_path, capsys):
    bad = tmp_path / "bad.dfa"
    bad.write_text('{"alphabet": ["a"],\n  oops}')
    code, _, err = run(capsys, str(bad))
    assert code == 2 and f"{bad}:2:" in err and "not valid JSON" in err
    txt = tmp_path / "bad.txt"
    txt.write_text("(ab)*\n  (a|b\n")
    code, _, err = run(capsys, str(txt), "--budget", "0")
    assert code == 2 and f"{txt}:2:3: unbalanced parenthesis" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    code, _, err = run(capsys, str(empty))
    assert code == 2 and "no regular expression" in err


def test_synthesized_program_settles_ape_for_aa_star(capsys):
    """Depends on synthesis (verify/regular/synthesis.py): (aa)* is not plain C-RASP but has a periodic
    program; APE becomes true only through a program proved for all lengths."""
    pytest.importorskip("verify.regular.synthesis")
    code, out, _ = run(capsys, "(aa)*", "--json", "--budget", "60")
    data = json.loads(out)
    assert data["crasp"] is False
    assert data["program"] and data["program_proof"].startswith("proved for all lengths"), data["certificate"]
    assert data["crasp_periodic_local"] is True and code == 0
    assert data["certificate"]["crasp_periodic_local"]["rests_on"] == "proved program for all lengths"


def test_too_large_is_undecided_not_an_error(capsys):
    """(a|b)*a(a|b)^15: 2^16 DFA states, past the subset-construction cap: undecided (exit 3)."""
    code, out, err = run(capsys, "(a|b)*a" + "(a|b)" * 15, "--json", "--budget", "0")
    data = json.loads(out)
    assert code == 3 and data["crasp"] is None and data["crasp_periodic_local"] is None
    assert "too large" in data["certificate"]["crasp"]["explanation"]


def test_monoid_cap_leaves_the_decider_running():
    """A 12-state DFA whose monoid passes a small cap: classes undecided, the decider still answers."""
    from verify.regular.classify import classify_dfa
    from verify.regular.monoid import transition_monoid
    from verify.regular.regex import TooLarge, regex_dfa
    dfa = regex_dfa("(a|b)*a(a|b)(a|b)", ("a", "b"))
    with pytest.raises(TooLarge):
        transition_monoid(dfa, cap=10)
    import verify.regular.classify as C
    old = C.transition_monoid
    try:
        C.transition_monoid = lambda d, **kw: transition_monoid(d, cap=10, **kw)
        r = classify_dfa(dfa, "last")
    finally:
        C.transition_monoid = old
    assert r.classes["aperiodic"] is None and r.crasp.value is False and r.ape.value is None
    assert any("monoid too large" in n for n in r.notes)
