"""Static checks of a program, returned as a list of Problems (never raised one at a time).

Types are "bool" (a Boolean per position) and "count" (an integer per position).
"""
from __future__ import annotations

from typing import Dict, List, Optional

from verify.crasp import ast as A
from verify.problems import Problem

BOOL, COUNT = "bool", "count"

# The token appended by end-marker acceptance; a program may mention it.
END_MARKER = "<end>"

_BOOL_OPERANDS = (A.Not, A.And, A.Or)
_COUNT_OPERANDS = (A.Add, A.Sub, A.Min, A.Max)


def _describe(t: Optional[str]) -> str:
    return {BOOL: "a Boolean", COUNT: "a count"}.get(t or "", "an ill-typed expression")


class _Checker:
    def __init__(self, program: A.Program):
        self.program = program
        self.alphabet = set(program.alphabet)
        self.problems: List[Problem] = []
        self.env: Dict[str, str] = {}
        self.later = {let.name for let in program.lets}

    def report(self, where, what, why=""):
        self.problems.append(Problem(where, what, why))

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
                            "declare it in the `alphabet` header (" +
                            " ".join(f'"{a}"' for a in self.program.alphabet) + ")")
            return BOOL
        if isinstance(e, A.BoolConst):
            return BOOL
        if isinstance(e, A.Periodic):
            if not isinstance(e.modulus, int) or e.modulus < 1:
                self.report(e.loc, f"periodic predicate has modulus {e.modulus}",
                            "the modulus m in `pos % m in {...}` must be an integer >= 1")
            elif not e.residues:
                self.report(e.loc, "periodic predicate has an empty residue set",
                            "write the residues r with 0 <= r < m, e.g. `pos % 2 in {0}`")
            else:
                bad = sorted(r for r in e.residues if not 0 <= r < e.modulus)
                if bad:
                    self.report(e.loc, f"residues {bad} are outside 0..{e.modulus - 1}",
                                f"residues of pos % {e.modulus} lie in 0..{e.modulus - 1}")
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
            else:
                bad = sorted(d for d in ds if not isinstance(d, int) or d < 0)
                if bad:
                    self.report(e.loc, f"guard distances {bad} are not non-negative integers",
                                "a distance is i - j >= 0 (j <= i)")
            return COUNT
        if isinstance(e, A.IntConst):
            return COUNT
        if isinstance(e, _COUNT_OPERANDS):
            for c in A.children(e):
                self.expect(c, COUNT, f"`{type(e).__name__.lower()}`")
            return COUNT
        if isinstance(e, A.Scale):
            if not isinstance(e.factor, int) or isinstance(e.factor, bool):
                self.report(e.loc, "scaling needs an integer literal", "write k * C with k an integer")
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
        if len(set(self.program.alphabet)) != len(self.program.alphabet):
            self.report(None, f"{self.program.source}: the alphabet lists a symbol twice")
        if END_MARKER in self.alphabet:
            self.report(None, f'{self.program.source}: "{END_MARKER}" is reserved for the end marker')
        return self.problems


def check_program(program: A.Program) -> List[Problem]:
    """All static problems of a program: names, types, alphabet, guards, periodic predicates."""
    return _Checker(program).run()
