"""Proof certificates (verify/smt/certificates.py): an earlier proof's invariant, re-checked instead of searched
for. A certificate is only a hint: a wrong, stale, foreign or garbled one fails the check and the report proves
from scratch; the shipped file covers the catalogue with current keys."""
import json

import pytest

from verify.catalogue import all_cases, get_case
from verify.smt import certificates as C
from verify.smt import report_columns as rc
from verify.smt.induction import InductionSettings, prove
from verify.smt.miter import Miter
from verify.verdict import HOLDS


def miter(name):
    case = get_case(name)
    return Miter(case.build_program(), case.spec)


@pytest.fixture(scope="module")
def d2_certificate():
    v = prove(miter("d2"), InductionSettings(), keep_certificate=True)
    assert v.status == HOLDS
    return v.evidence["certificate"]


def test_a_proofs_certificate_rechecks_for_every_length(d2_certificate):
    v = C.check(miter("d2"), d2_certificate)
    assert v is not None and v.status == HOLDS and "every length" in v.scope
    assert v.evidence["certificate"] and v.evidence["conjuncts"] == d2_certificate["conjuncts"]
    assert "re-checked" in v.method


def test_a_weakened_certificate_fails_the_check(d2_certificate):
    """Each conjunct alone, and the empty invariant, prove nothing for D-2 (the program's counters need
    the invariant's relations): the check refuses every one rather than trusting the file."""
    text = d2_certificate["smt2"]
    head, body = text.split("(assert", 1)
    asserts = ["(assert" + a for a in body.split("(assert")]
    asserts[-1] = asserts[-1].replace("(check-sat)", "")
    weakened = [dict(d2_certificate, smt2=head + a) for a in asserts] + [dict(d2_certificate, smt2=head)]
    assert all(C.check(miter("d2"), w) is None for w in weakened)


@pytest.mark.parametrize("change", [
    lambda c: dict(c, smt2="(assert false)"),                  # false holds nowhere, not even initially
    lambda c: dict(c, smt2="(assert (= x 1)"),                 # not SMT-LIB
    lambda c: dict(c, smt2="(declare-fun zz () Int)\n(assert (= zz 0))"),   # a variable the product lacks
    lambda c: dict(c, smt2="(declare-fun |z z(| () Int)\n(assert (= |z z(| 0))"),   # the same, quoted
    lambda c: dict(c, smt2="(declare-const zz Int)\n" + c["smt2"].replace("(assert", "(assert (= zz zz)) (assert", 1)),
    lambda c: dict(c, smt2="(define-fun zz () Bool true)\n" + c["smt2"]),
    lambda c: dict(c, smt2=c["smt2"].replace("() Int)", "() Bool)", 1)),    # a variable with another sort
    lambda c: dict(c, smt2=c["smt2"].replace("(assert", "(assert (= undeclared 0)) (assert", 1)),
    lambda c: dict(c, k=-1), lambda c: dict(c, k="0"), lambda c: dict(c, k=99),
    lambda c: {k: v for k, v in c.items() if k != "smt2"},
])
def test_a_garbled_certificate_fails_the_check(d2_certificate, change):
    assert C.check(miter("d2"), change(d2_certificate)) is None


def test_a_certificate_proves_nothing_about_another_program(d2_certificate):
    """D-2's invariant against D-3's product (other claim) and against a wrong program for D-2."""
    assert C.check(miter("d3"), d2_certificate) is None
    wrong = get_case("d3").build_program()          # accepts depth 3: wrong for D-2
    assert C.check(Miter(wrong, get_case("d2").spec), d2_certificate) is None


def test_the_shipped_certificates_cover_the_catalogue_with_current_keys():
    """Every case with a program and a specification has an entry whose key is its current program and
    spec (else: `python -m verify.smt.certificates --write CASE`), a certificate or the reason it has none."""
    doc = json.loads(C.SHIPPED.read_text())["cases"]
    stale = []
    for case in all_cases():
        program = case.build_program()
        if program is None or case.spec is None:
            continue
        entry = doc.get(case.name)
        if entry is None or entry["key"] != C.key(program, case.spec):
            stale.append(case.name)
        else:
            assert "smt2" in entry or entry.get("none"), case.name
    assert not stale, f"stale or missing certificates: {stale}; run python -m verify.smt.certificates --write " \
                      + " ".join(stale)
    assert sum("smt2" in e for e in doc.values()) >= 28     # every proof in the catalogue closes


def test_every_shipped_certificate_parses_over_its_product():
    """Each shipped invariant reads back over its case's product, names quoted |like.this(| included (a
    certificate that no longer parses makes the report search from scratch, silently slower)."""
    doc = json.loads(C.SHIPPED.read_text())["cases"]
    unreadable = [name for name, entry in doc.items()
                  if "smt2" in entry and C._invariant(miter(name), entry) is None]
    assert not unreadable
    assert any("|" in entry.get("smt2", "") for entry in doc.values())   # the quoted case is exercised


@pytest.mark.slow
def test_every_shipped_certificate_passes_its_check():
    doc = json.loads(C.SHIPPED.read_text())["cases"]
    failed = [name for name, entry in doc.items() if "smt2" in entry and C.check(miter(name), entry) is None]
    assert not failed


def test_the_report_rechecks_a_shipped_certificate_and_ignores_a_bad_one(monkeypatch, tmp_path, d2_certificate):
    """With a certificate the report's cell comes from the check (the search is never run); with one that
    fails the check, the search runs as before."""
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "smt.json"))
    case = get_case("d2")
    key = C.key(case.build_program(), case.spec)
    searched = []

    def fake_prove(m, settings, **kw):
        searched.append(1)
        return prove(m, settings, **kw)
    monkeypatch.setattr("verify.smt.induction.prove", fake_prove)
    monkeypatch.setattr(C, "shipped", lambda: {key: d2_certificate})
    assert rc.z3_cell(case, True, use_cache=False) == "proved for all lengths (0-induction)" and not searched
    monkeypatch.setattr(C, "shipped", lambda: {key: dict(d2_certificate, smt2="(assert false)")})
    assert rc.z3_cell(case, True, use_cache=False).startswith("proved for all lengths") and searched == [1]
