"""The catalogue: complete, well-formed, every program agrees with its reference, and a new
case is one new file."""
import json
import textwrap

import pytest

import cases
from verify import catalogue
from verify.catalogue import all_cases, get_case, paper_results
from verify.checking import check_case, sample_len_for
from verify.cli import main
from verify.crasp.checks import check_program
from verify.crasp.fragment import PLAIN, fragment
from verify.problems import UserError

PAPER_TASKS = sorted({task for task, _ in paper_results()})
WITH_PROGRAMS = [c.name for c in all_cases() if c.program is not None]


def test_every_paper_task_is_in_the_catalogue():
    names = {c.name for c in all_cases()}
    assert set(PAPER_TASKS) <= names, set(PAPER_TASKS) - names


@pytest.mark.parametrize("name", [c.name for c in all_cases()])
def test_records_are_consistent(name):
    case = get_case(name)
    program = case.build_program()
    assert case.format in ("language", "sequence")
    if program is None:
        assert case.no_program_reason and not case.expected_ape
    else:
        assert check_program(program) == []
        assert case.expected_ape
        if case.expected_nope:
            assert fragment(program) == PLAIN, "NoPE ✓ needs a plain C-RASP program"
        else:
            assert case.nope_reason or fragment(program) != PLAIN
    if case.format == "sequence":
        assert case.answer is not None and case.input_alphabet
    else:
        assert case.labels is not None


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_PROGRAMS)
def test_every_catalogue_program_agrees_with_its_reference(name):
    case = get_case(name)
    v = check_case(case, budget=1 << 13, samples=200, sample_max_len=sample_len_for(case, 100))
    assert v.status == "holds", v.counterexample


def test_unknown_case_suggests_the_nearest():
    with pytest.raises(UserError, match="dyck1"):
        get_case("dyck")


NEW_CASE = '''
from verify.case import Case, LANGUAGE
from verify.spec import Automaton
from verify.crasp.parser import parse_program

EVEN_B = Automaton.make(("a", "b"), {("e", "a"): "e", ("e", "b"): "o", ("o", "a"): "o", ("o", "b"): "e"},
                        "e", ["e"])
CASES = [Case("user_contains_a", "user", LANGUAGE, ("a", "b"), "strings with at least one a",
              labels=Automaton.make(("a", "b"), {("n", "a"): "y", ("n", "b"): "n", ("y", "a"): "y",
                                                 ("y", "b"): "y"}, "n", ["y"]).labels,
              program=lambda: parse_program('alphabet "a" "b"\\naccept = #["a"] > 0'))]
'''


def test_a_new_case_is_one_new_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "user_case.py").write_text(textwrap.dedent(NEW_CASE))
    monkeypatch.setattr(cases, "__path__", [*cases.__path__, str(tmp_path)])
    monkeypatch.setattr("sys.path", [str(tmp_path), *__import__("sys").path])
    catalogue._load.cache_clear()
    try:
        assert main(["cases", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)["results"]
        assert "user_contains_a" in [r["name"] for r in listed]
        assert main(["check", "user_contains_a", "--json", "--samples", "50"]) == 0
        assert json.loads(capsys.readouterr().out)["results"][0]["status"] == "holds"
    finally:
        catalogue._load.cache_clear()
