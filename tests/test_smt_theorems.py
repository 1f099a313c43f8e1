"""theorems/smt_claims.py: the checks hold, and their verdicts carry what was checked."""
import pytest

from theorems import smt_claims


def test_wrong_attempts_are_refuted_with_short_replayed_words():
    report = smt_claims.wrong_programs_refuted()
    assert report.status == "holds"
    names = [v.claim.split(":")[0] for v in report.verdicts]
    assert {"parity", "tomita5", "tomita6"} <= set(names)
    for v in report.verdicts:
        assert 1 <= v.evidence["length"] <= smt_claims.REFUTE_MAX_LEN and "replayed" in v.reason
    six = next(v for v in report.verdicts if v.claim.startswith("tomita6"))
    assert six.evidence["counterexample"] in ("0 0 0 0 0 0", "1 1 1 1 1 1")  # the only words with |#0 - #1| = 6


@pytest.mark.slow
@pytest.mark.parametrize("check", [smt_claims.regular_languages_proved, smt_claims.counter_languages_proved])
def test_catalogue_programs_proved_for_all_lengths(check, tmp_path, monkeypatch):
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "cache.json"))
    report = check()
    assert report.verdicts
    for v in report.verdicts:
        assert v.status == "holds", v.summary()
        assert "every length" in v.scope and v.evidence["invariant"] is not None
