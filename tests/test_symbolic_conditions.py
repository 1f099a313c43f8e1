"""PERIODIC of p_i and LOCAL of the position term, as SPEC §2 defines them (verify.symbolic.decide)."""
import json

import numpy as np
import pytest
import sympy as sp

from verify.cli import main
from verify.problems import UserError
from verify.symbolic.decide import _ape_terms, _evaluate, _rotary_terms, decide, decide_periodic, turns
from verify.symbolic.families import I, J, linear_bias, onehot_mod, rotary, sinusoidal


def _numeric_period(family, top=200):
    """The least Δ <= top with p_(i+Δ) = p_i on i = 0..2·top (float64), from the formulas themselves."""
    vec = sp.lambdify(I, family.vectors(), "numpy")
    rows = np.array([np.array(vec(i), dtype=float) for i in range(3 * top)])
    for delta in range(1, top + 1):
        if np.allclose(rows[delta:], rows[:-delta], atol=1e-9):
            return delta
    return None


@pytest.mark.parametrize("freqs, period", [
    ("2*pi/3, pi/2", 12), ("pi", 2), ("4*pi/6", 3), ("2*pi/5, 2*pi/7", 35), ("6*pi/7", 7),
    ("2*pi/5 + 2*pi", 5), ("0, 2*pi/3", 3), ("(1 + sqrt(2))^2*pi - 2*sqrt(2)*pi", 2),
])
def test_rational_frequencies_give_the_least_period_exactly(freqs, period):
    fam = sinusoidal(frequencies=freqs)
    dec = decide_periodic(fam)
    assert (dec.status, dec.value) == ("holds", period)
    assert _numeric_period(fam, top=2 * period) == period


@pytest.mark.parametrize("freqs, why", [
    ("1", "transcendental"), ("sqrt(2)*pi", "degree 2"), ("pi^2", "transcendental"), ("2*pi/5, 1/3", "transcendental"),
])
def test_irrational_frequencies_prove_that_no_period_exists(freqs, why):
    dec = decide_periodic(sinusoidal(frequencies=freqs))
    assert dec.status == "fails" and why in dec.reason and dec.witness
    assert _numeric_period(sinusoidal(frequencies=freqs), top=60) is None


def test_turns():
    assert turns(2 * sp.pi / 5).value == sp.Rational(1, 5)
    assert turns(sp.Integer(1)).status == "irrational"
    assert turns(sp.sqrt(2) * sp.pi).status == "irrational"
    assert turns(sp.Integer(0)).value == 0


def test_onehot_holds_both_whatever_the_matrix():
    """Theorem 9's encoding: PERIODIC (Δ) and a remainder of 0 — LOCAL with τ = 0 (it used to 'FAIL LOCAL')."""
    for A in (None, [["1", "1", "0"], ["0", "1", "0"], ["0", "0", "1"]]):
        r = decide(onehot_mod(3, matrix=A))
        assert (r.periodic.status, r.periodic.value) == ("holds", 3)
        assert r.decomposition.status == "holds" and "remainder = 0" in r.decomposition.value
        assert (r.local.status, r.local.value) == ("holds", 0)
    r = decide(onehot_mod(5))
    assert (r.periodic.value, r.local.status) == (5, "holds")


def test_default_sinusoidal_is_not_periodic_and_its_remainder_is_not_local():
    fam = sinusoidal(4)
    r = decide(fam)
    assert r.periodic.status == "fails" and "transcendental" in r.periodic.reason
    assert r.decomposition.value.startswith("periodic part: 0 term(s), remainder: 4")
    assert r.translation_invariant.status == "holds"
    assert r.local.status == "fails" and "unbounded" in r.local.reason
    k, g = r.local.witness["k"], float(r.local.witness["g(k)"])
    product = sp.lambdify((I, J), fam.product(), "mpmath")
    assert abs(float(product(k, 0)) - g) < 1e-8 and abs(g) > 1e-6


def test_rational_frequencies_hold_both():
    r = decide(sinusoidal(frequencies="2*pi/5, 2*pi/7"))
    assert (r.periodic.value, r.local.status, r.local.value) == (35, "holds", 0)
    assert r.decomposition.value == "periodic part: 4 term(s), remainder: 0"


def test_mixed_frequencies_split_into_a_periodic_part_and_a_non_local_remainder():
    r = decide(sinusoidal(frequencies="2*pi/5, 1"))
    assert r.periodic.status == "fails"
    assert r.decomposition.value == "periodic part: 2 term(s), remainder: 2"
    assert r.translation_invariant.status == "holds" and r.local.status == "fails"


def test_mixing_frequencies_breaks_invariance_with_a_replayable_witness():
    A = [["0", "0", "1", "0"], ["0", "0", "0", "1"], ["1", "0", "0", "0"], ["0", "1", "0", "0"]]
    fam = sinusoidal(frequencies=["1", "2"], matrix=A)
    r = decide(fam)
    assert r.translation_invariant.status == "fails" and r.local.status == "fails"
    w = r.local.witness
    product = sp.lambdify((I, J), fam.product(), "mpmath")
    i, j, t = w["i"], w["j"], w["t"]
    assert abs(float(product(i, j)) - float(w["R(i,j)"])) < 1e-8
    assert abs(float(product(i + t, j + t)) - float(w["R(i+t,j+t)"])) < 1e-8
    assert abs(float(w["R(i,j)"]) - float(w["R(i+t,j+t)"])) > 1e-6


@pytest.mark.parametrize("family", [
    sinusoidal(frequencies="1, 2*pi/3", matrix="1,2,0,0;0,1,1/2,0;3,0,1,1;0,0,-1,2"),
    sinusoidal(frequencies="2*pi/5, 2*pi/5"),
    rotary("1, 2*pi/7", q=["1", "2", "0", "1"], k=["1/2", "1", "3", "-1"]),
])
def test_exponential_terms_equal_the_formula(family):
    """The decisions read exact exponential-polynomial terms; they must equal the family's own formula."""
    angles, terms = (_rotary_terms if family.name == "rotary" else _ape_terms)(family)
    product = sp.lambdify((I, J), family.product(), "mpmath")
    points = [(i, j) for i in range(7) for j in range(i + 1)] + [(1000, 3)]
    for (i, j), v in zip(points, _evaluate(angles, terms, points)):
        assert abs(complex(v) - complex(product(i, j))) < 1e-20 * max(1.0, abs(complex(v))) + 1e-12


def test_rotary_and_alibi_read_p_i_the_same_way():
    """Neither adds anything to the residual stream: PERIODIC of p_i holds trivially for both (Δ = 1)."""
    rot, ali = decide(rotary("1, 2")), decide(linear_bias("1"))
    for r in (rot, ali):
        assert (r.periodic.status, r.periodic.value) == ("holds", 1)
        assert "adds nothing to the residual stream" in r.periodic.reason
    assert rot.local.status == "n/a" and "outside the paper's APE setting" in rot.coverage
    assert "exactly the Limit Transformer's position-only term" in ali.coverage
    names = [a.property for a in rot.analogues]
    assert names == ["ROTATION PERIODIC", "RELATIVE", "ROTATION LOCAL"]
    assert [a.status for a in rot.analogues] == ["fails", "holds", "fails"]
    periodic = decide(rotary(["2*pi/5", "pi/2"])).analogues[0]
    assert (periodic.status, periodic.value) == ("holds", 20)


def test_alibi_local_is_the_window():
    assert decide(linear_bias("1/2")).local.status == "fails"
    w = decide(linear_bias(1, window=3))
    assert (w.local.status, w.local.value) == ("holds", 3)
    assert decide(linear_bias(0)).local.value == 0


def test_command_labels_and_json(capsys):
    assert main(["conditions", "onehot", "--period", "5"]) == 0
    out = capsys.readouterr().out
    assert "HOLDS   PERIODIC (Δ = 5)" in out and "HOLDS   LOCAL (τ = 0)" in out
    assert main(["conditions", "sinusoidal", "--frequencies", "2*pi/5,2*pi/7", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["periodic"]["value"] == "35" and data["local"]["status"] == "holds"
    assert main(["conditions", "rotary", "--thetas", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "FAILS   PERIODIC" not in out and "FAILS   ROTATION PERIODIC" in out and "N/A     LOCAL" in out


def test_bad_parameters():
    with pytest.raises(UserError):
        sinusoidal(3)
    with pytest.raises(UserError):
        onehot_mod(0)
    with pytest.raises(UserError):
        sinusoidal(frequencies=["pi/"])
    with pytest.raises(UserError):
        sinusoidal(frequencies=[float("nan")])
    # numbers outside the grammar's field (e is not known to make e/2π irrational): refused, not guessed
    with pytest.raises(UserError, match="rational powers"):
        sinusoidal(frequencies=[sp.E])
    with pytest.raises(UserError, match="--frequencies"):
        sinusoidal(frequencies="10^20")


def test_numeric_conditions_split_a_periodic_part_from_a_local_remainder():
    """verify.limit.conditions reads LOCAL off what a head adds beyond the periodic part's own product:
    a one-hot absolute block used by a band plus A[i mod 3, j mod 3] is PERIODIC part + LOCAL remainder."""
    from verify.limit.conditions import audit
    n, period = 36, 3
    table = np.zeros((n, n + period))
    table[:, :n] = np.eye(n)
    table[np.arange(n), n + np.arange(n) % period] = 1.0
    off = np.arange(n)[:, None] - np.arange(n)[None, :]
    wk = np.zeros((n + period, n + period))
    wk[:n, :n], wk[n:, n:] = np.eye(n), np.eye(period)
    reports = []
    for G in (np.where((off >= 0) & (off <= 2), 1.0 + off, 0.0), np.tril(np.ones((n, n)))):
        wq = np.zeros((n + period, n + period))
        wq[:n, :n] = G
        wq[n:, n:] = np.arange(1.0, 10.0).reshape(3, 3)          # not circulant: M is not invariant as a whole
        reports.append(audit(table, [(0, 0, wq, wk)]))
    band, copy = reports
    assert not band.periodic and band.periodic_part == 3 and len(band.split.remainder_columns) == n
    assert band.local and not band.local_as_a_whole
    assert band.heads[0].remainder_locality.effective_radius == 2
    assert not copy.local


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-30, 30), st.integers(1, 12)), min_size=1, max_size=3),
       st.booleans())
def test_periods_and_splits_agree_with_the_formulas(turn_list, add_irrational):
    """Random frequencies 2π·p/q (plus, sometimes, ω = 1): the exact period matches the numeric one,
    and the split puts exactly the rational-turn products in the periodic part."""
    texts = [f"2*pi*{p}/{q}" for p, q in turn_list] + (["1"] if add_irrational else [])
    fam = sinusoidal(frequencies=",".join(texts))
    r = decide(fam)
    if add_irrational:
        assert r.periodic.status == "fails" and r.local.status == "fails"
    else:
        assert r.periodic.status == "holds" and r.local.status == "holds"
        assert _numeric_period(fam, top=r.periodic.value) == r.periodic.value
