"""sympy decisions about positional-encoding families."""
import pytest

from verify.problems import UserError
from verify.symbolic.decide import decide, decide_periodic
from verify.symbolic.families import linear_bias, onehot_mod, rotary, sinusoidal


def test_sinusoidal_original_is_not_periodic_but_invariant_and_not_local():
    r = decide(sinusoidal(4))
    assert r.periodic.status == "fails" and "irrational" in r.periodic.reason
    assert r.translation_invariant.status == "holds"
    assert r.local.status == "fails" and "unbounded" in r.local.reason


def test_rational_frequencies_give_the_least_period():
    assert decide_periodic(sinusoidal(frequencies=["2*pi/3", "pi/2"])).value == 12
    assert decide_periodic(sinusoidal(frequencies=["pi"])).value == 2
    assert decide_periodic(sinusoidal(frequencies=["4*pi/6"])).value == 3


def test_onehot():
    r = decide(onehot_mod(3))
    assert (r.periodic.status, r.periodic.value) == ("holds", 3)
    assert r.translation_invariant.status == "holds"
    assert r.local.status == "fails"
    skew = decide(onehot_mod(3, matrix=[["1", "1", "0"], ["0", "1", "0"], ["0", "0", "1"]]))
    assert skew.translation_invariant.status == "fails" and skew.translation_invariant.witness is not None


def test_rotary():
    r = decide(rotary(["2*pi/5"]))
    assert (r.periodic.status, r.periodic.value) == ("holds", 5)
    assert r.translation_invariant.status == "holds"
    assert r.local.status == "fails"
    assert decide(rotary(["1"])).periodic.status == "fails"


def test_linear_bias():
    r = decide(linear_bias("1/2"))
    assert r.translation_invariant.status == "holds" and r.local.status == "fails"
    w = decide(linear_bias(1, window=3))
    assert (w.local.status, w.local.value) == ("holds", 3)
    assert decide(linear_bias(0)).local.status == "holds"


def test_mixing_frequencies_breaks_invariance():
    A = [["0", "0", "1", "0"], ["0", "0", "0", "1"], ["1", "0", "0", "0"], ["0", "1", "0", "0"]]
    r = decide(sinusoidal(frequencies=["1", "2"], matrix=A))
    assert r.translation_invariant.status == "fails" and r.translation_invariant.witness


def test_bad_parameters():
    with pytest.raises(UserError):
        sinusoidal(3)
    with pytest.raises(UserError):
        onehot_mod(0)
    with pytest.raises(UserError):
        sinusoidal(frequencies=["pi/"])
