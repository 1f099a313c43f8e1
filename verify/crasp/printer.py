"""Program -> `.crasp` text. parse_program(to_text(p)) == p for every well-formed program."""
from __future__ import annotations

from verify.crasp import ast as A

# binding strength: larger binds tighter
_PREC = {A.Or: 2, A.And: 3, A.Not: 4, A.Compare: 5, A.Add: 6, A.Sub: 6, A.Scale: 7}
_ATOM = 8


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _prec(e: A.Expr) -> int:
    if isinstance(e, A.IntConst) and e.value < 0:
        return 7  # `-3` reads as a unary term
    return _PREC.get(type(e), _ATOM)


def _wrap(e: A.Expr, min_prec: int) -> str:
    text = expr_text(e)
    return f"({text})" if _prec(e) < min_prec else text


def _set(xs) -> str:
    return ", ".join(str(x) for x in sorted(xs))


def expr_text(e: A.Expr) -> str:
    if isinstance(e, A.Symbol):
        return _quote(e.symbol)
    if isinstance(e, A.BoolConst):
        return "true" if e.value else "false"
    if isinstance(e, A.IntConst):
        return str(e.value)
    if isinstance(e, A.Ref):
        return e.name
    if isinstance(e, A.Periodic):
        return f"pos % {e.modulus} in {{{_set(e.residues)}}}"
    if isinstance(e, A.Count):
        return f"#[{expr_text(e.operand)}]"
    if isinstance(e, A.GuardedCount):
        return f"#[{expr_text(e.operand)} @ {_set(e.distances)}]"
    if isinstance(e, A.Not):
        return f"not {_wrap(e.operand, 4)}"
    if isinstance(e, A.Or):
        return f"{_wrap(e.left, 2)} or {_wrap(e.right, 3)}"
    if isinstance(e, A.And):
        return f"{_wrap(e.left, 3)} and {_wrap(e.right, 4)}"
    if isinstance(e, A.Compare):
        return f"{_wrap(e.left, 6)} {e.op} {_wrap(e.right, 6)}"
    if isinstance(e, (A.Add, A.Sub)):
        op = "+" if isinstance(e, A.Add) else "-"
        return f"{_wrap(e.left, 6)} {op} {_wrap(e.right, 7)}"
    if isinstance(e, A.Scale):
        return f"{e.factor} * {_wrap(e.operand, 7)}"
    if isinstance(e, A.IfThenElse):
        return f"(if {expr_text(e.condition)} then {expr_text(e.then)} else {expr_text(e.otherwise)})"
    if isinstance(e, (A.Min, A.Max)):
        name = "min" if isinstance(e, A.Min) else "max"
        return f"{name}({expr_text(e.left)}, {expr_text(e.right)})"
    raise TypeError(f"not a C-RASP expression: {e!r}")


def to_text(program: A.Program) -> str:
    lines = ["alphabet " + " ".join(_quote(a) for a in program.alphabet)]
    for let in program.lets:
        lines.append(f"let {let.name} = {expr_text(let.expr)}")
    for out in program.outputs:
        head = {"accept": "accept", "next": f"next {_quote(out.name)}",
                "label": f"label {out.name}"}[out.kind]
        lines.append(f"{head} = {expr_text(out.expr)}")
    return "\n".join(lines) + "\n"
