"""Regular expressions -> Thompson NFA -> subset-construction DFA -> minimal complete DFA.

Syntax (`verify classify`, `--spec regex:...`): single-character symbols, `"token"` for a
multi-character symbol, `.` any symbol of the alphabet, `[abc]` a class, `( )` grouping,
alternation `|`, postfix `*` (zero or more), `+` (one or more), `?` (optional), and the empty
word written `ε` or `()`. Whitespace is ignored. An empty branch (`a|`) is the empty word.

Limits (checked before any automaton is built): at most MAX_REGEX_CHARS characters, nesting
depth at most MAX_DEPTH; the subset construction stops past MAX_SUBSET_STATES DFA states (fewer for a
large alphabet: at most MAX_SUBSET_CELLS states × symbols) and raises `TooLarge` (reported as "undecided: too large", not as a user error).
Every parse error is a UserError naming the column, with the pattern and a caret under it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

import numpy as np

from verify.problems import UserError
from verify.regular.dfa import Dfa, minimize

MAX_REGEX_CHARS = 10_000
MAX_DEPTH = 200
MAX_SUBSET_STATES = 20_000
MAX_SUBSET_CELLS = 20_000_000    # DFA states × symbols the subset construction may tabulate
EPSILON = "ε"


class TooLarge(Exception):
    """The language's automaton (or monoid) passes a documented cap: the verdict is undecided."""


@dataclass(frozen=True)
class Token:
    kind: str                       # "op" | "set" | "eps"
    value: object                   # the operator character, or a frozenset of symbols
    column: int                     # 1-based


def located(pattern: str, column: int, what: str, where: str = "regex") -> UserError:
    """`regex:1:COL: what`, then the pattern with a caret under the column."""
    shown = pattern if len(pattern) <= 120 else pattern[max(0, column - 60):column + 60]
    offset = column - 1 if len(pattern) <= 120 else column - 1 - max(0, column - 60)
    return UserError(f"{where}:1:{column}: {what}\n    {shown}\n    {' ' * offset}^")


def used_symbols(pattern: str) -> Tuple[str, ...]:
    """The symbols a pattern names (sorted): the default alphabet of `verify classify`."""
    found = set()
    for tok in tokenize(pattern, None):
        if tok.kind == "set":
            found |= set(tok.value)
    return tuple(sorted(found))


def tokenize(pattern: str, alphabet: Optional[Tuple[str, ...]]) -> List[Token]:
    """alphabet None: any symbol is allowed (used to collect the default alphabet)."""
    if len(pattern) > MAX_REGEX_CHARS:
        raise located(pattern, MAX_REGEX_CHARS + 1,
                      f"the regular expression has {len(pattern)} characters; the limit is {MAX_REGEX_CHARS}")

    members = None if alphabet is None else frozenset(alphabet)   # O(1) membership, whatever the alphabet's size

    def known(sym: str, col: int) -> str:
        if members is not None and sym not in members:
            raise located(pattern, col, f"symbol {sym!r} is not in the alphabet {{{', '.join(alphabet)}}}; "
                                        "pass --alphabet with every symbol the expression uses")
        return sym

    out, k = [], 0
    while k < len(pattern):
        c, col = pattern[k], k + 1
        if c.isspace():
            k += 1
        elif c in "|*+?()":
            out.append(Token("op", c, col))
            k += 1
        elif c == EPSILON:
            out.append(Token("eps", None, col))
            k += 1
        elif c == ".":
            if alphabet is None:
                out.append(Token("set", frozenset(), col))
            elif not alphabet:
                raise located(pattern, col, "`.` needs a non-empty alphabet")
            else:
                out.append(Token("set", frozenset(alphabet), col))
            k += 1
        elif c == '"':
            end = pattern.find('"', k + 1)
            if end < 0:
                raise located(pattern, col, "unterminated quote: a \"token\" needs its closing \"")
            if end == k + 1:
                raise located(pattern, col, "empty quoted token \"\"")
            out.append(Token("set", frozenset([known(pattern[k + 1:end], col)]), col))
            k = end + 1
        elif c == "[":
            end = pattern.find("]", k + 1)
            if end < 0:
                raise located(pattern, col, "unterminated [: a class needs its closing ]")
            syms = frozenset(known(x, k + 2 + j) for j, x in enumerate(pattern[k + 1:end]) if not x.isspace())
            if not syms:
                raise located(pattern, col, "empty class []")
            out.append(Token("set", syms, col))
            k = end + 1
        elif c in "]{}\\":
            raise located(pattern, col, f"{c!r} is not part of the syntax (symbols, | * + ? ( ) ε . [..] \"..\")")
        else:
            out.append(Token("set", frozenset([known(c, col)]), col))
            k += 1
    return out


# ------------------------------------------------------------------ Thompson NFA
class _Nfa:
    """ε-NFA fragments (start, accept); edges carry sets of symbol ids."""

    def __init__(self):
        self.eps: List[List[int]] = []
        self.edges: List[List[Tuple[FrozenSet[int], int]]] = []

    def new(self) -> int:
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def fragment(self, syms: Optional[FrozenSet[int]]):
        s, t = self.new(), self.new()
        if syms is None:
            self.eps[s].append(t)
        else:
            self.edges[s].append((syms, t))
        return s, t

    def concat(self, f, g):
        self.eps[f[1]].append(g[0])
        return f[0], g[1]

    def union(self, f, g):
        s, t = self.new(), self.new()
        for x in (f, g):
            self.eps[s].append(x[0])
            self.eps[x[1]].append(t)
        return s, t

    def repeat(self, f, op: str):
        s, t = self.new(), self.new()
        self.eps[s].append(f[0])
        self.eps[f[1]].append(t)
        if op in "*+":
            self.eps[f[1]].append(f[0])
        if op in "*?":
            self.eps[s].append(t)
        return s, t

    def closure(self, states) -> FrozenSet[int]:
        stack, seen = list(states), set(states)
        while stack:
            for b in self.eps[stack.pop()]:
                if b not in seen:
                    seen.add(b)
                    stack.append(b)
        return frozenset(seen)


def _parse(pattern: str, tokens: List[Token], alphabet: Tuple[str, ...], nfa: _Nfa):
    ids = {a: k for k, a in enumerate(alphabet)}
    pos = [0]

    def peek() -> Optional[Token]:
        return tokens[pos[0]] if pos[0] < len(tokens) else None

    def is_op(tok, chars) -> bool:
        return tok is not None and tok.kind == "op" and tok.value in chars

    def alternation(depth):
        frag = concatenation(depth)
        while is_op(peek(), "|"):
            pos[0] += 1
            frag = nfa.union(frag, concatenation(depth))
        return frag

    def concatenation(depth):
        frag = None
        while peek() is not None and not is_op(peek(), "|)"):
            nxt = repetition(depth)
            frag = nxt if frag is None else nfa.concat(frag, nxt)
        return frag if frag is not None else nfa.fragment(None)

    def repetition(depth):
        frag = atom(depth)
        while is_op(peek(), "*+?"):
            frag = nfa.repeat(frag, peek().value)
            pos[0] += 1
        return frag

    def atom(depth):
        tok = peek()
        if tok is None:
            raise located(pattern, len(pattern) + 1, "the expression ends where a symbol or ( was expected")
        pos[0] += 1
        if is_op(tok, "("):
            if depth >= MAX_DEPTH:
                raise located(pattern, tok.column, f"parentheses nested deeper than {MAX_DEPTH}")
            frag = alternation(depth + 1)
            if not is_op(peek(), ")"):
                raise located(pattern, tok.column, "unbalanced parenthesis: this ( is never closed")
            pos[0] += 1
            return frag
        if tok.kind == "set":
            return nfa.fragment(frozenset(ids[a] for a in tok.value))
        if tok.kind == "eps":
            return nfa.fragment(None)
        raise located(pattern, tok.column, f"unexpected {tok.value!r}: a symbol or ( was expected before it")

    frag = alternation(0)
    if peek() is not None:
        tok = peek()
        what = "unbalanced parenthesis: this ) has no (" if is_op(tok, ")") else f"unexpected {tok.value!r}"
        raise located(pattern, tok.column, what)
    return frag


def regex_dfa(pattern: str, alphabet: Optional[Sequence[str]] = None, max_states: int = MAX_SUBSET_STATES) -> Dfa:
    """The minimal complete DFA of `pattern` over `alphabet` (default: the symbols it uses).

    Raises UserError (located) for bad input and TooLarge past `max_states` subset states."""
    alphabet = used_symbols(pattern) if alphabet is None else tuple(alphabet)
    if not alphabet:
        _parse(pattern, tokenize(pattern, ()), (), _Nfa())   # a syntax error is the first thing to report
        raise UserError("the alphabet is empty: the expression names no symbol; pass --alphabet a,b,...")
    if len(set(alphabet)) != len(alphabet):
        raise UserError(f"the alphabet {', '.join(alphabet)} repeats a symbol")
    tokens = tokenize(pattern, alphabet)
    nfa = _Nfa()
    start_frag = _parse(pattern, tokens, alphabet, nfa)
    return minimize(subset_construction(nfa, start_frag, alphabet, max_states))


def subset_construction(nfa: _Nfa, frag, alphabet: Tuple[str, ...], max_states: int) -> Dfa:
    """Linear in what it reads: each DFA state's row is built from the edges leaving its NFA states (one
    pass over them, grouping targets by symbol), not by scanning every edge once per symbol; symbols
    with no edge go to the sink without being visited."""
    k = len(alphabet)
    if max_states * k > MAX_SUBSET_CELLS:
        max_states = max(2, MAX_SUBSET_CELLS // k)
    start = nfa.closure([frag[0]])
    names: Dict[FrozenSet[int], int] = {frozenset(): 0, start: 1}   # state 0: the dead set (sink)
    rows: List[Optional[np.ndarray]] = [np.zeros(k, dtype=np.int64), None]
    todo = [start]
    while todo:
        cur = todo.pop()
        moved: Dict[int, List[int]] = {}
        for s in cur:
            for syms, t in nfa.edges[s]:
                for a in syms:
                    moved.setdefault(a, []).append(t)
        row = np.zeros(k, dtype=np.int64)
        closures: Dict[FrozenSet[int], FrozenSet[int]] = {}   # symbols with the same targets share a closure
        for a, targets in moved.items():
            key = frozenset(targets)
            nxt = closures.get(key)
            if nxt is None:
                nxt = closures[key] = nfa.closure(key)
            if nxt not in names:
                if len(names) >= max_states:
                    raise TooLarge(f"the subset construction passed {max_states} DFA states")
                names[nxt] = len(names)
                rows.append(None)
                todo.append(nxt)
            row[a] = names[nxt]
        rows[names[cur]] = row
    accepting = np.zeros(len(names), dtype=bool)
    for s, q in names.items():
        accepting[q] = frag[1] in s
    return Dfa(alphabet, np.stack(rows), accepting, 1)
