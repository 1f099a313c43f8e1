"""Rendering of located problems: the caret stays under the spot, long lines are cut to a window."""
from verify.crasp.ast import Loc
from verify.problems import EXCERPT, Problem


def _caret_char(rendered: str) -> str:
    source_line, caret_line = rendered.splitlines()[1:3]
    return source_line[caret_line.index("^")]


def test_short_line_is_shown_whole_with_the_caret_under_the_column():
    text = "accept = #[x] >= 1"
    p = Problem(Loc("f.crasp", 1, 12, 1), "unknown name x")
    out = p.render(text)
    assert text in out
    assert _caret_char(out) == "x"


def test_long_line_is_cut_around_the_column_and_the_caret_still_points_at_it():
    text = "a" * 500_000 + "X" + "b" * 500_000
    p = Problem(Loc("f.crasp", 1, 500_001, 1), "bad token")
    out = p.render(text)
    assert len(out) < 3 * EXCERPT + 200          # not a 1 MB message
    assert _caret_char(out) == "X"
    assert "..." in out.splitlines()[1]


def test_long_line_near_either_end():
    text = "Y" + "c" * 10_000 + "Z"
    for column, want in ((1, "Y"), (len(text), "Z")):
        out = Problem(Loc("f.crasp", 1, column, 1), "here").render(text)
        assert _caret_char(out) == want
