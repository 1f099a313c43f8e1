"""Static checks of a program, returned as a list of Problems (never raised one at a time).

Types are "bool" (a Boolean per position) and "count" (an integer per position). The limits
below bound what a program may ask of every backend, whatever built it (parser or builder);
docs/crasp-grammar.md lists them with the parser's limits on the text.
"""
from __future__ import annotations

from math import gcd
from typing import Dict, List, Optional, Sequence

from verify.crasp import ast as A
from verify.problems import Problem

BOOL, COUNT = "bool", "count"

# The token appended by end-marker acceptance; a program may mention it.
END_MARKER = "<end>"

MAX_ALPHABET = 4096          # symbols in the alphabet
MAX_SYMBOL_CHARS = 64        # characters of one symbol
MAX_CONSTANT = 10 ** 36      # integer constants and scale factors: |k| < 10^36
MAX_DISTANCE = 4096          # guard distances: τ <= 4096
MAX_GUARD_SIZE = 256         # distances in one guard set S
MAX_MODULUS = 10 ** 6        # the modulus m of `pos % m in {...}`
MAX_PERIOD = 10 ** 6         # Δ: the lcm of all moduli of a program
MAX_REPORTED = 100           # problems reported at once (the rest are counted)

_LIMITS_DOC = "docs/crasp-grammar.md lists the limits"

_BOOL_OPERANDS = (A.Not, A.And, A.Or)
_COUNT_OPERANDS = (A.Add, A.Sub, A.Min, A.Max)


def _num(k) -> str:
    """A number for a message; a huge one by its size (str() of a 5,000-digit int raises)."""
    if isinstance(k, int) and abs(k) >= 10 ** 40:
        return f"{'-' if k < 0 else ''}(a number of about {int(abs(k).bit_length() * 0.30103)} digits)"
    return str(k)


def _order(x):
    """Sort key for numbers in messages: integers in order, anything else after them."""
    return (0, x) if isinstance(x, int) else (1, 0)


def _listing(symbols: Sequence[str], most: int = 12) -> str:
    shown = " ".join(f'"{a}"' for a in symbols[:most])
    return shown + (f" ... ({len(symbols)} symbols)" if len(symbols) > most else "")


def alphabet_problems(alphabet: Sequence[str], locs: Optional[Sequence[Optional[A.Loc]]] = None) -> List[Problem]:
    """Non-empty, distinct, short symbols, not the end marker, at most MAX_ALPHABET of them.
    An empty symbol matches everywhere, so the input tokenizer would never advance."""
    locs = list(locs) if locs is not None else [None] * len(alphabet)
    problems: List[Problem] = []
    if not alphabet:
        problems.append(Problem(None, "the alphabet is empty", 'declare at least one symbol: alphabet "a"'))
    if len(alphabet) > MAX_ALPHABET:
        problems.append(Problem(locs[MAX_ALPHABET], f"the alphabet has {len(alphabet):,} symbols, above the limit "
                                f"of {MAX_ALPHABET}", _LIMITS_DOC))
    seen = set()
    for a, loc in zip(alphabet, locs):
        if not isinstance(a, str) or not a:
            problems.append(Problem(loc, "the alphabet has an empty symbol \"\"" if a == "" else
                                    f"the alphabet has a symbol that is not a string: {a!r}",
                                    'a symbol is one or more characters: alphabet "a" "b"'))
        elif len(a) > MAX_SYMBOL_CHARS:
            problems.append(Problem(loc, f"a symbol of {len(a)} characters, above the limit of {MAX_SYMBOL_CHARS}",
                                    _LIMITS_DOC))
        elif a in seen:
            problems.append(Problem(loc, f'the alphabet lists the symbol "{a}" twice', "list each symbol once"))
        elif a == END_MARKER:
            problems.append(Problem(loc, f'"{END_MARKER}" is reserved for the end marker',
                                    "programs may mention it without declaring it"))
        seen.add(a)
        if len(problems) >= MAX_REPORTED:
            break
    return problems


def _describe(t: Optional[str]) -> str:
    return {BOOL: "a Boolean", COUNT: "a count"}.get(t or "", "an ill-typed expression")


class _Checker:
    def __init__(self, program: A.Program):
        self.program = program
        self.alphabet = set(program.alphabet)
        self.problems: List[Problem] = []
        self.env: Dict[str, str] = {}
        self.later = {let.name for let in program.lets}
        self.period = 1
        self.dropped = 0  # problems beyond MAX_REPORTED: counted, not listed

    def report(self, where, what, why=""):
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(Problem(where, what, why))
        else:
            self.dropped += 1

    def constant(self, e: A.Expr, k) -> None:
        if isinstance(k, int) and not -MAX_CONSTANT < k < MAX_CONSTANT:
            self.report(e.loc, f"the constant {_num(k)} is out of range", f"integers satisfy |k| < 10^36 ({_LIMITS_DOC})")

    def expect(self, e: A.Expr, want: str, context: str) -> None:
        got = self.infer(e)
        if got is not None and got != want:
            self.report(e.loc, f"{context} needs {_describe(want)}, but this is {_describe(got)}",
                        "counts compare to give Booleans (#[P] > 0); Booleans are counted with #[...]"
                        if want == COUNT else "compare counts (C1 < C2) to get a Boolean")

    def infer(self, e: A.Expr) -> Optional[str]:
        if isinstance(e, A.Symbol):
            if e.symbol not in self.alphabet and e.symbol != END_MARKER:
                self.report(e.loc, f'symbol "{e.symbol}" is not in the alphabet',
                            f"declare it in the `alphabet` header ({_listing(self.program.alphabet)})")
            return BOOL
        if isinstance(e, A.BoolConst):
            return BOOL
        if isinstance(e, A.Periodic):
            if not isinstance(e.modulus, int) or e.modulus < 1:
                self.report(e.loc, f"periodic predicate has modulus {_num(e.modulus)}",
                            "the modulus m in `pos % m in {...}` must be an integer >= 1")
            elif e.modulus > MAX_MODULUS:
                self.report(e.loc, f"periodic predicate has modulus {_num(e.modulus)}, above the limit of {MAX_MODULUS:,}",
                            _LIMITS_DOC)
            elif not e.residues:
                self.report(e.loc, "periodic predicate has an empty residue set",
                            "write the residues r with 0 <= r < m, e.g. `pos % 2 in {0}`")
            else:
                bad = sorted((r for r in e.residues if not isinstance(r, int) or not 0 <= r < e.modulus), key=_order)
                if bad:
                    shown = ", ".join(_num(r) for r in bad[:8]) + (", ..." if len(bad) > 8 else "")
                    self.report(e.loc, f"residues [{shown}] are outside 0..{e.modulus - 1}",
                                f"residues of pos % {e.modulus} lie in 0..{e.modulus - 1}")
                # Δ = lcm of the moduli: backends track pos mod Δ, so it is bounded like one modulus
                if self.period <= MAX_PERIOD:
                    self.period = self.period * e.modulus // gcd(self.period, e.modulus)
                    if self.period > MAX_PERIOD:
                        self.report(e.loc, f"the moduli of the program have least common multiple "
                                    f"{self.period:,}, above the limit of {MAX_PERIOD:,}",
                                    f"the period Δ = lcm of all moduli is bounded like one modulus ({_LIMITS_DOC})")
            return BOOL
        if isinstance(e, _BOOL_OPERANDS):
            for c in A.children(e):
                self.expect(c, BOOL, f"`{type(e).__name__.lower()}`")
            return BOOL
        if isinstance(e, A.Compare):
            if e.op not in A.COMPARISONS:
                self.report(e.loc, f"unknown comparison {e.op!r}", "use one of " + " ".join(A.COMPARISONS))
            self.expect(e.left, COUNT, f"the comparison `{e.op}`")
            self.expect(e.right, COUNT, f"the comparison `{e.op}`")
            return BOOL
        if isinstance(e, A.Count):
            self.expect(e.operand, BOOL, "a count #[...]")
            return COUNT
        if isinstance(e, A.GuardedCount):
            self.expect(e.operand, BOOL, "a guarded count #[... @ ...]")
            ds = e.distances
            if not isinstance(ds, frozenset) or not ds:
                self.report(e.loc, "a guard must be a non-empty finite set of distances",
                            "guards depend only on i - j and hold for finitely many distances: `@ 1,2`")
            elif len(ds) > MAX_GUARD_SIZE:
                self.report(e.loc, f"the guard has {len(ds):,} distances, above the limit of {MAX_GUARD_SIZE}",
                            _LIMITS_DOC)
            else:
                bad = sorted((d for d in ds if not isinstance(d, int) or d < 0), key=_order)
                if bad:
                    self.report(e.loc, f"guard distances [{', '.join(_num(d) for d in bad[:8])}] are not "
                                "non-negative integers",
                                "a distance is i - j >= 0 (j <= i)")
                elif max(ds) > MAX_DISTANCE:
                    self.report(e.loc, f"guard distance {_num(max(ds))} is above the limit {MAX_DISTANCE}",
                                f"a guard looks at most τ = {MAX_DISTANCE} positions back ({_LIMITS_DOC})")
            return COUNT
        if isinstance(e, A.IntConst):
            self.constant(e, e.value)
            return COUNT
        if isinstance(e, _COUNT_OPERANDS):
            for c in A.children(e):
                self.expect(c, COUNT, f"`{type(e).__name__.lower()}`")
            return COUNT
        if isinstance(e, A.Scale):
            if not isinstance(e.factor, int) or isinstance(e.factor, bool):
                self.report(e.loc, "scaling needs an integer literal", "write k * C with k an integer")
            self.constant(e, e.factor)
            self.expect(e.operand, COUNT, "`k * C`")
            return COUNT
        if isinstance(e, A.IfThenElse):
            self.expect(e.condition, BOOL, "the condition of `if`")
            self.expect(e.then, COUNT, "the `then` branch")
            self.expect(e.otherwise, COUNT, "the `else` branch")
            return COUNT
        if isinstance(e, A.Ref):
            if e.name in self.env:
                return self.env[e.name]
            if e.name in self.later:
                self.report(e.loc, f"`{e.name}` is used before its definition",
                            "C-RASP programs are straight-line: move the `let` above this use")
            else:
                self.report(e.loc, f"unknown name `{e.name}`", self._suggest(e.name))
            return None
        self.report(getattr(e, "loc", None), f"not a C-RASP expression: {type(e).__name__}")
        return None

    def _suggest(self, name: str) -> str:
        import difflib
        if len(self.problems) >= 10 or len(self.env) > 1000:  # difflib is quadratic: suggest for the first few
            return "define it with `let NAME = ...` first"
        close = difflib.get_close_matches(name, list(self.env), n=1)
        return f"did you mean `{close[0]}`?" if close else "define it with `let NAME = ...` first"

    def run(self) -> List[Problem]:
        for let in self.program.lets:
            if let.name in self.env:
                self.report(let.loc, f"`{let.name}` is defined twice", "give each `let` its own name")
            t = self.infer(let.expr)
            self.env[let.name] = t
        seen = set()
        for out in self.program.outputs:
            if out.kind not in A.OUTPUT_KINDS:
                self.report(out.loc, f"unknown output kind {out.kind!r}")
            if out.kind == "next" and out.name not in self.alphabet:
                self.report(out.loc, f'`next "{out.name}"` names a symbol outside the alphabet',
                            "a sequence program has one `next` per output symbol of the alphabet")
            if out.key in seen:
                self.report(out.loc, f"output `{out.key}` is defined twice")
            seen.add(out.key)
            self.expect(out.expr, BOOL, f"the output `{out.key}`")
        if not self.program.outputs:
            self.report(None, f"{self.program.source}: the program has no output",
                        'add `accept = ...`, `next "a" = ...` or `label NAME = ...`')
        for p in alphabet_problems(self.program.alphabet):
            self.report(None, f"{self.program.source}: {p.what}", p.why)
        if self.dropped:
            self.problems.append(Problem(None, f"... and {self.dropped} more problem(s)", "fix these first"))
        return self.problems


def check_program(program: A.Program) -> List[Problem]:
    """All static problems of a program: names, types, alphabet, guards, periodic predicates."""
    return _Checker(program).run()
