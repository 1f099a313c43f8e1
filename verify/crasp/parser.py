"""Parser for the `.crasp` text format (grammar in docs/crasp-grammar.md).

    alphabet "(" ")"
    let open  = #["("]            // comments run to the end of the line
    let dips  = #[open < #[")"]]
    accept = dips == 0 and open == #[")"]

Statements start with a keyword (alphabet, let, accept, next, label), so an expression may
span lines. Every error is a Problem with file:line:column; parsing stops at the first
syntax error, then the static checks report every remaining problem at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from verify.crasp import ast as A
from verify.crasp.checks import check_program
from verify.problems import Problem, UserError

KEYWORDS = {"alphabet", "let", "accept", "next", "label", "and", "or", "not", "implies", "true",
            "false", "if", "then", "else", "min", "max", "pos", "in"}
STATEMENT_KEYWORDS = ("alphabet", "let", "accept", "next", "label")

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>//[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<int>\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\#\[|\.\.|<=|>=|==|!=|[<>=+\-*%@\[\](){},])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str   # string, int, name, keyword, op, eof
    text: str
    value: object
    loc: A.Loc


class ParseError(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.what)
        self.problem = problem


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1), body)


def tokenize(text: str, file: str) -> List[Token]:
    tokens: List[Token] = []
    line, line_start, k = 1, 0, 0
    while k < len(text):
        m = _TOKEN.match(text, k)
        loc = A.Loc(file, line, k - line_start + 1)
        if not m:
            raise ParseError(Problem(loc, f"unexpected character {text[k]!r}",
                                     "symbols are quoted (\"a\"); names are letters, digits and _"))
        kind, lexeme = m.lastgroup, m.group()
        loc = A.Loc(file, line, k - line_start + 1, max(1, len(lexeme.split("\n")[0])))
        if kind == "string":
            tokens.append(Token("string", lexeme, _unescape(lexeme[1:-1]), loc))
        elif kind == "int":
            tokens.append(Token("int", lexeme, int(lexeme), loc))
        elif kind == "name":
            tokens.append(Token("keyword" if lexeme in KEYWORDS else "name", lexeme, lexeme, loc))
        elif kind == "op":
            tokens.append(Token("op", lexeme, lexeme, loc))
        newlines = lexeme.count("\n")
        if newlines:
            line += newlines
            line_start = k + lexeme.rindex("\n") + 1
        k = m.end()
    tokens.append(Token("eof", "", None, A.Loc(file, line, k - line_start + 1)))
    return tokens


class Parser:
    def __init__(self, text: str, file: str):
        self.file = file
        self.toks = tokenize(text, file)
        self.k = 0

    # ------------------------------------------------------------ helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.k]

    def at(self, text: str) -> bool:
        return self.tok.kind in ("op", "keyword") and self.tok.text == text

    def advance(self) -> Token:
        t = self.tok
        self.k += 1
        return t

    def error(self, what: str, why: str = "", tok: Optional[Token] = None) -> ParseError:
        t = tok or self.tok
        found = "end of file" if t.kind == "eof" else repr(t.text)
        return ParseError(Problem(t.loc, f"{what}, found {found}", why))

    def expect(self, text: str, why: str = "") -> Token:
        if not self.at(text):
            raise self.error(f"expected `{text}`", why)
        return self.advance()

    def expect_int(self, what: str) -> Tuple[int, A.Loc]:
        neg = self.tok.loc if self.at("-") else None
        if neg:
            self.advance()
        if self.tok.kind != "int":
            raise self.error(f"expected {what}")
        t = self.advance()
        return (-t.value if neg else t.value), (neg or t.loc)

    # ------------------------------------------------------------ program
    def program(self) -> A.Program:
        alphabet: List[str] = []
        lets: List[A.Let] = []
        outputs: List[A.Output] = []
        while self.tok.kind != "eof":
            t = self.tok
            if self.at("alphabet"):
                self.advance()
                if alphabet:
                    raise self.error("a second `alphabet` header", "declare the alphabet once", t)
                while self.tok.kind == "string":
                    alphabet.append(self.advance().value)
                if not alphabet:
                    raise self.error("expected quoted symbols after `alphabet`", 'e.g. alphabet "a" "b"')
            elif self.at("let"):
                self.advance()
                if self.tok.kind != "name":
                    raise self.error("expected a name after `let`",
                                     "names are letters, digits and _ and not keywords")
                name = self.advance().value
                self.expect("=")
                lets.append(A.Let(name, self.expr(), loc=t.loc))
            elif self.at("accept"):
                self.advance()
                self.expect("=")
                outputs.append(A.Output("accept", "", self.expr(), loc=t.loc))
            elif self.at("next"):
                self.advance()
                if self.tok.kind != "string":
                    raise self.error('expected a quoted symbol after `next`', 'e.g. next "a" = ...')
                sym = self.advance().value
                self.expect("=")
                outputs.append(A.Output("next", sym, self.expr(), loc=t.loc))
            elif self.at("label"):
                self.advance()
                if self.tok.kind not in ("name", "string"):
                    raise self.error("expected a label name after `label`")
                name = self.advance().value
                self.expect("=")
                outputs.append(A.Output("label", name, self.expr(), loc=t.loc))
            else:
                raise self.error("expected a statement (alphabet, let, accept, next or label)")
        if not alphabet:
            raise ParseError(Problem(A.Loc(self.file, 1, 1), "the program has no `alphabet` header",
                                     'start the file with e.g. alphabet "a" "b"'))
        return A.Program(tuple(alphabet), tuple(lets), tuple(outputs), source=self.file)

    # ------------------------------------------------------------ expressions
    def expr(self) -> A.Expr:
        return self.implies()

    def implies(self) -> A.Expr:
        left = self.or_()
        if self.at("implies"):
            t = self.advance()
            right = self.implies()
            return A.Or(A.Not(left, loc=t.loc), right, loc=t.loc)
        return left

    def or_(self) -> A.Expr:
        left = self.and_()
        while self.at("or"):
            t = self.advance()
            left = A.Or(left, self.and_(), loc=t.loc)
        return left

    def and_(self) -> A.Expr:
        left = self.not_()
        while self.at("and"):
            t = self.advance()
            left = A.And(left, self.not_(), loc=t.loc)
        return left

    def not_(self) -> A.Expr:
        if self.at("not"):
            t = self.advance()
            return A.Not(self.not_(), loc=t.loc)
        return self.comparison()

    def comparison(self) -> A.Expr:
        left = self.sum()
        if self.tok.kind == "op" and self.tok.text in A.COMPARISONS:
            t = self.advance()
            right = self.sum()
            if self.tok.kind == "op" and self.tok.text in A.COMPARISONS:
                raise self.error("comparisons do not chain", "write `a < b and b < c`")
            return A.Compare(t.text, left, right, loc=t.loc)
        return left

    def sum(self) -> A.Expr:
        left = self.term()
        while self.at("+") or self.at("-"):
            t = self.advance()
            right = self.term()
            left = (A.Add if t.text == "+" else A.Sub)(left, right, loc=t.loc)
        return left

    def term(self) -> A.Expr:
        left = self.unary()
        if self.at("*"):
            t = self.advance()
            right = self.term()
            if isinstance(left, A.IntConst):
                return A.Scale(left.value, right, loc=left.loc)
            if isinstance(right, A.IntConst):
                return A.Scale(right.value, left, loc=t.loc)
            raise ParseError(Problem(t.loc, "`*` needs an integer literal on one side",
                                     "C-RASP scales counts by constants only: `2 * C`"))
        return left

    def unary(self) -> A.Expr:
        if self.at("-") and self.toks[self.k + 1].kind == "int":
            t = self.advance()
            return A.IntConst(-self.advance().value, loc=t.loc)
        return self.atom()

    def atom(self) -> A.Expr:
        t = self.tok
        if t.kind == "string":
            self.advance()
            return A.Symbol(t.value, loc=t.loc)
        if t.kind == "int":
            self.advance()
            return A.IntConst(t.value, loc=t.loc)
        if self.at("true") or self.at("false"):
            self.advance()
            return A.BoolConst(t.text == "true", loc=t.loc)
        if t.kind == "name":
            self.advance()
            return A.Ref(t.value, loc=t.loc)
        if self.at("("):
            self.advance()
            e = self.expr()
            self.expect(")", "close the parenthesis")
            return e
        if self.at("#["):
            return self.count()
        if self.at("pos"):
            return self.periodic()
        if self.at("if"):
            self.advance()
            cond = self.expr()
            self.expect("then")
            a = self.expr()
            self.expect("else")
            b = self.expr()
            return A.IfThenElse(cond, a, b, loc=t.loc)
        if self.at("min") or self.at("max"):
            self.advance()
            self.expect("(")
            a = self.expr()
            self.expect(",")
            b = self.expr()
            self.expect(")")
            return (A.Min if t.text == "min" else A.Max)(a, b, loc=t.loc)
        if t.kind == "keyword" and t.text in STATEMENT_KEYWORDS:
            raise self.error("the expression ends too early", "something is missing before this statement")
        raise self.error("expected an expression")

    def count(self) -> A.Expr:
        t = self.advance()  # '#['
        operand = self.expr()
        if self.at("@"):
            at = self.advance()
            distances = self.distances(at)
            self.expect("]", "close the count with `]`")
            return A.GuardedCount(operand, distances, loc=t.loc)
        self.expect("]", "close the count with `]` (a guard is written `@ 1,2`)")
        return A.Count(operand, loc=t.loc)

    def distances(self, at: Token) -> frozenset:
        why = ("a guard must be a finite set of distances i - j, written `@ 1,2` or `@ 0..3` "
               "(guards depend only on i - j and hold for finitely many distances)")
        braces = self.at("{")
        if braces:
            self.advance()
        ds: List[int] = []
        while True:
            if self.tok.kind != "int":
                raise self.error("expected a distance (a non-negative integer)", why)
            lo = self.advance().value
            if self.at(".."):
                self.advance()
                if self.tok.kind != "int":
                    raise self.error("expected the end of the distance range", why)
                hi = self.advance().value
                if hi < lo:
                    raise self.error(f"empty distance range {lo}..{hi}", why)
                ds.extend(range(lo, hi + 1))
            else:
                ds.append(lo)
            if not self.at(","):
                break
            self.advance()
        if braces:
            self.expect("}", why)
        return frozenset(ds)

    def periodic(self) -> A.Expr:
        t = self.advance()  # pos
        why = "a periodic predicate is written `pos % m in {r1, r2}`"
        self.expect("%", why)
        if self.tok.kind != "int":
            raise self.error("expected the modulus", why)
        m = self.advance().value
        self.expect("in", why)
        self.expect("{", why)
        residues: List[int] = []
        while not self.at("}"):
            if self.tok.kind != "int":
                raise self.error("expected a residue", why)
            residues.append(self.advance().value)
            if self.at(","):
                self.advance()
            elif not self.at("}"):
                raise self.error("expected `,` or `}`", why)
        self.advance()
        return A.Periodic(m, frozenset(residues), loc=t.loc)


def parse_program(text: str, file: str = "<string>", check: bool = True) -> A.Program:
    """Text -> Program; raises UserError carrying every problem (file:line:column)."""
    try:
        program = Parser(text, file).program()
    except ParseError as err:
        raise UserError(f"{file}: syntax error", [err.problem], source_text=text) from None
    if check:
        problems = check_program(program)
        if problems:
            raise UserError(f"{file}: {len(problems)} problem(s)", problems, source_text=text)
    return program


def load_program(path: str, check: bool = True) -> A.Program:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: no such program file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read the program ({err})") from None
    return parse_program(text, str(path), check=check)
