"""Problems as data: (where, what, why) records returned by validators, rendered by the CLI."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from verify.crasp.ast import Loc


@dataclass(frozen=True)
class Problem:
    where: Optional[Loc]
    what: str
    why: str = ""

    def render(self, source_text: Optional[str] = None) -> str:
        """`file:line:col: what` then the source line with a caret, then why."""
        head = f"{self.where}: {self.what}" if self.where else self.what
        lines = [head]
        if self.where and source_text is not None:
            src_lines = source_text.splitlines()
            if 1 <= self.where.line <= len(src_lines):
                text = src_lines[self.where.line - 1]
                lines.append("    " + text)
                width = max(1, min(self.where.length, max(1, len(text) - self.where.column + 1)))
                lines.append("    " + " " * (self.where.column - 1) + "^" * width)
        if self.why:
            lines.append(f"  why: {self.why}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        where = None
        if self.where:
            where = {"file": self.where.file, "line": self.where.line, "column": self.where.column}
        return {"where": where, "what": self.what, "why": self.why}


class UserError(Exception):
    """A mistake of the user's (bad program, unknown case, bad input): rendered, never a traceback."""

    def __init__(self, message: str, problems: Sequence[Problem] = (), source_text: Optional[str] = None,
                 exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)
        self.source_text = source_text
        self.exit_code = exit_code

    def render(self) -> str:
        parts = [self.message] if self.message else []
        parts += [p.render(self.source_text) for p in self.problems]
        return "\n".join(parts)
