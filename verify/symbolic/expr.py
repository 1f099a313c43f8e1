"""A whitelist grammar for the numbers users type (`--frequencies 2*pi/5,pi/7`, `--slope 1/2`, ...).

User text is parsed here and turned into exact sympy objects by this module alone — never handed to
`eval`, `sympify` or `parse_expr`, which run Python. The grammar:

    list    := expr ("," expr)*                 (a matrix: list (";" list)*)
    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := atom (("^" | "**") unary)?       (right-associative: 2^3^2 = 2^9; -2^2 = -(2^2))
    atom    := NUMBER | "pi" | "π" | "sqrt" "(" expr ")" | "(" expr ")"
    NUMBER  := digits ["." digits] [("e" | "E") ["+" | "-"] digits]   (or "." digits ...)

Numbers are exact: `0.1` is the rational 1/10, `1e-3` is 1/1000. Values must be real and finite.
Limits (LIMITS, documented in the README) keep every input cheap: text length, nesting depth,
digits per literal, the size of an exponent and the estimated digits of a power's value. Every
mistake is a UserError naming the flag and the column, with a caret under the text at fault.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

import sympy as sp

from verify.problems import UserError


@dataclass(frozen=True)
class Limits:
    max_length: int = 2000          # characters in one flag's text
    max_depth: int = 32             # nesting of parentheses, signs, sqrt and powers
    max_digits: int = 200           # digits in one literal
    max_exponent: int = 1000        # |n| in a^n and in a literal's e-notation
    max_value_digits: int = 5000    # estimated decimal digits of a power's value
    max_items: int = 4096           # entries in a list or matrix


LIMITS = Limits()
ALLOWED = "numbers, pi, sqrt(...), + - * / ^ (or **), unary minus and parentheses"

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\*\*|[-+*/^(),;])
""", re.VERBOSE)


class ExpressionError(UserError):
    """A located mistake in a flag's text: `flag`, 1-based `column`, the text."""

    def __init__(self, flag: str, text: str, column: int, length: int, what: str):
        self.flag, self.text, self.column = flag, text, column
        super().__init__(f"{flag}, column {column}: {what}\n{_caret(text, column, length)}\n"
                         f"  allowed: {ALLOWED}", exit_code=2)


def _caret(text: str, column: int, length: int, width: int = 72) -> str:
    """The text (a window of it when long) with ^ under columns column .. column + length − 1."""
    start = max(0, min(column - 1 - width // 2, len(text) - width))
    shown = text[start:start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    shown = "".join(ch if ch.isprintable() else "?" for ch in shown)
    pad = len(prefix) + (column - 1 - start)
    return f"    {prefix}{shown}{suffix}\n    {' ' * pad}{'^' * max(1, min(length, width))}"


@dataclass(frozen=True)
class _Tok:
    kind: str      # number | name | op | end
    text: str
    column: int    # 1-based


class _Parser:
    def __init__(self, text: str, flag: str, limits: Limits, separators: str):
        self.text, self.flag, self.limits = text, flag, limits
        self.separators = separators
        self.toks = self._tokenize(separators)
        self.at = 0
        self.depth = 0

    # -------------------------------------------------------------- helpers
    def error(self, tok_or_col, what: str, length: Optional[int] = None):
        if isinstance(tok_or_col, _Tok):
            col, n = tok_or_col.column, max(1, len(tok_or_col.text))
        else:
            col, n = tok_or_col, 1
        raise ExpressionError(self.flag, self.text, col, length or n, what)

    def _tokenize(self, separators: str) -> List[_Tok]:
        """Tokens in reading order; a character outside the grammar becomes a `bad` token, reported
        when the parser reaches it (so the first mistake in reading order is the one shown)."""
        toks, pos, text = [], 0, self.text
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                toks.append(_Tok("bad", text[pos], pos + 1))
                pos += 1
                continue
            if m.lastgroup != "space":
                toks.append(_Tok(m.lastgroup, m.group(), pos + 1))
            pos = m.end()
        toks.append(_Tok("end", "", len(text) + 1))
        return toks

    def unexpected(self, tok: _Tok, expected: str):
        if tok.kind == "bad":
            hint = (" (attribute access, strings, indexing and other Python are not allowed)"
                    if tok.text in ".[]{}'\"@`$\\:=!<>%&|~#" else "")
            self.error(tok, f"unexpected character {tok.text!r}{hint}")
        if tok.text in ",;" and tok.text not in self.separators:
            self.error(tok, f"unexpected {tok.text!r}: this flag takes "
                            + ("one value" if not self.separators else "values separated by ','"))
        if tok.kind == "end":
            self.error(tok, f"the expression ends too early: {expected} is missing")
        self.error(tok, f"unexpected {tok.text!r}: expected {expected}")

    def peek(self) -> _Tok:
        return self.toks[self.at]

    def take(self) -> _Tok:
        tok = self.toks[self.at]
        self.at += 1
        return tok

    def expect(self, op: str, opened: _Tok) -> None:
        tok = self.peek()
        if tok.text != op:
            if tok.kind == "bad":
                self.unexpected(tok, op)
            self.error(tok, f"expected {op!r} to close the {opened.text!r} at column {opened.column}"
                            + (", found the end of the text" if tok.kind == "end" else f", found {tok.text!r}"))
        self.take()

    def enter(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            self.error(tok, f"nested more than {self.limits.max_depth} deep (parentheses, signs, sqrt and powers "
                            f"count); simplify the expression")

    # -------------------------------------------------------------- grammar
    def items(self, sep: str) -> List[Tuple[sp.Expr, _Tok]]:
        out = []
        while True:
            first = self.peek()
            if first.kind == "end" or first.text in ",;":
                self.error(first, "a value is missing here" + (" (empty item)" if out or first.kind != "end" else ""))
            out.append((self.expr(), first))
            if len(out) > self.limits.max_items:
                self.error(first, f"more than {self.limits.max_items} values")
            if self.peek().text != sep:
                return out
            self.take()

    def expr(self) -> sp.Expr:
        value = self.term()
        while self.peek().text in ("+", "-"):
            op = self.take()
            rhs = self.term()
            value = value + rhs if op.text == "+" else value - rhs
        return value

    def term(self) -> sp.Expr:
        value = self.unary()
        while self.peek().text in ("*", "/"):
            op = self.take()
            start = self.peek()
            rhs = self.unary()
            if op.text == "*":
                value = value * rhs
            else:
                if _is_zero(rhs):
                    self.error(start, "division by zero")
                value = value / rhs
        return value

    def unary(self) -> sp.Expr:
        tok = self.peek()
        if tok.text in ("-", "+"):
            self.take()
            self.enter(tok)
            value = self.unary()
            self.depth -= 1
            return -value if tok.text == "-" else value
        return self.power()

    def power(self) -> sp.Expr:
        base_tok = self.peek()
        base = self.atom()
        if self.peek().text not in ("^", "**"):
            return base
        op = self.take()
        self.enter(op)
        exp_tok = self.peek()
        exponent = self.unary()
        self.depth -= 1
        return self._pow(base, exponent, base_tok, exp_tok)

    def _pow(self, base: sp.Expr, exponent: sp.Expr, base_tok: _Tok, exp_tok: _Tok) -> sp.Expr:
        span = max(1, self.toks[self.at - 1].column + len(self.toks[self.at - 1].text) - exp_tok.column)
        if not exponent.is_Rational:
            self.error(exp_tok, f"the exponent must be a rational number, not {exponent}", span)
        if abs(exponent.p) > self.limits.max_exponent * exponent.q or exponent.q > self.limits.max_exponent:
            self.error(exp_tok, f"exponent {_short(exponent)} is out of range (|exponent| <= {self.limits.max_exponent}"
                                f", denominator <= {self.limits.max_exponent})", span)
        if _is_zero(base) and exponent < 0:
            self.error(base_tok, "0 to a negative power (division by zero)")
        if exponent.q != 1 and base.is_negative:
            self.error(base_tok, "a fractional power of a negative number is not real")
        if not _is_zero(base):   # a bound on the value's digits from every rational inside the base
            size = float(abs(exponent)) * sum(_digits(r.p) + _digits(r.q) for r in base.atoms(sp.Rational))
            if size > self.limits.max_value_digits:
                self.error(exp_tok, f"the power would have about {size:.0f} digits "
                                    f"(at most {self.limits.max_value_digits})", span)
        return base ** exponent

    def atom(self) -> sp.Expr:
        tok = self.take()
        if tok.kind == "number":
            return self._number(tok)
        if tok.kind == "name":
            if tok.text in ("pi", "π"):
                return sp.pi
            if tok.text == "sqrt":
                opened = self.peek()
                if opened.text != "(":
                    self.error(opened, "sqrt needs parentheses: sqrt(...)")
                self.take()
                self.enter(opened)
                arg_tok = self.peek()
                value = self.expr()
                self.expect(")", opened)
                self.depth -= 1
                if value.is_negative:
                    self.error(arg_tok, "sqrt of a negative number is not real")
                return sp.sqrt(value)
            self.error(tok, f"unknown name {tok.text!r}: the only names allowed are pi and sqrt")
        if tok.text == "(":
            self.enter(tok)
            if self.peek().text == ")":
                self.error(self.peek(), "empty parentheses")
            value = self.expr()
            self.expect(")", tok)
            self.depth -= 1
            return value
        self.unexpected(tok, "a number, pi, sqrt(...) or '('")
        raise AssertionError  # pragma: no cover

    def _number(self, tok: _Tok) -> sp.Expr:
        mantissa, _, exp = tok.text.lower().partition("e")
        digits = len(mantissa.replace(".", "").lstrip("0"))
        if digits > self.limits.max_digits:
            self.error(tok, f"a literal with {digits} digits (at most {self.limits.max_digits})")
        e = int(exp) if exp else 0
        if abs(e) > self.limits.max_exponent:
            self.error(tok, f"the exponent e{e} is too large (at most {self.limits.max_exponent} in absolute value)")
        whole, _, frac = mantissa.partition(".")
        value = sp.Rational(int((whole or "0") + frac), 10 ** len(frac))
        return value * sp.Integer(10) ** e

    def finish(self) -> None:
        tok = self.peek()
        if tok.kind != "end":
            if tok.text == ")":
                self.error(tok, "unmatched ')'")
            if tok.kind in ("number", "name") or tok.text == "(":
                self.error(tok, f"unexpected {tok.text!r} after a complete value (an operator is missing?)")
            self.unexpected(tok, "an operator or the end of the text")


def _digits(n: int) -> int:
    """Decimal digits of |n|, within one (from the bit length: no conversion of a huge int to text)."""
    return int(abs(int(n)).bit_length() * 0.30103) + 1


def _short(x: sp.Expr) -> str:
    s = str(x)
    return s if len(s) <= 40 else s[:20] + "…" + s[-10:]


def _is_zero(x: sp.Expr) -> bool:
    """Zero exactly, or within 10^-40 of it at 60 digits (sympy does not always simplify to 0)."""
    if x == 0:
        return True
    if x.is_Rational:
        return False
    value = sp.N(x, 60)
    return value.is_Number and abs(value) < sp.Float("1e-40")


def _check(text: object, flag: str, limits: Limits) -> str:
    if not isinstance(text, str):
        raise UserError(f"{flag}: expected text, got {type(text).__name__}")
    if len(text) > limits.max_length:
        raise ExpressionError(flag, text, limits.max_length + 1, 1,
                              f"the text is {len(text)} characters long (at most {limits.max_length})")
    return text


def _finite_real(value: sp.Expr, tok: _Tok, p: _Parser) -> sp.Expr:
    if value.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I) or value.is_real is False:
        p.error(tok, f"the value {value} is not a finite real number")
    return value


def parse_number(text: str, flag: str = "value", limits: Limits = LIMITS) -> sp.Expr:
    """One exact real number from `text` (e.g. '2*pi/5', '1e-3', 'sqrt(2)/2')."""
    p = _Parser(_check(text, flag, limits), flag, limits, "")
    first = p.peek()
    if first.kind == "end":
        p.error(first, "a value is missing (the text is empty)")
    value = p.expr()
    p.finish()
    return _finite_real(value, first, p)


def parse_list(text: str, flag: str = "values", limits: Limits = LIMITS) -> List[sp.Expr]:
    """Comma-separated exact real numbers: '2*pi/5, 2*pi/7' -> [2π/5, 2π/7]."""
    p = _Parser(_check(text, flag, limits), flag, limits, ",")
    items = p.items(",")
    p.finish()
    return [_finite_real(v, tok, p) for v, tok in items]


def parse_matrix(text: str, flag: str = "matrix", limits: Limits = LIMITS) -> List[List[sp.Expr]]:
    """Rows separated by ';', entries by ',': '1,0;0,1' -> [[1, 0], [0, 1]]; rows must have equal length."""
    p = _Parser(_check(text, flag, limits), flag, limits, ",;")
    rows: List[List[sp.Expr]] = []
    while True:
        first = p.peek()
        row = p.items(",")
        if rows and len(row) != len(rows[0]):
            p.error(first, f"row {len(rows) + 1} has {len(row)} entries, row 1 has {len(rows[0])}")
        rows.append([_finite_real(v, tok, p) for v, tok in row])
        if p.peek().text != ";":
            break
        p.take()
    p.finish()
    return rows
