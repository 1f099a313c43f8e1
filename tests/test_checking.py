"""The checker: what it covers, that it finds the shortest counterexample, and that it refuses
requests past its budget."""
import numpy as np
import pytest

from verify.case import LANGUAGE, SEQUENCE, Case
from verify.checking import all_strings, check_case, plan, replay
from verify.crasp.parser import parse_program
from verify.problems import UserError
from verify.spec import CounterSpec, LinearConstraint

DYCK_SPEC = CounterSpec(("(", ")"), always=(LinearConstraint.make({"(": 1, ")": -1}, ">=", 0),),
                        final=(LinearConstraint.make({"(": 1, ")": -1}, "==", 0),))
DYCK_SOURCE = '''alphabet "(" ")"
let open = #["("]
let close = #[")"]
let dips = #[open < close]
accept = dips == 0 and open == close'''

dyck = Case("dyck_test", "counter", LANGUAGE, ("(", ")"), "Dyck-1", labels=DYCK_SPEC.labels, spec=DYCK_SPEC,
            program=lambda: parse_program(DYCK_SOURCE))


def _answer(x):
    return ("1",) if x.count("1") > x.count("0") else ("0",)


def _sample(rng, batch, n):
    out = []
    while len(out) < batch:
        x = tuple(rng.choice(["0", "1"], size=n).tolist())
        if x.count("1") != x.count("0"):
            out.append(x)
    return out


MAJ_SOURCE = '''alphabet "<bos>" "0" "1" "<sep>" "<eos>"
let ones = #["1"]
let zeros = #["0"]
next "1" = "<sep>" and ones > zeros
next "0" = "<sep>" and zeros > ones
next "<eos>" = not "<sep>"'''
majority = Case("majority_test", "algorithmic", SEQUENCE, ("<bos>", "0", "1", "<sep>", "<eos>"), "binary majority",
                answer=_answer, input_alphabet=("0", "1"), valid_input=lambda x: x.count("1") != x.count("0"),
                sampler=_sample, program=lambda: parse_program(MAJ_SOURCE))


def test_all_strings_enumerates_every_string_once():
    s = all_strings(3, 4)
    assert s.shape == (81, 4) and len({tuple(r) for r in s}) == 81


def test_correct_program_holds_and_says_what_was_checked():
    v = check_case(dyck, max_len=10, samples=200, sample_max_len=60)
    assert v.status == "holds"
    assert "length 1..10" in v.scope and "inputs of length 1..60" in v.scope
    assert v.evidence["exhaustive_inputs"] == 2 ** 10
    fams = v.evidence["families"]   # the scope names every family that ran and how many inputs each gave
    assert {"uniform", "long runs", "deep members", "near-miss members", "boundary counts"} <= set(fams)
    assert fams["uniform"] == 100 and 180 <= sum(fams.values()) == v.evidence["samples"] <= 200
    assert all(f"{name} {count}" in v.scope for name, count in fams.items())


def test_wrong_program_gives_the_shortest_counterexample_which_replays():
    wrong = parse_program('alphabet "(" ")"\naccept = #["("] == #[")"]')  # forgets the dips
    v = check_case(dyck, program=wrong, max_len=8, samples=0)
    assert v.status == "refuted"
    assert v.counterexample.input == (")", "(")  # the shortest string where they differ
    assert replay(dyck, wrong, v.counterexample)
    assert not replay(dyck, dyck.build_program(), v.counterexample)


def test_a_program_with_another_alphabet_order_is_remapped():
    flipped = parse_program(DYCK_SOURCE.replace('alphabet "(" ")"', 'alphabet ")" "("'))
    assert check_case(dyck, program=flipped, max_len=8, samples=50).status == "holds"


def test_sequence_case_checks_every_position_from_the_separator():
    assert check_case(majority, max_len=9, samples=100).status == "holds"
    no_eos = parse_program(MAJ_SOURCE.replace('next "<eos>" = not "<sep>"', 'next "<eos>" = false'))
    v = check_case(majority, program=no_eos, max_len=5, samples=0)
    assert v.status == "refuted" and v.counterexample.input == ("0",)
    assert v.counterexample.expected == "<eos>" and v.counterexample.got == "no next is true"
    assert replay(majority, no_eos, v.counterexample)


def test_requests_past_the_budget_are_user_errors():
    with pytest.raises(UserError, match="past the budget"):
        plan(dyck, max_len=40, samples=0, sample_max_len=None)
    with pytest.raises(UserError, match="past the budget"):
        plan(dyck, max_len=4, samples=10**7, sample_max_len=1000)


def test_a_bug_only_at_long_lengths_is_found_by_sampling():
    # wrong only when a prefix has more than 30 unmatched opens: no string of length <= 12 shows it
    deep = parse_program(DYCK_SOURCE.replace("accept = dips == 0", "accept = #[open - close > 30] == 0 and dips == 0"))
    assert check_case(dyck, program=deep, max_len=12, samples=0).status == "holds"
    sampler = lambda rng, b, n: np.zeros((b, n), dtype=int)  # noqa: E731 - all "(" then compared per prefix
    deep_case = Case("dyck_deep", "counter", LANGUAGE, ("(", ")"), "Dyck-1", labels=DYCK_SPEC.labels,
                     spec=DYCK_SPEC, sampler=sampler, program=lambda: deep)
    # the case's own sampler never reaches a member (all "("), but the families derived from the
    # counter specification do: deep members ((…(()()…)) and balanced blocks
    v = check_case(deep_case, max_len=4, samples=200, sample_max_len=80)
    assert v.status == "refuted" and v.evidence["counterexample_found_by"] != "case sampler"
    assert replay(deep_case, deep, v.counterexample) and len(v.counterexample.input) > 60
    mixed = Case("dyck_mixed", "counter", LANGUAGE, ("(", ")"), "Dyck-1", labels=DYCK_SPEC.labels,
                 sampler=lambda rng, b, n: np.array([[0] * (n // 2) + [1] * (n - n // 2)] * b),
                 program=lambda: deep)
    v = check_case(mixed, max_len=4, samples=20, sample_max_len=80)
    assert v.status == "refuted" and len(v.counterexample.input) > 60


# ---------------------------------------------------------------- "holds" means something was checked
def test_nothing_checked_is_unknown_with_the_reason():
    v = check_case(dyck, max_len=0, samples=0)
    assert v.status == "unknown" and "nothing was checked" in v.reason


# Dyck-1, wrong only for members nested 30 deep or more: exhaustive lengths never reach it and uniform
# or random-walk members almost never do (the checker before the families said HOLDS on it).
DYCK_DEEP_WRONG = """alphabet "(" ")"
let open  = #["("]
let close = #[")"]
let dips  = #[open < close]
let deep  = #[open - close >= 30]
accept = dips == 0 and open == close and deep == 0
"""

# binary majority, wrong only when the winner leads by exactly two on inputs of length >= 96
MAJORITY_EDGE_WRONG = """alphabet "<bos>" "0" "1" "<sep>" "<eos>"
let ones  = #["1"]
let zeros = #["0"]
let edge  = "<sep>" and ones + zeros >= 96 and (ones == zeros + 2 or zeros == ones + 2)
next "1" = "<sep>" and ((ones > zeros and not edge) or (zeros > ones and edge))
next "0" = "<sep>" and ((zeros > ones and not edge) or (ones > zeros and edge))
next "<eos>" = not "<sep>"
"""


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case_name,source,family", [
    ("dyck1", DYCK_DEEP_WRONG, ("long runs", "boundary counts", "deep members", "near-miss members")),
    ("bin_majority", MAJORITY_EDGE_WRONG, ("boundary counts", "long runs", "case sampler")),
])
@pytest.mark.slow
def test_default_check_refutes_programs_wrong_only_on_structured_inputs(case_name, source, family, seed):
    from verify.catalogue import get_case
    case, program = get_case(case_name), parse_program(source)
    v = check_case(case, program, seed=seed)
    assert v.status == "refuted" and v.evidence["counterexample_found_by"] in family
    assert replay(case, program, v.counterexample)
    assert not replay(case, case.build_program(), v.counterexample)


def _cli(capsys, *args):
    from verify.cli import main
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_nothing_checked_exits_3(capsys):
    code, out, err = _cli(capsys, "dyck1", "--max-len", "0", "--samples", "0")
    assert code == 3 and "UNKNOWN" in out and "nothing was checked" in out


def test_cli_deep_dyck_program_is_refuted(capsys, tmp_path):
    path = tmp_path / "dyck_deep.crasp"
    path.write_text(DYCK_DEEP_WRONG)
    code, out, err = _cli(capsys, str(path), "--case", "dyck1")
    assert code == 1 and "REFUTED" in out and "deep members" in out


@pytest.mark.parametrize("args,needle", [
    (["dyck1", "--max-len", "1000000000"], "--max-len 17 or less"),
    (["dyck1", "--budget", str(10 ** 18)], "of memory"),
    (["majority", "--budget", str(10 ** 11)], "of memory"),
    (["dyck1", "--samples", str(10 ** 9)], "lower --samples"),
    (["dyck1", "--samples", "-1"], "--samples"),
    (["dyck1", "--budget", "-1"], "--budget"),
    (["dyck1", "--seed", "-1"], "--seed"),
    (["dyck1", "--offset", str(10 ** 12)], "--offset"),
    (["dyck1", "--sample-max-len", "0"], "--sample-max-len"),
])
def test_cli_sizes_are_refused_before_work(capsys, args, needle):
    import time
    started = time.monotonic()
    code, out, err = _cli(capsys, *args)
    assert code == 2 and needle in err and "Traceback" not in out + err
    assert time.monotonic() - started < 20   # refused up front, not after enumerating
