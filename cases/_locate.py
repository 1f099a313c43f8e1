"""Locating input positions in plain C-RASP (shared by the copy-like programs of cases/copy.py and
cases/unique_tasks.py):

    tail(P) = #[in_input and #[P] > 0]

is the number of input positions from the first one where P holds to the end of the input, i.e.
n − p + 1 for the input position p of that occurrence (0 if P never holds there). Where P holds at
most once in the input (a token of an input of distinct tokens, a bigram of an input of distinct
bigrams), tail tells positions apart, and at an answer position the position wanted next is
another count, so `tail == target` finds its token without any positional encoding."""
from __future__ import annotations

from verify.crasp import ast as A
from verify.crasp.builder import ProgramBuilder, and_, count, eq, gt, sym

from cases._common import SEP


def tail(b: ProgramBuilder, name: str, pred: A.Expr, in_input: A.Expr) -> A.Ref:
    """n − p + 1 for the first input position p where `pred` holds, 0 where it never holds (see above)."""
    return b.let(name, count(and_(in_input, gt(count(pred), 0))))


def input_marker(b: ProgramBuilder) -> A.Ref:
    """True at <bos> and every input position (no separator read yet)."""
    return b.let("in_input", eq(count(sym(SEP)), 0))
