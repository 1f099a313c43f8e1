"""theorems/theorem9.py: every check holds on the catalogue (about 20 s together)."""
import pytest

from theorems.theorem9 import CHECKS


@pytest.mark.slow
@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_theorem9_checks_hold(check):
    report = check()
    bad = [v.summary() for v in report.verdicts if v.status != "holds"]
    assert report.status == "holds", bad
    assert report.verdicts
