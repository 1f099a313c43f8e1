"""The whitelist grammar for numbers in flags (verify.symbolic.expr): exact values, located errors, no Python."""
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.cli import main
from verify.problems import UserError
from verify.symbolic.expr import ExpressionError, parse_list, parse_matrix, parse_number


@pytest.mark.parametrize("text, expected", [
    ("2*pi/5", 2 * sp.pi / 5),
    ("1e-3", sp.Rational(1, 1000)),
    ("0.1", sp.Rational(1, 10)),
    (".5", sp.Rational(1, 2)),
    ("1.5E+2", sp.Integer(150)),
    ("sqrt(2)/2", sp.sqrt(2) / 2),
    ("-2^2", sp.Integer(-4)),                 # unary minus binds looser than ^
    ("2^-1", sp.Rational(1, 2)),
    ("2**3**2", sp.Integer(512)),              # right-associative
    ("(2^3)^2", sp.Integer(64)),
    ("4^(1/2)", sp.Integer(2)),
    ("3 - 2 - 1", sp.Integer(0)),              # left-associative
    ("12/4/3", sp.Integer(1)),
    ("π/3", sp.pi / 3),
    ("  2 * ( pi + 1 ) ", 2 * sp.pi + 2),
    ("10^1000", sp.Integer(10) ** 1000),
])
def test_valid_expressions_give_exact_values(text, expected):
    got = parse_number(text, "--x")
    assert got == expected and not got.has(sp.Float)


def test_lists_and_matrices():
    assert parse_list("2*pi/5, 2*pi/7", "--f") == [2 * sp.pi / 5, 2 * sp.pi / 7]
    assert parse_matrix("1,0;0,1/2", "--m") == [[1, 0], [0, sp.Rational(1, 2)]]


def _error(fn, text, flag="--frequencies"):
    with pytest.raises(ExpressionError) as info:
        fn(text, flag)
    err = info.value
    assert err.exit_code == 2 and err.flag == flag
    lines = err.render().splitlines()
    assert lines[0].startswith(f"{flag}, column {err.column}:")
    caret = lines[2]
    assert "^" in caret
    return err


@pytest.mark.parametrize("text, column, words", [
    ("__import__('os').system('true')", 1, "unknown name '__import__'"),
    ("(1).real", 4, "unexpected character '.'"),
    ("pi.evalf()", 3, "unexpected character '.'"),
    ("x + 1", 1, "unknown name 'x'"),
    ("1 + E", 5, "unknown name 'E'"),
    ("oo", 1, "unknown name 'oo'"),
    ("I*pi", 1, "unknown name 'I'"),
    ("lambda: 0", 1, "unknown name 'lambda'"),
    ("[1][0]", 1, "unexpected character '['"),
    ("10^10^10", 4, "exponent 10000000000 is out of range"),
    ("9**9**9", 4, "out of range"),
    ("2^1000 ^ 2", 3, "out of range"),
    ("(10^100)^1000", 10, "digits"),
    ("1e100000", 1, "too large"),
    ("9" * 300, 1, "300 digits"),
    ("(" * 100 + "1" + ")" * 100, 33, "nested more than 32 deep"),
    ("-" * 100 + "1", 33, "nested more than 32 deep"),
    ("1/0", 3, "division by zero"),
    ("1/(pi - pi)", 3, "division by zero"),
    ("0^-1", 1, "division by zero"),
    ("sqrt(-2)", 6, "negative"),
    ("(-8)^(1/3)", 1, "not real"),
    ("2^pi", 3, "rational"),
    ("1,,2", 3, "missing"),
    ("1,", 3, "missing"),
    ("", 1, "missing"),
    ("2*", 3, "ends too early"),
    ("(1", 3, "expected ')'"),
    ("1)", 2, "unmatched ')'"),
    ("1 2", 3, "operator is missing"),
    ("1;2", 2, "';'"),
    ("sqrt 2", 6, "sqrt needs parentheses"),
])
def test_bad_text_is_a_located_user_error(text, column, words):
    err = _error(parse_list, text)
    assert err.column == column, err.render()
    assert words in err.render()


def test_limits_on_length_and_single_values():
    err = _error(parse_list, "1+" * 2000 + "1")
    assert "characters long" in err.render()
    assert len(err.render()) < 1000            # the message shows a window of the text, not all of it
    err = _error(parse_number, "1,2", "--slope")
    assert "one value" in err.render() and err.column == 2
    err = _error(parse_matrix, "1,0;0", "--matrix")
    assert "row 2 has 1" in err.render()


GRAMMAR_CHARS = "0123456789.eE+-*/^(),; pisqrtπ_x'[]"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=GRAMMAR_CHARS, max_size=40) | st.text(max_size=20))
def test_any_text_gives_exact_numbers_or_a_located_error(text):
    try:
        values = parse_list(text, "--f")
    except UserError as err:
        assert isinstance(err, ExpressionError) and 1 <= err.column <= len(text) + 1
        return
    assert values and all(isinstance(v, sp.Expr) and v.is_real and v.is_finite for v in values)


# ------------------------------------------------------------------ through the command
INJECTION = "__import__('os').system('touch {marker}')"


@pytest.mark.parametrize("args", [
    ["sinusoidal", "--frequencies", INJECTION],
    ["sinusoidal", "--frequencies", "2*pi/5," + INJECTION],
    ["sinusoidal", "--base", INJECTION],
    ["sinusoidal", "--frequencies", "1,2", "--matrix", "1,0,0,0;0,1,0,0;0,0,1,0;0,0,0," + INJECTION],
    ["rotary", "--thetas", INJECTION],
    ["alibi", "--slope", INJECTION],
    ["alibi", "--slope", "exec('open(\"{marker}\", \"w\")')"],
])
def test_injection_runs_nothing_and_exits_2(args, tmp_path, capsys):
    marker = tmp_path / "marker"
    argv = ["conditions"] + [a.replace("{marker}", str(marker)) for a in args]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "column" in err and "^" in err and "unknown name" in err
    assert not marker.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, words", [
    (["sinusoidal", "--frequencies", "10^10^10"], "out of range"),
    (["sinusoidal", "--frequencies", "(" * 60 + "1" + ")" * 60], "nested"),
    (["sinusoidal", "--frequencies", ""], "missing"),
    (["sinusoidal", "--d", "1000000"], "--d"),
    (["sinusoidal", "--d", "3"], "even"),
    (["sinusoidal", "--base", "1"], "--base"),
    (["onehot", "--period", "0"], "--period"),
    (["onehot", "--period", "100000"], "--period"),
    (["onehot", "--period", "2", "--matrix", "1,0;0"], "row 2"),
    (["onehot", "--period", "2", "--matrix", "1,0,0;0,1,0;0,0,1"], "2 × 2"),
    (["rotary", "--thetas", "1", "--matrix", "1"], "no --matrix"),
    (["alibi", "--window", "-1"], "--window"),
    (["alibi", "--slope", "1/0"], "division by zero"),
    (["sinusoidl"], "did you mean sinusoidal"),
])
def test_bad_command_lines_exit_2_with_one_message(args, words, capsys):
    assert main(["conditions"] + args) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and out == ""
    assert words in err
