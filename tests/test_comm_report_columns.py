"""The communication columns `verify report` adds."""
import pytest

from verify.comm.report_columns import columns

import test_comm_fixtures as fx


def test_certified_task_column():
    col = columns(fx.COPY)
    assert col == {"comm growth": "linear (certified lower bound)", "comm bits@64": 64}


def test_program_and_regular_columns_from_the_catalogue():
    from verify.catalogue import all_cases
    by_name = {c.name: c for c in all_cases()}
    if "dyck1" not in by_name or "tomita3" not in by_name:
        pytest.skip("catalogue cases not present")
    assert columns(by_name["dyck1"]) == {"comm growth": "logarithmic (program protocol)", "comm bits@64": 21}
    col = columns(by_name["tomita3"])
    assert col["comm growth"] == "constant (regular)" and col["comm bits@64"] <= 3
