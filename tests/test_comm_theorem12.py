"""Theorem 12 checks: they hold on the catalogue and fail when they should."""
import numpy as np
import pytest

from theorems import theorem12
from verify.verdict import HOLDS, REFUTED, UNKNOWN

import test_comm_fixtures as fx


@pytest.mark.slow
def test_theorem12_checks_hold_on_the_catalogue():
    for check in theorem12.CHECKS:
        report = check()
        assert report.status == HOLDS, [v.summary() for v in report.verdicts if v.status != HOLDS]


def test_protocol_verdict_on_one_case():
    from verify.catalogue import all_cases
    case = next((c for c in all_cases() if c.name == "dyck1"), None)
    if case is None:
        pytest.skip("the catalogue has no dyck1 yet")
    v = theorem12._protocol_verdict(case)
    assert v.status == HOLDS and "all inputs for N ≤" in v.scope


def test_a_wrong_program_is_refuted_with_a_replayable_counterexample():
    """A protocol whose Alice drops the first bit of her message must be caught by the check."""
    from verify.case import LANGUAGE, Case
    from verify.crasp.builder import ProgramBuilder, count, eq, sym
    from verify.comm.protocol import Protocol

    b = ProgramBuilder(("a", "b"))
    b.accept(eq(count(sym("a")), 2))
    case = Case("two_as", "user", LANGUAGE, ("a", "b"), "exactly two a's",
                labels=lambda ids: np.cumsum(ids == 0, axis=1) == 2, program=b.build)
    assert theorem12._protocol_verdict(case).status == HOLDS
    original = Protocol.alice

    def lossy(self, alice_ids):  # Alice "forgets" her first bit
        msg = original(self, alice_ids)
        msg.bits[:, 0] = 0
        return msg
    try:
        Protocol.alice = lossy
        v = theorem12._protocol_verdict(case)
    finally:
        Protocol.alice = original
    assert v.status == REFUTED
    cx = v.counterexample
    assert cx.position is not None and len(cx.input) > 0


@pytest.mark.slow
def test_corollaries_with_stand_in_cases():
    v = theorem12.corollary_verdict("repeat_copy", "copy", case=fx.COPY)
    assert v.status == HOLDS and v.evidence["crossing_program"] == 73
    v = theorem12.corollary_verdict("addition", "addition", case=fx.ADDITION)
    assert v.status == HOLDS
    assert theorem12.corollary_verdict("repeat_copy", "copy", case=fx.BAD_COPY).status == UNKNOWN
