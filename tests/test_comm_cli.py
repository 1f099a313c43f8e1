"""`verify comm-complexity`: output, JSON, plot, and clear errors for bad input."""
import json
from pathlib import Path

import pytest

from verify.cli import main

TESTS = str(Path(__file__).parent)


@pytest.fixture(autouse=True)
def _fixtures_importable(monkeypatch):
    monkeypatch.syspath_prepend(TESTS)


def run(capsys, *args):
    code = main(["comm-complexity", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_copy_json_certified_and_crossing(capsys, tmp_path):
    png = tmp_path / "copy.png"
    code, out, err = run(capsys, "test_comm_fixtures:COPY", "--N", "64", "--json", "--plot", str(png))
    assert code == 0, err
    data = json.loads(out)
    lower = data["lower_bound"]
    assert lower["bits"] == 64 and lower["certificate"]["verified"]
    assert lower["certificate"]["z3"] == {"injective": "unsat", "decoder": "unsat"}
    up = data["upper_bound"]
    n0 = up["any_program"]["crossing_N"]
    assert n0 is not None and up["any_limit_transformer"]["crossing_N"] is not None
    assert up["any_program"]["bits_at_N"] == 8 * 7 + 8 * 2  # default size K = 8, τ = 2, N_A = 65
    assert (64 > up["any_program"]["bits_at_N"]) == (64 >= n0)
    assert data["verdict"] == "not expressible" and "Theorem 12" in data["citation"]
    assert lower["growth"]["class"] == "linear"
    assert png.exists() and png.stat().st_size > 1000


def test_copy_table(capsys):
    code, out, err = run(capsys, "test_comm_fixtures:COPY", "--N", "64", "--K", "2", "--tau", "1")
    assert code == 0, err
    assert "not expressible, not length-generalizable" in out and "Theorem 12" in out
    assert "unsat" in out


def test_user_language_function(capsys):
    code, out, err = run(capsys, "test_comm_fixtures:parity", "--N", "6", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [r["bits"] for r in data["lower_bound"]["exact_rows"]] == [1] * 6
    assert data["lower_bound"]["growth"]["class"] == "constant"
    assert data["verdict"] == "no separation by communication"


@pytest.mark.parametrize("args,code,needle", [
    (["no_such_task"], 2, "unknown case"),
    (["test_comm_fixtures:COPY", "--N", "0"], 2, "too small"),
    (["test_comm_fixtures:COPY", "--N", "64", "--method", "rows"], 2, "--method certificate"),
    (["test_comm_fixtures:COPY", "--N", "9000"], 2, "too large"),
    (["test_comm_fixtures:parity", "--method", "certificate"], 2, "--method rows"),
    (["test_comm_fixtures:parity", "--method", "protocol"], 2, "no C-RASP program"),
    (["test_comm_fixtures:broken", "--N", "3"], 1, "raised ValueError"),
    (["no_such_module_xyz:f"], 2, "cannot import"),
    (["test_comm_fixtures:nothing"], 2, "no attribute"),
    (["test_comm_fixtures:COPY", "--plot", __file__ + "/x.png", "--N", "4"], 2, "cannot create the folder"),
    (["test_comm_fixtures:COPY", "--K", "0"], 2, "--K"),
])
def test_bad_input_is_one_clear_message(capsys, args, code, needle):
    got, out, err = run(capsys, *args)
    assert got == code
    assert needle in err
    assert "Traceback" not in err + out
