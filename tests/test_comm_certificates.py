"""Injectivity certificates, crossings and growth classes."""
import numpy as np
import pytest

from verify.comm.certificates import ProgramSize, TransformerSize, certify, crossing
from verify.comm.growth import classify
from verify.comm.matrix import one_way_rows
from verify.comm.reference import from_case
from verify.problems import UserError

import test_comm_fixtures as fx


@pytest.mark.parametrize("case", [fx.COPY, fx.ADDITION])
@pytest.mark.parametrize("n", [1, 5, 64])
def test_certificates_verify(case, n):
    c = certify(from_case(case), n)
    assert c.verified, (c.failures, c.z3)
    if case is fx.COPY:
        assert c.bits == n and c.messages == 2 ** n
    else:  # operands without leading zeros: 2^(N-1) Alice halves (both one-bit operands for N = 1)
        assert c.messages == (2 ** (n - 1) if n > 1 else 2) and c.bits == max(1, n - 1)
    assert c.cross_checked_small > 0 and c.decoded_random > 0


@pytest.mark.slow
@pytest.mark.parametrize("case", [fx.COPY, fx.ADDITION])
def test_certificates_at_1000(case):
    assert certify(from_case(case), 1000, samples=20).verified


@pytest.mark.parametrize("case", [fx.BAD_COPY, fx.NO_CARRY])
def test_a_reference_that_breaks_the_model_is_not_certified(case):
    c = certify(from_case(case), 16)
    assert not c.verified and c.failures


def test_certificate_agrees_with_exact_rows_at_small_n():
    """Where both apply, the certificate's bound is at most the exact one-way complexity."""
    task = from_case(fx.COPY)
    for n in range(1, 6):
        assert certify(task, n).bits <= one_way_rows(task, n).bits == n


def test_no_certificate_for_other_tasks():
    from verify.comm.reference import from_function
    with pytest.raises(UserError, match="rows"):
        certify(from_function("p", fx.parity, ("0", "1")), 8)
    with pytest.raises(UserError, match="too small"):
        certify(from_case(fx.COPY), 0)


SMALL_SIZES = [ProgramSize(8, 2), ProgramSize(1, 0), TransformerSize(types=16),
               TransformerSize(layers=1, heads=1, types=2, width=4, precision=8, radius=1),
               TransformerSize(layers=1, heads=1, width=2, precision=3, radius=1)]  # T = 2^6 derived


@pytest.mark.parametrize("size", SMALL_SIZES)
@pytest.mark.parametrize("slope,extra", [(1.0, 1), (np.log2(3), 0)])
def test_crossing_is_the_last_change(size, slope, extra):
    n0 = crossing(slope, size.bits, extra)
    ns = np.arange(n0, n0 + 5000)
    assert np.all(np.ceil(ns * slope - 1e-9) > size.bits(ns + extra))
    if n0 > 1:
        assert np.ceil((n0 - 1) * slope - 1e-9) <= size.bits(np.array([n0 - 1 + extra]))[0]
    # the exact (integer, any magnitude) crossing agrees with the scan wherever the scan works
    assert size.crossing(slope, 0, extra) == n0


def test_types_per_head_come_from_width_and_precision():
    """Theorem 12's protocol sends one multiplicity per (key, value) type; a type is a function of a
    d-dimensional residual vector of p-bit numbers, so T = 2^(p·d) unless --types overrides it."""
    t = TransformerSize(layers=2, heads=3, width=16, precision=16, radius=2)
    assert t.types_per_head == 2 ** 256 and not t.assumed_types
    assert t.bits_exact(65) == 2 * 3 * 2 ** 256 * 7 + 2 * 3 * 16 * 16
    assert "2^256" in t.describe() and "ASSUMED" not in t.describe()
    o = TransformerSize(types=16)
    assert o.types_per_head == 16 and "ASSUMED" in o.describe()


@pytest.mark.parametrize("width,precision", [(16, 16), (64, 32)])
def test_crossing_for_the_derived_size_is_exact_at_any_magnitude(width, precision):
    """With T = 2^(p·d) the crossing is astronomically far; it is still the last change, in exact
    integers: the certified line N (copy over two symbols) exceeds the bound at N0 and later dyadic
    block starts, and not at N0 − 1."""
    t = TransformerSize(width=width, precision=precision)
    n0 = t.crossing(1.0, 0, 1)
    assert n0 > 2 ** (width * precision)
    assert n0 > t.bits_exact(n0 + 1) and all(n > t.bits_exact(n + 1) for n in (n0 + 1, 2 * n0, 4 * n0, n0 ** 2))
    assert not n0 - 1 > t.bits_exact(n0)
    with pytest.raises(UserError, match="overtake"):
        crossing(1.0, t.bits, 1)  # the numeric scan cannot reach it: that is why the exact one exists


def test_program_size_formula():
    assert ProgramSize(3, 1).bits(np.array([64]))[0] == 3 * 7 + 3


@pytest.mark.parametrize("ys,kind", [
    ([1, 1, 1, 1, 1, 1], "constant"),
    ([1, 2, 2, 3, 3, 3, 3], "constant"),
    ([3, 6, 9, 12, 15, 18], "logarithmic"),   # at N = 1, 2, 4, ...: a·log₂N + b
    ([1, 2, 4, 8, 16, 32], "linear"),
])
def test_growth_classes(ys, kind):
    ns = [2 ** j for j in range(len(ys))]
    assert classify(ns, ys).kind == kind


def test_growth_needs_three_points():
    assert classify([1, 2], [1, 2]).kind == "undetermined"
