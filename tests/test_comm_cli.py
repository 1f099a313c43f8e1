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


@pytest.mark.slow
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
    code, out, err = run(capsys, "test_comm_fixtures:parity", "--N", "6", "--json", "--alphabet", "0,1")
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
    (["test_comm_fixtures:parity", "--alphabet", "0,1", "--method", "certificate"], 2, "--method rows"),
    (["test_comm_fixtures:parity", "--alphabet", "0,1", "--method", "protocol"], 2, "no C-RASP program"),
    (["test_comm_fixtures:broken", "--alphabet", "0,1", "--N", "3"], 1, "raised ValueError"),
    # issue 20: the alphabet of a reference function is never guessed ({0,1} used to be assumed silently)
    (["test_comm_fixtures:parity", "--N", "3"], 2, "--alphabet"),
    (["test_comm_fixtures:mod3_a", "--N", "3"], 2, "--alphabet"),
    (["test_comm_fixtures:parity", "--alphabet", "0,,1"], 2, "--alphabet"),
    (["test_comm_fixtures:COPY", "--alphabet", "a,b", "--N", "4"], 2, "--alphabet applies to a reference function"),
    (["parity", "--format", "language", "--N", "4"], 2, "--format applies to a reference function"),
    (["no_such_module_xyz:f"], 2, "cannot import"),
    (["test_comm_fixtures:nothing"], 2, "no attribute"),
    (["test_comm_fixtures:COPY", "--plot", __file__ + "/x.png", "--N", "4"], 2, "folder"),
    (["test_comm_fixtures:COPY", "--K", "0"], 2, "--K"),
])
def test_bad_input_is_one_clear_message(capsys, args, code, needle):
    got, out, err = run(capsys, *args)
    assert got == code
    assert needle in err
    assert "Traceback" not in err + out


def test_a_mod3_language_over_ab_is_bounded_over_its_own_alphabet(capsys):
    """Issue 20: the number of a's mod 3 over {a, b}. Evaluated over {0, 1} (the old silent default) it was
    "0 bits, no separation", exit 0; now the alphabet is required, and a wrong one is refused."""
    code, out, err = run(capsys, "test_comm_fixtures:mod3_a", "--N", "4", "--json", "--alphabet", "a,b")
    assert code == 0, err
    data = json.loads(out)
    assert [r["bits"] for r in data["lower_bound"]["exact_rows"]][-1] == 2     # ⌈log2 3⌉: three residues
    code, out, err = run(capsys, "test_comm_fixtures:mod3_a", "--N", "4", "--alphabet", "0,1")
    assert code == 2 and "answered True on every input" in err and "--alphabet" in err, err


def test_a_constant_reference_is_refused_through_the_api():
    from verify import api
    from verify.problems import UserError
    with pytest.raises(UserError, match="--alphabet"):
        api.comm_complexity("test_comm_fixtures:parity", N=3)
    with pytest.raises(UserError, match="on every input it was given"):
        api.comm_complexity("test_comm_fixtures:mod3_a", N=3, alphabet=("0", "1"))
    assert api.comm_complexity("test_comm_fixtures:parity", N=3, alphabet=("0", "1")).rows


# ---------------------------------------------------------------- the witness program must be the task
def test_wrong_dyck_program_below_its_row_bound_is_refuted_with_the_pair(capsys):
    """Dyck-1 with `accept = ")"`: a 0-bit protocol against the certified exact row bound. The pair
    of Alice halves shares the (empty) message, Bob's half separates them, and one of the two inputs
    replays as a disagreement between the program and the reference."""
    from verify.checking import replay
    from verify.catalogue import get_case
    import comm_fixtures_wrong as wrong
    code, out, err = run(capsys, "comm_fixtures_wrong:dyck1_accept_close", "--N", "8", "--json")
    assert code == 1, err
    data = json.loads(out)
    assert data["verdict"] == "refuted" and "expressible" not in data["verdict"]
    below = data["witness"]["below_lower_bound"]
    assert below["protocol_bits"] < below["lower_bits"]
    x1, x2 = below["alice_halves"]
    assert x1 != x2 and below["required"][0] != below["required"][1]
    assert below["bob_outputs"][0] == below["bob_outputs"][1]   # same message, same y: same answer
    cx = below["counterexample"]
    word = tuple(cx["input"])   # a prefix of x·y or x'·y ending at one of Bob's positions
    assert cx["position"] == len(word) > len(x1)
    assert word in {tuple(x + below["bob_half"])[:len(word)] for x in (x1, x2)}
    from verify.verdict import Counterexample
    case = wrong.dyck1_accept_close()
    assert replay(case, case.build_program(), Counterexample(tuple(cx["input"]), cx["position"], None, None))
    assert not replay(get_case("dyck1"), get_case("dyck1").build_program(),
                      Counterexample(tuple(cx["input"]), cx["position"], None, None))


def test_wrong_dyck_program_table_says_refuted(capsys):
    code, out, err = run(capsys, "comm_fixtures_wrong:dyck1_accept_close", "--N", "4")
    assert code == 1, err
    assert "verdict: refuted" in out and "expressible" not in out.split("verdict:")[1].split("\n")[0]
    assert "same message" in out


def test_parity_with_a_majority_program_is_refuted(capsys):
    code, out, err = run(capsys, "comm_fixtures_wrong:parity_by_majority", "--N", "6", "--json")
    assert code == 1, err
    data = json.loads(out)
    assert data["verdict"] == "refuted"
    check = data["witness"]["check"]
    assert check["status"] == "refuted" and check["counterexample"]["input"]


@pytest.mark.slow
def test_catalogue_language_program_is_proved_and_says_so(capsys):
    code, out, err = run(capsys, "dyck1", "--N", "8", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["verdict"] == "expressible (witness program proved for every length)"
    assert data["witness"]["proof"]["status"] == "holds"
    assert data["witness"]["check"]["status"] == "holds"
    assert data["witness"]["below_lower_bound"] is None
    assert "assumes the specification is the task" in data["conclusion"]


@pytest.mark.slow
def test_catalogue_sequence_program_says_up_to_which_length(capsys):
    code, out, err = run(capsys, "bin_majority", "--N", "8", "--json")
    assert code == 0, err
    data = json.loads(out)
    length = data["witness"]["check"]["evidence"]["exhaustive_len"]
    assert length >= 8 and data["verdict"] == f"expressible (witness program checked up to length {length})"
    assert data["witness"]["proof"] is None and "ASSUMES" in data["conclusion"]


@pytest.mark.slow
def test_transformer_bound_states_its_types(capsys):
    code, out, err = run(capsys, "test_comm_fixtures:COPY", "--N", "16", "--json")
    assert code == 0, err
    t = json.loads(out)["upper_bound"]["any_limit_transformer"]
    assert t["types_per_head"] == str(2 ** 256) and t["types_assumed"] is False and "2^256" in t["size"]
    assert int(t["crossing_N"]) > 2 ** 256
    code, out, err = run(capsys, "test_comm_fixtures:COPY", "--N", "16", "--types", "16")
    assert code == 0, err
    assert "ASSUMED" in out


@pytest.mark.parametrize("args,needle", [
    (["dyck1", "--timeout", "inf"], "--timeout"),
    (["dyck1", "--timeout", "nan"], "--timeout"),
    (["dyck1", "--timeout", "0"], "--timeout"),
    (["dyck1", "--width", "100000"], "--width"),
    (["dyck1", "--precision", "1000"], "--precision"),
    (["dyck1", "--types", "0"], "--types"),
    (["comm_fixtures_wrong:not_a_case"], "should return a Case"),
])
def test_bad_witness_and_size_flags(capsys, args, needle):
    got, out, err = run(capsys, *args)
    assert got == 2
    assert needle in err and "Traceback" not in err + out


def test_sequence_program_below_its_row_bound(capsys):
    """Parity answered by a program that sends nothing: a sequence task's exact row bound refutes it."""
    code, out, err = run(capsys, "comm_fixtures_wrong:parity_silent", "--N", "4", "--json")
    assert code == 1, err
    below = json.loads(out)["witness"]["below_lower_bound"]
    assert below["N"] == 1 and below["protocol_bits"] == 0 < below["lower_bits"]
    assert below["required"][0] != below["required"][1] and below["counterexample"]["input"]


@pytest.mark.slow
def test_program_below_the_injectivity_certificate(capsys):
    """Copy with repeated symbols given the unique-copy program: its O(log N) message is below the
    certified N bits at N = 64; a birthday search finds two Alice halves with one message."""
    from verify.checking import replay
    import comm_fixtures_wrong as wrong
    from verify.verdict import Counterexample
    code, out, err = run(capsys, "comm_fixtures_wrong:copy_by_successor", "--N", "64", "--json")
    assert code == 1, err
    below = json.loads(out)["witness"]["below_lower_bound"]
    assert below["lower_method"] == "injectivity certificate" and below["protocol_bits"] < below["lower_bits"] == 64
    x1, x2 = below["alice_halves"]
    assert x1 != x2 and len(x1) == len(x2) == 64
    case = wrong.copy_by_successor()
    from verify.comm.protocol import make_protocol
    from verify.crasp.interpreter import encode
    program = case.build_program()
    proto = make_protocol(program, 65)
    bits = proto.alice(encode(program.alphabet, [["<bos>"] + x1, ["<bos>"] + x2])).bits
    assert (bits[0] == bits[1]).all()                       # the same message, recomputed here
    cx = below["counterexample"]
    assert replay(case, program, Counterexample(tuple(cx["input"]), cx["position"], None, None))
