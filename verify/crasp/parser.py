"""Parser for the `.crasp` text format (grammar and limits in docs/crasp-grammar.md).

    alphabet "(" ")"
    let open  = #["("]            // comments run to the end of the line
    let dips  = #[open < #[")"]]
    accept = dips == 0 and open == #[")"]

Statements start with a keyword (alphabet, let, accept, next, label), so an expression may
span lines. Every error is a Problem with file:line:column; parsing stops at the first
syntax error, then the static checks report every remaining problem at once.

Any text ends in a Program or a UserError, in time linear in its length: the size limits
below are checked while reading, before anything is built from the numbers they bound
(a guard range is checked from its two ends, never materialized first). Recursion happens
only at brackets, counted by `Parser.nesting`, so Python's recursion limit is never reached.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional

from verify.crasp import ast as A
from verify.crasp.checks import (MAX_DISTANCE, MAX_GUARD_SIZE, MAX_SYMBOL_CHARS, alphabet_problems,
                                 check_program)
from verify.problems import Problem, UserError

KEYWORDS = {"alphabet", "let", "accept", "next", "label", "and", "or", "not", "implies", "true",
            "false", "if", "then", "else", "min", "max", "pos", "in"}
STATEMENT_KEYWORDS = ("alphabet", "let", "accept", "next", "label")

# Limits on the text (docs/crasp-grammar.md, "Limits"; the limits on what a program means,
# whatever built it, are in checks.py).
MAX_SOURCE_CHARS = 1_000_000   # characters of program text
MAX_FILE_BYTES = 4 * MAX_SOURCE_CHARS  # a file larger than this is not read at all
MAX_TOKENS = 100_000
MAX_NODES = 10_000             # syntax-tree nodes (operations before sharing), all statements together
MAX_NESTING = 64               # brackets inside brackets: ( #[ if min( max(
MAX_DEPTH = 200                # height of one expression's syntax tree (a chain a+b+c+... of n terms is n deep)
MAX_INT_DIGITS = 36            # integer literals: |k| < 10^36
MAX_NAME_CHARS = 128

_LIMITS_DOC = "docs/crasp-grammar.md lists the limits"

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>//[^\n]*)
  | (?P<string>"[^"\\\n]*(?:\\.[^"\\\n]*)*")   # unrolled: no regex stack per character
  | (?P<int>[0-9]+)
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


def _limit(loc: A.Loc, what: str, why: str) -> ParseError:
    return ParseError(Problem(loc, what, f"{why} ({_LIMITS_DOC})"))


def tokenize(text: str, file: str) -> List[Token]:
    if len(text) > MAX_SOURCE_CHARS:
        line = text.count("\n", 0, MAX_SOURCE_CHARS) + 1
        column = MAX_SOURCE_CHARS - (text.rfind("\n", 0, MAX_SOURCE_CHARS) + 1) + 1
        raise _limit(A.Loc(file, line, column), f"the program is longer than {MAX_SOURCE_CHARS:,} characters "
                     f"({len(text):,})", "split it, or generate it with the builder API")
    tokens: List[Token] = []
    line, line_start, k = 1, 0, 0
    while k < len(text):
        m = _TOKEN.match(text, k)
        loc = A.Loc(file, line, k - line_start + 1)
        if not m:
            if text[k] == '"':
                raise ParseError(Problem(loc, "unterminated string",
                                         'a quoted symbol ends with " on the same line; write \\" for a quote'))
            raise ParseError(Problem(loc, f"unexpected character {text[k]!r}",
                                     "symbols are quoted (\"a\"); names are letters, digits and _"))
        kind, lexeme = m.lastgroup, m.group()
        first_line = lexeme.find("\n")
        loc = A.Loc(file, line, k - line_start + 1, max(1, first_line if first_line >= 0 else len(lexeme)))
        if kind in ("ws", "comment"):
            pass
        elif len(tokens) >= MAX_TOKENS:
            raise _limit(loc, f"the program has more than {MAX_TOKENS:,} tokens",
                         "split it, or generate it with the builder API")
        elif kind == "string":
            value = _unescape(lexeme[1:-1])
            if len(value) > MAX_SYMBOL_CHARS:
                raise _limit(loc, f"a quoted symbol of {len(value):,} characters",
                             f"symbols and labels have at most {MAX_SYMBOL_CHARS} characters")
            tokens.append(Token("string", lexeme, value, loc))
        elif kind == "int":
            if len(lexeme) > MAX_INT_DIGITS:  # checked before int(): no quadratic conversion of huge literals
                raise _limit(loc, f"an integer literal of {len(lexeme):,} digits",
                             f"integers have at most {MAX_INT_DIGITS} digits (|k| < 10^{MAX_INT_DIGITS})")
            tokens.append(Token("int", lexeme, int(lexeme), loc))
        elif kind == "name":
            if len(lexeme) > MAX_NAME_CHARS:
                raise _limit(loc, f"a name of {len(lexeme):,} characters",
                             f"names have at most {MAX_NAME_CHARS} characters")
            tokens.append(Token("keyword" if lexeme in KEYWORDS else "name", lexeme, lexeme, loc))
        else:
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
        self.nesting = 0                     # open brackets around the current token
        self.nodes = 0                       # syntax-tree nodes built so far
        self.height: Dict[int, int] = {}     # id(node) -> height of its subtree

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

    def node(self, cls, *fields, loc: A.Loc):
        """Build one syntax-tree node, within the node-count and depth limits."""
        e = cls(*fields, loc=loc)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _limit(loc, f"the program has more than {MAX_NODES:,} operations",
                         "split it, or generate it with the builder API")
        h = 1 + max((self.height.get(id(c), 1) for c in A.children(e)), default=0)
        if h > MAX_DEPTH:
            raise _limit(loc, f"the expression is nested more than {MAX_DEPTH} operations deep",
                         "every operator adds a level, and a chain a + b + c + ... of n terms is n deep: "
                         "name parts with `let` (let s1 = a + b ... then s1 + c ...)")
        self.height[id(e)] = h
        return e

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
                symbols = []
                while self.tok.kind == "string":
                    symbols.append(self.advance())
                if not symbols:
                    raise self.error("expected quoted symbols after `alphabet`", 'e.g. alphabet "a" "b"')
                problems = alphabet_problems([s.value for s in symbols], [s.loc for s in symbols])
                if problems:  # e.g. `alphabet ""` would make the input tokenizer loop for ever
                    raise ParseError(problems[0])
                alphabet = [s.value for s in symbols]
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
    # One method per precedence level, loosest first; chains are read by loops (right-associative
    # ones folded afterwards), so a long chain costs no stack: only brackets recurse.
    def expr(self) -> A.Expr:
        """p implies q implies r  =  p implies (q implies r);  p implies q  ≡  not p or q."""
        parts, arrows = [self.or_()], []
        while self.at("implies"):
            arrows.append(self.advance())
            parts.append(self.or_())
        e = parts[-1]
        for left, t in zip(reversed(parts[:-1]), reversed(arrows)):
            e = self.node(A.Or, self.node(A.Not, left, loc=t.loc), e, loc=t.loc)
        return e

    def or_(self) -> A.Expr:
        left = self.and_()
        while self.at("or"):
            t = self.advance()
            left = self.node(A.Or, left, self.and_(), loc=t.loc)
        return left

    def and_(self) -> A.Expr:
        left = self.not_()
        while self.at("and"):
            t = self.advance()
            left = self.node(A.And, left, self.not_(), loc=t.loc)
        return left

    def not_(self) -> A.Expr:
        nots = []
        while self.at("not"):
            nots.append(self.advance())
        e = self.comparison()
        for t in reversed(nots):
            e = self.node(A.Not, e, loc=t.loc)
        return e

    def comparison(self) -> A.Expr:
        left = self.sum()
        if self.tok.kind == "op" and self.tok.text in A.COMPARISONS:
            t = self.advance()
            right = self.sum()
            if self.tok.kind == "op" and self.tok.text in A.COMPARISONS:
                raise self.error("comparisons do not chain", "write `a < b and b < c`")
            return self.node(A.Compare, t.text, left, right, loc=t.loc)
        return left

    def sum(self) -> A.Expr:
        left = self.term()
        while self.at("+") or self.at("-"):
            t = self.advance()
            right = self.term()
            left = self.node(A.Add if t.text == "+" else A.Sub, left, right, loc=t.loc)
        return left

    def term(self) -> A.Expr:
        """atom ('*' term)?: right-associative; one side of each `*` is an integer literal."""
        parts, stars = [self.atom()], []
        while self.at("*"):
            stars.append(self.advance())
            parts.append(self.atom())
        right = parts[-1]
        for left, t in zip(reversed(parts[:-1]), reversed(stars)):
            if isinstance(left, A.IntConst):
                right = self.node(A.Scale, left.value, right, loc=left.loc)
            elif isinstance(right, A.IntConst):
                right = self.node(A.Scale, right.value, left, loc=t.loc)
            else:
                raise ParseError(Problem(t.loc, "`*` needs an integer literal on one side",
                                         "C-RASP scales counts by constants only: `2 * C`"))
        return right

    def atom(self) -> A.Expr:
        t = self.tok
        if self.at("-") and self.toks[self.k + 1].kind == "int":  # a negative literal
            self.advance()
            return self.node(A.IntConst, -self.advance().value, loc=t.loc)
        if t.kind == "string":
            self.advance()
            return self.node(A.Symbol, t.value, loc=t.loc)
        if t.kind == "int":
            self.advance()
            return self.node(A.IntConst, t.value, loc=t.loc)
        if self.at("true") or self.at("false"):
            self.advance()
            return self.node(A.BoolConst, t.text == "true", loc=t.loc)
        if t.kind == "name":
            self.advance()
            return self.node(A.Ref, t.value, loc=t.loc)
        if self.at("pos"):
            return self.periodic()
        if not (self.at("(") or self.at("#[") or self.at("if") or self.at("min") or self.at("max")):
            if t.kind == "keyword" and t.text in STATEMENT_KEYWORDS:
                raise self.error("the expression ends too early", "something is missing before this statement")
            raise self.error("expected an expression")
        # a bracket: the only place the parser recurses (no try/finally: an error ends the parse)
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise _limit(t.loc, f"brackets nested more than {MAX_NESTING} deep",
                         "( #[ if min( max( nest at most that deep: name inner parts with `let`")
        if self.at("#["):
            e = self.count()
        elif self.at("("):
            self.advance()
            e = self.expr()
            self.expect(")", "close the parenthesis")
        elif self.at("if"):
            self.advance()
            cond = self.expr()
            self.expect("then")
            a = self.expr()
            self.expect("else")
            b = self.expr()
            e = self.node(A.IfThenElse, cond, a, b, loc=t.loc)
        else:  # min or max
            self.advance()
            self.expect("(")
            a = self.expr()
            self.expect(",")
            b = self.expr()
            self.expect(")")
            e = self.node(A.Min if t.text == "min" else A.Max, a, b, loc=t.loc)
        self.nesting -= 1
        return e

    def count(self) -> A.Expr:
        t = self.advance()  # '#['
        operand = self.expr()
        if self.at("@"):
            at = self.advance()
            distances = self.distances(at)
            self.expect("]", "close the count with `]`")
            return self.node(A.GuardedCount, operand, distances, loc=t.loc)
        self.expect("]", "close the count with `]` (a guard is written `@ 1,2`)")
        return self.node(A.Count, operand, loc=t.loc)

    def distance(self, what: str, why: str) -> int:
        if self.tok.kind != "int":
            raise self.error(what, why)
        t = self.advance()
        if t.value > MAX_DISTANCE:
            raise _limit(t.loc, f"guard distance {t.value} is above the limit {MAX_DISTANCE}",
                         f"a guard looks at most τ = {MAX_DISTANCE} positions back")
        return t.value

    def distances(self, at: Token) -> frozenset:
        why = ("a guard must be a finite set of distances i - j, written `@ 1,2` or `@ 0..3` "
               "(guards depend only on i - j and hold for finitely many distances)")
        braces = self.at("{")
        if braces:
            self.advance()
        ds: set = set()
        while True:
            first = self.tok
            lo = self.distance("expected a distance (a non-negative integer)", why)
            if self.at(".."):
                self.advance()
                hi = self.distance("expected the end of the distance range", why)
                if hi < lo:
                    raise ParseError(Problem(first.loc, f"empty distance range {lo}..{hi}", why))
                ds.update(range(lo, hi + 1))  # at most MAX_DISTANCE + 1 numbers: both ends are checked
            else:
                ds.add(lo)
            if len(ds) > MAX_GUARD_SIZE:
                raise _limit(first.loc, f"the guard has more than {MAX_GUARD_SIZE} distances",
                             f"a guard is a set of at most {MAX_GUARD_SIZE} distances")
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
        residues: set = set()
        while not self.at("}"):
            if self.tok.kind != "int":
                raise self.error("expected a residue", why)
            residues.add(self.advance().value)
            if self.at(","):
                self.advance()
            elif not self.at("}"):
                raise self.error("expected `,` or `}`", why)
        self.advance()
        return self.node(A.Periodic, m, frozenset(residues), loc=t.loc)


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


def _decode(data: bytes, path: str) -> str:
    """UTF-8 text (a leading byte-order mark is skipped); a bad byte is reported at its line:column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        shown = data.decode("utf-8-sig", errors="replace")  # one character per bad byte: columns agree
        before = data[:err.start].decode("utf-8-sig")
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        problem = Problem(A.Loc(path, line, column),
                          f"the program file is not UTF-8 text (byte 0x{data[err.start]:02x})",
                          "a .crasp program is UTF-8 text; save it as UTF-8")
        raise UserError(f"{path}: cannot read the program", [problem], source_text=shown) from None


def load_program(path: str, check: bool = True) -> A.Program:
    from verify.inputs import read_bytes   # missing, folder, FIFO/device, size: refused before reading
    data = read_bytes(str(path), "program file", MAX_FILE_BYTES, _LIMITS_DOC)
    return parse_program(_decode(data, path), str(path), check=check)
