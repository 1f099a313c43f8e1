"""One arithmetic (issue 9 item 2): C-RASP counts are exact integers in every backend.

The static value bounds (verify/crasp/values.py) hold on real values and are tight on simple
programs; the interpreter switches from int64 to Python integers exactly where they say int64
could overflow; and the issue's example gets the same answer from `run`, `check`, `prove` and
`equiv` — the one exact arithmetic gives."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.cli import main
from verify.crasp import builder as B
from verify.crasp.interpreter import accepts, encode, evaluate
from verify.crasp.linear import flatten
from verify.crasp.parser import parse_program
from verify.crasp.values import (INT64_HEADROOM, fits_float64, fits_int64, max_abs_value, max_literal,
                                 value_bounds, value_intervals)

from programs import ALPHABET, programs
from test_differential import programs as huge_programs

K62 = 4611686018427387904  # 2^62
ISSUE = f'alphabet "0" "1"\naccept = #["0"] == 0 and {K62} * #["1"] >= 0\n'
# the reverse: int64 would wrap 2^62·2 to −2^63 and accept "1 1"; exact arithmetic rejects it
REVERSE = f'alphabet "0" "1"\naccept = {K62} * #["1"] < 0\n'
NEVER = 'alphabet "0" "1"\naccept = #["1"] < 0\n'


# ------------------------------------------------------------------ the bounds
def _check_bounds(program, ids, offset=0):
    line = flatten(program)
    ev = evaluate(line, ids, offset, python_ints=True)
    n = ids.shape[1]
    i = np.arange(1, n + 1, dtype=object)
    for op, (a, b), ((l1, l0), (u1, u0)) in zip(line.ops, value_bounds(line), value_intervals(line)):
        v = np.asarray(ev.value(op.index)).astype(object)
        assert a >= 0 and b >= 0
        assert (abs(v) <= a * i + b).all(), op.label()
        assert ((l1 * i + l0 <= v) & (v <= u1 * i + u0)).all(), op.label()
        if op.type == "count":
            assert (abs(v) <= max_abs_value(line, n)).all()


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(programs(), huge_programs()), st.integers(1, 22), st.integers(0, 3),
       st.integers(0, 2 ** 32 - 1))
def test_bounds_hold_on_every_value(program, n, offset, seed):
    rng = np.random.default_rng(seed)
    ids = np.concatenate([rng.integers(0, len(ALPHABET), size=(4, n)),
                          np.full((1, n), 0), np.full((1, n), 1)])  # runs of one symbol reach the extremes
    _check_bounds(program, ids, offset)


def _one(expr, name="x"):
    b = B.ProgramBuilder(ALPHABET)
    b.let(name, expr)
    b.accept(True)
    return b.build()


a_count, b_count = B.count(B.sym("a")), B.count(B.sym("b"))
SIMPLE = [  # expression, its (a, b), the value reached at position n on the word below
    (a_count, (1, 0), lambda n: n, "a"),
    (B.guarded(B.sym("a"), range(21)), (0, 21), lambda n: min(n, 21), "a"),
    (B.const(-7), (0, 7), lambda n: 7, "a"),
    (B.scale(-5, a_count), (5, 0), lambda n: 5 * n, "a"),
    (B.sub(a_count, b_count), (1, 0), lambda n: n, "b"),
    (B.add(a_count, a_count), (2, 0), lambda n: 2 * n, "a"),
    (B.ite(B.sym("a"), B.scale(3, a_count), -4), (3, 4), lambda n: 3 * n, "a"),
    (B.max_(a_count, 7), (1, 7), lambda n: max(n, 7), "a"),
    (B.min_(B.scale(-1, a_count), -2), (1, 2), lambda n: max(n, 2), "a"),
    (B.sub(B.scale(K62, a_count), B.scale(K62, b_count)), (K62, 0), lambda n: K62 * n, "a"),
]


@pytest.mark.parametrize("expr,ab,reached,symbol", SIMPLE)
def test_bounds_are_the_expected_ones_and_nearly_attained(expr, ab, reached, symbol):
    line = flatten(_one(expr))
    index = [op for op in line.ops if "x" in op.names][0].index
    a, b = value_bounds(line)[index]
    assert (a, b) == ab
    for n in (1, 5, 30):
        ids = encode(ALPHABET, [[symbol] * n])
        got = abs(int(evaluate(line, ids).value(index)[0, -1]))
        assert got == reached(n) <= a * n + b
    assert a * 30 + b <= 2 * reached(30)  # at length 30: attained, or within a factor of 2


def test_max_abs_value_and_the_int64_threshold():
    just_below = _one(B.const(INT64_HEADROOM - 1))
    at = _one(B.const(INT64_HEADROOM))
    assert fits_int64(flatten(just_below), 10 ** 9) and not fits_int64(flatten(at), 1)
    doubling = flatten(_one(B.scale(2 ** 61, a_count)))
    assert max_abs_value(doubling, 0) == 0 and max_abs_value(doubling, 1) == 2 ** 61
    assert fits_int64(doubling, 1) and not fits_int64(doubling, 2)
    # a literal past int64 counts even where the value it makes is small
    zero_times_huge = flatten(_one(B.scale(2 ** 70, B.const(0))))
    assert max_abs_value(zero_times_huge, 5) == 0 and max_literal(zero_times_huge) == 2 ** 70
    assert not fits_int64(zero_times_huge, 5)
    assert fits_float64(flatten(_one(B.const(2 ** 53))), 3) and not fits_float64(flatten(_one(B.const(2 ** 53 + 1))), 3)


# ------------------------------------------------------------------ the interpreter
def test_the_interpreter_switches_to_python_integers_exactly_where_int64_could_overflow():
    b = B.ProgramBuilder(ALPHABET)
    x = b.let("x", B.scale(2 ** 61, a_count))
    b.accept(B.gt(x, 2 ** 61))
    program = b.build()
    line = flatten(program)
    index = [op for op in line.ops if "x" in op.names][0].index
    one = evaluate(line, encode(ALPHABET, [["a"]]))
    two = evaluate(line, encode(ALPHABET, [["a", "a"]]))
    assert not one.exact_objects and one.value(index).dtype == np.int64
    assert two.exact_objects and two.value(index).dtype == object
    assert two.value(index)[0].tolist() == [2 ** 61, 2 ** 62]
    assert accepts(program, encode(ALPHABET, [["a", "a"], ["a", "b"]])).tolist() == [True, False]


@pytest.mark.parametrize("literal", [2 ** 63, -(2 ** 63) - 1, 2 ** 64, 10 ** 30, -(10 ** 36 - 1), 10 ** 36 - 1])
def test_literals_of_any_size_evaluate_exactly(literal):
    """Up to the parser's limit (|k| < 10^36, verify.crasp.checks.MAX_CONSTANT)."""
    sign = 1 if literal > 0 else -1
    b = B.ProgramBuilder(ALPHABET)
    c = b.let("c", B.const(literal))
    s = b.let("s", B.scale(literal, a_count))
    t = b.let("t", B.sub(s, B.scale(literal - sign, a_count)))  # = sign · #a
    b.accept(B.and_(B.eq(t, B.scale(sign, a_count)), B.eq(c, literal)))
    program = b.build()
    ids = encode(ALPHABET, [list("abaa")])
    ev = evaluate(program, ids)
    line = flatten(program)
    named = {name: op.index for op in line.ops for name in op.names}
    assert ev.value(named["c"])[0].tolist() == [literal] * 4
    assert ev.value(named["s"])[0].tolist() == [literal * k for k in (1, 1, 2, 3)]
    assert accepts(program, ids).tolist() == [True]


# ------------------------------------------------------------------ the commands agree
@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "cache.json"))
    out = {}
    for name, text in (("issue", ISSUE), ("reverse", REVERSE), ("never", NEVER)):
        (tmp_path / f"{name}.crasp").write_text(text)
        out[name] = str(tmp_path / f"{name}.crasp")
    return out


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "ReplayError" not in captured.err
    return code, captured.out


def exact_accepts_issue(word: str) -> bool:
    """The issue's program in Python integers: #0 == 0 and 2^62 · #1 >= 0."""
    return word.count("0") == 0 and K62 * word.count("1") >= 0


@pytest.mark.slow
def test_the_issues_example_gets_one_answer_from_every_command(files, capsys):
    assert exact_accepts_issue("11")
    code, out = run(capsys, "run", files["issue"], "1 1", "--json")
    assert code == 0 and json.loads(out)["accepted"] is exact_accepts_issue("11")
    code, out = run(capsys, "check", files["issue"], "--case", "tomita1", "--max-len", "10",
                    "--samples", "200", "--json")
    assert code == 0 and json.loads(out)["results"][0]["status"] == "holds"    # 1* exactly, like tomita1
    code, out = run(capsys, "prove", files["issue"], "--spec", "tomita1", "--json")
    assert code == 0 and json.loads(out)["status"] == "holds"
    code, out = run(capsys, "equiv", files["issue"], "tomita1", "--json")
    assert code == 0 and json.loads(out)["status"] == "holds"


def test_the_reverse_case_is_refuted_with_a_replayed_counterexample(files, capsys):
    """int64 would accept "1 1" (2^63 wraps negative) while Z3 rejects it; both now reject."""
    code, out = run(capsys, "run", files["reverse"], "1 1", "--json")
    assert code == 0 and json.loads(out)["accepted"] is False
    for command in ("refute", "prove"):
        code, out = run(capsys, command, files["reverse"], "--spec", "regex:11", "--json")
        data = json.loads(out)
        assert code == 1 and data["status"] == "refuted", command
        assert data["counterexample"]["input"] == ["1", "1"]
    code, out = run(capsys, "equiv", files["reverse"], files["never"], "--json")
    assert code == 0 and json.loads(out)["status"] == "holds"


def test_run_accepts_constants_past_int64(tmp_path, capsys):
    path = tmp_path / "big.crasp"
    path.write_text(f'alphabet "0" "1"\nlet big = {2 ** 63} * #["1"]\naccept = big >= {2 ** 64}\n')
    code, out = run(capsys, "run", str(path), "1 1 0 1", "--trace", "--json")
    data = json.loads(out)
    assert code == 0 and data["accepted"] is True
    assert data["trace"]["big"] == [2 ** 63, 2 ** 64, 2 ** 64, 3 * 2 ** 63]
    assert data["trace"]["accept"] == [False, True, True, True]


def test_the_protocol_sends_the_same_bits_whatever_the_constants():
    """Alice's message holds counts (at most the split), so huge constants change no bit; Bob's
    values are exact."""
    from verify.comm.protocol import check_protocol, make_protocol
    small, big = parse_program(ISSUE.replace(str(K62), "2")), parse_program(ISSUE)
    ids = np.array([[1, 1, 1, 1, 0, 1], [1, 1, 1, 1, 1, 1]])
    for split in (1, 3, 5):
        assert make_protocol(small, split).bits_sent == make_protocol(big, split).bits_sent
        check = check_protocol(big, ids, split)
        assert check.agree, check.mismatch
