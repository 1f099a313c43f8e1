"""Parser, printer, builder, static checks and fragments of C-RASP[periodic, local]."""
import pytest
from hypothesis import given, settings

from verify.crasp import ast as A
from verify.crasp.builder import (guarded, implies, not_, or_, periodic,
                                  sym)
from verify.crasp.checks import check_program
from verify.crasp.fragment import LOCAL, PERIODIC, PERIODIC_LOCAL, PLAIN, counting_operations, fragment, period, \
    radius
from verify.crasp.parser import parse_program
from verify.crasp.printer import to_text
from verify.problems import UserError

from programs import dyck1_program, programs

DYCK = '''alphabet "(" ")"
let open  = #["("]
let close = #[")"]
let dips  = #[open < close]
accept = dips == 0 and open == close
'''


def test_builder_and_parser_give_the_same_tree():
    assert dyck1_program() == parse_program(DYCK)


def test_implies_is_sugar_for_or_not():
    p = parse_program('alphabet "a" "b"\naccept = "a" implies "b"')
    assert p.outputs[0].expr == implies(sym("a"), sym("b")) == or_(not_(sym("a")), sym("b"))


def test_guard_ranges_and_braces():
    p = parse_program('alphabet "a"\naccept = #["a" @ {0..2, 5}] > 0')
    g = p.outputs[0].expr.left
    assert g == guarded(sym("a"), [0, 1, 2, 5])


def test_precedence_and_negative_constants():
    p = parse_program('alphabet "a"\nlet c = #["a"]\naccept = -2 * c + 3 < c - -1 or not c == 0 and true')
    e = p.outputs[0].expr
    assert isinstance(e, A.Or) and isinstance(e.right, A.And) and isinstance(e.right.left, A.Not)
    assert e.left.left == A.Add(A.Scale(-2, A.Ref("c")), A.IntConst(3))
    assert e.left.right == A.Sub(A.Ref("c"), A.IntConst(-1))


def test_chains_associate_as_the_grammar_says():
    """Chains are read by loops (no recursion per operator): implies and * to the right, the rest to the left."""
    a, b, c, n = sym("a"), sym("b"), A.BoolConst(True), A.Count(sym("a"))
    e = lambda body: parse_program(f'alphabet "a" "b"\naccept = {body}').outputs[0].expr  # noqa: E731
    assert e('"a" implies "b" implies true') == implies(a, implies(b, c))
    assert e('"a" or "b" or true') == or_(a, b, c) == A.Or(A.Or(a, b), c)
    assert e('not not "a" and "b"') == A.And(not_(not_(a)), b)
    assert e('#["a"] - 1 - 2 > 0').left == A.Sub(A.Sub(n, A.IntConst(1)), A.IntConst(2))
    assert e('2 * 3 * #["a"] > 0').left == A.Scale(2, A.Scale(3, n))
    assert e('#["a"] * 2 > 0').left == A.Scale(2, n)
    assert e('-2 * #["a"] * 3 > 0').left == A.Scale(-2, A.Scale(3, n))


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(programs())
def test_print_then_parse_round_trips(program):
    assert parse_program(to_text(program)) == program


@pytest.mark.parametrize("source, where, what", [
    ('alphabet "a"\naccept = #["b"] > 0', (2, 12), 'symbol "b" is not in the alphabet'),
    ('alphabet "a"\nlet x = #["a" @ j < 3]\naccept = x > 0', (2, 17), "expected a distance"),
    ('alphabet "a"\naccept = #["a"] and true', (2, 10), "needs a Boolean"),
    ('alphabet "a"\nlet x = #[#["a"]]\naccept = x > 0', (2, 11), "needs a Boolean"),
    ('alphabet "a"\nlet y = z\nlet z = #["a"]\naccept = y > 0', (2, 9), "used before its definition"),
    ('alphabet "a"\naccept = nope > 0', (2, 10), "unknown name"),
    ('alphabet "a"\naccept = pos % 3 in {4}', (2, 10), "outside 0..2"),
    ('alphabet "a"\naccept = pos % 0 in {0}', (2, 10), "modulus 0"),
    ('alphabet "a"\naccept = #["a"] > 0 > 1', (2, 21), "comparisons do not chain"),
    ('alphabet "a"\nlet x = #["a"] * #["a"]\naccept = x > 0', (2, 16), "integer literal"),
    ('alphabet "a"\nnext "b" = true', (2, 1), "outside the alphabet"),
    ('alphabet "a"\naccept = "a" +', (2, 15), "expected an expression"),
    ('accept = true', (1, 1), "no `alphabet` header"),
    ('alphabet "a"\nlet x = #["a"]\nlet x = #["a"]\naccept = x > 0', (3, 1), "defined twice"),
])
def test_bad_programs_report_file_line_column(source, where, what):
    with pytest.raises(UserError) as err:
        parse_program(source, "bad.crasp")
    rendered = err.value.render()
    assert f"bad.crasp:{where[0]}:{where[1]}:" in rendered, rendered
    assert what in rendered
    assert "^" in rendered  # a caret under the offending spot


def test_checks_report_every_problem_not_just_the_first():
    src = 'alphabet "a"\nlet x = #["b"]\nlet y = #[x]\naccept = q'
    with pytest.raises(UserError) as err:
        parse_program(src, "many.crasp")
    assert len(err.value.problems) == 3


def test_builder_programs_are_checked_too():
    bad = A.Program(("a",), (), (A.Output("accept", "", A.GuardedCount(A.Symbol("a"), frozenset())),))
    problems = check_program(bad)
    assert any("non-empty finite set" in p.what for p in problems)
    assert any("needs a Boolean" in p.what for p in problems)


@pytest.mark.parametrize("body, expected", [
    ('#["a"] > 0', PLAIN),
    ('pos % 2 in {0}', PERIODIC),
    ('#["a" @ 1] == 1', LOCAL),
    ('#["a" @ 1] == 1 and pos % 3 in {1}', PERIODIC_LOCAL),
])
def test_fragment_classifier(body, expected):
    assert fragment(parse_program(f'alphabet "a"\naccept = {body}')) == expected


def test_period_radius_and_counting_operations():
    p = parse_program('alphabet "a"\nlet x = #["a" @ 1, 4]\naccept = pos % 2 in {0} and pos % 3 in {1} '
                      'and x == #["a"] and #["a"] > 0')
    assert period(p) == 6 and radius(p) == 4 and counting_operations(p) == 2
    assert periodic(2, [0]) == A.Periodic(2, frozenset({0}))
