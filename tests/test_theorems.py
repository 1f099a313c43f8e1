"""theorems/: discovery, and the expressibility checks (which can fail)."""
from dataclasses import replace

import pytest

from theorems import discover, expressibility
from verify.catalogue import get_case
from verify.crasp.parser import parse_program


def test_every_theorem_module_is_discovered():
    modules = {m for m, _ in discover()}
    assert {"expressibility", "theorem9", "theorem12", "smt_claims", "torch_bridge_checks"} <= modules


@pytest.mark.slow
def test_expressibility_holds_on_the_catalogue():
    expressibility.checked.cache_clear()
    for check in expressibility.CHECKS:
        report = check()
        assert report.status == "holds", [v.summary() for v in report.verdicts if not v.ok]
        assert all("exhaustive" in v.scope for v in report.verdicts)


def test_expressibility_is_refuted_by_a_wrong_program(monkeypatch):
    wrong = parse_program('alphabet "(" ")"\naccept = #["("] == #[")"]')
    broken = replace(get_case("dyck1"), name="dyck1_broken", program=lambda: wrong)
    monkeypatch.setattr(expressibility, "all_cases", lambda: (broken,))
    expressibility.checked.cache_clear()
    try:
        report = expressibility.ape_programs()
        assert report.status == "refuted"
        assert report.verdicts[0].counterexample.input == (")", "(")
    finally:
        expressibility.checked.cache_clear()


def test_a_task_without_a_plain_program_is_unknown_for_nope(monkeypatch):
    periodic = replace(get_case("aa_star"), name="aa_star_claimed_nope", expected_nope=True)
    monkeypatch.setattr(expressibility, "all_cases", lambda: (periodic,))
    expressibility.checked.cache_clear()
    try:
        report = expressibility.nope_programs()
        assert report.status == "unknown" and "not in plain C-RASP" in report.verdicts[0].reason
    finally:
        expressibility.checked.cache_clear()
