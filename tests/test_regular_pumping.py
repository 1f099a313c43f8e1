"""Pumping certificates: they re-check from the DFA alone, and a tampered one fails."""
import dataclasses

import pytest

from verify.catalogue import get_case
from verify.regular.dfa import minimal_dfa
from verify.regular.monoid import transition_monoid
from verify.regular.pumping import (membership_pattern, periodic_local_certificates, plain_certificate,
                                    recheck)
from verify.regular.randgen import random_regexes
from verify.regular.regex import regex_dfa

NOT_QUASI_APERIODIC = ["(b*ab*a)*b*", "(b*ab*ab*a)*b*", "(ab*a|b)*a", "a(b*ab*a)*b*|b(a*ba*b)*a*"]


@pytest.mark.parametrize("pattern", NOT_QUASI_APERIODIC)
def test_periodic_local_certificates_recheck(pattern):
    dfa = regex_dfa(pattern, ("a", "b"))
    monoid = transition_monoid(dfa)
    certs = periodic_local_certificates(monoid, deltas=(1, 2, 3, 4, 6))
    assert [c.delta for c in certs] == [1, 2, 3, 4, 6]
    for c in certs:
        ok, why = recheck(c, dfa)
        assert ok, why
        assert len(c.u) == c.stability * c.delta
        assert c.pattern == membership_pattern(dfa, c.x, c.u, c.y, len(c.pattern))


def test_catalogue_tomita5_tomita6_and_parity_are_refuted_for_every_period():
    for name in ("tomita5", "tomita6"):
        dfa = minimal_dfa(get_case(name).spec)
        certs = periodic_local_certificates(transition_monoid(dfa))
        assert certs and all(recheck(c, dfa)[0] for c in certs), name


def test_quasi_aperiodic_languages_get_no_ape_certificate():
    for pattern, alphabet in (("(aa)*", ("a",)), ("((a|b)(a|b))*", ("a", "b")), ("(ab|aabb)*", ("a", "b"))):
        assert periodic_local_certificates(transition_monoid(regex_dfa(pattern, alphabet))) == []


def test_plain_certificate_for_non_aperiodic():
    dfa = regex_dfa("(aa)*", ("a",))
    cert = plain_certificate(transition_monoid(dfa))
    assert cert.delta == 1 and cert.period == 2 and recheck(cert, dfa)[0]
    assert plain_certificate(transition_monoid(regex_dfa("(ab)*"))) is None


def test_tampered_certificates_fail():
    dfa = regex_dfa("(b*ab*a)*b*", ("a", "b"))
    cert = periodic_local_certificates(transition_monoid(dfa), deltas=(2,))[0]
    assert recheck(cert, dfa)[0]
    flipped = dataclasses.replace(cert, pattern=(not cert.pattern[0],) + cert.pattern[1:])
    assert "pattern" in recheck(flipped, dfa)[1] and not recheck(flipped, dfa)[0]
    assert not recheck(dataclasses.replace(cert, u=cert.u + ("b",)), dfa)[0]        # |u| not a multiple of Δ
    assert not recheck(dataclasses.replace(cert, u=("b", "b")), dfa)[0]             # u = bb acts trivially
    assert not recheck(dataclasses.replace(cert, period=3), dfa)[0]
    assert not recheck(dataclasses.replace(cert, stability=cert.stability + 1), dfa)[0]
    # the same words against another language: the stored pattern is not that language's
    other = regex_dfa("(a|b)*a", ("a", "b"))
    assert not recheck(cert, other)[0]


def test_random_non_aperiodic_languages_all_get_valid_certificates():
    n_plain = n_ape = 0
    for p in random_regexes(400, ("a", "b"), seed=5):
        dfa = regex_dfa(p, ("a", "b"))
        m = transition_monoid(dfa)
        if not m.aperiodic:
            cert = plain_certificate(m)
            assert cert is not None and recheck(cert, dfa)[0], p
            n_plain += 1
        if not m.quasi_aperiodic:
            certs = periodic_local_certificates(m, deltas=(1, 3))
            assert len(certs) == 2 and all(recheck(c, dfa)[0] for c in certs), p
            n_ape += 1
    assert n_plain >= 10          # (non-quasi-aperiodic ones are rare at random: see the list above)
